/* Reading one history file: what it holds (checked once per size and
 * mtime: record count without a torn or zero tail, whether its times are
 * strictly increasing, their range) and its records within a time range,
 * by binary search when ordered and by a scan otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/history/hist_int.h"
#include "mscada/error.h"

#define REC MS_HIST_REC_SIZE
#define BLOCK_RECS 65536 /* 1 MiB per read */

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return MS_EIO;
        if (n == 0)
            return MS_EIO; /* shrank under us: treat as an I/O fault */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static void empty(ms_hist_file *f)
{
    f->known = true;
    f->size = 0;
    f->mtime_ns = 0;
    f->nrec = 0;
    f->ordered = true;
    f->min = f->max = 0;
}

int ms_hist_file_check(ms_hist_file *f, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT)
            return MS_EIO;
        empty(f);
        return 0;
    }
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (f->known && f->size == st.st_size && f->mtime_ns == mt)
        return 0;
    if (!S_ISREG(st.st_mode)) {
        empty(f);
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return MS_EIO;
        empty(f);
        return 0;
    }
    uint64_t whole = (uint64_t)st.st_size / REC;
    /* A block, or the whole file when it is smaller. */
    size_t cap = whole < BLOCK_RECS ? (size_t)whole : BLOCK_RECS;
    uint8_t *buf = malloc((cap ? cap : 1) * REC);
    if (!buf) {
        close(fd);
        return MS_ENOMEM;
    }
    uint64_t nrec = 0, min = UINT64_MAX, max = 0, prev = 0;
    bool ordered = true, hole = false, any = false;
    int rc = 0;
    for (uint64_t at = 0; at < whole && rc == 0;) {
        size_t n = whole - at < BLOCK_RECS ? (size_t)(whole - at) : BLOCK_RECS;
        rc = pread_all(fd, buf, n * REC, at * REC);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const uint8_t *p = buf + i * REC;
            if (ms_hist_rec_is_hole(p)) {
                hole = true;
                continue;
            }
            uint64_t t = ms_get_u64(p);
            /* A hole followed by data is a lost write inside the file:
             * readable, but not by binary search. */
            if (hole || (any && t <= prev))
                ordered = false;
            any = true;
            prev = t;
            min = t < min ? t : min;
            max = t > max ? t : max;
            nrec = at + i + 1;
        }
        at += n;
    }
    free(buf);
    close(fd);
    if (rc < 0)
        return rc;
    f->known = true;
    f->size = st.st_size;
    f->mtime_ns = mt;
    f->nrec = nrec;
    f->ordered = ordered;
    f->min = any ? min : 0;
    f->max = max;
    return 0;
}

int ms_hist_file_pread(int fd, uint64_t lo, uint64_t hi, ms_hist_rec *out)
{
    if (hi <= lo)
        return 0;
    /* The file's bytes land in the result's memory and are decoded where
     * they lie: a record is 16 bytes both ways. */
    size_t n = (size_t)(hi - lo);
    int rc = pread_all(fd, out, n * REC, lo * REC);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint8_t raw[REC];
        memcpy(raw, &out[i], REC);
        ms_hist_rec_decode(raw, &out[i]);
    }
    return 0;
}

static int time_at(int fd, uint64_t idx, uint64_t *t)
{
    uint8_t raw[8];
    int rc = pread_all(fd, raw, 8, idx * REC);
    if (rc == 0)
        *t = ms_get_u64(raw);
    return rc;
}

/* First index in [lo, hi) whose time is >= t (hi when none). */
static int lower_bound(int fd, uint64_t lo, uint64_t hi, uint64_t t,
                       uint64_t *at)
{
    while (hi - lo > 256) {
        uint64_t mid = lo + (hi - lo) / 2, tm;
        int rc = time_at(fd, mid, &tm);
        if (rc < 0)
            return rc;
        if (tm < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* The last few probes share a page: read it once. */
    uint8_t buf[256 * REC];
    size_t n = (size_t)(hi - lo);
    int rc = pread_all(fd, buf, n * REC, lo * REC);
    if (rc < 0)
        return rc;
    size_t i = 0;
    while (i < n && ms_get_u64(buf + i * REC) < t)
        i++;
    *at = lo + i;
    return 0;
}

int ms_hist_file_span(const ms_hist_file *f, int fd, uint64_t a, uint64_t b,
                      uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    if (f->nrec == 0 || f->max < a || f->min >= b || b <= a)
        return 0;
    uint64_t l = 0, h = f->nrec;
    int rc = 0;
    if (a > f->min)
        rc = lower_bound(fd, 0, f->nrec, a, &l);
    if (rc == 0 && b <= f->max)
        rc = lower_bound(fd, l, f->nrec, b, &h);
    if (rc < 0)
        return rc;
    *lo = l;
    *hi = h;
    return 0;
}

static int scan(const ms_hist_file *f, int fd, uint64_t a, uint64_t b,
                ms_hist_result *r)
{
    size_t cap = f->nrec < BLOCK_RECS ? (size_t)f->nrec : BLOCK_RECS;
    uint8_t *buf = malloc((cap ? cap : 1) * REC);
    if (!buf)
        return MS_ENOMEM;
    int rc = 0;
    for (uint64_t at = 0; at < f->nrec && rc == 0;) {
        size_t n = f->nrec - at < BLOCK_RECS ? (size_t)(f->nrec - at)
                                             : BLOCK_RECS;
        rc = pread_all(fd, buf, n * REC, at * REC);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const uint8_t *p = buf + i * REC;
            uint64_t t = ms_get_u64(p);
            if (t < a || t >= b || ms_hist_rec_is_hole(p))
                continue;
            ms_hist_rec *w = ms_hist_result_reserve(r, 1);
            if (!w) {
                rc = MS_ENOMEM;
                break;
            }
            ms_hist_rec_decode(p, w);
            r->len++;
        }
        at += n;
    }
    free(buf);
    return rc;
}

int ms_hist_file_read(const ms_hist_file *f, const char *path, uint64_t a,
                      uint64_t b, ms_hist_result *r)
{
    if (f->nrec == 0 || f->max < a || f->min >= b || b <= a)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : MS_EIO;
    int rc;
    if (f->ordered) {
        uint64_t lo, hi;
        rc = ms_hist_file_span(f, fd, a, b, &lo, &hi);
        if (rc == 0 && hi > lo) {
            ms_hist_rec *w = ms_hist_result_reserve(r, (size_t)(hi - lo));
            if (!w)
                rc = MS_ENOMEM;
            else if ((rc = ms_hist_file_pread(fd, lo, hi, w)) == 0)
                r->len += (size_t)(hi - lo);
        }
    } else {
        rc = scan(f, fd, a, b, r);
    }
    close(fd);
    return rc;
}
