/* The TCP listener shared by every server (listener.h): its own accept on
 * a polled socket, so that running out of descriptors can pause accepting
 * instead of dropping peers; connections as libuv streams from there on,
 * held back by their unread output and swept when stuck. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mscada/log.h"
#include "mscada/mstime.h"
#include "net/listener.h"

#define RBUF_SIZE (64 * 1024)
#define ACCEPT_BATCH 64     /* per wake-up, so a flood can't hold the loop */
#define ACCEPT_RETRY_MS 1000 /* paused accepting tries again this often */
#define SWEEP_MS 1000        /* stuck connections are looked for this often */
#define OUT_KEEP (64 * 1024) /* an emptied output queue keeps this much */

struct ms_listener {
    uv_loop_t *loop;
    ms_listener_config cfg;
    uv_os_sock_t fd;
    uv_poll_t poll;   /* fd readable: peers to accept */
    uv_check_t check; /* resumes the connections paused for fairness */
    uv_timer_t retry; /* resumes paused accepting */
    uv_timer_t sweep; /* drops stuck connections (cfg.timeout) */
    ms_listen_conn *conns, *paused;
    size_t nconns;
    uint8_t *rbuf;
    int port;
    int handles; /* open handles, connections included */
    bool starved; /* accept(2) failed for want of resources */
    bool closing;
    void (*on_closed)(void *arg);
    void *closed_arg;
};

static void listener_maybe_free(ms_listener *l)
{
    if (l->handles > 0)
        return;
    void (*cb)(void *) = l->on_closed;
    void *arg = l->closed_arg;
    free(l->rbuf);
    free(l);
    if (cb)
        cb(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_listener *l = h->data;
    l->handles--;
    listener_maybe_free(l);
}

static void on_poll_closed(uv_handle_t *h)
{
    ms_listener *l = h->data;
    close(l->fd); /* only now: libuv must not poll a closed descriptor */
    on_handle_closed(h);
}

/* ---- accepting ------------------------------------------------------------- */

static void on_listen_io(uv_poll_t *p, int status, int events);

static void accept_resume(ms_listener *l)
{
    if (!l->starved || l->closing)
        return;
    uv_timer_stop(&l->retry);
    uv_poll_start(&l->poll, UV_READABLE, on_listen_io);
}

static void on_retry(uv_timer_t *t)
{
    accept_resume(t->data);
}

/* Out of descriptors or memory: peers wait in the backlog until one of
 * ours closes (accept_resume) or the timer fires. Logged once a spell. */
static void accept_pause(ms_listener *l, int err)
{
    uv_poll_stop(&l->poll);
    if (!l->starved) {
        bool fds = err == EMFILE || err == ENFILE;
        ms_log_warn("accept failed: %s with %zu connections open; new ones "
                    "wait until one closes%s",
                    uv_strerror(uv_translate_sys_error(err)), l->nconns,
                    fds ? " (raise the descriptor limit: ulimit -n, or "
                          "LimitNOFILE= for a service)"
                        : "");
    }
    l->starved = true;
    uv_timer_start(&l->retry, on_retry, ACCEPT_RETRY_MS, 0);
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void conn_on_closed(uv_handle_t *h);
static void conn_on_written(void *data, int status);

static void conn_read_start(ms_listen_conn *c)
{
    if (!c->closed && !c->paused && !c->held)
        uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
}

/* Makes fd (just accepted from sa) a connection, or refuses it. */
static void conn_take(ms_listener *l, int fd, const struct sockaddr *sa)
{
    char peer[MS_PEER_NAME_MAX];
    ms_peer_name(sa, peer, sizeof peer);
    if (l->cfg.max_conns && l->nconns >= l->cfg.max_conns) {
        ms_log_warn("%s: refused: %zu %s connected already (max_conns)", peer,
                    l->nconns, l->cfg.peers);
        close(fd);
        return;
    }
    ms_listen_conn *c = calloc(1, l->cfg.conn_size);
    if (!c) {
        ms_log_error("%s: out of memory accepting the connection; refused",
                     peer);
        close(fd);
        return;
    }
    c->l = l;
    memcpy(c->peer, peer, sizeof peer);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    ms_outq_init(&c->q, (uv_stream_t *)&c->tcp, &c->out, conn_on_written, c);
    l->handles++;
    int rc = uv_tcp_open(&c->tcp, fd);
    if (rc < 0) {
        ms_log_warn("%s: accept failed: %s", peer, uv_strerror(rc));
        close(fd);
        c->closed = true; /* never listed, never the owner's */
        uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
        return;
    }
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->nconns++;
    c->listed = true;
    uv_tcp_nodelay(&c->tcp, 1);
    if (l->cfg.on_accept(c, sa, l->cfg.arg) < 0) {
        ms_listen_conn_close(c);
        return;
    }
    conn_read_start(c);
}

static void on_listen_io(uv_poll_t *p, int status, int events)
{
    ms_listener *l = p->data;
    (void)events;
    if (status < 0) {
        ms_log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH && !l->closing; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            switch (err) {
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
                return;
            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                accept_pause(l, err);
                return;
            /* The peer gave up, or a network error pending on it (Linux
             * reports those here): the next one may be fine. */
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
            case ENETDOWN:
            case ENOPROTOOPT:
            case EHOSTDOWN:
            case ENONET:
            case EHOSTUNREACH:
            case EOPNOTSUPP:
            case ENETUNREACH:
                continue;
            default:
                ms_log_warn("accept failed: %s",
                            uv_strerror(uv_translate_sys_error(err)));
                return;
            }
        }
        if (l->starved) {
            l->starved = false;
            ms_log_info("accepting connections again (%zu open)", l->nconns);
        }
        conn_take(l, fd, (struct sockaddr *)&ss);
    }
}

/* ---- connections ----------------------------------------------------------- */

static void conn_on_closed(uv_handle_t *h)
{
    ms_listen_conn *c = h->data;
    ms_listener *l = c->l;
    if (c->listed && l->cfg.on_closed)
        l->cfg.on_closed(c);
    ms_buf_free(&c->in);
    ms_buf_free(&c->out);
    ms_outq_free(&c->q);
    free(c);
    l->handles--;
    accept_resume(l); /* a descriptor is free */
    listener_maybe_free(l);
}

void ms_listen_conn_close(ms_listen_conn *c)
{
    if (c->closed)
        return;
    ms_listener *l = c->l;
    c->closed = true;
    if (c->paused) {
        for (ms_listen_conn **p = &l->paused; *p; p = &(*p)->next_paused) {
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
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    l->nconns--;
    if (l->cfg.on_closing)
        l->cfg.on_closing(c);
    uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ms_listen_conn *c = h->data;
    (void)suggested;
    if (ms_buf_size(&c->in) == 0) {
        *buf = uv_buf_init((char *)c->l->rbuf, RBUF_SIZE);
        return;
    }
    uint8_t *p = ms_buf_reserve(&c->in, RBUF_SIZE);
    *buf = uv_buf_init((char *)p, p ? RBUF_SIZE : 0);
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ms_listen_conn *c = s->data;
    ms_listener *l = c->l;
    if (c->closed)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            ms_log_info("%s: disconnected", c->peer);
        else
            ms_log_info("%s: read failed: %s; closing", c->peer,
                        uv_strerror((int)nread));
        ms_listen_conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    bool shared = (uint8_t *)buf->base == l->rbuf;
    const uint8_t *data;
    size_t len;
    if (shared) {
        data = l->rbuf;
        len = (size_t)nread;
    } else {
        ms_buf_commit(&c->in, (size_t)nread);
        data = ms_buf_head(&c->in);
        len = ms_buf_size(&c->in);
    }
    long used = l->cfg.on_data(c, data, len);
    if (used < 0 || c->closed)
        return;
    if (shared) {
        if ((size_t)used < len &&
            ms_buf_append(&c->in, data + used, len - (size_t)used) < 0) {
            ms_log_error("%s: out of memory; closing", c->peer);
            ms_listen_conn_close(c);
            return;
        }
    } else {
        ms_buf_consume(&c->in, (size_t)used);
        ms_buf_shrink(&c->in, 4u * RBUF_SIZE);
    }
    if (l->cfg.timeout > 0) { /* for the sweep */
        if (!ms_buf_size(&c->in))
            c->partial_ns = 0;
        else if (used > 0 || !c->partial_ns)
            c->partial_ns = ms_time_mono_ns(); /* a new partial frame */
    }
    /* A full buffer means more is waiting: let the others go first. */
    if ((size_t)nread == RBUF_SIZE && !c->paused) {
        uv_read_stop(s);
        c->paused = true;
        c->next_paused = l->paused;
        l->paused = c;
    }
}

static void on_check(uv_check_t *h)
{
    ms_listener *l = h->data;
    ms_listen_conn *c = l->paused;
    l->paused = NULL;
    while (c) {
        ms_listen_conn *next = c->next_paused;
        c->paused = false;
        c->next_paused = NULL;
        conn_read_start(c);
        c = next;
    }
}

static void conn_on_written(void *data, int status)
{
    ms_listen_conn *c = data;
    if (c->closed)
        return;
    if (status < 0) {
        ms_log_info("%s: write failed: %s; closing", c->peer,
                    uv_strerror(status));
        ms_listen_conn_close(c);
        return;
    }
    if (c->l->cfg.on_written)
        c->l->cfg.on_written(c);
    else
        ms_listen_conn_flush(c);
}

void ms_listen_conn_output(ms_listen_conn *c, ms_buf *out)
{
    ms_outq_init(&c->q, (uv_stream_t *)&c->tcp, out, conn_on_written, c);
}

int ms_listen_conn_write(ms_listen_conn *c)
{
    int rc = ms_outq_write(&c->q);
    if (rc < 0) {
        ms_log_info("%s: write failed: %s; closing", c->peer, uv_strerror(rc));
        ms_listen_conn_close(c);
    }
    return rc;
}

/* ---- back-pressure and the sweep ------------------------------------------ */

/* Output bytes the peer has not taken yet. */
static size_t conn_backlog(const ms_listen_conn *c)
{
    return ms_buf_size(c->q.out) + c->q.inflight;
}

static void conn_hold(ms_listen_conn *c, bool hold)
{
    c->held = hold;
    c->held_ns = hold ? ms_time_mono_ns() : 0;
    if (hold)
        uv_read_stop((uv_stream_t *)&c->tcp);
    else
        conn_read_start(c);
}

int ms_listen_conn_flush(ms_listen_conn *c)
{
    if (c->closed)
        return 0;
    if (!c->q.inflight && ms_buf_size(c->q.out)) {
        int rc = ms_listen_conn_write(c);
        if (rc < 0)
            return rc; /* logged and closed */
    }
    if (!c->q.inflight && !ms_buf_size(c->q.out))
        ms_buf_shrink(c->q.out, OUT_KEEP);
    /* A peer that doesn't read its answers: stop reading it (TCP pushes
     * back on it) until it has read half of them. */
    size_t cap = c->l->cfg.out_cap, backlog = conn_backlog(c);
    if (!cap)
        return 0;
    if (!c->held && backlog > cap) {
        conn_hold(c, true);
        ms_log_debug("%s: %zu bytes of answers unread; reading stops",
                     c->peer, backlog);
    } else if (c->held && backlog <= cap / 2) {
        conn_hold(c, false);
    }
    return 0;
}

static void on_sweep(uv_timer_t *t)
{
    ms_listener *l = t->data;
    uint64_t now = ms_time_mono_ns();
    uint64_t limit = (uint64_t)(l->cfg.timeout * 1e9);
    ms_listen_conn *next;
    for (ms_listen_conn *c = l->conns; c; c = next) {
        next = c->next;
        if (c->partial_ns && now - c->partial_ns > limit) {
            ms_log_warn("%s: stopped mid-frame (%zu bytes) for %gs; dropping "
                        "%s", c->peer, ms_buf_size(&c->in), l->cfg.timeout,
                        l->cfg.dropping);
            ms_listen_conn_close(c);
        } else if (c->held && now - c->held_ns > limit) {
            ms_log_warn("%s: has not read %zu bytes of answers for %gs; "
                        "dropping %s", c->peer, conn_backlog(c),
                        l->cfg.timeout, l->cfg.dropping);
            ms_listen_conn_close(c);
        }
    }
}

/* ---- the listener ---------------------------------------------------------- */

int ms_listen_socket(const char *ip, int want_port, uv_os_sock_t *fd,
                     int *port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    bool v6 = strchr(ip, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(ip, want_port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(ip, want_port, (struct sockaddr_in *)&ss);
    if (rc < 0 || want_port < 0 || want_port > 65535)
        return UV_EINVAL;
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return uv_translate_sys_error(errno);
    int on = 1, off = 0;
    /* As libuv's uv_tcp_bind: restart at once on a port with connections
     * in TIME_WAIT; "::" takes IPv4 peers too. */
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (v6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) ||
        bind(s, (struct sockaddr *)&ss,
             v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0 ||
        listen(s, MS_LISTEN_BACKLOG) < 0) {
        rc = uv_translate_sys_error(errno);
        close(s);
        return rc;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    *port = ntohs(got.ss_family == AF_INET6
                      ? ((struct sockaddr_in6 *)&got)->sin6_port
                      : ((struct sockaddr_in *)&got)->sin_port);
    *fd = s;
    return 0;
}

int ms_listener_start(uv_loop_t *loop, const ms_listener_config *cfg,
                      ms_listener **out)
{
    *out = NULL;
    ms_listener *l = calloc(1, sizeof *l);
    if (!l || !(l->rbuf = malloc(RBUF_SIZE))) {
        free(l);
        return UV_ENOMEM;
    }
    l->loop = loop;
    l->cfg = *cfg;
    if (l->cfg.conn_size < sizeof(ms_listen_conn))
        l->cfg.conn_size = sizeof(ms_listen_conn);
    if (!l->cfg.peers)
        l->cfg.peers = "peers";
    if (!l->cfg.dropping)
        l->cfg.dropping = "the connection";
    int rc = ms_listen_socket(cfg->ip, cfg->port, &l->fd, &l->port);
    if (rc == 0 && (rc = uv_poll_init_socket(loop, &l->poll, l->fd)) < 0)
        close(l->fd);
    if (rc < 0) {
        free(l->rbuf);
        free(l);
        return rc;
    }
    uv_check_init(loop, &l->check);
    uv_timer_init(loop, &l->retry);
    uv_timer_init(loop, &l->sweep);
    l->poll.data = l->check.data = l->retry.data = l->sweep.data = l;
    l->handles = 4;
    uv_poll_start(&l->poll, UV_READABLE, on_listen_io);
    uv_check_start(&l->check, on_check);
    if (l->cfg.timeout > 0)
        uv_timer_start(&l->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    *out = l;
    return 0;
}

void ms_listener_log_failure(const ms_listener_config *cfg, int rc)
{
    if (rc == UV_EINVAL)
        ms_log_error("bad listen address '%s'", cfg->ip);
    else
        ms_log_error("cannot listen on %s:%d: %s", cfg->ip, cfg->port,
                     uv_strerror(rc));
}

int ms_listener_port(const ms_listener *l)
{
    return l->port;
}

size_t ms_listener_count(const ms_listener *l)
{
    return l->nconns;
}

ms_listen_conn *ms_listener_first(const ms_listener *l)
{
    return l->conns;
}

bool ms_listener_accept_paused(const ms_listener *l)
{
    return l->starved;
}

void ms_listener_close(ms_listener *l, void (*on_closed)(void *arg),
                       void *arg)
{
    l->closing = true;
    l->on_closed = on_closed;
    l->closed_arg = arg;
    while (l->conns)
        ms_listen_conn_close(l->conns);
    uv_close((uv_handle_t *)&l->poll, on_poll_closed);
    uv_close((uv_handle_t *)&l->check, on_handle_closed);
    uv_close((uv_handle_t *)&l->retry, on_handle_closed);
    uv_close((uv_handle_t *)&l->sweep, on_handle_closed);
}
