/* Inside the history store: result growth and what is known about one
 * file (src/apps/history/hist_read.c), shared by the store's source files. */
#ifndef MS_HISTORY_HIST_INT_H
#define MS_HISTORY_HIST_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mscada/history.h"

/* Makes room for n more records in r; returns where to write them (then
 * add n to r->len) or NULL when out of memory. */
ms_hist_rec *ms_hist_result_reserve(ms_hist_result *r, size_t n);

/* One file of a series. The facts below `known` are valid while the file
 * still has the size and mtime they were taken at, so a file another
 * process grew is looked at again. */
typedef struct {
    uint64_t time_us; /* from the name */
    uint8_t width;    /* digits in the name (leading zeros kept) */
    bool known;
    off_t size;
    int64_t mtime_ns;
    uint64_t nrec;    /* whole records before a torn or zero tail */
    bool ordered;     /* strictly increasing times, no zero records */
    uint64_t min, max; /* of its non-zero records (nrec > 0) */
} ms_hist_file;

/* Brings f's facts up to date for the file at path (reads it once when it
 * changed). A file that has gone reads as empty. 0 or MS_EIO. */
int ms_hist_file_check(ms_hist_file *f, const char *path);

/* Appends f's records with a <= time_us < b to r, in file order: by binary
 * search when f is ordered, by a scan (skipping zero records) otherwise.
 * f must be checked. 0, MS_ENOMEM or MS_EIO. */
int ms_hist_file_read(const ms_hist_file *f, const char *path, uint64_t a,
                      uint64_t b, ms_hist_result *r);

/* For an ordered f: the record indexes [*lo, *hi) holding a <= t < b. */
int ms_hist_file_span(const ms_hist_file *f, int fd, uint64_t a, uint64_t b,
                      uint64_t *lo, uint64_t *hi);

/* Reads records [lo, hi) of the file at fd into out (decoded). */
int ms_hist_file_pread(int fd, uint64_t lo, uint64_t hi, ms_hist_rec *out);

#endif
