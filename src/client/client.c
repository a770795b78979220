/* The bus client's connection on a libuv loop: read and dispatch events
 * to the tags and the requests, on the connection that the dialer
 * (net/dial.c) makes, and remakes with capped exponential backoff after
 * any failure; output goes through the writer (client_writer.c), which
 * this file brings up and down with the connection.
 * Logs one line per change of state, not one per failed attempt. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "client/client_tags.h"
#include "net/dial.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

#define READ_CHUNK (64 * 1024)

const char *ms_client_state_name(ms_client_state s)
{
    switch (s) {
    case MS_CLIENT_CONNECTING: return "connecting";
    case MS_CLIENT_CONNECTED: return "connected";
    case MS_CLIENT_CLOSED: return "closed";
    }
    return "?";
}

static void maybe_free(ms_client *c)
{
    if (c->handles > 0)
        return;
    ms_tags_free(c);
    ms_reqs_free(c);
    ms_loggate_reset(&c->lg);
    ms_client_decoder_free(&c->dec);
    ms_buf_free(&c->in);
    ms_client_writer_free(&c->w);
    free(c);
}

void ms_client_handle_closed(ms_client *c)
{
    c->handles--;
    maybe_free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    ms_client_handle_closed(h->data);
}

static void on_writer_closed(void *arg)
{
    ms_client_handle_closed(arg);
}

static void notify_state(ms_client *c)
{
    if (c->state_hook)
        c->state_hook(c, c->state, c->state_hook_arg);
    if (c->cfg.on_state && !c->closing)
        c->cfg.on_state(c, c->state, c->cfg.on_state_arg);
}

static void set_state(ms_client *c, ms_client_state s)
{
    if (c->state == s)
        return;
    c->state = s;
    notify_state(c);
}

/* ---- connection loss and retry -------------------------------------------- */

static void on_dial_fail(ms_dialer *d, const char *why, void *arg)
{
    ms_client *c = arg;
    (void)d;
    if (!c->fail_logged) {
        ms_log_warn("bus %s:%d: cannot connect: %s; retrying every %gs at "
                    "most", c->cfg.host, c->cfg.port, why,
                    c->cfg.backoff_max);
        c->fail_logged = true;
    } else {
        ms_log_debug("bus %s:%d: cannot connect: %s", c->cfg.host,
                     c->cfg.port, why);
    }
}

/* An established connection failed. */
static void lost(ms_client *c, const char *why)
{
    if (c->closing || !ms_client_writer_is_up(&c->w))
        return;
    ms_client_writer_down(&c->w); /* its output goes; the dialer closes it */
    ms_dialer_drop(c->dialer);
    ms_log_warn("bus %s:%d: connection lost: %s; reconnecting", c->cfg.host,
                c->cfg.port, why);
    c->fail_logged = true;
    ms_reqs_fail(c, MS_ECLOSED);
    ms_tags_reset(c);
    ms_loggate_reset(&c->lg);
    uv_timer_stop(&c->answer_timer);
    c->stalled = false;
    set_state(c, MS_CLIENT_CONNECTING);
}

/* ---- reading and writing -------------------------------------------------- */

void ms_client_dispatch(ms_client *c, const ms_client_event *ev)
{
    if (!c->heard) {
        c->heard = true;
        uv_timer_stop(&c->answer_timer);
        if (c->stalled) {
            c->stalled = false;
            ms_log_info("bus %s:%d: answers now", c->cfg.host, c->cfg.port);
        }
    }
    char where[300];
    switch (ev->kind) {
    case MS_CEV_ID:
        snprintf(where, sizeof where, "bus %s:%d", c->cfg.host, c->cfg.port);
        if (!ms_loggate_on_id(&c->lg, &c->w, ev, where))
            ms_tags_on_id(c, ev);
        break;
    case MS_CEV_SET:
        ms_tags_on_set(c, ev);
        break;
    case MS_CEV_RTA:
        ms_tags_on_rta(c, ev);
        break;
    case MS_CEV_LIST:
        ms_reqs_on_list(c, ev);
        break;
    case MS_CEV_ERR:
        ms_reqs_on_err(c, ev);
        break;
    case MS_CEV_OTHER:
        ms_log_debug("bus %s:%d: unexpected command %u (tag id %u); ignored",
                     c->cfg.host, c->cfg.port, ev->cmd, ev->tag_id);
        break;
    }
}

static void on_data(ms_dial_conn *conn)
{
    ms_client *c = conn->data;
    const uint8_t *data = ms_buf_head(&c->in);
    size_t len = ms_buf_size(&c->in), off = 0;
    /* A callback may close the client or drop the connection: stop then. */
    while (c->w.conn == conn && !c->closing) {
        size_t used;
        ms_client_event ev;
        int rc = ms_client_decoder_next(&c->dec, data + off, len - off, &used,
                                        &ev);
        off += used;
        if (rc == 0)
            break;
        if (rc < 0) {
            char why[128];
            ms_frame_reader_describe(&c->dec.reader, rc, why, sizeof why);
            lost(c, why);
            return;
        }
        ms_client_dispatch(c, &ev);
    }
    if (c->w.conn != conn)
        return;
    ms_buf_consume(&c->in, off);
    ms_buf_shrink(&c->in, 4u * READ_CHUNK);
    ms_dial_conn_flush(conn);
}

static void on_broken(ms_dial_conn *conn, const char *why)
{
    lost(conn->data, why);
}

/* All output is written: sets held back by the queue's high-water mark go
 * next; when there are none, a burst's memory goes. */
static void on_drained(ms_dial_conn *conn)
{
    ms_client *c = conn->data;
    ms_tags_drain(c);
    ms_client_writer_trim(&c->w);
}

static const ms_dial_io client_io = {
    .chunk = READ_CHUNK, .eof_why = "the bus closed it",
    .on_data = on_data, .on_broken = on_broken, .on_drained = on_drained};

/* ---- connecting ----------------------------------------------------------- */

/* Connected, and the IDs went out, but nothing came back: the bus is not
 * reading this connection. */
static void on_answer_timeout(uv_timer_t *t)
{
    ms_client *c = t->data;
    if (c->heard || !ms_client_online(c))
        return;
    c->stalled = true;
    ms_log_warn("bus %s:%d: connected, but no answer to ID requests in %gs: "
                "the bus is not reading this connection (a pymscada 2024 "
                "bus stops reading a connection after a command it does not "
                "know); waiting for an answer", c->cfg.host, c->cfg.port,
                c->cfg.answer_timeout);
}

static void on_dial_up(ms_dialer *d, ms_dial_conn *conn, void *arg)
{
    ms_client *c = arg;
    (void)d;
    conn->data = c;
    ms_client_writer_up(&c->w, conn);
    c->connects++;
    ms_log_info("bus %s:%d: connected", c->cfg.host, c->cfg.port);
    c->fail_logged = false;
    /* A fresh stream: nothing from the last connection may leak into it. */
    ms_client_decoder_free(&c->dec);
    ms_client_decoder_init(&c->dec, c->cfg.max_payload);
    int rc = ms_dial_conn_start(conn, &c->in, &c->w.out, &client_io);
    c->state = MS_CLIENT_CONNECTED;
    if (rc < 0) {
        lost(c, uv_strerror(rc));
        return;
    }
    /* Register everything before telling anyone, so that the callback can
     * use the connection straight away. */
    ms_tags_reset(c);
    c->heard = c->stalled = false;
    ms_loggate_reset(&c->lg);
    if (c->cfg.name[0]) {
        char line[100];
        snprintf(line, sizeof line, "%s connected", c->cfg.name);
        ms_loggate_log(&c->lg, &c->w, line); /* once the bus shows it can */
    }
    ms_tags_send_ids(c);
    ms_tags_look_all(c);
    if (ms_client_writer_queued(&c->w)) /* IDs are out: answers are due */
        uv_timer_start(&c->answer_timer, on_answer_timeout,
                       (uint64_t)(c->cfg.answer_timeout * 1000), 0);
    notify_state(c);
}

static void on_dialer_closed(void *arg)
{
    ms_client_handle_closed(arg);
}

/* ---- public --------------------------------------------------------------- */

int ms_client_new(uv_loop_t *loop, const ms_client_config *cfg,
                  ms_client **out)
{
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (!loop || ms_client_config_check(cfg, NULL, 0) < 0)
        return MS_EINVAL;
    ms_client *c = calloc(1, sizeof *c);
    if (!c)
        return MS_ENOMEM;
    c->loop = loop;
    c->cfg = *cfg; /* taken as it is: ms_client_config_init set defaults */
    c->state = MS_CLIENT_CONNECTING;
    /* A bus host that vanished (no RST) is noticed after about 10 + 3 x 5 s
     * idle, or 30 s of unacknowledged output. */
    char name[300];
    snprintf(name, sizeof name, "bus %s:%d", c->cfg.host, c->cfg.port);
    ms_dialer_config dc = {
        .name = name, .host = c->cfg.host, .port = c->cfg.port,
        .connect_timeout = c->cfg.connect_timeout,
        .backoff_min = c->cfg.backoff_min, .backoff_max = c->cfg.backoff_max,
        .jitter = 0.25, .keepalive_s = 10, .keepalive_intvl_s = 5,
        .keepalive_cnt = 3, .user_timeout_ms = 30000,
        .on_up = on_dial_up, .on_fail = on_dial_fail, .arg = c};
    int rc = ms_dialer_new(loop, &dc, &c->dialer);
    if (rc < 0) {
        free(c);
        return rc;
    }
    ms_client_decoder_init(&c->dec, c->cfg.max_payload);
    ms_client_writer_init(&c->w, loop);
    uv_timer_init(loop, &c->answer_timer);
    c->answer_timer.data = c;
    c->lg.ok = -1;
    c->handles = 3; /* the writer's idle handle, the answer timer, the
                       dialer */
    ms_dialer_start(c->dialer);
    *out = c;
    return 0;
}

void ms_client_close(ms_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    c->state = MS_CLIENT_CLOSED;
    if (c->state_hook)
        c->state_hook(c, MS_CLIENT_CLOSED, c->state_hook_arg);
    if (ms_dialer_has_conn(c->dialer))
        ms_log_info("bus %s:%d: closing", c->cfg.host, c->cfg.port);
    ms_client_writer_down(&c->w);
    ms_reqs_fail(c, MS_ECLOSED);
    ms_tags_look_close(c);
    ms_dialer_close(c->dialer, on_dialer_closed, c);
    ms_client_writer_close(&c->w, on_writer_closed, c);
    uv_close((uv_handle_t *)&c->answer_timer, on_timer_closed);
}

ms_client_state ms_client_get_state(const ms_client *c)
{
    return c->state;
}

uv_loop_t *ms_client_loop(const ms_client *c)
{
    return c->loop;
}

uint64_t ms_client_connects(const ms_client *c)
{
    return c->connects;
}

bool ms_client_stalled(const ms_client *c)
{
    return c->stalled;
}
