/* The Modbus client over TCP (mb_link.h): MBAP, or RTU frames for
 * rtu-over-tcp, on a stream the dialer (net/dial.c) connects, and
 * reconnects with capped jittered exponential backoff after any failure;
 * the dialer starts net/dial_io.c's reading into a buffer and batched
 * writing on each connection. A garbled stream,
 * or a peer that stops mid-frame, can't be trusted any more: the
 * connection is dropped and made again. Logs one line per change of state,
 * not one per failed attempt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "modbus/link/mb_link.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "net/dial.h"

#define READ_CHUNK 4096

struct ms_mb_link {
    ms_mb_client *c;
    const ms_mb_client_config *cfg;
    ms_dialer *dialer;  /* connects, and reconnects with backoff */
    ms_dial_conn *conn; /* when up */
    ms_buf in, out;
    bool fail_logged, closing;
};

static int link_check(const ms_mb_client_config *cfg, char *why, size_t cap)
{
    int rc = ms_mb_link_check_host(cfg, why, cap);
    if (rc < 0)
        return rc;
    if (cfg->framing != MS_MB_FRAMING_MBAP &&
        cfg->framing != MS_MB_FRAMING_RTU) {
        snprintf(why, cap, "framing must be MBAP or RTU");
        return MS_EINVAL;
    }
    return 0;
}

static void link_prepare(ms_mb_client_config *cfg, ms_mb_framing *framing)
{
    if (!cfg->name[0])
        snprintf(cfg->name, sizeof cfg->name, "%.40s:%d", cfg->host,
                 cfg->port);
    *framing = cfg->framing;
}

/* Forgets the current connection's buffers; the dialer closes it. */
static void detach_conn(ms_mb_link *l)
{
    l->conn = NULL;
    l->in.off = l->in.len = 0;
    l->out.off = l->out.len = 0;
}

/* An established connection failed. */
static void lost(ms_mb_link *l, const char *why)
{
    if (l->closing || !l->conn)
        return;
    detach_conn(l);
    ms_dialer_drop(l->dialer);
    ms_log_warn("%s: connection lost: %s; reconnecting", l->cfg->name, why);
    l->fail_logged = true;
    char text[256];
    snprintf(text, sizeof text, "connection lost: %s", why);
    ms_mb_client_link_failed(l->c, text);
    ms_mb_client_link_down(l->c);
}

static void on_data(ms_dial_conn *conn)
{
    ms_mb_link *l = conn->data;
    size_t used = 0;
    int rc = ms_mb_client_link_feed(l->c, ms_buf_head(&l->in),
                                    ms_buf_size(&l->in), &used);
    if (l->conn != conn || l->closing)
        return; /* a callback closed the client */
    if (rc < 0) {
        const uint8_t *h = ms_buf_head(&l->in) + used;
        size_t n = ms_buf_size(&l->in) - used;
        ms_log_warn("%s (%s:%d): garbled stream (MBAP header %02x %02x %02x "
                    "%02x %02x %02x): dropping the connection", l->cfg->name,
                    l->cfg->host, l->cfg->port, h[0], n > 1 ? h[1] : 0,
                    n > 2 ? h[2] : 0, n > 3 ? h[3] : 0, n > 4 ? h[4] : 0,
                    n > 5 ? h[5] : 0);
        lost(l, "garbled stream");
        return;
    }
    ms_buf_consume(&l->in, used);
    ms_buf_shrink(&l->in, 4 * READ_CHUNK);
}

static void on_broken(ms_dial_conn *conn, const char *why)
{
    lost(conn->data, why);
}

static const ms_dial_io mb_io = {
    .chunk = READ_CHUNK, .eof_why = "the peer closed it",
    .on_data = on_data, .on_broken = on_broken};

static void on_dial_up(ms_dialer *d, ms_dial_conn *conn, void *arg)
{
    ms_mb_link *l = arg;
    (void)d;
    l->conn = conn; /* reading, l->in and l->out emptied */
    ms_log_info(l->fail_logged ? "%s: connected again" : "%s: connected",
                l->cfg->name);
    l->fail_logged = false;
    ms_mb_client_link_up(l->c);
}

static void on_dial_fail(ms_dialer *d, const char *why, void *arg)
{
    ms_mb_link *l = arg;
    (void)d;
    if (!l->fail_logged) {
        ms_log_warn("%s: cannot connect: %s; retrying every %gs at most",
                    l->cfg->name, why, l->cfg->backoff_max);
        l->fail_logged = true;
    } else {
        ms_log_debug("%s: cannot connect: %s", l->cfg->name, why);
    }
    char text[256];
    snprintf(text, sizeof text, "cannot connect: %s", why);
    ms_mb_client_link_failed(l->c, text);
}

static int link_start(ms_mb_client *c, uv_loop_t *loop,
                      const ms_mb_client_config *cfg, ms_mb_link **out)
{
    ms_mb_link *l = calloc(1, sizeof *l);
    if (!l)
        return MS_ENOMEM;
    l->c = c;
    l->cfg = cfg;
    ms_dialer_config dc = {
        .name = cfg->name, .host = cfg->host, .port = cfg->port,
        .connect_timeout = cfg->connect_timeout,
        .backoff_min = cfg->backoff_min, .backoff_max = cfg->backoff_max,
        .jitter = 0.25, .keepalive_s = 10,
        .io = &mb_io, .in = &l->in, .out = &l->out,
        .on_up = on_dial_up, .on_fail = on_dial_fail, .arg = l};
    int rc = ms_dialer_new(loop, &dc, &l->dialer);
    if (rc < 0) {
        free(l);
        return rc;
    }
    ms_dialer_start(l->dialer);
    *out = l;
    return 0;
}

static void link_send(ms_mb_link *l, const uint8_t *p, size_t len)
{
    if (!l->conn)
        return;
    if (ms_buf_append(&l->out, p, len) < 0) {
        lost(l, "out of memory");
        return;
    }
    ms_dial_conn_flush(l->conn);
}

/* A try timed out while part of an answer sits in the buffer: the peer
 * stopped mid-frame, and whatever it sends next would be read as the rest
 * of that frame. The stream can't be trusted: start afresh. */
static void link_timed_out(ms_mb_link *l)
{
    if (!l->conn || !ms_buf_size(&l->in))
        return;
    char why[128];
    snprintf(why, sizeof why, "the peer stopped mid-frame (%zu bytes of an "
             "answer, then silence for a timeout)", ms_buf_size(&l->in));
    lost(l, why);
}

static void on_dialer_closed(void *arg)
{
    ms_mb_link *l = arg;
    ms_mb_client *c = l->c;
    ms_buf_free(&l->in);
    ms_buf_free(&l->out);
    free(l);
    ms_mb_client_link_closed(c);
}

static void link_close(ms_mb_link *l)
{
    l->closing = true;
    detach_conn(l);
    ms_dialer_close(l->dialer, on_dialer_closed, l);
}

const ms_mb_link_ops ms_mb_link_tcp = {
    .check = link_check, .prepare = link_prepare, .start = link_start,
    .send = link_send, .timed_out = link_timed_out, .close = link_close};
