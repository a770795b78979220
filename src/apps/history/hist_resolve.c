/* Record arrays: growth, and resolving records read in write order into
 * time order with one record per time (the later one wins, docs/design.md §7). */
#include <stdlib.h>
#include <string.h>

#include "apps/history/hist_int.h"
#include "mscada/error.h"

void ms_hist_result_free(ms_hist_result *r)
{
    free(r->recs);
    r->recs = NULL;
    r->len = r->cap = 0;
}

ms_hist_rec *ms_hist_result_reserve(ms_hist_result *r, size_t n)
{
    if (r->cap - r->len >= n)
        return r->recs + r->len;
    if (n > SIZE_MAX / sizeof(ms_hist_rec) / 2 - r->len)
        return NULL;
    size_t cap = r->cap ? r->cap : 256;
    while (cap - r->len < n)
        cap *= 2;
    ms_hist_rec *p = realloc(r->recs, cap * sizeof *p);
    if (!p)
        return NULL;
    r->recs = p;
    r->cap = cap;
    return p + r->len;
}

/* Merges the sorted runs src[lo, mid) and src[mid, hi) into dst; on equal
 * times the left (earlier written) record goes first, so order survives. */
static void merge(const ms_hist_rec *src, ms_hist_rec *dst, size_t lo,
                  size_t mid, size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        dst[k++] = src[j].time_us < src[i].time_us ? src[j++] : src[i++];
    while (i < mid)
        dst[k++] = src[i++];
    while (j < hi)
        dst[k++] = src[j++];
}

static size_t run_end(const ms_hist_rec *a, size_t from, size_t n)
{
    size_t i = from + 1;
    while (i < n && a[i - 1].time_us <= a[i].time_us)
        i++;
    return i;
}

long ms_hist_resolve(ms_hist_rec *a, size_t n)
{
    size_t i = 1;
    while (i < n && a[i - 1].time_us < a[i].time_us)
        i++;
    if (i >= n)
        return (long)n; /* the usual case: already resolved */
    /* Natural merge sort: stable, and a pass per doubling of run length,
     * so a few late records in a long series cost a few passes. */
    ms_hist_rec *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return MS_ENOMEM;
    ms_hist_rec *src = a, *dst = tmp;
    for (;;) {
        size_t lo = 0, runs = 0;
        while (lo < n) {
            size_t mid = run_end(src, lo, n);
            size_t hi = mid < n ? run_end(src, mid, n) : n;
            merge(src, dst, lo, mid, hi);
            runs++;
            lo = hi;
        }
        ms_hist_rec *t = src;
        src = dst;
        dst = t;
        if (runs == 1)
            break;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    free(tmp);
    size_t w = 0;
    for (i = 0; i < n; i++) {
        if (i + 1 < n && a[i + 1].time_us == a[i].time_us)
            continue;
        a[w++] = a[i];
    }
    return (long)w;
}
