/* The history store: series, their append buffers, writing them to files
 * (open, append, close), queries over files and buffers, retention.
 * File facts and range reads are in hist_read.c, the folder listing in
 * hist_dir.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/history/hist_store_int.h"
#include "core/grow.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define REC MS_HIST_REC_SIZE

void ms_hist_opts_default(ms_hist_opts *o)
{
    o->file_records = MS_HIST_FILE_RECORDS;
    o->chunk_records = MS_HIST_CHUNK_RECORDS;
    o->mem_cap = MS_HIST_MEM_CAP;
    o->sync = false;
}

/* ---- names and paths --------------------------------------------------- */

const char *ms_hist_file_path(ms_hist_store *s, const ms_hist_series *h,
                              const ms_hist_file *f)
{
    snprintf(s->path, s->path_cap, "%s/%s_%0*" PRIu64 ".dat", s->dir,
             h->name, (int)f->width, f->time_us);
    return s->path;
}

static uint64_t hash_name(const char *p)
{
    uint64_t h = 1469598103934665603u;
    while (*p)
        h = (h ^ (uint8_t)*p++) * 1099511628211u;
    return h;
}

ms_hist_series *ms_hist_series_find(ms_hist_store *s, const char *name)
{
    if (!s->hash_cap)
        return NULL;
    ms_hist_series *h = s->hash[hash_name(name) & (s->hash_cap - 1)];
    while (h && strcmp(h->name, name) != 0)
        h = h->hash_next;
    return h;
}

static int hash_insert(ms_hist_store *s, ms_hist_series *h)
{
    if (s->nseries >= s->hash_cap) {
        size_t cap = s->hash_cap ? s->hash_cap * 2 : 64;
        ms_hist_series **t = calloc(cap, sizeof *t);
        if (!t)
            return MS_ENOMEM;
        for (size_t i = 0; i < s->hash_cap; i++)
            for (ms_hist_series *x = s->hash[i], *nx; x; x = nx) {
                nx = x->hash_next;
                size_t k = hash_name(x->name) & (cap - 1);
                x->hash_next = t[k];
                t[k] = x;
            }
        free(s->hash);
        s->hash = t;
        s->hash_cap = cap;
    }
    size_t k = hash_name(h->name) & (s->hash_cap - 1);
    h->hash_next = s->hash[k];
    s->hash[k] = h;
    s->nseries++;
    return 0;
}

const char *ms_hist_series_name(const ms_hist_series *h)
{
    return h->name;
}

ms_type ms_hist_series_type(const ms_hist_series *h)
{
    return h->type;
}

/* ---- store --------------------------------------------------------------- */

int ms_hist_store_open(ms_hist_store **out, const char *dir,
                       const ms_hist_opts *o, char *why, size_t cap)
{
    *out = NULL;
    ms_hist_opts def;
    ms_hist_opts_default(&def);
    if (!o)
        o = &def;
    if (o->file_records == 0 || o->chunk_records == 0 ||
        o->chunk_records > SIZE_MAX / REC / 4 || o->mem_cap < REC) {
        if (why && cap)
            snprintf(why, cap, "history: file_records, chunk_records and "
                               "the memory cap must be positive");
        return MS_EINVAL;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        if (why && cap)
            snprintf(why, cap, "history: %s: %s", dir,
                     errno == ENOENT ? "no such folder" : "not a folder");
        return MS_ENOENT;
    }
    ms_hist_store *s = calloc(1, sizeof *s);
    size_t dl = strlen(dir);
    if (s) {
        s->dir = malloc(dl + 1);
        s->path_cap = dl + 300;
        s->path = malloc(s->path_cap);
    }
    if (!s || !s->dir || !s->path) {
        if (s) {
            free(s->dir);
            free(s->path);
        }
        free(s);
        return MS_ENOMEM;
    }
    memcpy(s->dir, dir, dl + 1);
    while (dl > 1 && s->dir[dl - 1] == '/')
        s->dir[--dl] = '\0';
    s->o = *o;
    int rc = ms_hist_dir_list(s);
    if (rc < 0) {
        if (why && cap)
            snprintf(why, cap, "history: %s: can't list: %s", dir,
                     strerror(errno));
        ms_hist_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void series_free(ms_hist_series *h)
{
    free(h->name);
    free(h->buf);
    free(h->files);
    free(h);
}

void ms_hist_store_close(ms_hist_store *s)
{
    if (!s)
        return;
    ms_hist_store_flush(s);
    for (size_t i = 0; i < s->hash_cap; i++)
        for (ms_hist_series *x = s->hash[i], *nx; x; x = nx) {
            nx = x->hash_next;
            series_free(x);
        }
    free(s->hash);
    ms_hist_dir_free(s);
    free(s->dir);
    free(s->path);
    free(s);
}

size_t ms_hist_store_buffered(const ms_hist_store *s)
{
    return s->buffered / REC;
}

uint64_t ms_hist_store_dropped(const ms_hist_store *s)
{
    return s->dropped;
}

int ms_hist_series_add(ms_hist_store *s, const char *name, ms_type type,
                       ms_hist_series **out, char *why, size_t cap)
{
    *out = NULL;
    int rc = ms_hist_name_check(name, name ? strlen(name) : 0, why, cap);
    if (rc < 0)
        return rc;
    if (type != MS_TYPE_INT && type != MS_TYPE_FLOAT) {
        if (why && cap)
            snprintf(why, cap, "history: %s: only int and float tags are "
                               "recorded", name);
        return MS_ETYPE;
    }
    ms_hist_series *h = ms_hist_series_find(s, name);
    if (h) {
        if (h->type != type) {
            if (why && cap)
                snprintf(why, cap, "history: %s: already recorded as %s",
                         name, ms_type_name(h->type));
            return MS_ETYPE;
        }
        *out = h;
        return 0;
    }
    h = calloc(1, sizeof *h);
    if (!h || !(h->name = strdup(name))) {
        free(h);
        return MS_ENOMEM;
    }
    h->store = s;
    h->type = type;
    h->chunk = s->o.chunk_records * REC;
    if ((rc = ms_hist_dir_files(s, h)) < 0 || (rc = hash_insert(s, h)) < 0) {
        series_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

/* ---- writing ------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len, size_t *done)
{
    *done = 0;
    while (*done < len) {
        ssize_t n = write(fd, p + *done, len - *done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return MS_EIO;
        }
        *done += (size_t)n;
    }
    return 0;
}

/* Cuts a torn record and a zero-filled tail off the file before more is
 * appended, so that new records line up and nothing reads the hole as
 * data. Returns the new size or -1. */
static off_t fix_tail(int fd, off_t size, const char *path)
{
    uint64_t keep = (uint64_t)size / REC;
    uint8_t buf[4096 * REC];
    while (keep > 0) {
        size_t n = keep < 4096 ? (size_t)keep : 4096;
        uint64_t from = keep - n;
        ssize_t got = pread(fd, buf, n * REC, (off_t)(from * REC));
        if (got != (ssize_t)(n * REC))
            return -1;
        size_t k = ms_hist_tail_trim(buf, n);
        keep = from + k;
        if (k > 0)
            break;
    }
    off_t want = (off_t)(keep * REC);
    if (want != size) {
        if (ftruncate(fd, want) < 0)
            return -1;
        ms_log_warn("history: %s: cut %lld bytes of torn or zero-filled "
                    "tail before appending",
                    path, (long long)(size - want));
    }
    return want;
}

static int64_t mtime_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Brings the facts of a file we just appended n records to up to date
 * without reading it, when they were right before the write. */
static void note_append(ms_hist_file *f, bool was_right, const uint8_t *p,
                        size_t n, const struct stat *st)
{
    if (!was_right) {
        f->known = false;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t t = ms_get_u64(p + i * REC);
        if (f->nrec > 0 && t <= f->max)
            f->ordered = false;
        if (f->nrec == 0 || t < f->min)
            f->min = t;
        if (f->nrec == 0 || t > f->max)
            f->max = t;
        f->nrec++;
    }
    f->size = st->st_size;
    f->mtime_ns = mtime_of(st);
}

static void sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* Appends up to n records at p to file f (created when new); sets *wrote
 * to the records that reached the file. */
static int append_file(ms_hist_series *h, ms_hist_file *f, bool create,
                       const uint8_t *p, size_t n, size_t *wrote)
{
    ms_hist_store *s = h->store;
    *wrote = 0;
    const char *path = ms_hist_file_path(s, h, f);
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0),
                  0644);
    if (fd < 0) {
        s->fail_errno = errno;
        return MS_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        goto fail;
    /* The facts hold if nothing touched the file since we last wrote it
     * (a file we just created has no mtime on record yet). */
    bool right = f->known && f->size == st.st_size &&
                 (f->mtime_ns == mtime_of(&st) || (create && !st.st_size));
    if (!h->tail_checked || (uint64_t)st.st_size != h->cur_size) {
        off_t size = fix_tail(fd, st.st_size, path);
        if (size < 0)
            goto fail;
        if (size != st.st_size)
            right = false;
        h->cur_size = (uint64_t)size;
        h->tail_checked = true;
    }
    size_t done;
    int rc = write_all(fd, p, n * REC, &done);
    if (rc < 0) {
        s->fail_errno = errno;
        /* Keep the whole records that made it; never leave a torn one. */
        if (done % REC &&
            ftruncate(fd, (off_t)(h->cur_size + done / REC * REC)) < 0)
            h->tail_checked = false;
    }
    *wrote = done / REC;
    h->cur_size += *wrote * REC;
    h->cur_nrec = h->cur_size / REC;
    if (s->o.sync && *wrote && fdatasync(fd) < 0 && rc == 0) {
        s->fail_errno = errno;
        rc = MS_EIO;
    }
    if (fstat(fd, &st) < 0)
        right = false;
    note_append(f, right, p, *wrote, &st);
    close(fd);
    if (create && s->o.sync)
        sync_dir(s->dir);
    return rc;
fail:
    s->fail_errno = errno;
    close(fd);
    return MS_EIO;
}

static int add_file(ms_hist_series *h, uint64_t time_us)
{
    ms_hist_file *t = ms_grow(h->files, h->nfiles, &h->capfiles, sizeof *t, 4);
    if (!t)
        return MS_ENOMEM;
    h->files = t;
    ms_hist_file *f = &h->files[h->nfiles++];
    memset(f, 0, sizeof *f);
    f->time_us = time_us;
    return 0;
}

/* Writes the series' buffer out: into its newest file until that holds
 * file_records, then into a new file named by the next record's time. */
static int series_write(ms_hist_series *h)
{
    ms_hist_store *s = h->store;
    size_t done = 0;
    int rc = 0;
    while (done < h->len) {
        const uint8_t *p = h->buf + done;
        size_t left = (h->len - done) / REC;
        uint64_t t = ms_get_u64(p);
        ms_hist_file *f = h->nfiles ? &h->files[h->nfiles - 1] : NULL;
        if (f && !h->tail_checked) {
            /* Learn the newest file's length once per run. */
            struct stat st;
            if (stat(ms_hist_file_path(s, h, f), &st) == 0)
                h->cur_size = (uint64_t)st.st_size;
            h->cur_nrec = h->cur_size / REC;
        }
        /* A new file only for a record later than the newest file's name,
         * so that name order stays write order (a forecast re-sending an
         * earlier time overfills the file a little instead). */
        bool create = !f || (h->cur_nrec >= s->o.file_records &&
                             t > f->time_us);
        size_t n = 0;
        if (create) {
            if ((rc = add_file(h, t)) < 0)
                break;
            f = &h->files[h->nfiles - 1];
            f->known = true;
            f->ordered = true;
            h->cur_size = h->cur_nrec = 0;
            h->tail_checked = false;
        }
        if (h->cur_nrec < s->o.file_records) {
            uint64_t room = s->o.file_records - h->cur_nrec;
            n = room < left ? (size_t)room : left;
        } else {
            while (n < left && ms_get_u64(p + n * REC) <= f->time_us)
                n++;
        }
        size_t wrote;
        rc = append_file(h, f, create, p, n, &wrote);
        if (create && wrote == 0 && h->cur_size == 0) {
            /* Nothing landed: forget the new file (an empty one may stay
             * on disk; it reads as no records and is reused by name). */
            h->nfiles--;
            h->tail_checked = false;
        }
        done += wrote * REC;
        if (rc < 0)
            break;
    }
    if (done) {
        memmove(h->buf, h->buf + done, h->len - done);
        h->len -= done;
        s->buffered -= done;
    }
    return rc;
}

static void note_failure(ms_hist_store *s, const ms_hist_series *h)
{
    if (s->failing)
        return;
    s->failing = true;
    ms_log_error("history: writing %s in %s failed: %s; keeping records in "
                 "memory (up to %zu bytes) and retrying at each flush",
                 h->name, s->dir, strerror(s->fail_errno), s->o.mem_cap);
}

/* A whole pass wrote every series: a failure before is over. */
static void note_recovered(ms_hist_store *s)
{
    if (!s->failing)
        return;
    s->failing = false;
    s->drop_logged = false;
    ms_log_info("history: writing to %s works again (%" PRIu64
                " records dropped meanwhile)",
                s->dir, s->dropped);
}

int ms_hist_store_flush(ms_hist_store *s)
{
    int rc = 0;
    for (size_t i = 0; i < s->hash_cap; i++)
        for (ms_hist_series *h = s->hash[i]; h; h = h->hash_next) {
            if (!h->len)
                continue;
            int r = series_write(h);
            if (r < 0) {
                note_failure(s, h);
                rc = r;
            }
        }
    if (rc == 0)
        note_recovered(s);
    return rc;
}

int ms_hist_store_flush_some(ms_hist_store *s, size_t *cursor,
                             size_t max_writes, bool *done)
{
    int rc = 0;
    size_t writes = 0;
    if (*cursor == 0)
        s->pass_failed = false;
    while (*cursor < s->hash_cap && writes < max_writes) {
        for (ms_hist_series *h = s->hash[*cursor]; h; h = h->hash_next) {
            if (!h->len)
                continue;
            writes++;
            int r = series_write(h);
            if (r < 0) {
                note_failure(s, h);
                s->pass_failed = true;
                rc = r;
            }
        }
        (*cursor)++;
    }
    *done = *cursor >= s->hash_cap;
    if (*done && !s->pass_failed)
        note_recovered(s);
    return rc;
}

static int grow(ms_hist_series *h)
{
    size_t cap = h->cap ? h->cap * 2 : h->chunk;
    uint8_t *b = realloc(h->buf, cap);
    if (!b)
        return MS_ENOMEM;
    h->buf = b;
    h->cap = cap;
    return 0;
}

int ms_hist_series_append(ms_hist_series *h, ms_hist_rec r)
{
    ms_hist_store *s = h->store;
    uint8_t raw[REC];
    ms_hist_rec_encode(&r, raw);
    if (ms_hist_rec_is_hole(raw))
        return MS_EINVAL; /* would read back as a lost write */
    int rc = 0;
    if (h->len + REC > h->cap || s->buffered + REC > s->o.mem_cap) {
        /* Slow path: make room, by writing when the disk works. */
        if (!s->failing && h->len >= h->chunk && (rc = series_write(h)) < 0)
            note_failure(s, h);
        if (s->buffered + REC > s->o.mem_cap) {
            /* Many tags' part-full buffers reached the cap: write them all
             * (rare: the cap is meant for a failing disk). */
            if (!s->failing)
                rc = ms_hist_store_flush(s);
            if (s->buffered + REC > s->o.mem_cap) {
                if (!s->drop_logged)
                    ms_log_error("history: memory cap of %zu bytes reached; "
                                 "dropping records until writes succeed",
                                 s->o.mem_cap);
                s->drop_logged = true;
                s->dropped++;
                return MS_EFULL;
            }
        }
        if (h->len + REC > h->cap && grow(h) < 0) {
            s->dropped++;
            return MS_ENOMEM;
        }
    }
    memcpy(h->buf + h->len, raw, REC);
    h->len += REC;
    s->buffered += REC;
    if (h->len >= h->chunk && !s->failing && (rc = series_write(h)) < 0)
        note_failure(s, h);
    return rc;
}

/* ---- retention ----------------------------------------------------------- */

long ms_hist_store_retain(ms_hist_store *s, uint64_t cutoff_us)
{
    long deleted = 0;
    int rc = 0;
    for (size_t i = 0; i < s->hash_cap; i++)
        for (ms_hist_series *h = s->hash[i]; h; h = h->hash_next) {
            size_t k = 0;
            /* The newest file is never deleted: nothing follows it. */
            while (k + 1 < h->nfiles && h->files[k + 1].time_us < cutoff_us) {
                const char *path = ms_hist_file_path(s, h, &h->files[k]);
                if (unlink(path) < 0 && errno != ENOENT) {
                    ms_log_error("history: can't delete %s: %s", path,
                                 strerror(errno));
                    rc = MS_EIO;
                    break;
                }
                k++;
            }
            if (k) {
                memmove(h->files, h->files + k,
                        (h->nfiles - k) * sizeof *h->files);
                h->nfiles -= k;
                deleted += (long)k;
            }
        }
    return rc < 0 && deleted == 0 ? rc : deleted;
}
