/* The bus server's I/O on a libuv loop: listen, accept (with the allow
 * list), read into the core, write each connection's queue in large batches,
 * and the timers for __bus_stats__ and the snapshot.
 *
 * Reads go into one shared buffer; only a partial frame is copied into the
 * connection's own buffer. A connection whose read filled the whole buffer
 * is paused until the next loop iteration so that a busy publisher cannot
 * starve the others. Output is written with uv_try_write; what the kernel
 * won't take goes to one uv_write per connection at a time, while new output
 * keeps collecting behind it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_core.h"
#include "bus/bus_snapshot.h"
#include "bus/bus_text.h"
#include "core/file.h"
#include "net/outq.h"
#include "mscada/bus.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

#define RBUF_SIZE (64 * 1024)
#define SNAPSHOT_MAX (4ull << 30)

typedef struct io_conn io_conn;
struct io_conn {
    uv_tcp_t tcp;
    ms_bus *bus;
    ms_bus_conn *conn;
    ms_buf in;   /* a partial frame kept between reads */
    ms_outq q;   /* writes conn->out */
    bool paused, closed;
    io_conn *next_paused;
};

struct ms_bus {
    uv_loop_t *loop;
    ms_bus_config cfg;
    ms_bus_core core;
    uv_tcp_t listener, text_listener;
    uv_timer_t stats_timer, snap_timer;
    uv_check_t check;
    io_conn *paused;
    uint8_t *rbuf;
    int port, text_port;
    int handles; /* open handles; the bus is freed when the last closes */
    bool stopping;
    /* snapshot writing in the thread pool */
    uv_work_t snap_work;
    ms_buf snap_buf;
    bool snap_busy, snap_final, snap_failing;
    int snap_rc, snap_errno;
    /* stats */
    ms_bus_counters prev;
    uint64_t prev_ns;
};

static void bus_maybe_free(ms_bus *bus)
{
    if (bus->handles > 0 || bus->snap_busy)
        return;
    ms_bus_core_free(&bus->core);
    ms_buf_free(&bus->snap_buf);
    ms_bus_config_free(&bus->cfg);
    free(bus->rbuf);
    free(bus);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_bus *bus = h->data;
    bus->handles--;
    bus_maybe_free(bus);
}

/* ---- connections --------------------------------------------------------- */

static void io_on_closed(uv_handle_t *h)
{
    io_conn *io = (io_conn *)h;
    ms_bus *bus = io->bus;
    if (io->conn)
        ms_bus_core_conn_free(io->conn);
    ms_buf_free(&io->in);
    ms_outq_free(&io->q);
    free(io);
    bus->handles--;
    bus_maybe_free(bus);
}

static void io_close(io_conn *io)
{
    if (io->closed)
        return;
    io->closed = true;
    if (io->conn)
        io->conn->closing = true; /* nothing more is queued for it */
    if (io->paused) {
        for (io_conn **p = &io->bus->paused; *p; p = &(*p)->next_paused) {
            if (*p == io) {
                *p = io->next_paused;
                break;
            }
        }
        io->paused = false;
    }
    uv_close((uv_handle_t *)&io->tcp, io_on_closed);
}

static void io_flush(io_conn *io);

static void io_on_written(void *data, int status)
{
    io_conn *io = data;
    if (io->closed)
        return;
    io->conn->inflight = 0;
    if (status < 0) {
        ms_log_info("%s: write failed: %s; closing", io->conn->peer,
                    uv_strerror(status));
        io_close(io);
        return;
    }
    io_flush(io);
}

/* Writes the connection's queue; queues owed (conflated) values as soon as
 * the queue is low, not only when it is empty, so a steady stream of other
 * tags can't starve them. */
static void io_flush(io_conn *io)
{
    ms_bus_conn *conn = io->conn;
    while (!io->closed && !io->q.inflight) {
        ms_bus_core_drain(conn);
        if (ms_buf_size(&conn->out) == 0) {
            ms_buf_shrink(&conn->out, 1u << 20);
            if (conn->quit) {
                ms_log_info("%s: quit", conn->peer);
                io_close(io); /* everything it was owed is written */
            }
            return;
        }
        int rc = ms_outq_write(&io->q);
        conn->inflight = io->q.inflight;
        if (rc < 0) {
            ms_log_info("%s: write failed: %s; closing", conn->peer,
                        uv_strerror(rc));
            io_close(io);
            return;
        }
    }
}

/* Writes out every connection that has new output; closes the ones the
 * core gave up on. */
static void bus_flush(ms_bus *bus)
{
    ms_bus_conn *conn;
    while ((conn = ms_bus_core_pop_pending(&bus->core))) {
        io_conn *io = conn->io;
        if (io->closed)
            continue;
        if (conn->closing) {
            ms_log_warn("%s: %s; dropping the connection", conn->peer,
                        conn->why);
            io_close(io);
            continue;
        }
        io_flush(io);
    }
}

static void io_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    io_conn *io = (io_conn *)h;
    (void)suggested;
    if (ms_buf_size(&io->in) == 0) {
        *buf = uv_buf_init((char *)io->bus->rbuf, RBUF_SIZE);
        return;
    }
    uint8_t *p = ms_buf_reserve(&io->in, RBUF_SIZE);
    *buf = uv_buf_init((char *)p, p ? RBUF_SIZE : 0);
}

static void io_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    io_conn *io = (io_conn *)s;
    ms_bus *bus = io->bus;
    ms_bus_conn *conn = io->conn;
    if (nread < 0) {
        if (nread == UV_EOF)
            ms_log_info("%s: disconnected", conn->peer);
        else
            ms_log_info("%s: read failed: %s; closing", conn->peer,
                        uv_strerror((int)nread));
        io_close(io);
        bus_flush(bus);
        return;
    }
    if (nread == 0 || io->closed)
        return;
    const uint8_t *data;
    size_t len;
    bool shared = (uint8_t *)buf->base == bus->rbuf;
    if (shared) {
        data = bus->rbuf;
        len = (size_t)nread;
    } else {
        ms_buf_commit(&io->in, (size_t)nread);
        data = ms_buf_head(&io->in);
        len = ms_buf_size(&io->in);
    }
    size_t used = 0;
    int rc = conn->text ? ms_bus_text_input(conn, data, len, &used)
                        : ms_bus_core_input(conn, data, len, &used);
    if (rc < 0) {
        /* bus_flush logs conn->why and drops it. */
        bus_flush(bus);
        return;
    }
    if (shared) {
        if (used < len && ms_buf_append(&io->in, data + used, len - used) < 0) {
            ms_log_error("%s: out of memory; closing", conn->peer);
            io_close(io);
        }
    } else {
        ms_buf_consume(&io->in, used);
        ms_buf_shrink(&io->in, 4u * RBUF_SIZE);
    }
    /* A full buffer means more is waiting: let the others go first. */
    if ((size_t)nread == RBUF_SIZE && !io->closed && !io->paused) {
        uv_read_stop(s);
        io->paused = true;
        io->next_paused = bus->paused;
        bus->paused = io;
    }
    bus_flush(bus);
}

static void bus_on_check(uv_check_t *h)
{
    ms_bus *bus = h->data;
    io_conn *io = bus->paused;
    bus->paused = NULL;
    while (io) {
        io_conn *next = io->next_paused;
        io->paused = false;
        io->next_paused = NULL;
        if (!io->closed)
            uv_read_start((uv_stream_t *)&io->tcp, io_on_alloc, io_on_read);
        io = next;
    }
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[64] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%d", ip, port);
    } else {
        snprintf(out, cap, "unknown peer");
    }
}

static bool peer_allowed(const ms_bus *bus, const struct sockaddr *sa)
{
    if (!bus->cfg.allow)
        return true;
    for (size_t i = 0; i < bus->cfg.nallow; i++)
        if (ms_bus_allow_match(&bus->cfg.allow[i], sa))
            return true;
    return false;
}

static void bus_on_connection(uv_stream_t *server, int status)
{
    ms_bus *bus = server->data;
    if (status < 0) {
        ms_log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    io_conn *io = calloc(1, sizeof *io);
    if (!io) {
        ms_log_error("out of memory accepting a connection");
        return;
    }
    io->bus = bus;
    uv_tcp_init(bus->loop, &io->tcp);
    io->tcp.data = bus;
    bus->handles++;
    int rc = uv_accept(server, (uv_stream_t *)&io->tcp);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char peer[64];
    memset(&ss, 0, sizeof ss);
    if (rc == 0)
        rc = uv_tcp_getpeername(&io->tcp, (struct sockaddr *)&ss, &sl);
    if (rc < 0) {
        ms_log_warn("accept failed: %s", uv_strerror(rc));
        io->closed = true;
        uv_close((uv_handle_t *)&io->tcp, io_on_closed);
        return;
    }
    peer_name(&ss, peer, sizeof peer);
    if (!peer_allowed(bus, (struct sockaddr *)&ss)) {
        ms_log_warn("%s: refused: not in the allow list", peer);
        io->closed = true;
        uv_close((uv_handle_t *)&io->tcp, io_on_closed);
        return;
    }
    io->conn = ms_bus_core_conn_new(&bus->core, peer, io);
    if (!io->conn) {
        ms_log_error("%s: out of memory; refused", peer);
        io->closed = true;
        uv_close((uv_handle_t *)&io->tcp, io_on_closed);
        return;
    }
    ms_outq_init(&io->q, (uv_stream_t *)&io->tcp, &io->conn->out,
                 io_on_written, io);
    uv_tcp_nodelay(&io->tcp, 1);
    if (server == (uv_stream_t *)&bus->text_listener) {
        io->conn->text = true;
        ms_bus_text_greet(io->conn);
        ms_log_info("%s: connected (text port)", peer);
    } else {
        ms_log_info("%s: connected", peer);
    }
    uv_read_start((uv_stream_t *)&io->tcp, io_on_alloc, io_on_read);
    bus_flush(bus);
}

/* ---- stats ---------------------------------------------------------------- */

static void bus_on_stats(uv_timer_t *t)
{
    ms_bus *bus = t->data;
    ms_bus_core *c = &bus->core;
    uint64_t now = ms_time_mono_ns();
    double dt = (double)(now - bus->prev_ns) / 1e9;
    if (dt <= 0)
        dt = 1e-9;
    size_t queued = 0;
    for (ms_bus_conn *conn = c->conns; conn; conn = conn->next)
        queued += ms_bus_conn_queued(conn);
    char json[512];
    int n = snprintf(
        json, sizeof json,
        "\x05{\"connections\": %" PRIu64 ", \"tags\": %zu, "
        "\"msgs_in_per_s\": %.0f, \"msgs_out_per_s\": %.0f, "
        "\"bytes_in_per_s\": %.0f, \"bytes_out_per_s\": %.0f, "
        "\"bytes_queued\": %zu, \"conflated\": %" PRIu64
        ", \"dropped\": %" PRIu64 "}",
        c->n.connections, c->tags.count,
        (double)(c->n.msgs_in - bus->prev.msgs_in) / dt,
        (double)(c->n.msgs_out - bus->prev.msgs_out) / dt,
        (double)(c->n.bytes_in - bus->prev.bytes_in) / dt,
        (double)(c->n.bytes_out - bus->prev.bytes_out) / dt, queued,
        c->n.conflated, c->n.dropped);
    bus->prev = c->n;
    bus->prev_ns = now;
    if (ms_bus_core_set_own(c, MS_BUS_STATS_NAME, (const uint8_t *)json,
                            (size_t)n, ms_time_now_us()) < 0)
        ms_log_warn("could not set %s", MS_BUS_STATS_NAME);
    bus_flush(bus);
}

/* ---- snapshot ------------------------------------------------------------- */

static void snap_log_result(ms_bus *bus, int rc, int err)
{
    if (rc < 0) {
        if (!bus->snap_failing)
            ms_log_error("cannot write snapshot %s: %s; retrying every %gs "
                         "(check the folder exists and is writable)",
                         bus->cfg.snapshot, strerror(err),
                         bus->cfg.snapshot_interval);
        bus->snap_failing = true;
        bus->core.changed = true;
    } else if (bus->snap_failing) {
        ms_log_info("snapshot %s written again", bus->cfg.snapshot);
        bus->snap_failing = false;
    }
}

/* Writes the snapshot now, on this thread (at stop). */
static void snap_write_now(ms_bus *bus)
{
    ms_buf b = {0};
    if (ms_bus_snapshot_encode(&bus->core.tags, &b) < 0) {
        ms_log_error("out of memory encoding the snapshot");
        ms_buf_free(&b);
        return;
    }
    int rc = ms_file_write_atomic(bus->cfg.snapshot, ms_buf_head(&b),
                                  ms_buf_size(&b));
    snap_log_result(bus, rc, errno);
    if (rc == 0)
        ms_log_info("snapshot %s written (%zu tags)", bus->cfg.snapshot,
                    bus->core.tags.count);
    ms_buf_free(&b);
}

static void snap_work(uv_work_t *w)
{
    ms_bus *bus = w->data;
    bus->snap_rc = ms_file_write_atomic(bus->cfg.snapshot,
                                        ms_buf_head(&bus->snap_buf),
                                        ms_buf_size(&bus->snap_buf));
    bus->snap_errno = errno;
}

static void snap_done(uv_work_t *w, int status)
{
    ms_bus *bus = w->data;
    (void)status;
    bus->snap_busy = false;
    bus->snap_buf.off = bus->snap_buf.len = 0;
    snap_log_result(bus, bus->snap_rc, bus->snap_errno);
    if (bus->snap_final) {
        bus->snap_final = false;
        snap_write_now(bus);
    }
    bus_maybe_free(bus);
}

static void bus_on_snapshot(uv_timer_t *t)
{
    ms_bus *bus = t->data;
    if (!bus->core.changed || bus->snap_busy || bus->stopping)
        return;
    bus->snap_buf.off = bus->snap_buf.len = 0;
    if (ms_bus_snapshot_encode(&bus->core.tags, &bus->snap_buf) < 0) {
        ms_log_error("out of memory encoding the snapshot");
        return;
    }
    bus->core.changed = false;
    bus->snap_work.data = bus;
    if (uv_queue_work(bus->loop, &bus->snap_work, snap_work, snap_done) == 0)
        bus->snap_busy = true;
    else
        bus->core.changed = true;
}

static int snap_restore(ms_bus *bus)
{
    uint8_t *data;
    size_t len;
    const char *path = bus->cfg.snapshot;
    int rc = ms_file_read_all(path, SNAPSHOT_MAX, &data, &len);
    if (rc == MS_ENOENT) {
        ms_log_info("snapshot %s not there yet: starting empty", path);
        return 0;
    }
    if (rc < 0) {
        ms_log_error("cannot read snapshot %s: %s; starting empty", path,
                     rc == MS_EIO ? strerror(errno) : ms_strerror(rc));
        return 0;
    }
    char why[128];
    rc = ms_bus_snapshot_decode(data, len, &bus->core.tags, why, sizeof why);
    free(data);
    if (rc == 0) {
        ms_log_info("snapshot %s restored: %zu tags", path,
                    bus->core.tags.count);
        return 0;
    }
    /* Keep the damaged file for a post-mortem, start empty. */
    size_t pl = strlen(path);
    char *bad = malloc(pl + 5);
    if (bad) {
        memcpy(bad, path, pl);
        memcpy(bad + pl, ".bad", 5);
        rename(path, bad);
    }
    ms_log_error("snapshot %s is damaged (%s): starting empty; the file was "
                 "moved to %s", path, why, bad ? bad : "(not moved)");
    free(bad);
    ms_bus_tags_free(&bus->core.tags);
    return ms_bus_tags_init(&bus->core.tags);
}

/* ---- start and stop ------------------------------------------------------- */

static int copy_config(ms_bus_config *dst, const ms_bus_config *src)
{
    *dst = *src;
    dst->snapshot = NULL;
    dst->allow = NULL;
    if (src->snapshot && !(dst->snapshot = strdup(src->snapshot)))
        return UV_ENOMEM;
    if (src->allow) {
        dst->allow = malloc((src->nallow ? src->nallow : 1) *
                            sizeof *dst->allow);
        if (!dst->allow)
            return UV_ENOMEM;
        memcpy(dst->allow, src->allow, src->nallow * sizeof *dst->allow);
    }
    return 0;
}

/* Binds tcp to the address in ss with port (0: any) and listens; *bound
 * gets the port bound. */
static int listen_on(uv_tcp_t *tcp, struct sockaddr_storage *ss, int port,
                     int *bound)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    int rc = uv_tcp_bind(tcp, (struct sockaddr *)ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)tcp, 1024, bus_on_connection);
    if (rc < 0)
        return rc;
    struct sockaddr_storage got;
    int sl = sizeof got;
    uv_tcp_getsockname(tcp, (struct sockaddr *)&got, &sl);
    *bound = ntohs(got.ss_family == AF_INET6
                       ? ((struct sockaddr_in6 *)&got)->sin6_port
                       : ((struct sockaddr_in *)&got)->sin_port);
    return 0;
}

int ms_bus_start(uv_loop_t *loop, const ms_bus_config *cfg, ms_bus **out)
{
    ms_bus *bus = calloc(1, sizeof *bus);
    if (!bus)
        return UV_ENOMEM;
    bus->loop = loop;
    int rc = copy_config(&bus->cfg, cfg);
    ms_bus_limits lim = {cfg->max_payload, cfg->queue_high_water,
                         cfg->queue_hard_cap};
    bus->rbuf = malloc(RBUF_SIZE);
    if (rc < 0 || !bus->rbuf || ms_bus_core_init(&bus->core, &lim) < 0) {
        ms_bus_config_free(&bus->cfg);
        free(bus->rbuf);
        free(bus);
        return UV_ENOMEM;
    }
    if (bus->cfg.snapshot && snap_restore(bus) < 0)
        rc = UV_ENOMEM;
    if (rc == 0 && ms_bus_core_start(&bus->core) < 0)
        rc = UV_ENOMEM;
    struct sockaddr_storage ss;
    if (rc == 0) {
        if (strchr(bus->cfg.ip, ':'))
            rc = uv_ip6_addr(bus->cfg.ip, bus->cfg.port,
                             (struct sockaddr_in6 *)&ss);
        else
            rc = uv_ip4_addr(bus->cfg.ip, bus->cfg.port,
                             (struct sockaddr_in *)&ss);
    }
    if (rc < 0) {
        ms_bus_core_free(&bus->core);
        ms_bus_config_free(&bus->cfg);
        free(bus->rbuf);
        free(bus);
        return rc;
    }
    uv_tcp_init(loop, &bus->listener);
    uv_tcp_init(loop, &bus->text_listener);
    uv_timer_init(loop, &bus->stats_timer);
    uv_timer_init(loop, &bus->snap_timer);
    uv_check_init(loop, &bus->check);
    bus->listener.data = bus->text_listener.data = bus->stats_timer.data =
        bus->snap_timer.data = bus->check.data = bus;
    bus->handles = 5;
    bus->text_port = -1;
    int failed_port = bus->cfg.port;
    rc = listen_on(&bus->listener, &ss, bus->cfg.port, &bus->port);
    if (rc == 0 && bus->cfg.text_port >= 0) {
        failed_port = bus->cfg.text_port;
        rc = listen_on(&bus->text_listener, &ss, bus->cfg.text_port,
                       &bus->text_port);
    }
    if (rc < 0) {
        ms_log_error("cannot listen on %s port %d: %s%s", bus->cfg.ip,
                     failed_port, uv_strerror(rc),
                     rc == UV_EADDRINUSE
                         ? " (another bus running? pick another port)" : "");
        bus->port = 0; /* no snapshot from a bus that never ran */
        ms_bus_stop(bus);
        return rc;
    }
    uint64_t stats_ms = (uint64_t)(bus->cfg.stats_interval * 1000);
    uv_timer_start(&bus->stats_timer, bus_on_stats, stats_ms, stats_ms);
    if (bus->cfg.snapshot) {
        uint64_t snap_ms = (uint64_t)(bus->cfg.snapshot_interval * 1000);
        uv_timer_start(&bus->snap_timer, bus_on_snapshot, snap_ms, snap_ms);
    }
    uv_check_start(&bus->check, bus_on_check);
    bus->prev_ns = ms_time_mono_ns();
    bool v6 = strchr(bus->cfg.ip, ':') != NULL;
    ms_log_info("listening on %s%s%s:%d", v6 ? "[" : "", bus->cfg.ip,
                v6 ? "]" : "", bus->port);
    if (bus->text_port >= 0)
        ms_log_info("text port listening on %s%s%s:%d", v6 ? "[" : "",
                    bus->cfg.ip, v6 ? "]" : "", bus->text_port);
    *out = bus;
    return 0;
}

int ms_bus_port(const ms_bus *bus)
{
    return bus->port;
}

int ms_bus_text_port(const ms_bus *bus)
{
    return bus->text_port;
}

void ms_bus_stop(ms_bus *bus)
{
    if (bus->stopping)
        return;
    bus->stopping = true;
    if (bus->cfg.snapshot && bus->port) {
        if (bus->snap_busy)
            bus->snap_final = true; /* written when the running one ends */
        else
            snap_write_now(bus);
    }
    for (ms_bus_conn *conn = bus->core.conns; conn; conn = conn->next) {
        io_conn *io = conn->io;
        if (io && !io->closed)
            io_close(io);
    }
    uv_close((uv_handle_t *)&bus->listener, on_handle_closed);
    uv_close((uv_handle_t *)&bus->text_listener, on_handle_closed);
    uv_close((uv_handle_t *)&bus->stats_timer, on_handle_closed);
    uv_close((uv_handle_t *)&bus->snap_timer, on_handle_closed);
    uv_close((uv_handle_t *)&bus->check, on_handle_closed);
}
