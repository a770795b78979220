/* The store's and a series' insides, shared by hist_store.c (buffers,
 * writing, retention), hist_dir.c (the folder listing) and hist_query.c. */
#ifndef MS_HISTORY_HIST_STORE_INT_H
#define MS_HISTORY_HIST_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apps/history/hist_int.h"

/* One `<tag>_<digits>.dat` in the folder, as listed. */
typedef struct {
    char *tag;
    uint64_t time_us;
    uint8_t width;
} ms_hist_entry;

struct ms_hist_series {
    ms_hist_store *store;
    ms_hist_series *hash_next;
    char *name;
    ms_type type;
    uint8_t *buf;      /* encoded records not yet written, in arrival order */
    size_t len, cap;   /* bytes */
    size_t chunk;      /* bytes buffered before a write */
    ms_hist_file *files; /* by name time; the last is appended to */
    size_t nfiles, capfiles;
    bool tail_checked; /* the newest file's tail was checked this run */
    uint64_t cur_size; /* the newest file's length as we left it */
    uint64_t cur_nrec;
};

struct ms_hist_store {
    char *dir;
    char *path; /* scratch for file paths */
    size_t path_cap;
    ms_hist_opts o;
    ms_hist_entry *ents; /* sorted by (tag, time) */
    size_t nents;
    ms_hist_series **hash;
    size_t hash_cap, nseries;
    size_t buffered; /* bytes over all series */
    bool failing, drop_logged;
    bool pass_failed; /* a write failed in this ms_hist_store_flush_some pass */
    int fail_errno;
    uint64_t dropped;
};

/* The path of f (in s's scratch buffer, valid until the next call). */
const char *ms_hist_file_path(ms_hist_store *s, const ms_hist_series *h,
                              const ms_hist_file *f);

/* Lists the folder into s->ents. 0, MS_ENOMEM or MS_EIO. */
int ms_hist_dir_list(ms_hist_store *s);
void ms_hist_dir_free(ms_hist_store *s);
/* Fills h->files from the listing (keeping facts of files it had). */
int ms_hist_dir_files(ms_hist_store *s, ms_hist_series *h);

#endif
