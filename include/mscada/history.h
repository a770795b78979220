/* The history store (docs/design.md §7, docs/history.md): numeric tags recorded to
 * pymscada-compatible files in one folder, `<tag>_<first_time_us>.dat`, each
 * a run of 16-byte big-endian records (u64 time_us, then int64 or double).
 *
 * A store owns the folder; a series is one tag in it. Appends go to a
 * per-series buffer that is written (open, append, close: no descriptor is
 * held per tag) when it fills and at every ms_hist_store_flush(). Queries
 * answer A <= time_us < B in time order with duplicate times resolved (the
 * later record wins), buffered records included, optionally downsampled.
 * Not thread-safe: one loop owns a store. */
#ifndef MSCADA_HISTORY_H
#define MSCADA_HISTORY_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_HIST_REC_SIZE 16
/* Longest tag name that can be a file name here (with room for the time). */
#define MS_HIST_NAME_MAX 200

/* One record, decoded. Which union member is meant is the series' type. */
typedef struct {
    uint64_t time_us;
    union {
        int64_t i;
        double f;
    } u;
} ms_hist_rec;

/* Records a query returns. The caller zero-initialises it, may reuse it for
 * many queries (each one replaces the contents) and frees it. */
typedef struct {
    ms_hist_rec *recs;
    size_t len;
    size_t cap;
    bool downsampled; /* the last query dropped records to fit max_points */
} ms_hist_result;

MS_EXTERN void ms_hist_result_free(ms_hist_result *r);

typedef struct {
    uint64_t file_records; /* records per file before a new one starts */
    size_t chunk_records;  /* records buffered per tag before a write */
    size_t mem_cap;        /* bytes buffered over all tags, at most */
    bool sync;             /* fdatasync each write (power-loss safety) */
} ms_hist_opts;

#define MS_HIST_FILE_RECORDS 6553600
#define MS_HIST_CHUNK_RECORDS 1024
#define MS_HIST_MEM_CAP (64u << 20)

MS_EXTERN void ms_hist_opts_default(ms_hist_opts *o);

typedef struct ms_hist_store ms_hist_store;
typedef struct ms_hist_series ms_hist_series;

/* Opens the store over folder dir (which must exist) and lists its files
 * once. o may be NULL for the defaults. Returns 0, MS_ENOENT, MS_EINVAL,
 * MS_ENOMEM or MS_EIO; why (cap bytes, may be NULL) says what went wrong. */
MS_EXTERN int ms_hist_store_open(ms_hist_store **out, const char *dir,
                       const ms_hist_opts *o, char *why, size_t cap);
/* Flushes (best effort) and frees the store and its series. */
MS_EXTERN void ms_hist_store_close(ms_hist_store *s);
/* Re-lists the folder, for a reader whose files another process writes. */
MS_EXTERN int ms_hist_store_rescan(ms_hist_store *s);

/* Adds tag name of type MS_TYPE_INT or MS_TYPE_FLOAT (or returns the series
 * already added under that name). MS_EINVAL for a name that can't be a file
 * name, MS_ETYPE for another type or a clash with the earlier type. */
MS_EXTERN int ms_hist_series_add(ms_hist_store *s, const char *name, ms_type type,
                       ms_hist_series **out, char *why, size_t cap);
MS_EXTERN ms_hist_series *ms_hist_series_find(ms_hist_store *s, const char *name);
MS_EXTERN const char *ms_hist_series_name(const ms_hist_series *h);
MS_EXTERN ms_type ms_hist_series_type(const ms_hist_series *h);

/* Buffers one record (r.u.i for an INT series, r.u.f for FLOAT). A full
 * buffer is written at once. Returns 0; MS_EIO when a write failed (the
 * record and the buffer are kept); MS_EFULL when the memory cap is reached
 * while the disk fails (the record is dropped and counted). */
MS_EXTERN int ms_hist_series_append(ms_hist_series *h, ms_hist_rec r);
static inline int ms_hist_series_append_int(ms_hist_series *h,
                                            uint64_t time_us, int64_t i)
{
    ms_hist_rec r;
    r.time_us = time_us;
    r.u.i = i;
    return ms_hist_series_append(h, r);
}
static inline int ms_hist_series_append_float(ms_hist_series *h,
                                              uint64_t time_us, double f)
{
    ms_hist_rec r;
    r.time_us = time_us;
    r.u.f = f;
    return ms_hist_series_append(h, r);
}

/* Writes every series' buffer. Returns 0, or MS_EIO when a write failed:
 * that data stays buffered and is retried at the next flush. The first
 * failure and the recovery are logged once each. */
MS_EXTERN int ms_hist_store_flush(ms_hist_store *s);
/* The same spread over calls, so a loop with many tags is never stalled
 * by one long flush: writes the buffers of about max_writes series from
 * *cursor on (0 starts a pass) and sets *done when the pass has been
 * through every series. Returns 0 or MS_EIO as ms_hist_store_flush. */
MS_EXTERN int ms_hist_store_flush_some(ms_hist_store *s, size_t *cursor,
                             size_t max_writes, bool *done);
/* Records buffered (not yet written) over all series. */
MS_EXTERN size_t ms_hist_store_buffered(const ms_hist_store *s);
/* Records dropped because the memory cap was reached. */
MS_EXTERN uint64_t ms_hist_store_dropped(const ms_hist_store *s);

/* Replaces r's contents with the records A <= time_us < B in time order,
 * duplicates resolved (the later one wins), buffered records included.
 * With max_points > 0 and more records than that, returns at most
 * max(max_points, 4) of them as ms_hist_downsample() picks. Returns 0,
 * MS_ENOMEM or MS_EIO. */
MS_EXTERN int ms_hist_series_query(ms_hist_series *h, uint64_t a, uint64_t b,
                         size_t max_points, ms_hist_result *r);

/* The last record written or buffered (in write order, which for a
 * forecast tag need not be the latest time): 0, MS_ENOENT when the series
 * has none, MS_EIO. Reads only the newest file's tail. */
MS_EXTERN int ms_hist_series_last(ms_hist_series *h, ms_hist_rec *out);
/* The earliest and latest time the series holds (files and buffer): 0,
 * MS_ENOENT when it holds nothing, MS_EIO. Reads each file once to learn
 * its facts, as a query does. */
MS_EXTERN int ms_hist_series_span(ms_hist_series *h, uint64_t *first, uint64_t *last);

/* Deletes each file of every series whose next file starts before
 * cutoff_us (so what a file holds is kept until all of it is older).
 * Returns the number of files deleted or MS_EIO. */
MS_EXTERN long ms_hist_store_retain(ms_hist_store *s, uint64_t cutoff_us);

/* ---- pure helpers (no I/O) ------------------------------------------- */

/* 0 when the len bytes at name can be a tag's file name prefix (1 to
 * MS_HIST_NAME_MAX bytes, no '/' and no NUL); else MS_EINVAL with why. */
MS_EXTERN int ms_hist_name_check(const char *name, size_t len, char *why, size_t cap);

/* Parses a folder entry `<tag>_<digits>.dat`: on success sets *tag_len (the
 * tag is the first *tag_len bytes of fname) and *time_us and returns 0;
 * MS_EINVAL when the name is not a history file of any tag. The tag is
 * everything before the last '_', so "a_10_2.dat" is tag "a_10", never
 * "a". */
MS_EXTERN int ms_hist_file_parse(const char *fname, size_t *tag_len, uint64_t *time_us);

/* Parses a time for history-export's --from/--to: integer microseconds
 * since 1970, an ISO 8601 date (2024-03-01, midnight UTC) or date and time
 * (2024-03-01T12:30, 2024-03-01 12:30:15.25, optional Z or +00:00; other
 * offsets are applied), `now`, or a time before now: -90s, -30m, -1.5h,
 * -2d, -1w. Returns 0, or MS_EINVAL with why. */
MS_EXTERN int ms_hist_time_parse(const char *s, uint64_t *out_us, char *why,
                       size_t cap);
/* The same with "now" given (pure: for tests and repeatable runs). */
MS_EXTERN int ms_hist_time_parse_at(const char *s, uint64_t now_us,
                                    uint64_t *out_us, char *why, size_t cap);

/* Record codec: 16 bytes big-endian. */
MS_EXTERN void ms_hist_rec_encode(const ms_hist_rec *r, uint8_t out[MS_HIST_REC_SIZE]);
MS_EXTERN void ms_hist_rec_decode(const uint8_t in[MS_HIST_REC_SIZE], ms_hist_rec *r);

/* Of n whole records at p, how many remain once trailing all-zero records
 * are cut (a zero-filled tail is what a file holds where the disk lost a
 * write). A torn record (a file length not a multiple of 16) is never
 * whole, so the caller leaves it out of n. */
MS_EXTERN size_t ms_hist_tail_trim(const uint8_t *p, size_t n);

/* True when the record is 16 zero bytes: never data (1970-01-01 with a
 * zero value), always a lost write. */
MS_EXTERN bool ms_hist_rec_is_hole(const uint8_t p[MS_HIST_REC_SIZE]);

/* Sorts n records by time, keeping equal times in their order, then keeps
 * only the last of each time. Returns the new count, or MS_ENOMEM. */
MS_EXTERN long ms_hist_resolve(ms_hist_rec *recs, size_t n);

/* ---- downsampling ------------------------------------------------------ */

/* Splits [t0, t1) into max_points / 4 equal buckets and keeps, in time
 * order, the first, smallest, largest and last record of each (each record
 * once), so that every peak and trough survives. Records must come in time
 * order with unique times. Streaming form: */
typedef struct {
    ms_type type;
    uint64_t t0, width;
    bool open;
    uint64_t bucket;
    ms_hist_rec first, min, max, last;
} ms_hist_ds;

MS_EXTERN void ms_hist_ds_init(ms_hist_ds *d, ms_type type, uint64_t t0, uint64_t t1,
                     size_t max_points);
/* Feeds n records; appends what finished buckets keep to out. 0 or
 * MS_ENOMEM. */
MS_EXTERN int ms_hist_ds_push(ms_hist_ds *d, const ms_hist_rec *in, size_t n,
                    ms_hist_result *out);
/* Ends the last bucket. */
MS_EXTERN int ms_hist_ds_end(ms_hist_ds *d, ms_hist_result *out);

/* Downsamples r in place over [first time, last time + 1) to at most
 * max(max_points, 4) records; unchanged when it holds no more than
 * max_points (or max_points is 0). 0 or MS_ENOMEM. */
MS_EXTERN int ms_hist_downsample(ms_hist_result *r, ms_type type, size_t max_points);

#ifdef __cplusplus
}
#endif
#endif
