/* The Logix session (lgx_link.h): dialer -> RegisterSession -> Forward
 * Open -> one request at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "logix/codec/lgx_codec.h"
#include "logix/link/lgx_link.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "net/dial.h"

#define READ_CHUNK 16384
#define UCMM_ROOM 504
#define VENDOR 0x4D53 /* ours, with the serials below it names the link */

typedef enum { ST_DOWN, ST_REGISTER, ST_OPEN, ST_UP, ST_CLOSING } lgx_state;

typedef struct req {
    struct req *next;
    ms_lgx_done cb;
    void *arg;
    size_t n;
    uint8_t cip[];
} req;

struct ms_lgx_link {
    ms_lgx_link_config cfg;
    char name[128], host[256];
    uint8_t route[64];
    uv_loop_t *loop;
    ms_dialer *dialer;
    ms_dial_conn *conn;
    ms_buf in, out;
    lgx_state st;
    uint32_t session;
    bool connected;            /* a CIP connection is open */
    bool try_large, try_plain; /* which Forward Opens are left to try */
    unsigned in_use_tries;
    ms_lgx_fo fo;
    uint16_t seq;
    uint64_t ctx;
    req *head, *tail;          /* head is in flight when sent */
    bool sent;
    uint64_t sent_ns;
    uv_timer_t timer;
    bool fail_logged;
    ms_lgx_link_stats stats;
    void (*on_closed)(void *arg);
    void *closed_arg;
    int handles;
    uint8_t frame[MS_LGX_FRAME_MAX], wrap[MS_LGX_FRAME_MAX];
};

static void send_next(ms_lgx_link *l);
static void open_connection(ms_lgx_link *l);

static void fail_all(ms_lgx_link *l, int status)
{
    req *r = l->head;
    l->head = l->tail = NULL;
    l->sent = false;
    while (r) {
        req *next = r->next;
        if (r->cb)
            r->cb(status, NULL, 0, r->arg);
        free(r);
        r = next;
    }
}

static void report_fail(ms_lgx_link *l, const char *why)
{
    if (!l->fail_logged)
        ms_log_warn("%s: %s; retrying", l->name, why);
    else
        ms_log_debug("%s: %s", l->name, why);
    l->fail_logged = true;
    if (l->cfg.on_fail)
        l->cfg.on_fail(l, why, l->cfg.arg);
}

/* The connection is gone or can't be trusted: start afresh. */
static void lost(ms_lgx_link *l, const char *why)
{
    if (!l->conn || l->st == ST_CLOSING)
        return;
    bool was_up = l->st == ST_UP;
    l->conn = NULL;
    l->st = ST_DOWN;
    l->connected = false;
    uv_timer_stop(&l->timer);
    ms_dialer_drop(l->dialer);
    report_fail(l, why);
    fail_all(l, MS_ECLOSED);
    if (was_up && l->cfg.on_state)
        l->cfg.on_state(l, false, l->cfg.arg);
}

static void send_frame(ms_lgx_link *l, size_t n)
{
    if (!n || ms_buf_append(&l->out, l->frame, n) < 0) {
        lost(l, n ? "out of memory" : "a request too large for a frame");
        return;
    }
    ms_dial_conn_flush(l->conn);
}

static void on_timeout(uv_timer_t *t)
{
    ms_lgx_link *l = t->data;
    if (l->st == ST_UP && l->sent)
        l->stats.timeouts++;
    char why[96];
    snprintf(why, sizeof why, "no answer in %gs; reconnecting",
             l->cfg.timeout);
    lost(l, why);
}

static void arm(ms_lgx_link *l)
{
    uv_timer_start(&l->timer, on_timeout,
                   (uint64_t)(l->cfg.timeout * 1000) + 1, 0);
}

/* Sends a CIP message on the session (connected or not). */
static void send_cip(ms_lgx_link *l, const uint8_t *cip, size_t n,
                     bool connected)
{
    size_t fl;
    if (connected) {
        fl = ms_lgx_frame_unit(l->frame, sizeof l->frame, l->session,
                               l->fo.ot_id, ++l->seq, cip, n);
    } else {
        uint8_t ctx[8];
        l->ctx++;
        memcpy(ctx, &l->ctx, 8);
        if (l->route[0] && l->cfg.route_len &&
            !(n && (cip[0] == MS_LGX_SVC_LARGE_FWD_OPEN ||
                    cip[0] == MS_LGX_SVC_FWD_OPEN ||
                    (cip[0] == MS_LGX_SVC_FWD_CLOSE && n > 3 &&
                     cip[3] == 0x06)))) {
            /* routed through the Connection Manager's Unconnected Send */
            uint8_t *wrap = l->wrap;
            ms_lgx_w w;
            ms_lgx_w_init(&w, wrap, sizeof l->wrap);
            ms_lgx_ucmm_put(&w, cip, n, l->route, l->cfg.route_len);
            fl = w.err ? 0 : ms_lgx_frame_rr(l->frame, sizeof l->frame,
                                              l->session, ctx, wrap, w.len);
        } else {
            fl = ms_lgx_frame_rr(l->frame, sizeof l->frame, l->session, ctx,
                                 cip, n);
        }
    }
    send_frame(l, fl);
    if (l->conn)
        arm(l);
}

static void send_next(ms_lgx_link *l)
{
    if (l->st != ST_UP || l->sent || !l->head)
        return;
    l->sent = true;
    l->sent_ns = uv_hrtime();
    l->stats.requests++;
    send_cip(l, l->head->cip, l->head->n, l->connected);
}

static void session_up(ms_lgx_link *l)
{
    l->st = ST_UP;
    l->stats.connects++;
    l->fail_logged = false;
    ms_log_info("%s: connected (%s, %zu bytes)", l->name,
                l->connected ? (l->fo.large ? "large forward open"
                                            : "forward open")
                             : "unconnected messaging",
                ms_lgx_link_room(l));
    uv_timer_stop(&l->timer);
    if (l->cfg.on_state)
        l->cfg.on_state(l, true, l->cfg.arg);
    send_next(l);
}

static void open_connection(ms_lgx_link *l)
{
    if (!l->try_large && !l->try_plain) {
        session_up(l); /* unconnected messaging */
        return;
    }
    l->st = ST_OPEN;
    l->fo.large = l->try_large;
    l->fo.size = (uint16_t)(l->cfg.conn_size ? l->cfg.conn_size
                            : l->fo.large ? 4002 : 504);
    uint8_t cip[128];
    ms_lgx_w w;
    ms_lgx_w_init(&w, cip, sizeof cip);
    ms_lgx_fo_put(&w, &l->fo);
    send_cip(l, cip, w.len, false);
}

static void on_open_reply(ms_lgx_link *l, const ms_lgx_rsp *r)
{
    char text[128];
    if (r->status == 0) {
        ms_lgx_fo got;
        if (ms_lgx_fo_reply_get(r->data, r->data_len, &got) < 0) {
            lost(l, "a forward open reply too short");
            return;
        }
        l->fo.ot_id = got.ot_id;
        l->connected = true;
        session_up(l);
        return;
    }
    if (r->status == 0x08 || (r->status == 0x01 && r->ext == 0x0109)) {
        /* this kind is not supported: the next kind */
        if (l->try_large)
            l->try_large = false;
        else
            l->try_plain = false;
        ms_log_info("%s: %s refused (%s); trying %s", l->name,
                    l->fo.large ? "large forward open" : "forward open",
                    ms_lgx_status_text(r->status, r->ext, text, sizeof text),
                    l->try_plain ? "forward open" : "unconnected messaging");
        open_connection(l);
        return;
    }
    if (r->status == 0x01 && r->ext == 0x0100 && l->in_use_tries++ < 3) {
        l->fo.serial = (uint16_t)(l->fo.serial + 1 + (uv_hrtime() & 0xFF));
        ms_log_info("%s: connection serial in use; trying another",
                    l->name);
        open_connection(l);
        return;
    }
    char why[200];
    snprintf(why, sizeof why, "forward open refused: %s",
             ms_lgx_status_text(r->status, r->ext, text, sizeof text));
    lost(l, why);
}

static void on_frame(ms_lgx_link *l, const uint8_t *f, size_t n)
{
    ms_lgx_encap h;
    ms_lgx_encap_get(f, &h);
    char why[128];
    if (h.status) {
        snprintf(why, sizeof why, "encapsulation status 0x%X for command "
                 "0x%X", h.status, h.command);
        lost(l, why);
        return;
    }
    if (h.command == MS_LGX_REGISTER && l->st == ST_REGISTER) {
        l->session = h.session;
        open_connection(l);
        return;
    }
    if (h.command != MS_LGX_SEND_RR && h.command != MS_LGX_SEND_UNIT)
        return; /* nothing else is asked; ignore */
    ms_lgx_cpf c;
    ms_lgx_rsp r;
    if (ms_lgx_cpf_get(f + MS_LGX_HDR, n - MS_LGX_HDR, &c) < 0 ||
        ms_lgx_rsp_get(c.cip, c.cip_len, &r) < 0) {
        lost(l, "a malformed reply");
        return;
    }
    if (l->st == ST_OPEN) {
        uv_timer_stop(&l->timer);
        on_open_reply(l, &r);
        return;
    }
    if (l->st == ST_CLOSING)
        return;
    if (l->st != ST_UP || !l->sent)
        return; /* late: its request timed out or failed */
    if (h.command == MS_LGX_SEND_UNIT && c.seq != l->seq)
        return; /* an old sequence */
    if (h.command == MS_LGX_SEND_RR && memcmp(h.context, &l->ctx, 8) &&
        memcmp(h.context, "\0\0\0\0\0\0\0\0", 8))
        return; /* not ours (zero: a peer that does not echo it) */
    uv_timer_stop(&l->timer);
    req *q = l->head;
    l->head = q->next;
    if (!l->head)
        l->tail = NULL;
    l->sent = false;
    l->stats.responses++;
    l->stats.rtt_ms = (double)(uv_hrtime() - l->sent_ns) / 1e6;
    if (q->cb)
        q->cb(0, c.cip, c.cip_len, q->arg);
    free(q);
    send_next(l);
}

static void on_data(ms_dial_conn *conn)
{
    ms_lgx_link *l = conn->data;
    for (;;) {
        long fl = ms_lgx_frame_len(ms_buf_head(&l->in), ms_buf_size(&l->in));
        if (fl == 0)
            break;
        if (fl < 0) {
            lost(l, "a frame longer than any Logix sends (garbled stream)");
            return;
        }
        on_frame(l, ms_buf_head(&l->in), (size_t)fl);
        if (l->conn != conn)
            return;
        ms_buf_consume(&l->in, (size_t)fl);
    }
    ms_buf_shrink(&l->in, 4 * READ_CHUNK);
}

static void on_broken(ms_dial_conn *conn, const char *why)
{
    char text[160];
    snprintf(text, sizeof text, "connection lost: %s", why);
    lost(conn->data, text);
}

static const ms_dial_io lgx_io = {
    .chunk = READ_CHUNK, .eof_why = "the PLC closed it",
    .on_data = on_data, .on_broken = on_broken};

static void on_dial_up(ms_dialer *d, ms_dial_conn *conn, void *arg)
{
    ms_lgx_link *l = arg;
    (void)d;
    l->conn = conn; /* reading, l->in and l->out emptied */
    l->st = ST_REGISTER;
    l->session = 0;
    l->connected = false;
    l->try_large = l->cfg.conn_size == 0 || l->cfg.conn_size > 511;
    l->try_plain = true;
    l->in_use_tries = 0;
    /* a fresh serial per connection: a reused one is "in use" while the
     * PLC still holds the last connection */
    l->fo.serial = (uint16_t)(l->fo.serial + 1 + (uv_hrtime() >> 10 & 0xFF));
    send_frame(l, ms_lgx_frame_register(l->frame, sizeof l->frame, 0));
    if (l->conn)
        arm(l);
}

static void on_dial_fail(ms_dialer *d, const char *why, void *arg)
{
    char text[300];
    (void)d;
    snprintf(text, sizeof text, "cannot connect: %s", why);
    report_fail(arg, text);
}

int ms_lgx_link_new(uv_loop_t *loop, const ms_lgx_link_config *cfg,
                    ms_lgx_link **out)
{
    *out = NULL;
    if (cfg->route_len > 64 || !(cfg->timeout > 0))
        return MS_EINVAL;
    ms_lgx_link *l = calloc(1, sizeof *l);
    if (!l)
        return MS_ENOMEM;
    l->cfg = *cfg;
    snprintf(l->name, sizeof l->name, "%s", cfg->name ? cfg->name : "logix");
    snprintf(l->host, sizeof l->host, "%s", cfg->host);
    memcpy(l->route, cfg->route, cfg->route_len);
    l->cfg.name = l->name;
    l->cfg.host = l->host;
    l->cfg.route = l->route;
    l->loop = loop;
    uint64_t seed = uv_hrtime() ^ (uint64_t)(uintptr_t)l;
    l->fo.vendor = VENDOR;
    l->fo.orig_serial = (uint32_t)(seed * 0x9E3779B97F4A7C15ull >> 32);
    l->fo.serial = (uint16_t)seed;
    l->fo.to_id = (uint32_t)(seed >> 16) | 1u;
    l->fo.rpi_us = 2000000;
    l->fo.route = l->route;
    l->fo.route_len = cfg->route_len;
    ms_dialer_config dc = {
        .name = l->name, .host = l->host, .port = cfg->port,
        .connect_timeout = cfg->timeout,
        .backoff_min = cfg->backoff_min > 0 ? cfg->backoff_min : 0.5,
        .backoff_max = cfg->backoff_max > 0 ? cfg->backoff_max : 30,
        .jitter = 0.25, .keepalive_s = 10,
        .io = &lgx_io, .in = &l->in, .out = &l->out,
        .on_up = on_dial_up, .on_fail = on_dial_fail, .arg = l};
    int rc = ms_dialer_new(loop, &dc, &l->dialer);
    if (rc < 0) {
        free(l);
        return rc;
    }
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    ms_dialer_start(l->dialer);
    *out = l;
    return 0;
}

int ms_lgx_link_submit(ms_lgx_link *l, const uint8_t *cip, size_t n,
                       ms_lgx_done cb, void *arg)
{
    if (l->st != ST_UP)
        return MS_ECLOSED;
    req *r = malloc(sizeof *r + n);
    if (!r)
        return MS_ENOMEM;
    r->next = NULL;
    r->cb = cb;
    r->arg = arg;
    r->n = n;
    memcpy(r->cip, cip, n);
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    send_next(l);
    return 0;
}

bool ms_lgx_link_up(const ms_lgx_link *l)
{
    return l->st == ST_UP;
}

size_t ms_lgx_link_room(const ms_lgx_link *l)
{
    return l->connected ? l->fo.size : UCMM_ROOM;
}

bool ms_lgx_link_connected_messaging(const ms_lgx_link *l)
{
    return l->connected;
}

void ms_lgx_link_stats_get(const ms_lgx_link *l, ms_lgx_link_stats *st)
{
    *st = l->stats;
}

static void part_closed(ms_lgx_link *l)
{
    if (--l->handles)
        return;
    ms_buf_free(&l->in);
    ms_buf_free(&l->out);
    void (*cb)(void *) = l->on_closed;
    void *arg = l->closed_arg;
    free(l);
    if (cb)
        cb(arg);
}

static void on_dialer_closed(void *arg)
{
    part_closed(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    part_closed(h->data);
}

static void finish_close(ms_lgx_link *l)
{
    l->conn = NULL;
    l->handles = 2;
    uv_close((uv_handle_t *)&l->timer, on_timer_closed);
    ms_dialer_close(l->dialer, on_dialer_closed, l);
}

/* The Forward Close is written (or the time for it is up). */
static void on_close_timer(uv_timer_t *t)
{
    finish_close(t->data);
}

void ms_lgx_link_close(ms_lgx_link *l, void (*on_closed)(void *arg),
                       void *arg)
{
    if (!l)
        return;
    l->on_closed = on_closed;
    l->closed_arg = arg;
    lgx_state was = l->st;
    l->st = ST_CLOSING;
    fail_all(l, MS_ECLOSED);
    if (was != ST_UP || !l->connected || !l->conn) {
        uv_timer_stop(&l->timer);
        finish_close(l);
        return;
    }
    /* Forward Close, so the PLC frees the connection now rather than at
     * its timeout; closed once written, or after a short wait. */
    uint8_t cip[96];
    ms_lgx_w w;
    ms_lgx_w_init(&w, cip, sizeof cip);
    ms_lgx_fc_put(&w, &l->fo);
    size_t fl = ms_lgx_frame_rr(l->frame, sizeof l->frame, l->session, NULL,
                                cip, w.len);
    ms_log_debug("%s: forward close", l->name);
    if (!fl || ms_buf_append(&l->out, l->frame, fl) < 0) {
        finish_close(l);
        return;
    }
    ms_dial_conn_flush(l->conn);
    uv_timer_start(&l->timer, on_close_timer, 200, 0);
}
