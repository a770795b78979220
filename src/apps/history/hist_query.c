/* Range queries over a series: its files (binary search where ordered, a
 * scan where not) and its still-buffered records, resolved to one record
 * per time in time order. When every part is ordered and the parts don't
 * overlap (the usual case) the records are already resolved, so a
 * downsampled query streams them through the downsampler in blocks and
 * never holds the whole range in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/history/hist_store_int.h"
#include "mscada/error.h"

#define REC MS_HIST_REC_SIZE
#define BLOCK_RECS 65536

typedef struct {
    size_t file; /* index in h->files */
    uint64_t lo, hi; /* records in range, for the streaming path */
} part;

static bool in_range(const ms_hist_file *f, uint64_t a, uint64_t b)
{
    return f->nrec > 0 && f->max >= a && f->min < b;
}

/* Appends the buffered records with a <= t < b to r (arrival order). */
static int read_buffer(const ms_hist_series *h, uint64_t a, uint64_t b,
                       ms_hist_result *r)
{
    for (size_t off = 0; off < h->len; off += REC) {
        uint64_t t = ms_get_u64(h->buf + off);
        if (t < a || t >= b)
            continue;
        ms_hist_rec *w = ms_hist_result_reserve(r, 1);
        if (!w)
            return MS_ENOMEM;
        ms_hist_rec_decode(h->buf + off, w);
        r->len++;
    }
    return 0;
}

/* Everything in range, in write order, then resolved and downsampled. */
static int gather(ms_hist_series *h, uint64_t a, uint64_t b,
                  size_t max_points, ms_hist_result *r)
{
    ms_hist_store *s = h->store;
    int rc = 0;
    for (size_t i = 0; i < h->nfiles && rc == 0; i++)
        if (in_range(&h->files[i], a, b))
            rc = ms_hist_file_read(&h->files[i],
                                   ms_hist_file_path(s, h, &h->files[i]), a,
                                   b, r);
    if (rc == 0)
        rc = read_buffer(h, a, b, r);
    if (rc < 0)
        return rc;
    long n = ms_hist_resolve(r->recs, r->len);
    if (n < 0)
        return (int)n;
    r->len = (size_t)n;
    return ms_hist_downsample(r, h->type, max_points);
}

/* True when the buffered records in range are strictly increasing and
 * all later than `after` (when any_before); sets first, last and count. */
static bool buffer_ordered(const ms_hist_series *h, uint64_t a, uint64_t b,
                           bool any_before, uint64_t after, uint64_t *first,
                           uint64_t *last, size_t *count)
{
    bool any = any_before;
    uint64_t prev = after;
    *count = 0;
    for (size_t off = 0; off < h->len; off += REC) {
        uint64_t t = ms_get_u64(h->buf + off);
        if (t < a || t >= b)
            continue;
        if (any && t <= prev)
            return false;
        if (!*count)
            *first = t;
        *last = t;
        any = true;
        prev = t;
        (*count)++;
    }
    return true;
}

static int stream(ms_hist_series *h, uint64_t a, uint64_t b,
                  size_t max_points, ms_hist_result *r, const part *parts,
                  size_t nparts, uint64_t t0, uint64_t t1)
{
    ms_hist_store *s = h->store;
    /* A block, or the longest part when that is shorter. */
    uint64_t most = 1;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].hi - parts[i].lo > most)
            most = parts[i].hi - parts[i].lo;
    size_t cap = most < BLOCK_RECS ? (size_t)most : BLOCK_RECS;
    ms_hist_rec *blk = malloc(cap * sizeof *blk);
    if (!blk)
        return MS_ENOMEM;
    ms_hist_ds d;
    ms_hist_ds_init(&d, h->type, t0, t1, max_points);
    int rc = 0;
    for (size_t i = 0; i < nparts && rc == 0; i++) {
        const char *path = ms_hist_file_path(s, h, &h->files[parts[i].file]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = MS_EIO;
            break;
        }
        for (uint64_t at = parts[i].lo; at < parts[i].hi && rc == 0;) {
            uint64_t n = parts[i].hi - at;
            if (n > BLOCK_RECS)
                n = BLOCK_RECS;
            rc = ms_hist_file_pread(fd, at, at + n, blk);
            if (rc == 0)
                rc = ms_hist_ds_push(&d, blk, (size_t)n, r);
            at += n;
        }
        close(fd);
    }
    free(blk);
    if (rc == 0) {
        /* The buffered tail, through the same downsampler. */
        ms_hist_result tail = {0};
        rc = read_buffer(h, a, b, &tail);
        if (rc == 0)
            rc = ms_hist_ds_push(&d, tail.recs, tail.len, r);
        ms_hist_result_free(&tail);
    }
    if (rc == 0)
        rc = ms_hist_ds_end(&d, r);
    r->downsampled = true;
    return rc;
}

static int time_of(int fd, uint64_t idx, uint64_t *t)
{
    ms_hist_rec rec;
    int rc = ms_hist_file_pread(fd, idx, idx + 1, &rec);
    *t = rec.time_us;
    return rc;
}

int ms_hist_series_query(ms_hist_series *h, uint64_t a, uint64_t b,
                         size_t max_points, ms_hist_result *r)
{
    ms_hist_store *s = h->store;
    r->len = 0;
    r->downsampled = false;
    if (b <= a)
        return 0;
    int rc = 0;
    size_t nparts = 0;
    bool fast = max_points > 0;
    uint64_t prev_max = 0;
    for (size_t i = 0; i < h->nfiles; i++) {
        ms_hist_file *f = &h->files[i];
        if ((rc = ms_hist_file_check(f, ms_hist_file_path(s, h, f))) < 0)
            return rc;
        if (!in_range(f, a, b))
            continue;
        if (!f->ordered || (nparts && f->min <= prev_max))
            fast = false;
        prev_max = f->max;
        nparts++;
    }
    if (!fast)
        return gather(h, a, b, max_points, r);
    part *parts = calloc(nparts ? nparts : 1, sizeof *parts);
    if (!parts)
        return MS_ENOMEM;
    /* Where the range lies in each file, and its first and last time: the
     * downsampler's buckets span exactly the records returned, as they do
     * when ms_hist_downsample() runs over a gathered result. */
    size_t k = 0;
    uint64_t total = 0, first = 0, last = 0, bfirst = 0, blast = 0;
    bool any = false;
    for (size_t i = 0; i < h->nfiles && rc == 0; i++) {
        ms_hist_file *f = &h->files[i];
        if (!in_range(f, a, b))
            continue;
        int fd = open(ms_hist_file_path(s, h, f), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = MS_EIO;
            break;
        }
        parts[k].file = i;
        rc = ms_hist_file_span(f, fd, a, b, &parts[k].lo, &parts[k].hi);
        if (rc == 0 && parts[k].hi > parts[k].lo) {
            uint64_t t;
            if (!any && (rc = time_of(fd, parts[k].lo, &first)) == 0)
                any = true;
            if (rc == 0 && (rc = time_of(fd, parts[k].hi - 1, &t)) == 0)
                last = t;
            total += parts[k].hi - parts[k].lo;
        }
        close(fd);
        k++;
    }
    size_t nbuf = 0;
    if (rc == 0 &&
        !buffer_ordered(h, a, b, any, last, &bfirst, &blast, &nbuf)) {
        free(parts);
        return gather(h, a, b, max_points, r);
    }
    if (rc == 0 && nbuf) {
        if (!any)
            first = bfirst;
        last = blast;
        any = true;
    }
    total += nbuf;
    if (rc == 0 && total <= max_points) {
        free(parts);
        return gather(h, a, b, 0, r); /* small: no downsampling needed */
    }
    if (rc == 0 && any)
        rc = stream(h, a, b, max_points, r, parts, k, first, last + 1);
    free(parts);
    return rc;
}
