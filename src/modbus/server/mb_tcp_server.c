/* The Modbus TCP server's I/O on a libuv loop: the listener (net/listener.h)
 * accepts, reads and writes; this answers every whole MBAP request in a
 * read, in order, into the connection's output queue, which is then
 * written with one system call (ms_outq). A connection whose unread
 * answers pass out_cap stops being read (TCP then pushes back on it) until
 * it catches up. A sweep once a second drops a master that has sat
 * mid-frame, or blocked, for longer than the timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/listener.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbserver.h"
#include "mscada/mstime.h"

#define SWEEP_MS 1000

typedef struct {
    ms_listen_conn base;   /* first: the listener's part */
    ms_mb_server *srv;
    ms_buf out;            /* answers waiting to be written */
    size_t partial;        /* bytes of a partial frame the listener keeps */
    uint64_t partial_ns;   /* when the kept partial frame began; 0: none */
    uint64_t blocked_ns;   /* when reading stopped for backlog; 0: not */
    bool blocked;
} mb_conn;

struct ms_mb_server {
    ms_mb_server_config cfg;
    ms_mb_handler h;
    ms_listener *listener;
    uv_timer_t sweep;
    int port;
    int handles; /* the listener and the sweep: freed when both closed */
};

void ms_mb_server_config_init(ms_mb_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->ip, sizeof cfg->ip, "127.0.0.1");
    cfg->port = 502;
    cfg->timeout = 30;
    cfg->out_cap = 1u << 20;
    cfg->max_conns = 1000;
}

static void srv_part_closed(void *arg)
{
    ms_mb_server *s = arg;
    if (--s->handles == 0)
        free(s);
}

static void srv_sweep_closed(uv_handle_t *h)
{
    srv_part_closed(h->data);
}

/* ---- connections --------------------------------------------------------- */

static size_t conn_backlog(const mb_conn *c)
{
    return ms_buf_size(&c->out) + c->base.q.inflight;
}

/* Writes the answers; stops reading a master that doesn't read its answers
 * (past out_cap) and starts again once it has read half of them. */
static void conn_flush(mb_conn *c)
{
    ms_mb_server *s = c->srv;
    if (!c->base.q.inflight && ms_buf_size(&c->out) &&
        ms_listen_conn_write(&c->base) < 0)
        return; /* logged and closed */
    if (!c->base.q.inflight && !ms_buf_size(&c->out))
        ms_buf_shrink(&c->out, 64u * 1024);
    size_t backlog = conn_backlog(c);
    if (!c->blocked && backlog > s->cfg.out_cap) {
        c->blocked = true;
        c->blocked_ns = ms_time_mono_ns();
        ms_listen_conn_hold(&c->base, true);
        ms_log_debug("%s: %zu bytes of answers unread; reading stops",
                     c->base.peer, backlog);
    } else if (c->blocked && backlog <= s->cfg.out_cap / 2) {
        c->blocked = false;
        c->blocked_ns = 0;
        ms_listen_conn_hold(&c->base, false);
    }
}

static void conn_on_written(ms_listen_conn *lc)
{
    conn_flush((mb_conn *)lc);
}

/* Answers every whole frame in data; returns the bytes used, or -1 after
 * dropping the connection for a stream that isn't Modbus. */
static long conn_answer(mb_conn *c, const uint8_t *data, size_t len)
{
    ms_mb_server *s = c->srv;
    const char *peer = c->base.peer;
    size_t used = 0;
    while (used < len) {
        ms_mb_adu adu;
        int n = ms_mb_adu_decode(MS_MB_FRAMING_MBAP, MS_MB_REQUEST,
                                 data + used, len - used, &adu);
        if (n == 0)
            break;
        if (n < 0) {
            const uint8_t *h = data + used;
            ms_log_warn("%s: not Modbus/TCP: MBAP protocol id %u, length %u "
                        "(must be 0 and 2..254); dropping the connection",
                        peer, (unsigned)((h[2] << 8) | h[3]),
                        (unsigned)((h[4] << 8) | h[5]));
            return -1;
        }
        uint8_t *o = ms_buf_reserve(&c->out, MS_MB_ADU_MAX);
        if (!o) {
            ms_log_error("%s: out of memory; closing", peer);
            return -1;
        }
        int plen = ms_mb_serve_pdu(&s->h, adu.unit, adu.pdu, adu.pdu_len,
                                   o + MS_MB_MBAP_HEAD);
        if (plen < 0) {
            ms_log_warn("%s: function code %u is no Modbus request; dropping "
                        "the connection", peer, adu.pdu[0]);
            return -1;
        }
        ms_buf_commit(&c->out, (size_t)ms_mb_adu_wrap(MS_MB_FRAMING_MBAP,
                                                      adu.tid, adu.unit, o,
                                                      (size_t)plen));
        used += (size_t)n;
    }
    return (long)used;
}

static long conn_on_data(ms_listen_conn *lc, const uint8_t *data, size_t len)
{
    mb_conn *c = (mb_conn *)lc;
    long used = conn_answer(c, data, len);
    if (used < 0) {
        conn_flush(c); /* the answers before the fault still go */
        ms_listen_conn_close(lc);
        return -1;
    }
    /* The listener keeps the rest: a partial frame. */
    c->partial = len - (size_t)used;
    if (!c->partial)
        c->partial_ns = 0;
    else if (used > 0 || !c->partial_ns)
        c->partial_ns = ms_time_mono_ns(); /* a new partial frame began */
    conn_flush(c);
    return used;
}

static int conn_on_accept(ms_listen_conn *lc, const struct sockaddr *peer,
                          void *arg)
{
    mb_conn *c = (mb_conn *)lc;
    (void)peer;
    c->srv = arg;
    ms_listen_conn_output(lc, &c->out);
    ms_log_info("%s: connected", lc->peer);
    return 0;
}

static void conn_on_closed(ms_listen_conn *lc)
{
    ms_buf_free(&((mb_conn *)lc)->out);
}

static void srv_on_sweep(uv_timer_t *t)
{
    ms_mb_server *s = t->data;
    uint64_t now = ms_time_mono_ns();
    uint64_t limit = (uint64_t)(s->cfg.timeout * 1e9);
    ms_listen_conn *next;
    for (ms_listen_conn *lc = ms_listener_first(s->listener); lc; lc = next) {
        mb_conn *c = (mb_conn *)lc;
        next = lc->next;
        if (c->partial_ns && now - c->partial_ns > limit) {
            ms_log_warn("%s: stopped mid-frame (%zu bytes) for %gs; dropping "
                        "the connection", lc->peer, c->partial,
                        s->cfg.timeout);
            ms_listen_conn_close(lc);
        } else if (c->blocked && now - c->blocked_ns > limit) {
            ms_log_warn("%s: has not read %zu bytes of answers for %gs; "
                        "dropping the connection", lc->peer, conn_backlog(c),
                        s->cfg.timeout);
            ms_listen_conn_close(lc);
        }
    }
}

/* ---- the server ------------------------------------------------------------ */

int ms_mb_server_start(uv_loop_t *loop, const ms_mb_server_config *cfg,
                       const ms_mb_handler *h, ms_mb_server **out)
{
    *out = NULL;
    if (!(cfg->timeout > 0) || !cfg->out_cap || !cfg->max_conns || !h ||
        !h->mem)
        return MS_EINVAL;
    ms_mb_server *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->cfg = *cfg;
    s->h = *h;
    ms_listener_config lc = {
        .ip = s->cfg.ip,
        .port = s->cfg.port,
        .max_conns = s->cfg.max_conns,
        .peers = "masters",
        .conn_size = sizeof(mb_conn),
        .on_accept = conn_on_accept,
        .on_data = conn_on_data,
        .on_written = conn_on_written,
        .on_closed = conn_on_closed,
        .arg = s,
    };
    int rc = ms_listener_start(loop, &lc, &s->listener);
    if (rc < 0) {
        if (rc == UV_EINVAL)
            ms_log_error("bad listen address '%s'", cfg->ip);
        else
            ms_log_error("cannot listen on %s:%d: %s", cfg->ip, cfg->port,
                         uv_strerror(rc));
        free(s);
        return rc;
    }
    s->port = ms_listener_port(s->listener);
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->handles = 2;
    uv_timer_start(&s->sweep, srv_on_sweep, SWEEP_MS, SWEEP_MS);
    ms_log_info("serving Modbus/TCP on %s:%d", cfg->ip, s->port);
    *out = s;
    return 0;
}

int ms_mb_server_port(const ms_mb_server *s)
{
    return s->port;
}

size_t ms_mb_server_conns(const ms_mb_server *s)
{
    return ms_listener_count(s->listener);
}

void ms_mb_server_stop(ms_mb_server *s)
{
    if (!s)
        return;
    ms_listener_close(s->listener, srv_part_closed, s);
    uv_close((uv_handle_t *)&s->sweep, srv_sweep_closed);
}
