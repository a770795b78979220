/* The Modbus TCP server's I/O on a libuv loop: the listener (net/listener.h)
 * accepts, reads and writes; this answers every whole MBAP request in a
 * read, in order, into the connection's output queue, which is then
 * written with one system call (ms_outq). The listener also stops reading
 * a connection whose unread answers pass out_cap until it catches up, and
 * drops a master that has sat mid-frame, or unread, longer than the
 * timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/listener.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbserver.h"

typedef struct {
    ms_listen_conn base;   /* first: the listener's part; base.out: answers */
    ms_mb_server *srv;
} mb_conn;

struct ms_mb_server {
    ms_mb_server_config cfg;
    ms_mb_handler h;
    ms_listener *listener;
    int port;
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

/* ---- connections --------------------------------------------------------- */

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
        uint8_t *o = ms_buf_reserve(&c->base.out, MS_MB_ADU_MAX);
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
        ms_buf_commit(&c->base.out,
                      (size_t)ms_mb_adu_wrap(MS_MB_FRAMING_MBAP, adu.tid,
                                             adu.unit, o, (size_t)plen));
        used += (size_t)n;
    }
    return (long)used;
}

static long conn_on_data(ms_listen_conn *lc, const uint8_t *data, size_t len)
{
    mb_conn *c = (mb_conn *)lc;
    long used = conn_answer(c, data, len);
    ms_listen_conn_flush(lc); /* the answers before a fault still go */
    if (used < 0)
        ms_listen_conn_close(lc);
    return used; /* the listener keeps the rest: a partial frame */
}

static int conn_on_accept(ms_listen_conn *lc, const struct sockaddr *peer,
                          void *arg)
{
    mb_conn *c = (mb_conn *)lc;
    (void)peer;
    c->srv = arg;
    ms_log_info("%s: connected", lc->peer);
    return 0;
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
        .out_cap = s->cfg.out_cap,
        .timeout = s->cfg.timeout,
        .on_accept = conn_on_accept,
        .on_data = conn_on_data,
        .arg = s,
    };
    int rc = ms_listener_start(loop, &lc, &s->listener);
    if (rc < 0) {
        ms_listener_log_failure(&lc, rc);
        free(s);
        return rc;
    }
    s->port = ms_listener_port(s->listener);
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
    ms_listener_close(s->listener, free, s);
}
