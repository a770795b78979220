/* The Modbus client transport (mscada/mbclient.h): a libuv TCP socket
 * around the pure session (mb_session.c) — the dialer (core/dial.c)
 * connects, and reconnects with capped jittered exponential backoff after
 * any failure; here: feed the session what is read and write its requests
 * (core/dial_io.c does both on the connection), one timer for request
 * deadlines. Logs one line per change of state, not one per failed
 * attempt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/dial.h"
#include "modbus/link/mb_mclient.h"
#include "modbus/link/mb_session.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbclient.h"
#include "mscada/mstime.h"

#define READ_CHUNK 4096

struct ms_mb_client {
    ms_mb_mclient *m;  /* serial line or UDP: mb_mclient.c does the rest */
    uv_loop_t *loop;
    ms_mb_client_config cfg;
    ms_mb_session s;
    ms_dialer *dialer; /* connects, and reconnects with backoff */
    uv_timer_t rtimer; /* the earliest request deadline */
    uv_idle_t idle;    /* flushes new requests at the next loop turn */
    bool idle_on, closing, fail_logged;
    int handles;
    ms_dial_conn *conn; /* when up */
    ms_buf in, out;
};

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

/* Forgets the current connection's buffers; the dialer closes it. */
static void detach_conn(ms_mb_client *c)
{
    c->conn = NULL;
    c->in.off = c->in.len = 0;
    c->out.off = c->out.len = 0;
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
    if (c->conn && !c->closing) {
        if (ms_mb_session_take(&c->s, ms_time_mono_ns(), &c->out) > 0)
            ms_dial_conn_flush(c->conn);
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
    if (c->s.stats.timeouts != timeouts && c->conn &&
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

static void set_down(ms_mb_client *c)
{
    ms_mb_session_fail_all(&c->s, MS_ECLOSED);
    arm_rtimer(c);
    if (c->cfg.on_state && !c->closing)
        c->cfg.on_state(c, false, c->cfg.arg);
}

static void on_dial_fail(ms_dialer *d, const char *why, void *arg)
{
    ms_mb_client *c = arg;
    (void)d;
    if (!c->fail_logged) {
        ms_log_warn("%s: cannot connect: %s; retrying every %gs at most",
                    c->cfg.name, why, c->cfg.backoff_max);
        c->fail_logged = true;
    } else {
        ms_log_debug("%s: cannot connect: %s", c->cfg.name, why);
    }
}

/* An established connection failed. */
static void lost(ms_mb_client *c, const char *why)
{
    if (c->closing || !c->conn)
        return;
    detach_conn(c);
    ms_dialer_drop(c->dialer);
    ms_log_warn("%s: connection lost: %s; reconnecting", c->cfg.name, why);
    c->fail_logged = true;
    set_down(c);
}

/* ---- reading and writing -------------------------------------------------- */

static void on_data(ms_dial_conn *conn)
{
    ms_mb_client *c = conn->data;
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

static void on_broken(ms_dial_conn *conn, const char *why)
{
    lost(conn->data, why);
}

static const ms_dial_io mb_io = {
    .chunk = READ_CHUNK, .eof_why = "the peer closed it",
    .on_data = on_data, .on_broken = on_broken};

/* ---- connecting ----------------------------------------------------------- */

static void on_dial_up(ms_dialer *d, ms_dial_conn *conn, void *arg)
{
    ms_mb_client *c = arg;
    (void)d;
    conn->data = c;
    c->conn = conn;
    c->s.stats.connects++;
    if (c->fail_logged)
        ms_log_info("%s: connected again", c->cfg.name);
    else
        ms_log_info("%s: connected", c->cfg.name);
    c->fail_logged = false;
    int rc = ms_dial_conn_start(conn, &c->in, &c->out, &mb_io);
    if (rc < 0) {
        lost(c, uv_strerror(rc));
        return;
    }
    if (c->cfg.on_state)
        c->cfg.on_state(c, true, c->cfg.arg);
    pump(c);
}

static void on_dialer_closed(void *arg)
{
    ms_mb_client *c = arg;
    c->handles--;
    maybe_free(c);
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
    ms_dialer_config dc = {
        .name = c->cfg.name, .host = c->cfg.host, .port = c->cfg.port,
        .connect_timeout = c->cfg.connect_timeout,
        .backoff_min = c->cfg.backoff_min, .backoff_max = c->cfg.backoff_max,
        .jitter = 0.25, .keepalive_s = 10,
        .on_up = on_dial_up, .on_fail = on_dial_fail, .arg = c};
    int rc = ms_dialer_new(loop, &dc, &c->dialer);
    if (rc < 0) {
        free(c);
        return rc;
    }
    uv_timer_init(loop, &c->rtimer);
    uv_idle_init(loop, &c->idle);
    c->rtimer.data = c->idle.data = c;
    c->handles = 3; /* rtimer, idle and the dialer */
    ms_dialer_start(c->dialer);
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
    detach_conn(c);
    ms_mb_session_close(&c->s);
    ms_dialer_close(c->dialer, on_dialer_closed, c);
    uv_close((uv_handle_t *)&c->rtimer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

int ms_mb_client_submit(ms_mb_client *c, uint8_t unit,
                        const ms_mb_request *req, ms_mb_done_cb cb,
                        void *arg)
{
    if (c->m)
        return ms_mb_mclient_submit(c->m, unit, req, cb, arg);
    if (c->closing || !c->conn)
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
    return c->conn && !c->closing;
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
