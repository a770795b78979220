/* The bus client's connection on a libuv loop: connect (with a timeout),
 * read and dispatch events, write in batches, and reconnect with capped
 * exponential backoff after any failure.
 *
 * Output collects in c->out and is flushed at the next loop turn (an idle
 * handle), so that many sets in one callback go out in one write: the
 * kernel takes what it can (uv_try_write), the rest goes to one uv_write
 * at a time while new output collects behind it. Each connection is its own
 * allocation, so a new one can start while the old handle is still closing.
 * Logs one line per change of state, not one per failed attempt. */
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "core/outq.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

#define READ_CHUNK (64 * 1024)
/* A bus host that vanished (no RST) is noticed after about 10 + 3 x 5 s
 * idle, or 30 s of unacknowledged output. */
#define KEEPALIVE_S 10
#define KEEPALIVE_INTVL_S 5
#define KEEPALIVE_CNT 3
#define USER_TIMEOUT_MS 30000

struct ms_conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    ms_outq q;       /* writes c->out */
    ms_client *c;
    bool dropped;    /* no longer c->conn: its callbacks do nothing */
    bool up;         /* connected */
};

static void start_attempt(ms_client *c);
static void flush(ms_client *c);

const char *ms_client_state_name(ms_client_state s)
{
    switch (s) {
    case MS_CLIENT_CONNECTING: return "connecting";
    case MS_CLIENT_CONNECTED: return "connected";
    case MS_CLIENT_CLOSED: return "closed";
    }
    return "?";
}

static void free_addrs(ms_client *c)
{
    if (c->ai)
        uv_freeaddrinfo(c->ai);
    c->ai = c->ai_next = NULL;
}

static void maybe_free(ms_client *c)
{
    if (c->handles > 0)
        return;
    free_addrs(c);
    ms_tags_free(c);
    ms_reqs_free(c);
    ms_client_decoder_free(&c->dec);
    ms_buf_free(&c->in);
    ms_buf_free(&c->out);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_client *c = h->data;
    c->handles--;
    maybe_free(c);
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

uint64_t ms_client_stamp(ms_client *c)
{
    uint64_t now = ms_time_now_us();
    if (now <= c->stamp)
        now = c->stamp + 1;
    c->stamp = now;
    return now;
}

/* ---- output --------------------------------------------------------------- */

static void on_idle(uv_idle_t *h)
{
    ms_client *c = h->data;
    uv_idle_stop(h);
    c->idle_on = false;
    flush(c);
}

/* Flushes at the next loop turn: the idle handle keeps the loop from
 * blocking in poll until then. */
static void kick(ms_client *c)
{
    if (!c->idle_on && c->conn && !c->inflight && !c->closing) {
        uv_idle_start(&c->idle, on_idle);
        c->idle_on = true;
    }
}

int ms_client_send(ms_client *c, uint8_t cmd, uint16_t tag_id,
                   uint64_t time_us, const uint8_t *data, size_t len)
{
    if (!ms_client_online(c))
        return MS_ECLOSED;
    int rc = ms_client_put(&c->out, cmd, tag_id, time_us, data, len, NULL, 0);
    if (rc == 0)
        kick(c);
    return rc;
}

int ms_client_send_value(ms_client *c, uint8_t cmd, uint16_t tag_id,
                         uint64_t time_us, const ms_value *v)
{
    if (!ms_client_online(c))
        return MS_ECLOSED;
    int rc = ms_client_put_value(&c->out, cmd, tag_id, time_us, v);
    if (rc == 0)
        kick(c);
    return rc;
}

int ms_client_send_raw_value(ms_client *c, uint8_t cmd, uint16_t tag_id,
                             uint64_t time_us, const uint8_t *wire,
                             size_t len)
{
    return ms_client_send(c, cmd, tag_id, time_us, wire, len);
}

/* ---- connection loss and retry -------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    ms_conn *conn = h->data;
    ms_client *c = conn->c;
    ms_outq_free(&conn->q);
    free(conn);
    c->handles--;
    maybe_free(c);
}

/* Detaches the current connection and closes its handle. */
static void drop_conn(ms_client *c)
{
    ms_conn *conn = c->conn;
    if (!conn)
        return;
    c->conn = NULL;
    conn->dropped = true;
    c->inflight = 0;
    c->out.off = c->out.len = 0;
    ms_buf_shrink(&c->out, 0);
    uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

static uint64_t rng_next(ms_client *c)
{
    /* xorshift64*: jitter only, so that many clients of one bus don't
     * reconnect in lock step. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545f4914f6cdd1dULL;
}

static void on_timer(uv_timer_t *t);

static void schedule_retry(ms_client *c)
{
    double d = c->cfg.backoff_min;
    for (unsigned i = 0; i < c->attempt && d < c->cfg.backoff_max; i++)
        d *= 2;
    if (d > c->cfg.backoff_max)
        d = c->cfg.backoff_max;
    /* +-25 % jitter, still within the cap. */
    double j = 0.75 + 0.5 * (double)(rng_next(c) >> 11) / 9007199254740992.0;
    d *= j;
    if (d > c->cfg.backoff_max)
        d = c->cfg.backoff_max;
    if (c->attempt < 64)
        c->attempt++;
    uint64_t ms = (uint64_t)(d * 1000.0);
    uv_timer_start(&c->timer, on_timer, ms ? ms : 1, 0);
}

static void attempt_failed(ms_client *c, const char *why)
{
    if (c->closing)
        return;
    if (!c->fail_logged) {
        ms_log_warn("bus %s:%d: cannot connect: %s; retrying every %gs at "
                    "most", c->cfg.host, c->cfg.port, why,
                    c->cfg.backoff_max);
        c->fail_logged = true;
    } else {
        ms_log_debug("bus %s:%d: cannot connect: %s", c->cfg.host,
                     c->cfg.port, why);
    }
    schedule_retry(c);
}

/* An established connection failed. */
static void lost(ms_client *c, const char *why)
{
    if (c->closing || !c->conn)
        return;
    drop_conn(c);
    ms_log_warn("bus %s:%d: connection lost: %s; reconnecting", c->cfg.host,
                c->cfg.port, why);
    c->fail_logged = true;
    /* A connection that lived a while starts the backoff afresh; one that
     * keeps failing at once (e.g. refused by an allow list) does not. */
    if (ms_time_mono_ns() - c->up_ns >=
        (uint64_t)(c->cfg.backoff_max * 1e9))
        c->attempt = 0;
    ms_reqs_fail(c, MS_ECLOSED);
    ms_tags_reset(c);
    set_state(c, MS_CLIENT_CONNECTING);
    if (!c->closing)
        schedule_retry(c);
}

/* ---- reading -------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ms_conn *conn = h->data;
    (void)suggested;
    uint8_t *p = ms_buf_reserve(&conn->c->in, READ_CHUNK);
    *buf = uv_buf_init((char *)p, p ? READ_CHUNK : 0);
}

void ms_client_dispatch(ms_client *c, const ms_client_event *ev)
{
    switch (ev->kind) {
    case MS_CEV_ID:
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

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ms_conn *conn = s->data;
    ms_client *c = conn->c;
    (void)buf;
    if (conn->dropped)
        return;
    if (nread < 0) {
        lost(c, nread == UV_EOF ? "the bus closed it"
                                : uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    ms_buf_commit(&c->in, (size_t)nread);
    const uint8_t *data = ms_buf_head(&c->in);
    size_t len = ms_buf_size(&c->in), off = 0;
    /* A callback may close the client or drop the connection: stop then. */
    while (c->conn == conn && !c->closing) {
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
    if (c->conn != conn)
        return;
    ms_buf_consume(&c->in, off);
    ms_buf_shrink(&c->in, 4u * READ_CHUNK);
    flush(c);
}

/* ---- writing -------------------------------------------------------------- */

static void on_written(void *data, int status)
{
    ms_conn *conn = data;
    ms_client *c = conn->c;
    if (conn->dropped)
        return;
    c->inflight = 0;
    if (status < 0) {
        lost(c, uv_strerror(status));
        return;
    }
    flush(c);
}

static void flush(ms_client *c)
{
    ms_conn *conn = c->conn;
    while (conn && c->conn == conn && !c->inflight && !c->closing) {
        if (ms_buf_size(&c->out) == 0) {
            if (c->backlog) {
                ms_tags_drain(c);
                if (ms_buf_size(&c->out))
                    continue;
            }
            ms_buf_shrink(&c->out, 1u << 20);
            return;
        }
        int rc = ms_outq_write(&conn->q);
        c->inflight = conn->q.inflight;
        if (rc < 0) {
            lost(c, uv_strerror(rc));
            return;
        }
    }
}

/* ---- connecting ----------------------------------------------------------- */

static void went_up(ms_client *c, ms_conn *conn)
{
    uv_timer_stop(&c->timer);
    conn->up = true;
    c->connects++;
    c->up_ns = ms_time_mono_ns();
    ms_log_info("bus %s:%d: connected", c->cfg.host, c->cfg.port);
    c->fail_logged = false;
    /* A fresh stream: nothing from the last connection may leak into it. */
    ms_client_decoder_free(&c->dec);
    ms_client_decoder_init(&c->dec, c->cfg.max_payload);
    c->in.off = c->in.len = 0;
    c->out.off = c->out.len = 0;
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_tcp_keepalive(&conn->tcp, 1, KEEPALIVE_S);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&conn->tcp, &fd) == 0) {
        int v = KEEPALIVE_INTVL_S;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
        v = KEEPALIVE_CNT;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v);
        v = USER_TIMEOUT_MS;
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof v);
    }
    int rc = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
    c->state = MS_CLIENT_CONNECTED;
    if (rc < 0) {
        lost(c, uv_strerror(rc));
        return;
    }
    /* Register everything before telling anyone, so that the callback can
     * use the connection straight away. */
    ms_tags_reset(c);
    if (c->cfg.name[0]) {
        char line[100];
        int n = snprintf(line, sizeof line, "%s connected", c->cfg.name);
        ms_client_send(c, MS_CMD_LOG, 0, ms_client_stamp(c),
                       (const uint8_t *)line, (size_t)n);
    }
    ms_tags_send_ids(c);
    notify_state(c);
    kick(c);
}

static void connect_to(ms_client *c, const struct sockaddr *sa);

/* One address failed: the next one of this attempt, or back off. */
static void connect_failed(ms_client *c, const char *why)
{
    uv_timer_stop(&c->timer);
    drop_conn(c);
    if (c->ai_next && !c->closing) {
        const struct addrinfo *a = c->ai_next;
        c->ai_next = a->ai_next;
        ms_log_debug("bus %s:%d: %s; trying the next address", c->cfg.host,
                     c->cfg.port, why);
        connect_to(c, a->ai_addr);
        return;
    }
    free_addrs(c);
    attempt_failed(c, why);
}

static void on_connect(uv_connect_t *req, int status)
{
    ms_conn *conn = req->data;
    ms_client *c = conn->c;
    if (conn->dropped)
        return;
    if (status < 0) {
        connect_failed(c, uv_strerror(status));
        return;
    }
    free_addrs(c);
    went_up(c, conn);
}

static void connect_to(ms_client *c, const struct sockaddr *sa)
{
    ms_conn *conn = calloc(1, sizeof *conn);
    if (!conn) {
        free_addrs(c);
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
    ms_client *c = req->data;
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
    /* Every address in turn (localhost may be ::1, then 127.0.0.1). */
    c->ai = res;
    c->ai_next = res->ai_next;
    connect_to(c, res->ai_addr);
}

static void start_attempt(ms_client *c)
{
    struct sockaddr_storage ss;
    if (c->closing || c->conn || c->resolving)
        return;
    /* Literal addresses need no resolver thread. */
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
    ms_client *c = t->data;
    if (c->conn && !c->conn->up) {
        connect_failed(c, "timed out");
        return;
    }
    start_attempt(c);
}

/* ---- public --------------------------------------------------------------- */

int ms_client_new(uv_loop_t *loop, const ms_client_config *cfg,
                  ms_client **out)
{
    if (!loop || !cfg || !cfg->host[0] || cfg->port < 1 ||
        cfg->port > 65535 || !memchr(cfg->host, 0, sizeof cfg->host) ||
        !memchr(cfg->name, 0, sizeof cfg->name))
        return MS_EINVAL;
    ms_client *c = calloc(1, sizeof *c);
    if (!c)
        return MS_ENOMEM;
    c->loop = loop;
    c->cfg = *cfg;
    ms_client_config def;
    ms_client_config_init(&def);
    if (!c->cfg.max_payload)
        c->cfg.max_payload = def.max_payload;
    if (!c->cfg.queue_high_water)
        c->cfg.queue_high_water = def.queue_high_water;
    if (!c->cfg.queue_hard_cap)
        c->cfg.queue_hard_cap = def.queue_hard_cap;
    if (!(c->cfg.backoff_min > 0))
        c->cfg.backoff_min = def.backoff_min;
    if (!(c->cfg.backoff_max >= c->cfg.backoff_min))
        c->cfg.backoff_max = c->cfg.backoff_min > def.backoff_max
                                 ? c->cfg.backoff_min : def.backoff_max;
    if (!(c->cfg.connect_timeout > 0))
        c->cfg.connect_timeout = def.connect_timeout;
    c->state = MS_CLIENT_CONNECTING;
    c->rng = ms_time_mono_ns() ^ (uint64_t)(uintptr_t)c;
    if (!c->rng)
        c->rng = 1;
    ms_client_decoder_init(&c->dec, c->cfg.max_payload);
    uv_timer_init(loop, &c->timer);
    uv_idle_init(loop, &c->idle);
    c->timer.data = c->idle.data = c;
    c->handles = 2;
    start_attempt(c);
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
    if (c->conn)
        ms_log_info("bus %s:%d: closing", c->cfg.host, c->cfg.port);
    drop_conn(c);
    ms_reqs_fail(c, MS_ECLOSED);
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->gai);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
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
