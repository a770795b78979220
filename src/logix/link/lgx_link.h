/* A Logix session on the project's dialer (net/dial.h): TCP to 44818,
 * RegisterSession, then Large Forward Open (4002 bytes) falling back to
 * Forward Open (504) on "service not supported" and to unconnected
 * messaging when both are refused; a fresh connection serial on
 * "connection in use"; requests queued and sent one at a time, the reply
 * matched by sequence number (connected) or sender context; a timeout
 * drops the connection; Forward Close before closing; reconnects with the
 * dialer's capped, jittered backoff. The owner builds and parses the CIP
 * messages (logix/codec). */
#ifndef MS_LOGIX_LINK_H
#define MS_LOGIX_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct ms_lgx_link ms_lgx_link;

/* A request's end: status 0 with the CIP reply (rsp, n), or a negative
 * error (MS_ETIMEDOUT, MS_ECLOSED: the connection went, MS_ENOMEM) with
 * rsp NULL. */
typedef void (*ms_lgx_done)(int status, const uint8_t *rsp, size_t n,
                            void *arg);

typedef struct {
    const char *name;          /* for log lines: the RTU's */
    const char *host;
    int port;
    const uint8_t *route;      /* port segments to the CPU (copied) */
    size_t route_len;
    double timeout;            /* seconds: connect and each request */
    unsigned conn_size;        /* 0: try 4002, then 504 */
    double backoff_min, backoff_max;
    /* The session is ready (up) or gone. */
    void (*on_state)(ms_lgx_link *l, bool up, void *arg);
    /* Why a connect or a session failed (also logged once). */
    void (*on_fail)(ms_lgx_link *l, const char *why, void *arg);
    void *arg;
} ms_lgx_link_config;

typedef struct {
    uint64_t requests, responses, timeouts, connects;
    double rtt_ms;             /* of the last reply */
} ms_lgx_link_stats;

int ms_lgx_link_new(uv_loop_t *loop, const ms_lgx_link_config *cfg,
                    ms_lgx_link **out);
/* Queues a CIP request (copied); sent when the session is up and the
 * ones before it are answered. MS_ECLOSED when the session is not up. */
int ms_lgx_link_submit(ms_lgx_link *l, const uint8_t *cip, size_t n,
                       ms_lgx_done cb, void *arg);
bool ms_lgx_link_up(const ms_lgx_link *l);
/* The largest CIP request or reply the session carries (the connection
 * size, or 504 unconnected). */
size_t ms_lgx_link_room(const ms_lgx_link *l);
bool ms_lgx_link_connected_messaging(const ms_lgx_link *l);
void ms_lgx_link_stats_get(const ms_lgx_link *l, ms_lgx_link_stats *st);
/* Fails what is queued (MS_ECLOSED, callbacks run), sends a Forward Close
 * when a connection is open, and closes; on_closed once all is freed. */
void ms_lgx_link_close(ms_lgx_link *l, void (*on_closed)(void *arg),
                       void *arg);

#endif
