/* The Modbus TCP server's I/O on a libuv loop: listen, accept, read MBAP
 * frames, answer each with ms_mb_serve_pdu, write the answers.
 *
 * Reads go into one shared buffer; only a partial frame is copied into the
 * connection's own buffer. Every whole request in a read is answered in
 * order into the connection's output queue, which is then written with one
 * system call (ms_outq). A connection whose read filled the whole buffer is
 * paused until the next loop iteration so a busy master can't starve the
 * others; one whose unread answers pass out_cap stops being read (TCP then
 * pushes back on it) until it catches up. A sweep once a second drops a
 * master that has sat mid-frame, or blocked, for longer than the timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/outq.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbserver.h"
#include "mscada/mstime.h"

#define RBUF_SIZE (64 * 1024)
#define SWEEP_MS 1000

typedef struct mb_conn mb_conn;
struct mb_conn {
    uv_tcp_t tcp;
    ms_mb_server *srv;
    mb_conn *prev, *next;  /* every connection */
    mb_conn *next_paused;
    ms_buf in;             /* a partial frame kept between reads */
    ms_buf out;            /* answers waiting to be written */
    ms_outq q;
    uint64_t partial_ns;   /* when the kept partial frame began; 0: none */
    uint64_t blocked_ns;   /* when reading stopped for backlog; 0: not */
    bool paused, blocked, closed;
    char peer[64];
};

struct ms_mb_server {
    uv_loop_t *loop;
    ms_mb_server_config cfg;
    ms_mb_handler h;
    uv_tcp_t listener;
    uv_timer_t sweep;
    uv_check_t check;
    mb_conn *conns, *paused;
    size_t nconns;
    uint8_t *rbuf;
    int port;
    int handles; /* open handles: freed when the last closes */
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

static void srv_maybe_free(ms_mb_server *s)
{
    if (s->handles > 0)
        return;
    free(s->rbuf);
    free(s);
}

static void srv_handle_closed(uv_handle_t *h)
{
    ms_mb_server *s = h->data;
    s->handles--;
    srv_maybe_free(s);
}

/* ---- connections --------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
    mb_conn *c = (mb_conn *)h;
    ms_mb_server *s = c->srv;
    ms_buf_free(&c->in);
    ms_buf_free(&c->out);
    ms_outq_free(&c->q);
    free(c);
    s->handles--;
    srv_maybe_free(s);
}

static void conn_close(mb_conn *c)
{
    if (c->closed)
        return;
    ms_mb_server *s = c->srv;
    c->closed = true;
    if (c->paused) {
        for (mb_conn **p = &s->paused; *p; p = &(*p)->next_paused) {
            if (*p == c) {
                *p = c->next_paused;
                break;
            }
        }
        c->paused = false;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void conn_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void conn_read_start(mb_conn *c)
{
    if (!c->closed && !c->paused && !c->blocked)
        uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
}

static size_t conn_backlog(const mb_conn *c)
{
    return ms_buf_size(&c->out) + c->q.inflight;
}

static void conn_flush(mb_conn *c);

static void conn_on_written(void *data, int status)
{
    mb_conn *c = data;
    if (c->closed)
        return;
    if (status < 0) {
        ms_log_info("%s: write failed: %s; closing", c->peer,
                    uv_strerror(status));
        conn_close(c);
        return;
    }
    conn_flush(c);
}

/* Writes the answers; stops reading a master that doesn't read its answers
 * (past out_cap) and starts again once it has read half of them. */
static void conn_flush(mb_conn *c)
{
    ms_mb_server *s = c->srv;
    if (!c->q.inflight && ms_buf_size(&c->out)) {
        int rc = ms_outq_write(&c->q);
        if (rc < 0) {
            ms_log_info("%s: write failed: %s; closing", c->peer,
                        uv_strerror(rc));
            conn_close(c);
            return;
        }
    }
    if (!c->q.inflight && !ms_buf_size(&c->out))
        ms_buf_shrink(&c->out, 64u * 1024);
    size_t backlog = conn_backlog(c);
    if (!c->blocked && backlog > s->cfg.out_cap) {
        c->blocked = true;
        c->blocked_ns = ms_time_mono_ns();
        uv_read_stop((uv_stream_t *)&c->tcp);
        ms_log_debug("%s: %zu bytes of answers unread; reading stops",
                     c->peer, backlog);
    } else if (c->blocked && backlog <= s->cfg.out_cap / 2) {
        c->blocked = false;
        c->blocked_ns = 0;
        conn_read_start(c);
    }
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    mb_conn *c = (mb_conn *)h;
    (void)suggested;
    if (ms_buf_size(&c->in) == 0) {
        *buf = uv_buf_init((char *)c->srv->rbuf, RBUF_SIZE);
        return;
    }
    uint8_t *p = ms_buf_reserve(&c->in, RBUF_SIZE);
    *buf = uv_buf_init((char *)p, p ? RBUF_SIZE : 0);
}

/* Answers every whole frame in data; returns the bytes used, or -1 after
 * dropping the connection for a stream that isn't Modbus. */
static long conn_input(mb_conn *c, const uint8_t *data, size_t len)
{
    ms_mb_server *s = c->srv;
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
                        c->peer, (unsigned)((h[2] << 8) | h[3]),
                        (unsigned)((h[4] << 8) | h[5]));
            return -1;
        }
        uint8_t *o = ms_buf_reserve(&c->out, MS_MB_ADU_MAX);
        if (!o) {
            ms_log_error("%s: out of memory; closing", c->peer);
            return -1;
        }
        int plen = ms_mb_serve_pdu(&s->h, adu.unit, adu.pdu, adu.pdu_len,
                                   o + MS_MB_MBAP_HEAD);
        if (plen < 0) {
            ms_log_warn("%s: function code %u is no Modbus request; dropping "
                        "the connection", c->peer, adu.pdu[0]);
            return -1;
        }
        ms_buf_commit(&c->out, (size_t)ms_mb_adu_wrap(MS_MB_FRAMING_MBAP,
                                                      adu.tid, adu.unit, o,
                                                      (size_t)plen));
        used += (size_t)n;
    }
    return (long)used;
}

static void conn_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    mb_conn *c = (mb_conn *)st;
    ms_mb_server *s = c->srv;
    if (nread < 0) {
        if (nread == UV_EOF)
            ms_log_info("%s: disconnected", c->peer);
        else
            ms_log_info("%s: read failed: %s; closing", c->peer,
                        uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    if (nread == 0 || c->closed)
        return;
    bool shared = (uint8_t *)buf->base == s->rbuf;
    const uint8_t *data;
    size_t len;
    if (shared) {
        data = s->rbuf;
        len = (size_t)nread;
    } else {
        ms_buf_commit(&c->in, (size_t)nread);
        data = ms_buf_head(&c->in);
        len = ms_buf_size(&c->in);
    }
    long used = conn_input(c, data, len);
    if (used < 0) {
        conn_flush(c); /* the answers before the fault still go */
        conn_close(c);
        return;
    }
    if (shared) {
        if ((size_t)used < len &&
            ms_buf_append(&c->in, data + used, len - (size_t)used) < 0) {
            ms_log_error("%s: out of memory; closing", c->peer);
            conn_close(c);
            return;
        }
    } else {
        ms_buf_consume(&c->in, (size_t)used);
        ms_buf_shrink(&c->in, 2u * RBUF_SIZE);
    }
    if (ms_buf_size(&c->in) == 0)
        c->partial_ns = 0;
    else if (used > 0 || !c->partial_ns)
        c->partial_ns = ms_time_mono_ns(); /* a new partial frame began */
    /* A full buffer means more is waiting: let the others go first. */
    if ((size_t)nread == RBUF_SIZE && !c->paused) {
        uv_read_stop(st);
        c->paused = true;
        c->next_paused = s->paused;
        s->paused = c;
    }
    conn_flush(c);
}

static void srv_on_check(uv_check_t *h)
{
    ms_mb_server *s = h->data;
    mb_conn *c = s->paused;
    s->paused = NULL;
    while (c) {
        mb_conn *next = c->next_paused;
        c->paused = false;
        c->next_paused = NULL;
        conn_read_start(c);
        c = next;
    }
}

static void srv_on_sweep(uv_timer_t *t)
{
    ms_mb_server *s = t->data;
    uint64_t now = ms_time_mono_ns();
    uint64_t limit = (uint64_t)(s->cfg.timeout * 1e9);
    mb_conn *next;
    for (mb_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->partial_ns && now - c->partial_ns > limit) {
            ms_log_warn("%s: stopped mid-frame (%zu bytes) for %gs; dropping "
                        "the connection", c->peer, ms_buf_size(&c->in),
                        s->cfg.timeout);
            conn_close(c);
        } else if (c->blocked && now - c->blocked_ns > limit) {
            ms_log_warn("%s: has not read %zu bytes of answers for %gs; "
                        "dropping the connection", c->peer, conn_backlog(c),
                        s->cfg.timeout);
            conn_close(c);
        }
    }
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[64] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(out, cap, "%s:%d", ip, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "unknown peer");
    }
}

static void srv_on_connection(uv_stream_t *ls, int status)
{
    ms_mb_server *s = ls->data;
    if (status < 0) {
        ms_log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    mb_conn *c = calloc(1, sizeof *c);
    if (!c) {
        ms_log_error("out of memory accepting a connection");
        return;
    }
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    s->handles++;
    int rc = uv_accept(ls, (uv_stream_t *)&c->tcp);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (rc == 0)
        rc = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl);
    if (rc < 0) {
        ms_log_warn("accept failed: %s", uv_strerror(rc));
        c->closed = true;
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    peer_name(&ss, c->peer, sizeof c->peer);
    if (s->nconns >= s->cfg.max_conns) {
        ms_log_warn("%s: refused: %zu masters connected already (max_conns)",
                    c->peer, s->nconns);
        c->closed = true;
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    ms_outq_init(&c->q, (uv_stream_t *)&c->tcp, &c->out, conn_on_written, c);
    uv_tcp_nodelay(&c->tcp, 1);
    ms_log_info("%s: connected", c->peer);
    conn_read_start(c);
}

/* ---- the server ------------------------------------------------------------ */

int ms_mb_server_start(uv_loop_t *loop, const ms_mb_server_config *cfg,
                       const ms_mb_handler *h, ms_mb_server **out)
{
    *out = NULL;
    ms_mb_server *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->rbuf = malloc(RBUF_SIZE);
    if (!s->rbuf) {
        free(s);
        return MS_ENOMEM;
    }
    s->loop = loop;
    s->cfg = *cfg;
    if (s->cfg.timeout <= 0)
        s->cfg.timeout = 30;
    if (!s->cfg.out_cap)
        s->cfg.out_cap = 1u << 20;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = 1000;
    s->h = *h;

    struct sockaddr_storage ss;
    int rc = strchr(cfg->ip, ':')
                 ? uv_ip6_addr(cfg->ip, cfg->port, (struct sockaddr_in6 *)&ss)
                 : uv_ip4_addr(cfg->ip, cfg->port, (struct sockaddr_in *)&ss);
    if (rc < 0) {
        ms_log_error("bad listen address '%s'", cfg->ip);
        free(s->rbuf);
        free(s);
        return rc;
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->handles++;
    rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, srv_on_connection);
    if (rc < 0) {
        ms_log_error("cannot listen on %s:%d: %s", cfg->ip, cfg->port,
                     uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, srv_handle_closed);
        return rc;
    }
    struct sockaddr_storage name;
    int nl = sizeof name;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&name, &nl);
    s->port = ntohs(name.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&name)->sin6_port
                        : ((struct sockaddr_in *)&name)->sin_port);
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->handles++;
    uv_timer_start(&s->sweep, srv_on_sweep, SWEEP_MS, SWEEP_MS);
    uv_check_init(loop, &s->check);
    s->check.data = s;
    s->handles++;
    uv_check_start(&s->check, srv_on_check);
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
    return s->nconns;
}

void ms_mb_server_stop(ms_mb_server *s)
{
    while (s->conns)
        conn_close(s->conns);
    uv_close((uv_handle_t *)&s->listener, srv_handle_closed);
    uv_close((uv_handle_t *)&s->sweep, srv_handle_closed);
    uv_close((uv_handle_t *)&s->check, srv_handle_closed);
}
