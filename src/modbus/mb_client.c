/* The Modbus client transport (mscada/mbclient.h): a libuv TCP socket
 * around the pure session (mb_session.c) — connect with a timeout,
 * TCP_NODELAY and keepalive, read and feed the session, write its requests
 * in batches (ms_outq), one timer for request deadlines, and reconnect with
 * capped jittered exponential backoff after any failure. Logs one line per
 * change of state, not one per failed attempt. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/outq.h"
#include "modbus/mb_mclient.h"
#include "modbus/mb_session.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbclient.h"
#include "mscada/mstime.h"

#define READ_CHUNK 4096

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    ms_outq q;
    ms_mb_client *c;
    bool dropped; /* no longer c->conn: its callbacks do nothing */
    bool up;
} mb_conn;

struct ms_mb_client {
    ms_mb_mclient *m;  /* serial line or UDP: mb_mclient.c does the rest */
    uv_loop_t *loop;
    ms_mb_client_config cfg;
    ms_mb_session s;
    uv_timer_t timer;  /* connect timeout, then reconnect backoff */
    uv_timer_t rtimer; /* the earliest request deadline */
    uv_idle_t idle;    /* flushes new requests at the next loop turn */
    uv_getaddrinfo_t gai;
    bool idle_on, resolving, closing, fail_logged;
    int handles;
    mb_conn *conn;
    ms_buf in, out;
    size_t inflight; /* bytes in the write in flight */
    unsigned attempt;
    uint64_t rng, up_ns;
};

static void start_attempt(ms_mb_client *c);
static void flush(ms_mb_client *c);

void ms_mb_client_config_init(ms_mb_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ms_mb_serial_config_init(&cfg->serial);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 502;
    cfg->framing = MS_MB_FRAMING_MBAP;
    cfg->timeout = 1.0;
    cfg->retries = 1;
    cfg->max_in_flight = 1;
    cfg->connect_timeout = 3.0;
    cfg->backoff_min = 0.1;
    cfg->backoff_max = 5.0;
}

static void maybe_free(ms_mb_client *c)
{
    if (c->handles > 0)
        return;
    ms_buf_free(&c->in);
    ms_buf_free(&c->out);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_mb_client *c = h->data;
    c->handles--;
    maybe_free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    mb_conn *conn = h->data;
    ms_mb_client *c = conn->c;
    ms_outq_free(&conn->q);
    free(conn);
    c->handles--;
    maybe_free(c);
}

static void drop_conn(ms_mb_client *c)
{
    mb_conn *conn = c->conn;
    if (!conn)
        return;
    c->conn = NULL;
    conn->dropped = true;
    c->inflight = 0;
    c->in.off = c->in.len = 0;
    c->out.off = c->out.len = 0;
    uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

/* ---- request deadlines ---------------------------------------------------- */

static void on_rtimer(uv_timer_t *t);

static void arm_rtimer(ms_mb_client *c)
{
    uint64_t d = ms_mb_session_deadline(&c->s);
    if (!d || c->closing) {
        uv_timer_stop(&c->rtimer);
        return;
    }
    uint64_t now = ms_time_mono_ns();
    uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
    uv_timer_start(&c->rtimer, on_rtimer, ms, 0);
}

/* Sends what the session lets go now, and re-arms the deadline timer. */
static void pump(ms_mb_client *c)
{
    if (c->conn && c->conn->up && !c->closing) {
        if (ms_mb_session_take(&c->s, ms_time_mono_ns(), &c->out) > 0)
            flush(c);
    }
    if (!c->closing)
        arm_rtimer(c);
}

static void lost(ms_mb_client *c, const char *why);

static void on_rtimer(uv_timer_t *t)
{
    ms_mb_client *c = t->data;
    uint64_t timeouts = c->s.stats.timeouts;
    ms_mb_session_expire(&c->s, ms_time_mono_ns());
    /* A try timed out while part of an answer sits in the buffer: the peer
     * stopped mid-frame, and whatever it sends next would be read as the
     * rest of that frame. The stream can't be trusted: start afresh. */
    if (c->s.stats.timeouts != timeouts && c->conn && c->conn->up &&
        ms_buf_size(&c->in)) {
        char why[128];
        snprintf(why, sizeof why, "the peer stopped mid-frame (%zu bytes of "
                 "an answer, then silence for a timeout)", ms_buf_size(&c->in));
        lost(c, why);
        return;
    }
    pump(c);
}

static void on_idle(uv_idle_t *h)
{
    ms_mb_client *c = h->data;
    uv_idle_stop(h);
    c->idle_on = false;
    pump(c);
}

/* ---- connection loss and retry -------------------------------------------- */

static uint64_t rng_next(ms_mb_client *c)
{
    /* xorshift64*: jitter only, so that many clients don't reconnect to
     * one gateway in lock step. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545f4914f6cdd1dULL;
}

static void on_timer(uv_timer_t *t);

static void schedule_retry(ms_mb_client *c)
{
    double d = c->cfg.backoff_min;
    for (unsigned i = 0; i < c->attempt && d < c->cfg.backoff_max; i++)
        d *= 2;
    if (d > c->cfg.backoff_max)
        d = c->cfg.backoff_max;
    d *= 0.75 + 0.5 * (double)(rng_next(c) >> 11) / 9007199254740992.0;
    if (d > c->cfg.backoff_max)
        d = c->cfg.backoff_max;
    if (c->attempt < 64)
        c->attempt++;
    uint64_t ms = (uint64_t)(d * 1000.0);
    uv_timer_start(&c->timer, on_timer, ms ? ms : 1, 0);
}

static void set_down(ms_mb_client *c)
{
    ms_mb_session_fail_all(&c->s, MS_ECLOSED);
    arm_rtimer(c);
    if (c->cfg.on_state && !c->closing)
        c->cfg.on_state(c, false, c->cfg.arg);
}

static void attempt_failed(ms_mb_client *c, const char *why)
{
    if (c->closing)
        return;
    if (!c->fail_logged) {
        ms_log_warn("%s: cannot connect: %s; retrying every %gs at most",
                    c->cfg.name, why, c->cfg.backoff_max);
        c->fail_logged = true;
    } else {
        ms_log_debug("%s: cannot connect: %s", c->cfg.name, why);
    }
    schedule_retry(c);
}

/* An established connection failed. */
static void lost(ms_mb_client *c, const char *why)
{
    if (c->closing || !c->conn)
        return;
    drop_conn(c);
    ms_log_warn("%s: connection lost: %s; reconnecting", c->cfg.name, why);
    c->fail_logged = true;
    /* A connection that lived a while starts the backoff afresh. */
    if (ms_time_mono_ns() - c->up_ns >= (uint64_t)(c->cfg.backoff_max * 1e9))
        c->attempt = 0;
    schedule_retry(c);
    set_down(c);
}

/* ---- reading and writing -------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    mb_conn *conn = h->data;
    (void)suggested;
    uint8_t *p = ms_buf_reserve(&conn->c->in, READ_CHUNK);
    *buf = uv_buf_init((char *)p, p ? READ_CHUNK : 0);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    mb_conn *conn = st->data;
    ms_mb_client *c = conn->c;
    (void)buf;
    if (conn->dropped)
        return;
    if (nread < 0) {
        lost(c, nread == UV_EOF ? "the peer closed it"
                                : uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    ms_buf_commit(&c->in, (size_t)nread);
    size_t used = 0;
    int rc = ms_mb_session_feed(&c->s, ms_time_mono_ns(), ms_buf_head(&c->in),
                                ms_buf_size(&c->in), &used);
    if (c->conn != conn || c->closing)
        return; /* a callback closed the client */
    if (rc < 0) {
        const uint8_t *h = ms_buf_head(&c->in) + used;
        ms_log_warn("%s (%s:%d): garbled stream (MBAP header %02x %02x %02x "
                    "%02x %02x %02x): dropping the connection", c->cfg.name,
                    c->cfg.host, c->cfg.port, h[0],
                    ms_buf_size(&c->in) - used > 1 ? h[1] : 0,
                    ms_buf_size(&c->in) - used > 2 ? h[2] : 0,
                    ms_buf_size(&c->in) - used > 3 ? h[3] : 0,
                    ms_buf_size(&c->in) - used > 4 ? h[4] : 0,
                    ms_buf_size(&c->in) - used > 5 ? h[5] : 0);
        lost(c, "garbled stream");
        return;
    }
    ms_buf_consume(&c->in, used);
    ms_buf_shrink(&c->in, 4 * READ_CHUNK);
    pump(c);
}

static void on_written(void *data, int status)
{
    mb_conn *conn = data;
    ms_mb_client *c = conn->c;
    if (conn->dropped)
        return;
    c->inflight = 0;
    if (status < 0) {
        lost(c, uv_strerror(status));
        return;
    }
    flush(c);
}

static void flush(ms_mb_client *c)
{
    mb_conn *conn = c->conn;
    while (conn && c->conn == conn && !c->inflight && !c->closing &&
           ms_buf_size(&c->out)) {
        int rc = ms_outq_write(&conn->q);
        c->inflight = conn->q.inflight;
        if (rc < 0) {
            lost(c, uv_strerror(rc));
            return;
        }
    }
}

/* ---- connecting ----------------------------------------------------------- */

static void went_up(ms_mb_client *c, mb_conn *conn)
{
    uv_timer_stop(&c->timer);
    conn->up = true;
    c->s.stats.connects++;
    c->up_ns = ms_time_mono_ns();
    if (c->fail_logged)
        ms_log_info("%s: connected again", c->cfg.name);
    else
        ms_log_info("%s: connected", c->cfg.name);
    c->fail_logged = false;
    c->in.off = c->in.len = 0;
    c->out.off = c->out.len = 0;
    /* Requests are small and latency matters: no Nagle delay. */
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_tcp_keepalive(&conn->tcp, 1, 10);
    int rc = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
    if (rc < 0) {
        lost(c, uv_strerror(rc));
        return;
    }
    if (c->cfg.on_state)
        c->cfg.on_state(c, true, c->cfg.arg);
    pump(c);
}

static void connect_failed(ms_mb_client *c, const char *why)
{
    uv_timer_stop(&c->timer);
    drop_conn(c);
    attempt_failed(c, why);
}

static void on_connect(uv_connect_t *req, int status)
{
    mb_conn *conn = req->data;
    if (conn->dropped)
        return;
    if (status < 0) {
        connect_failed(conn->c, uv_strerror(status));
        return;
    }
    went_up(conn->c, conn);
}

static void connect_to(ms_mb_client *c, const struct sockaddr *sa)
{
    mb_conn *conn = calloc(1, sizeof *conn);
    if (!conn) {
        attempt_failed(c, "out of memory");
        return;
    }
    conn->c = c;
    uv_tcp_init(c->loop, &conn->tcp);
    conn->tcp.data = conn;
    ms_outq_init(&conn->q, (uv_stream_t *)&conn->tcp, &c->out, on_written,
                 conn);
    conn->creq.data = conn;
    c->handles++;
    c->conn = conn;
    int rc = uv_tcp_connect(&conn->creq, &conn->tcp, sa, on_connect);
    if (rc < 0) {
        connect_failed(c, uv_strerror(rc));
        return;
    }
    uint64_t ms = (uint64_t)(c->cfg.connect_timeout * 1000.0);
    uv_timer_start(&c->timer, on_timer, ms ? ms : 1, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res)
{
    ms_mb_client *c = req->data;
    c->resolving = false;
    c->handles--;
    if (c->closing) {
        uv_freeaddrinfo(res);
        maybe_free(c);
        return;
    }
    if (status < 0 || !res) {
        uv_freeaddrinfo(res);
        attempt_failed(c, status < 0 ? uv_strerror(status) : "no address");
        return;
    }
    connect_to(c, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void start_attempt(ms_mb_client *c)
{
    struct sockaddr_storage ss;
    if (c->closing || c->conn || c->resolving)
        return;
    if (uv_ip4_addr(c->cfg.host, c->cfg.port, (struct sockaddr_in *)&ss) ==
            0 ||
        uv_ip6_addr(c->cfg.host, c->cfg.port, (struct sockaddr_in6 *)&ss) ==
            0) {
        connect_to(c, (struct sockaddr *)&ss);
        return;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", c->cfg.port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    int rc = uv_getaddrinfo(c->loop, &c->gai, on_resolved, c->cfg.host, port,
                            &hints);
    if (rc < 0) {
        attempt_failed(c, uv_strerror(rc));
        return;
    }
    c->resolving = true;
    c->handles++;
}

static void on_timer(uv_timer_t *t)
{
    ms_mb_client *c = t->data;
    if (c->conn && !c->conn->up) {
        connect_failed(c, "timed out");
        return;
    }
    start_attempt(c);
}

/* ---- public --------------------------------------------------------------- */

static void on_unit(ms_mb_session *s, uint8_t unit, bool up, void *arg)
{
    ms_mb_client *c = arg;
    (void)s;
    if (up)
        ms_log_info("%s: unit %u answers again", c->cfg.name, unit);
    else
        ms_log_warn("%s: unit %u does not answer", c->cfg.name, unit);
    if (c->cfg.on_unit && !c->closing)
        c->cfg.on_unit(c, unit, up, c->cfg.arg);
}

int ms_mb_client_new(uv_loop_t *loop, const ms_mb_client_config *cfg,
                     ms_mb_client **out)
{
    if (!loop || !cfg || !cfg->host[0] ||
        !memchr(cfg->host, 0, sizeof cfg->host) ||
        !memchr(cfg->name, 0, sizeof cfg->name) || cfg->port < 1 ||
        cfg->port > 65535 || cfg->max_in_flight > MS_MB_IN_FLIGHT_MAX ||
        (cfg->framing != MS_MB_FRAMING_MBAP &&
         cfg->framing != MS_MB_FRAMING_RTU))
        return MS_EINVAL;
    ms_mb_client *c = calloc(1, sizeof *c);
    if (!c)
        return MS_ENOMEM;
    ms_mb_client_config def;
    ms_mb_client_config_init(&def);
    c->loop = loop;
    c->cfg = *cfg;
    if (!c->cfg.name[0] && c->cfg.transport == MS_MB_TRANSPORT_TCP)
        snprintf(c->cfg.name, sizeof c->cfg.name, "%.40s:%d", cfg->host,
                 cfg->port);
    if (!(c->cfg.timeout > 0))
        c->cfg.timeout = def.timeout;
    if (!c->cfg.retries_set && !c->cfg.retries)
        c->cfg.retries = def.retries;
    if (!c->cfg.max_in_flight)
        c->cfg.max_in_flight = 1;
    if (!(c->cfg.connect_timeout > 0))
        c->cfg.connect_timeout = def.connect_timeout;
    if (!(c->cfg.backoff_min > 0))
        c->cfg.backoff_min = def.backoff_min;
    if (!(c->cfg.backoff_max >= c->cfg.backoff_min))
        c->cfg.backoff_max = c->cfg.backoff_min > def.backoff_max
                                 ? c->cfg.backoff_min : def.backoff_max;
    if (c->cfg.transport != MS_MB_TRANSPORT_TCP) {
        int rc = ms_mb_mclient_new(loop, &c->cfg, c, &c->m);
        if (rc < 0) {
            free(c);
            return rc;
        }
        *out = c;
        return 0;
    }
    ms_mb_session_init(&c->s, c->cfg.framing, c->cfg.max_in_flight,
                       c->cfg.timeout, c->cfg.retries, c->cfg.backoff_max,
                       c->cfg.name);
    c->s.on_unit = on_unit;
    c->s.arg = c;
    c->rng = ms_time_mono_ns() ^ (uint64_t)(uintptr_t)c;
    if (!c->rng)
        c->rng = 1;
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->rtimer);
    uv_idle_init(loop, &c->idle);
    c->timer.data = c->rtimer.data = c->idle.data = c;
    c->handles = 3;
    start_attempt(c);
    *out = c;
    return 0;
}

void ms_mb_client_close(ms_mb_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    if (c->m) {
        ms_mb_mclient_close(c->m);
        free(c);
        return;
    }
    drop_conn(c);
    ms_mb_session_close(&c->s);
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->gai);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->rtimer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

int ms_mb_client_submit(ms_mb_client *c, uint8_t unit,
                        const ms_mb_request *req, ms_mb_done_cb cb,
                        void *arg)
{
    if (c->m)
        return ms_mb_mclient_submit(c->m, unit, req, cb, arg);
    if (c->closing || !c->conn || !c->conn->up)
        return MS_ECLOSED;
    int rc = ms_mb_session_submit(&c->s, ms_time_mono_ns(), unit, req, cb,
                                  arg);
    if (rc == 0 && !c->idle_on) {
        /* Requests submitted in one callback leave in one write. */
        uv_idle_start(&c->idle, on_idle);
        c->idle_on = true;
    }
    return rc;
}

bool ms_mb_client_connected(const ms_mb_client *c)
{
    if (c->m)
        return ms_mb_mclient_connected(c->m);
    return c->conn && c->conn->up && !c->closing;
}

bool ms_mb_client_unit_up(const ms_mb_client *c, uint8_t unit)
{
    if (c->m)
        return ms_mb_mclient_unit_up(c->m, unit);
    return !c->s.units[unit].down;
}

void ms_mb_client_get_stats(const ms_mb_client *c, ms_mb_client_stats *st)
{
    if (c->m) {
        ms_mb_mclient_get_stats(c->m, st);
        return;
    }
    *st = c->s.stats;
}

const char *ms_mb_client_name(const ms_mb_client *c)
{
    if (c->m)
        return ms_mb_mclient_name(c->m);
    return c->cfg.name;
}
