/* The bus server's I/O on a libuv loop: two listeners (net/listener.h:
 * accept, reading into one shared buffer, fairness pauses, batched
 * writing), the allow list, feeding the core, and the timers for
 * __bus_stats__ and the snapshot. Owed (conflated) values are queued as
 * soon as a connection's queue is low, not only when it is empty. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_core.h"
#include "bus/bus_snapshot.h"
#include "bus/bus_text.h"
#include "core/file.h"
#include "net/listener.h"
#include "mscada/bus.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/tagdesc.h"

#define SNAPSHOT_MAX (4ull << 30)

typedef struct {
    ms_listen_conn base; /* first: the listener's part */
    ms_bus *bus;
    ms_bus_conn *conn;   /* the core's side; NULL until accepted */
} io_conn;

struct ms_bus {
    uv_loop_t *loop;
    ms_bus_config cfg;
    ms_bus_core core;
    ms_tagdescs descs;   /* cfg.tags loaded: the tags' types */
    ms_listener *listener, *text_listener;
    uv_timer_t stats_timer, snap_timer;
    int port, text_port;
    int handles; /* open handles and listeners: freed when the last closes */
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
    ms_tagdescs_free(&bus->descs);
    ms_buf_free(&bus->snap_buf);
    ms_bus_config_free(&bus->cfg);
    free(bus);
}

static void on_part_closed(void *arg)
{
    ms_bus *bus = arg;
    bus->handles--;
    bus_maybe_free(bus);
}

static void on_handle_closed(uv_handle_t *h)
{
    on_part_closed(h->data);
}

/* ---- connections --------------------------------------------------------- */

static void io_on_closing(ms_listen_conn *lc)
{
    io_conn *io = (io_conn *)lc;
    if (io->conn)
        io->conn->closing = true; /* nothing more is queued for it */
}

static void io_on_closed(ms_listen_conn *lc)
{
    io_conn *io = (io_conn *)lc;
    if (io->conn)
        ms_bus_core_conn_free(io->conn);
}

/* Writes the connection's queue; queues owed (conflated) values as soon as
 * the queue is low, not only when it is empty, so a steady stream of other
 * tags can't starve them. */
static void io_flush(io_conn *io)
{
    ms_bus_conn *conn = io->conn;
    while (!io->base.closed && !io->base.q.inflight) {
        ms_bus_core_drain(conn);
        if (ms_buf_size(&conn->out) == 0) {
            ms_buf_shrink(&conn->out, 1u << 20);
            if (conn->quit) {
                ms_log_info("%s: quit", conn->peer);
                /* everything it was owed is written */
                ms_listen_conn_close(&io->base);
            }
            return;
        }
        int rc = ms_listen_conn_write(&io->base);
        conn->inflight = io->base.q.inflight;
        if (rc < 0)
            return; /* logged and closed */
    }
}

static void io_on_written(ms_listen_conn *lc)
{
    io_conn *io = (io_conn *)lc;
    io->conn->inflight = 0;
    io_flush(io);
}

/* Writes out every connection that has new output; closes the ones the
 * core gave up on. */
static void bus_flush(ms_bus *bus)
{
    ms_bus_conn *conn;
    while ((conn = ms_bus_core_pop_pending(&bus->core))) {
        io_conn *io = conn->io;
        if (io->base.closed)
            continue;
        if (conn->closing) {
            ms_log_warn("%s: %s; dropping the connection", conn->peer,
                        conn->why);
            ms_listen_conn_close(&io->base);
            continue;
        }
        io_flush(io);
    }
}

static long io_on_data(ms_listen_conn *lc, const uint8_t *data, size_t len)
{
    io_conn *io = (io_conn *)lc;
    ms_bus_conn *conn = io->conn;
    size_t used = 0;
    int rc = conn->proto->input(conn, data, len, &used);
    /* On rc < 0 bus_flush logs conn->why and drops it. */
    bus_flush(io->bus);
    return rc < 0 ? -1 : (long)used;
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

static int io_accept(ms_listen_conn *lc, const struct sockaddr *sa,
                     ms_bus *bus, bool text)
{
    io_conn *io = (io_conn *)lc;
    io->bus = bus;
    if (!peer_allowed(bus, sa)) {
        ms_log_warn("%s: refused: not in the allow list", lc->peer);
        return -1;
    }
    io->conn = ms_bus_core_conn_new(&bus->core, lc->peer, io,
                                    text ? &ms_bus_proto_text
                                         : &ms_bus_proto_frames);
    if (!io->conn) {
        ms_log_error("%s: out of memory; refused", lc->peer);
        return -1;
    }
    ms_listen_conn_output(lc, &io->conn->out);
    if (text) {
        ms_bus_text_greet(io->conn);
        ms_log_info("%s: connected (text port)", lc->peer);
    } else {
        ms_log_info("%s: connected", lc->peer);
    }
    bus_flush(bus);
    return 0;
}

static int io_on_accept(ms_listen_conn *lc, const struct sockaddr *sa,
                        void *arg)
{
    return io_accept(lc, sa, arg, false);
}

static int io_on_accept_text(ms_listen_conn *lc, const struct sockaddr *sa,
                             void *arg)
{
    return io_accept(lc, sa, arg, true);
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
        ms_log_info("snapshot %s written (%zu tags with a value)",
                    bus->cfg.snapshot, ms_bus_snapshot_count(&bus->core.tags));
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

/* ---- tag types ------------------------------------------------------------ */

/* tags.yaml's types for every tag, restored or to come: a SET that doesn't
 * fit gets ERR. */
static int load_types(ms_bus *bus)
{
    ms_conf_error err;
    int rc = ms_tagdesc_load(bus->cfg.tags, false, &bus->descs, &err);
    if (rc < 0) {
        ms_log_error("%s", err.text);
        return rc == MS_ENOMEM ? UV_ENOMEM : MS_ECONFIG;
    }
    if (ms_bus_tags_set_types(&bus->core.tags, &bus->descs) < 0)
        return UV_ENOMEM;
    ms_log_info("%s: the types of %zu tags; a SET of a value that does not "
                "fit gets ERR", bus->cfg.tags, bus->descs.n);
    return 0;
}

/* ---- start and stop ------------------------------------------------------- */

static int copy_config(ms_bus_config *dst, const ms_bus_config *src)
{
    *dst = *src;
    dst->snapshot = NULL;
    dst->allow = NULL;
    dst->tags = NULL;
    if (src->snapshot && !(dst->snapshot = strdup(src->snapshot)))
        return UV_ENOMEM;
    if (src->tags && !(dst->tags = strdup(src->tags)))
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

int ms_bus_start(uv_loop_t *loop, const ms_bus_config *cfg, ms_bus **out)
{
    ms_bus *bus = calloc(1, sizeof *bus);
    if (!bus)
        return UV_ENOMEM;
    bus->loop = loop;
    int rc = copy_config(&bus->cfg, cfg);
    ms_bus_limits lim = {cfg->max_payload, cfg->queue_high_water,
                         cfg->queue_hard_cap};
    if (rc < 0 || ms_bus_core_init(&bus->core, &lim) < 0) {
        ms_bus_config_free(&bus->cfg);
        free(bus);
        return UV_ENOMEM;
    }
    if (bus->cfg.snapshot && snap_restore(bus) < 0)
        rc = UV_ENOMEM;
    if (rc == 0 && bus->cfg.tags)
        rc = load_types(bus);
    if (rc == 0 && ms_bus_core_start(&bus->core) < 0)
        rc = UV_ENOMEM;
    ms_listener_config lc = {
        .ip = bus->cfg.ip,
        .port = bus->cfg.port,
        .peers = "clients",
        .conn_size = sizeof(io_conn),
        .on_accept = io_on_accept,
        .on_data = io_on_data,
        .on_written = io_on_written,
        .on_closing = io_on_closing,
        .on_closed = io_on_closed,
        .arg = bus,
    };
    bool ready = rc == 0; /* from here on, failures are listening's */
    if (ready)
        rc = ms_listener_start(loop, &lc, &bus->listener);
    if (!ready || rc == UV_EINVAL) {
        /* Out of memory, a bad tags.yaml (logged), or ip is no address:
         * the caller says so. */
        bus_maybe_free(bus);
        return rc;
    }
    int failed_port = bus->cfg.port;
    if (rc == 0 && bus->cfg.text_port >= 0) {
        failed_port = lc.port = bus->cfg.text_port;
        lc.on_accept = io_on_accept_text;
        rc = ms_listener_start(loop, &lc, &bus->text_listener);
    }
    uv_timer_init(loop, &bus->stats_timer);
    uv_timer_init(loop, &bus->snap_timer);
    bus->stats_timer.data = bus->snap_timer.data = bus;
    bus->handles = 2 + (bus->listener != NULL) + (bus->text_listener != NULL);
    bus->port = bus->listener ? ms_listener_port(bus->listener) : 0;
    bus->text_port =
        bus->text_listener ? ms_listener_port(bus->text_listener) : -1;
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
    /* Each listener closes its connections, then counts as closed. */
    if (bus->listener)
        ms_listener_close(bus->listener, on_part_closed, bus);
    if (bus->text_listener)
        ms_listener_close(bus->text_listener, on_part_closed, bus);
    uv_close((uv_handle_t *)&bus->stats_timer, on_handle_closed);
    uv_close((uv_handle_t *)&bus->snap_timer, on_handle_closed);
}
