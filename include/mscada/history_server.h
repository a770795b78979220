/* The history recorder and server (docs/history.md): history.yaml, and the
 * object `mscada history` runs on its loop. It subscribes to every int and
 * float tag of tags.yaml, records each change (clamped to min/max, past
 * the deadband) into a history store, flushes it every flush_interval,
 * applies retention, and answers range requests (RTA) on rta_tag. */
#ifndef MSCADA_HISTORY_SERVER_H
#define MSCADA_HISTORY_SERVER_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mscada/loop.h"

#include "mscada/client.h"
#include "mscada/conf.h"
#include "mscada/history.h"
#include "mscada/tagdesc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_HIST_RTA_TAG "__history__"
#define MS_HIST_FLUSH_INTERVAL 10.0

typedef struct {
    ms_client_config client; /* bus_ip, bus_port */
    char *path;              /* the folder of the files */
    char *rta_tag;           /* default __history__ */
    double flush_interval;   /* seconds, default 10 */
    uint64_t file_records;   /* default 6,553,600 */
    double retain_days;      /* 0: keep forever */
    size_t mem_cap;          /* bytes buffered at most (disk failing) */
    size_t max_reply;        /* largest RTA reply (type byte included) */
    const char *tags_file;   /* for messages (not owned); "tags.yaml" */
} ms_hist_config;

MS_EXTERN void ms_hist_config_init(ms_hist_config *cfg);
MS_EXTERN void ms_hist_config_free(ms_hist_config *cfg);
/* Loads history.yaml. With make_dir, the folder is created when missing
 * and must be writable (checked by writing a probe file). Returns 0, or
 * MS_ENOENT / MS_EIO / MS_ECONFIG with err as "file:line:col: what". */
MS_EXTERN int ms_hist_config_load(const char *path, bool make_dir, ms_hist_config *cfg,
                        ms_conf_error *err);

typedef struct ms_hist_server ms_hist_server;

/* Opens the store over cfg->path, adds a series per int and float tag of
 * tags (tags that can't be file names are refused: MS_EINVAL with why
 * naming tags.yaml:line:col), connects to the bus and starts recording.
 * cfg and tags are copied or only used during the call. */
/* Checks that history can record every int and float tag of tags (file
 * names the tags.yaml for messages): 0, or MS_EINVAL with why holding
 * "file:line:col: tag 'X' ...". ms_hist_server_start refuses the same
 * tags, so `mscada validate` and history agree. */
MS_EXTERN int ms_hist_tags_check(const ms_tagdescs *tags, const char *file, char *why,
                       size_t cap);

MS_EXTERN int ms_hist_server_start(uv_loop_t *loop, const ms_hist_config *cfg,
                         const ms_tagdescs *tags, ms_hist_server **out,
                         char *why, size_t cap);
/* Writes every buffer, closes the client and the timers; the server frees
 * itself once the loop has closed them (uv_run then returns). */
MS_EXTERN void ms_hist_server_stop(ms_hist_server *s);
/* The store, e.g. for a test or a bench to flush or count. */
MS_EXTERN ms_hist_store *ms_hist_server_store(ms_hist_server *s);
/* Values recorded (appended) since start. */
MS_EXTERN uint64_t ms_hist_server_recorded(const ms_hist_server *s);

/* ---- RTA requests (pure) ------------------------------------------------ */

typedef struct {
    char tagname[256];
    uint16_t rta_id;
    uint64_t start_us, end_us; /* end UINT64_MAX: "now", filled by caller */
    bool end_now;
    size_t max_points; /* 0: all */
} ms_hist_request;

/* Parses a JSON request {"__rta_id__", "tagname", "start_us"/"start_ms",
 * "end_us"/"end_ms" (-1, null or absent: now), "max_points"}. Returns 0
 * or MS_EINVAL with why. */
MS_EXTERN int ms_hist_request_parse(const char *json, size_t len, ms_hist_request *rq,
                          char *why, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
