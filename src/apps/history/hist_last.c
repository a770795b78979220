/* The ends of a series. Its last record in write order is what the
 * history module compares the bus's value with after a restart, so that
 * the value the bus hands back on subscribe is not recorded a second time
 * (only the newest file's tail is read, never whole files). Its time span
 * is where history-export starts. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/history/hist_store_int.h"
#include "mscada/error.h"

#define REC MS_HIST_REC_SIZE
#define TAIL_RECS 256

/* The last whole, non-zero record of the file at path: 1 found, 0 none. */
static int file_last(const char *path, ms_hist_rec *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : MS_EIO;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return MS_EIO;
    }
    uint8_t buf[TAIL_RECS * REC];
    uint64_t keep = (uint64_t)st.st_size / REC; /* a torn record never counts */
    int rc = 0;
    while (keep > 0 && rc == 0) {
        size_t n = keep < TAIL_RECS ? (size_t)keep : TAIL_RECS;
        uint64_t from = keep - n;
        ssize_t got = pread(fd, buf, n * REC, (off_t)(from * REC));
        if (got != (ssize_t)(n * REC)) {
            rc = MS_EIO;
            break;
        }
        /* Skips a zero-filled tail (a lost write), as reads do. */
        size_t k = ms_hist_tail_trim(buf, n);
        if (k > 0) {
            ms_hist_rec_decode(buf + (k - 1) * REC, out);
            rc = 1;
        }
        keep = from;
    }
    close(fd);
    return rc;
}

int ms_hist_series_last(ms_hist_series *h, ms_hist_rec *out)
{
    if (h->len >= REC) {
        ms_hist_rec_decode(h->buf + h->len - REC, out);
        return 0;
    }
    /* An empty newest file (created, nothing landed) falls back to the
     * one before it. */
    for (size_t i = h->nfiles; i-- > 0;) {
        int rc = file_last(ms_hist_file_path(h->store, h, &h->files[i]), out);
        if (rc < 0)
            return rc;
        if (rc > 0)
            return 0;
    }
    return MS_ENOENT;
}

int ms_hist_series_span(ms_hist_series *h, uint64_t *first, uint64_t *last)
{
    bool any = false;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < h->nfiles; i++) {
        ms_hist_file *f = &h->files[i];
        if (ms_hist_file_check(f, ms_hist_file_path(h->store, h, f)) < 0)
            return MS_EIO;
        if (f->nrec == 0)
            continue;
        any = true;
        lo = f->min < lo ? f->min : lo;
        hi = f->max > hi ? f->max : hi;
    }
    for (size_t off = 0; off < h->len; off += REC) {
        uint64_t t = ms_get_u64(h->buf + off);
        any = true;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    if (!any)
        return MS_ENOENT;
    *first = lo;
    *last = hi;
    return 0;
}
