/* The bus client (docs/client.md): connects to a bus, keeps typed tags
 * (mscada/tag.h) in step with it, and reconnects by itself with capped
 * exponential backoff, then registers every tag again and re-publishes the
 * values this program authors.
 *
 * Two ways to run it:
 * - on a libuv loop the caller owns (ms_client_new): every call and every
 *   callback on that loop's thread;
 * - in a background thread that owns its own loop (ms_client_thread_start):
 *   ms_client_thread_* calls are safe from any thread, callbacks run on the
 *   client's thread. */
#ifndef MSCADA_CLIENT_H
#define MSCADA_CLIENT_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mscada/loop.h"

#include "mscada/conf.h"
#include "mscada/tag.h"
#include "mscada/tagdesc.h"
#include "mscada/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MS_CLIENT_CONNECTING = 0, /* not connected: trying, first or again */
    MS_CLIENT_CONNECTED = 1,  /* the TCP connection to the bus is up */
    MS_CLIENT_CLOSED = 2      /* ms_client_close was called */
} ms_client_state;

/* "connecting", "connected" or "closed". */
MS_EXTERN const char *ms_client_state_name(ms_client_state s);

typedef void (*ms_client_state_cb)(ms_client *c, ms_client_state state,
                                   void *arg);
/* A LIST answer: status 0 and n names (valid during the call), or
 * MS_ECLOSED when the connection went before the answer came. */
typedef void (*ms_client_list_cb)(ms_client *c, int status,
                                  const char *const *names, size_t n,
                                  void *arg);

/* Longest backoff or connect timeout, in seconds: a day. */
#define MS_CLIENT_SECONDS_MAX 86400.0

/* Start from ms_client_config_init, which sets every default; every value
 * is then taken as it is (0 is never "the default"): ms_client_new refuses
 * one outside its range, which ms_client_config_check names. */
typedef struct {
    char host[256];            /* bus address or name, not ""; default
                                * 127.0.0.1 */
    int port;                  /* 1-65535; default 1324 */
    char name[64];             /* if set, "NAME connected" goes to the bus
                                * LOG on each connect (as pymscada does);
                                * default "" (none) */
    size_t max_payload;        /* largest value sent or received, at least
                                * 1 byte; default 64 MiB */
    size_t queue_high_water;   /* queued bytes past which plain SETs keep
                                * only the latest per tag (sent again when
                                * the queue is below it), at least 1;
                                * default 1 MiB */
    size_t queue_hard_cap;     /* queued bytes past which BYTES sets fail
                                * with MS_EFULL, at least 1; default
                                * 256 MiB */
    double backoff_min;        /* seconds before the first retry, more
                                * than 0 (no retry in a busy loop) and at
                                * most MS_CLIENT_SECONDS_MAX; default 0.1 */
    double backoff_max;        /* the cap of the doubling, from backoff_min
                                * to MS_CLIENT_SECONDS_MAX; default 5 */
    double connect_timeout;    /* seconds for one connect attempt, more
                                * than 0 and at most MS_CLIENT_SECONDS_MAX;
                                * default 5 */
    double answer_timeout;     /* seconds connected with IDs unanswered
                                * before the client says the bus is not
                                * reading it (ms_client_stalled), more than
                                * 0 and at most MS_CLIENT_SECONDS_MAX;
                                * default 10 */
    /* Optional tag descriptions (tags.yaml): min/max/deadband for the
     * program's own sets; must stay valid while the client exists. */
    const ms_tagdescs *tagdescs;
    /* Publish a description's `init` when the bus answers SUB with no
     * value and the tag has none here. Off unless the program opts in. */
    bool use_init;
    ms_client_state_cb on_state; /* called on every state change */
    void *on_state_arg;
} ms_client_config;

MS_EXTERN void ms_client_config_init(ms_client_config *cfg);
/* 0 when ms_client_new would take cfg; else MS_EINVAL with why (cap bytes,
 * may be NULL) naming the setting and what it may be, e.g. "backoff_max
 * must be from backoff_min (0.1) to 86400 seconds (is 0)". */
MS_EXTERN int ms_client_config_check(const ms_client_config *cfg, char *why,
                                     size_t cap);
/* "HOST:PORT", "HOST", ":PORT" or "[IPV6]:PORT". Returns 0 or MS_EINVAL. */
MS_EXTERN int ms_client_config_set_bus(ms_client_config *cfg, const char *host_port);
/* Reads `bus_ip` and `bus_port` from a module config's root map (both
 * optional: a field changes only when its key is there, so start from
 * ms_client_config_init). Returns 0 or MS_ECONFIG with err set. */
MS_EXTERN int ms_client_config_from_conf(ms_client_config *cfg,
                               const ms_conf_node *root, ms_conf_error *err);

/* ---- on a loop the caller owns ------------------------------------------ */

/* Makes a client on loop and starts connecting from the loop (it keeps
 * trying until ms_client_close; no callback runs inside this call). cfg is
 * copied. Returns 0 with *out set; or MS_EINVAL (ms_client_config_check
 * says why), MS_ENOMEM, with *out NULL and nothing left behind. */
MS_EXTERN int ms_client_new(uv_loop_t *loop, const ms_client_config *cfg,
                  ms_client **out);
/* Disconnects and frees the client and its tags once the loop has run the
 * close callbacks (uv_run returns when nothing else is active). Pending
 * LIST callbacks get MS_ECLOSED; nothing else is called afterwards. Safe
 * inside a callback and safe to call twice. */
MS_EXTERN void ms_client_close(ms_client *c);
MS_EXTERN ms_client_state ms_client_get_state(const ms_client *c);
MS_EXTERN uv_loop_t *ms_client_loop(const ms_client *c);
/* Times the client (re)connected so far. */
MS_EXTERN uint64_t ms_client_connects(const ms_client *c);

/* Asks the bus for tag names: pattern "^abc" (starts with), "abc$" (ends
 * with), "abc" (contains), or NULL/"" for tags set after since_us. Does not
 * create tags. Returns 0 (cb will be called), MS_ECLOSED when not
 * connected, MS_ENOMEM. */
MS_EXTERN int ms_client_list(ms_client *c, const char *pattern, uint64_t since_us,
                   ms_client_list_cb cb, void *arg);
/* Sends a line to the bus log (which also sets `__bus__`): at most 300
 * bytes of UTF-8. Only to a bus that takes LOG (a pymscada 2024 bus stops
 * reading a connection that sends one): the first line on a connection
 * waits for the bus's ID reply of `__bus__`, and goes only if that tag has
 * been set, i.e. the bus has taken LOG. Returns 0 (sent, or held until
 * that answer), MS_EPROTO (this bus has shown no LOG), MS_ECLOSED,
 * MS_ETOOBIG, MS_EINVAL. */
MS_EXTERN int ms_client_log(ms_client *c, const char *text);
/* True while connected with ID requests unanswered past answer_timeout:
 * the bus is not reading this connection (also logged, once). */
MS_EXTERN bool ms_client_stalled(const ms_client *c);

/* ---- in a background thread --------------------------------------------- */

typedef struct ms_client_thread ms_client_thread;

/* Starts a thread with its own loop and a client on it. cfg is copied;
 * cfg->on_state runs on the client thread. Returns 0 with *out set; or
 * MS_EINVAL (ms_client_config_check says why; refused before anything is
 * made), MS_ENOMEM, MS_EIO (no thread), with *out NULL and nothing left
 * behind. */
MS_EXTERN int ms_client_thread_start(const ms_client_config *cfg,
                           ms_client_thread **out);
/* Closes the client, joins the thread, frees everything. Not from the
 * client thread itself (a callback): that is refused with a log line. */
MS_EXTERN void ms_client_thread_stop(ms_client_thread *th);
MS_EXTERN ms_client_state ms_client_thread_state(ms_client_thread *th);

/* Declares a tag (ID + SUB), as ms_tag_new. Returns when done. */
MS_EXTERN int ms_client_thread_tag(ms_client_thread *th, const char *name,
                         ms_type type);
/* Sets a tag, declaring it (with the value's type) if new; the result is
 * ms_tag_set's, known when this returns. */
MS_EXTERN int ms_client_thread_set(ms_client_thread *th, const char *name,
                         const ms_value *v, uint64_t time_us);
MS_EXTERN int ms_client_thread_set_int(ms_client_thread *th, const char *name,
                             int64_t v);
MS_EXTERN int ms_client_thread_set_float(ms_client_thread *th, const char *name,
                               double v);
MS_EXTERN int ms_client_thread_set_str(ms_client_thread *th, const char *name,
                             const char *s);
/* Copies a tag's value without waiting for the client thread. STR, BYTES
 * and JSON come in a malloc'd buffer (NUL-terminated) that the caller frees
 * with ms_client_value_free. Returns 0, MS_ENOENT (no such tag declared, or
 * no value yet), MS_ENOMEM. */
MS_EXTERN int ms_client_thread_get(ms_client_thread *th, const char *name,
                         ms_value *v, uint64_t *time_us);
MS_EXTERN void ms_client_value_free(ms_value *v);
/* Typed reads as ms_tag_get_int / ms_tag_get_float. */
MS_EXTERN int ms_client_thread_get_int(ms_client_thread *th, const char *name,
                             int64_t *out);
MS_EXTERN int ms_client_thread_get_float(ms_client_thread *th, const char *name,
                               double *out);
/* Adds a change callback (declaring the tag, untyped, if new); cb runs on
 * the client thread. */
MS_EXTERN int ms_client_thread_watch(ms_client_thread *th, const char *name,
                           ms_tag_cb cb, void *arg);
/* Runs fn(client, arg) on the client thread and returns its result: the
 * way to use the whole loop API (RTA, LIST, tags) from another thread.
 * Called from the client thread itself, fn runs at once. Returns
 * MS_ECLOSED once the thread is stopping. */
MS_EXTERN int ms_client_thread_call(ms_client_thread *th,
                          int (*fn)(ms_client *c, void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif
