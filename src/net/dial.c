/* The reconnecting TCP connector. Each connection is its own allocation,
 * so a new one can start while the old handle is still closing; the
 * dialer is freed once its timer, resolver request and connections are
 * all closed. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dial.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

struct ms_dialer {
    uv_loop_t *loop;
    ms_dialer_config cfg;
    char host[256], name[300];
    ms_backoff backoff;
    uv_timer_t timer;         /* the connect timeout, or the backoff */
    uv_getaddrinfo_t gai;
    struct addrinfo *ai;      /* resolved addresses of this attempt */
    struct addrinfo *ai_next; /* the next one to try */
    ms_dial_conn *conn;       /* connecting or up */
    bool resolving, closing;
    int handles;              /* open handles + requests; freed at 0 */
    uint64_t up_ns;           /* when the last connection came up */
    void (*on_closed)(void *arg);
    void *closed_arg;
};

static void start_attempt(ms_dialer *d);
static void on_timer(uv_timer_t *t);

static void free_addrs(ms_dialer *d)
{
    if (d->ai)
        uv_freeaddrinfo(d->ai);
    d->ai = d->ai_next = NULL;
}

static void maybe_free(ms_dialer *d)
{
    if (d->handles > 0)
        return;
    void (*cb)(void *) = d->on_closed;
    void *arg = d->closed_arg;
    free_addrs(d);
    free(d);
    if (cb)
        cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    ms_dialer *d = h->data;
    d->handles--;
    maybe_free(d);
}

static void on_conn_closed(uv_handle_t *h)
{
    ms_dial_conn *conn = h->data;
    ms_dialer *d = conn->d;
    ms_outq_free(&conn->q);
    free(conn);
    d->handles--;
    maybe_free(d);
}

/* Detaches the current connection and closes its handle. */
static void drop_conn(ms_dialer *d)
{
    ms_dial_conn *conn = d->conn;
    if (!conn)
        return;
    d->conn = NULL;
    conn->dropped = true;
    uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

static void schedule_retry(ms_dialer *d)
{
    uv_timer_start(&d->timer, on_timer, ms_backoff_next_ms(&d->backoff), 0);
}

static void attempt_failed(ms_dialer *d, const char *why)
{
    if (d->closing)
        return;
    schedule_retry(d);
    d->cfg.on_fail(d, why, d->cfg.arg);
}

static void connect_failed(ms_dialer *d, const char *why);

static void went_up(ms_dialer *d, ms_dial_conn *conn)
{
    uv_timer_stop(&d->timer);
    uv_tcp_nodelay(&conn->tcp, 1);
    if (d->cfg.keepalive_s > 0)
        uv_tcp_keepalive(&conn->tcp, 1, (unsigned)d->cfg.keepalive_s);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&conn->tcp, &fd) == 0) {
        int v;
        if ((v = d->cfg.keepalive_intvl_s) > 0)
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
        if ((v = d->cfg.keepalive_cnt) > 0)
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v);
        if ((v = d->cfg.user_timeout_ms) > 0)
            setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof v);
    }
    conn->data = d->cfg.arg;
    if (d->cfg.io) {
        int rc = ms_dial_conn_start(conn, d->cfg.in, d->cfg.out, d->cfg.io);
        if (rc < 0) {
            connect_failed(d, uv_strerror(rc));
            return;
        }
    }
    conn->up = true;
    d->up_ns = ms_time_mono_ns();
    d->cfg.on_up(d, conn, d->cfg.arg);
}

static void connect_to(ms_dialer *d, const struct sockaddr *sa);

/* One address failed: the next one of this attempt, or back off. */
static void connect_failed(ms_dialer *d, const char *why)
{
    uv_timer_stop(&d->timer);
    drop_conn(d);
    if (d->ai_next && !d->closing) {
        const struct addrinfo *a = d->ai_next;
        d->ai_next = a->ai_next;
        ms_log_debug("%s: %s; trying the next address", d->name, why);
        connect_to(d, a->ai_addr);
        return;
    }
    free_addrs(d);
    attempt_failed(d, why);
}

static void on_connect(uv_connect_t *req, int status)
{
    ms_dial_conn *conn = req->data;
    ms_dialer *d = conn->d;
    if (conn->dropped)
        return;
    if (status < 0) {
        connect_failed(d, uv_strerror(status));
        return;
    }
    free_addrs(d);
    went_up(d, conn);
}

static void connect_to(ms_dialer *d, const struct sockaddr *sa)
{
    ms_dial_conn *conn = calloc(1, sizeof *conn);
    if (!conn) {
        free_addrs(d);
        attempt_failed(d, "out of memory");
        return;
    }
    conn->d = d;
    uv_tcp_init(d->loop, &conn->tcp);
    conn->tcp.data = conn;
    conn->creq.data = conn;
    d->handles++;
    d->conn = conn;
    int rc = uv_tcp_connect(&conn->creq, &conn->tcp, sa, on_connect);
    if (rc < 0) {
        connect_failed(d, uv_strerror(rc));
        return;
    }
    uint64_t ms = (uint64_t)(d->cfg.connect_timeout * 1000.0);
    uv_timer_start(&d->timer, on_timer, ms ? ms : 1, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res)
{
    ms_dialer *d = req->data;
    d->resolving = false;
    d->handles--;
    if (d->closing) {
        uv_freeaddrinfo(res);
        maybe_free(d);
        return;
    }
    if (status < 0 || !res) {
        uv_freeaddrinfo(res);
        attempt_failed(d, status < 0 ? uv_strerror(status) : "no address");
        return;
    }
    /* Every address in turn (localhost may be ::1, then 127.0.0.1). */
    d->ai = res;
    d->ai_next = res->ai_next;
    connect_to(d, res->ai_addr);
}

static void start_attempt(ms_dialer *d)
{
    struct sockaddr_storage ss;
    if (d->closing || d->conn || d->resolving)
        return;
    /* Literal addresses need no resolver thread. */
    if (uv_ip4_addr(d->host, d->cfg.port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(d->host, d->cfg.port, (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(d, (struct sockaddr *)&ss);
        return;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", d->cfg.port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    d->gai.data = d;
    int rc = uv_getaddrinfo(d->loop, &d->gai, on_resolved, d->host, port,
                            &hints);
    if (rc < 0) {
        attempt_failed(d, uv_strerror(rc));
        return;
    }
    d->resolving = true;
    d->handles++;
}

static void on_timer(uv_timer_t *t)
{
    ms_dialer *d = t->data;
    if (d->conn && !d->conn->up) {
        connect_failed(d, "timed out");
        return;
    }
    start_attempt(d);
}

/* ---- public --------------------------------------------------------------- */

int ms_dialer_new(uv_loop_t *loop, const ms_dialer_config *cfg,
                  ms_dialer **out)
{
    if (!loop || !cfg || !cfg->host || !cfg->on_up || !cfg->on_fail ||
        (cfg->io && (!cfg->in || !cfg->out)) ||
        strlen(cfg->host) >= sizeof ((ms_dialer *)0)->host)
        return MS_EINVAL;
    ms_dialer *d = calloc(1, sizeof *d);
    if (!d)
        return MS_ENOMEM;
    d->loop = loop;
    d->cfg = *cfg;
    snprintf(d->host, sizeof d->host, "%s", cfg->host);
    snprintf(d->name, sizeof d->name, "%s", cfg->name ? cfg->name : "");
    d->cfg.host = d->host;
    d->cfg.name = d->name;
    ms_backoff_init(&d->backoff, cfg->backoff_min, cfg->backoff_max,
                    cfg->jitter);
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->handles = 1;
    *out = d;
    return 0;
}

void ms_dialer_start(ms_dialer *d)
{
    start_attempt(d);
}

void ms_dialer_drop(ms_dialer *d)
{
    if (!d->conn || d->closing)
        return;
    drop_conn(d);
    if (ms_time_mono_ns() - d->up_ns >=
        (uint64_t)(d->cfg.backoff_max * 1e9))
        ms_backoff_reset(&d->backoff);
    schedule_retry(d);
}

void ms_dialer_close(ms_dialer *d, void (*on_closed)(void *arg), void *arg)
{
    if (d->closing)
        return;
    d->closing = true;
    d->on_closed = on_closed;
    d->closed_arg = arg;
    drop_conn(d);
    if (d->resolving)
        uv_cancel((uv_req_t *)&d->gai);
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

bool ms_dialer_has_conn(const ms_dialer *d)
{
    return d->conn != NULL;
}
