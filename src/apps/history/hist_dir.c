/* The folder listing: every `<tag>_<digits>.dat`, sorted by tag then time,
 * so that a series finds its files by binary search however many tags
 * share the folder. Names that parse as no tag's file are left alone. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apps/history/hist_store_int.h"
#include "core/grow.h"
#include "mscada/error.h"

static int cmp_ent(const void *x, const void *y)
{
    const ms_hist_entry *a = x, *b = y;
    int c = strcmp(a->tag, b->tag);
    if (c)
        return c;
    if (a->time_us != b->time_us)
        return a->time_us < b->time_us ? -1 : 1;
    return (int)a->width - (int)b->width;
}

void ms_hist_dir_free(ms_hist_store *s)
{
    for (size_t i = 0; i < s->nents; i++)
        free(s->ents[i].tag);
    free(s->ents);
    s->ents = NULL;
    s->nents = 0;
}

int ms_hist_dir_list(ms_hist_store *s)
{
    DIR *d = opendir(s->dir);
    if (!d)
        return MS_EIO;
    ms_hist_entry *ents = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        size_t tl;
        uint64_t t;
        if (ms_hist_file_parse(de->d_name, &tl, &t) < 0)
            continue;
        size_t digits = strlen(de->d_name) - tl - 5;
        ms_hist_entry *x = ms_grow(ents, n, &cap, sizeof *x, 64);
        if (!x) {
            rc = MS_ENOMEM;
            break;
        }
        ents = x;
        char *tag = strndup(de->d_name, tl);
        if (!tag) {
            rc = MS_ENOMEM;
            break;
        }
        /* Width 0 prints the canonical digits; only leading zeros need it. */
        ents[n].tag = tag;
        ents[n].time_us = t;
        ents[n].width = de->d_name[tl + 1] == '0' && digits > 1
                            ? (uint8_t)(digits > 255 ? 255 : digits)
                            : 0;
        n++;
    }
    if (rc == 0 && errno)
        rc = MS_EIO;
    closedir(d);
    if (rc == 0 && n)
        qsort(ents, n, sizeof *ents, cmp_ent);
    ms_hist_dir_free(s);
    s->ents = ents;
    s->nents = n;
    if (rc < 0)
        ms_hist_dir_free(s);
    return rc;
}

int ms_hist_dir_files(ms_hist_store *s, ms_hist_series *h)
{
    /* First entry of this tag. */
    size_t lo = 0, hi = s->nents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->ents[mid].tag, h->name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < s->nents && strcmp(s->ents[end].tag, h->name) == 0)
        end++;
    size_t n = end - lo;
    ms_hist_file *files = n ? calloc(n, sizeof *files) : NULL;
    if (n && !files)
        return MS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        files[i].time_us = s->ents[lo + i].time_us;
        files[i].width = s->ents[lo + i].width;
        /* Keep what is known of files the series already had. */
        for (size_t k = 0; k < h->nfiles; k++)
            if (h->files[k].time_us == files[i].time_us &&
                h->files[k].width == files[i].width)
                files[i] = h->files[k];
    }
    free(h->files);
    h->files = files;
    h->nfiles = h->capfiles = n;
    return 0;
}

int ms_hist_store_rescan(ms_hist_store *s)
{
    int rc = ms_hist_dir_list(s);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->hash_cap; i++)
        for (ms_hist_series *h = s->hash[i]; h; h = h->hash_next) {
            uint64_t newest = h->nfiles ? h->files[h->nfiles - 1].time_us : 0;
            if ((rc = ms_hist_dir_files(s, h)) < 0)
                return rc;
            if (!h->nfiles || h->files[h->nfiles - 1].time_us != newest)
                h->tail_checked = false;
        }
    return 0;
}
