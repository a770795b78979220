/* Fuzz target for the bus server's message handling (src/bus/bus_core.c)
 * with three client connections, driven the way the I/O layer drives it.
 *
 * Input: a sequence of segments, each
 *   u8 control, u16 length (big-endian), length bytes (clipped to the input)
 * control bits 0-1: connection (0, 1, 2; 3 = 0)
 *               bit 2: afterwards, write out (consume) its queue, then drain
 *               bit 3: first, free the connection and open a new one
 *               bit 4: write out and drain every connection afterwards
 * The segment's bytes are the connection's next read: appended to what it
 * left unused last time, then given to ms_bus_core_input.
 *
 * Invariants (abort() on failure): a connection's queue never passes the
 * hard cap; every queued byte belongs to a whole, well-formed server
 * message; a connection the core gave up on says why. After each step the
 * pending connections are popped and the closing ones freed, as the I/O
 * layer does; everything is freed at the end (for the leak checker). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_core.h"
#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/log.h"
#include "mscada/value.h"

#define NCONN 3

typedef struct {
    ms_bus_conn *conn;
    ms_buf in;      /* bytes read but not yet used by the core */
    size_t checked; /* queue bytes (from the head) already validated */
} slot;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_bus: invariant broken: %s\n", what);
        abort();
    }
}

/* Validates the queue bytes not yet checked: whole messages of server
 * commands, chunk runs kept together. */
static void check_queue(slot *s, const ms_bus_limits *lim)
{
    ms_bus_conn *c = s->conn;
    size_t len = ms_buf_size(&c->out);
    check(s->checked <= len, "queue shrank without a write");
    check(ms_bus_conn_queued(c) <= lim->hard_cap, "queue over the hard cap");
    if (len == 0)
        return;
    const uint8_t *p = ms_buf_head(&c->out);
    size_t off = s->checked;
    bool in_run = false;
    uint8_t run_cmd = 0;
    uint16_t run_tag = 0;
    while (off < len) {
        ms_frame_head h;
        int rc = ms_frame_head_decode(p + off, len - off, &h);
        check(rc == MS_FRAME_HEAD, "queue holds a bad or partial header");
        check(len - off - MS_FRAME_HEAD >= h.size,
              "queue holds a partial payload");
        check(h.cmd == MS_CMD_ID || h.cmd == MS_CMD_SET ||
                  h.cmd == MS_CMD_RTA || h.cmd == MS_CMD_LIST ||
                  h.cmd == MS_CMD_ERR,
              "queue holds a command the server never sends");
        if (in_run)
            check(h.cmd == run_cmd && h.tag_id == run_tag,
                  "chunks of two messages interleaved");
        if (h.cmd == MS_CMD_LIST)
            check(h.tag_id == 0, "LIST reply with a tag id");
        off += MS_FRAME_HEAD + h.size;
        in_run = h.size == MS_FRAME_MAX_LEN;
        run_cmd = h.cmd;
        run_tag = h.tag_id;
    }
    check(!in_run, "queue ends inside a chunked message");
    s->checked = off;
}

static void open_slot(ms_bus_core *core, slot *s, int i)
{
    char peer[32]; /* room for any int: gcc -Wformat-truncation */
    snprintf(peer, sizeof peer, "fuzz:%d", i);
    s->conn = ms_bus_core_conn_new(core, peer, NULL, &ms_bus_proto_frames);
    check(s->conn != NULL, "conn_new failed");
    s->in.off = s->in.len = 0;
    s->checked = 0;
}

static void close_slot(slot *s)
{
    if (s->conn)
        ms_bus_core_conn_free(s->conn);
    s->conn = NULL;
    s->in.off = s->in.len = 0;
    s->checked = 0;
}

static void write_out(slot *s)
{
    if (!s->conn)
        return;
    ms_buf_consume(&s->conn->out, ms_buf_size(&s->conn->out));
    s->checked = 0;
    (void)ms_bus_core_drain(s->conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        ms_log_setup("fuzz_bus", MS_LOG_ERROR);
        quiet = true;
    }
    const ms_bus_limits lim = {256 * 1024, 4096, 512 * 1024};
    ms_bus_core core;
    if (ms_bus_core_init(&core, &lim) < 0)
        abort();
    check(ms_bus_core_start(&core) == 0, "start failed");
    slot slots[NCONN];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < NCONN; i++)
        open_slot(&core, &slots[i], i);

    size_t off = 0;
    while (off < size) {
        uint8_t ctl = data[off++];
        size_t n = 0;
        if (size - off >= 2) {
            n = ((size_t)data[off] << 8) | data[off + 1];
            off += 2;
        } else {
            off = size;
        }
        if (n > size - off)
            n = size - off;
        const uint8_t *seg = data + off;
        off += n;

        int i = (ctl & 3) % NCONN;
        slot *s = &slots[i];
        if (ctl & 8)
            close_slot(s);
        if (!s->conn)
            open_slot(&core, s, i);
        if (n) {
            check(ms_buf_append(&s->in, seg, n) == 0, "out of memory");
            size_t used = (size_t)-1;
            int rc = ms_bus_core_input(s->conn, ms_buf_head(&s->in),
                                       ms_buf_size(&s->in), &used);
            check(used <= ms_buf_size(&s->in), "used more than given");
            ms_buf_consume(&s->in, used);
            if (rc < 0) {
                check(rc == MS_EPROTO || rc == MS_ETOOBIG || rc == MS_ENOMEM,
                      "unexpected error code");
                check(s->conn->closing && s->conn->why[0],
                      "error without closing and a reason");
            }
            /* A healthy connection keeps at most one partial message:
             * a header and less than its payload, or chunks in the
             * reader. */
            if (!s->conn->closing && ms_buf_size(&s->in) >= MS_FRAME_HEAD)
                check(ms_buf_size(&s->in) <
                          (size_t)MS_FRAME_HEAD +
                              ms_get_u16(ms_buf_head(&s->in) + 4),
                      "a whole message was left unused");
            check(s->conn->reader.held <= lim.max_payload,
                  "reader holds more than max_payload");
        }
        for (int k = 0; k < NCONN; k++)
            if (slots[k].conn)
                check_queue(&slots[k], &lim);
        if (ctl & 4)
            write_out(s);
        if (ctl & 16)
            for (int k = 0; k < NCONN; k++)
                write_out(&slots[k]);
        /* The I/O layer's flush pass: drop the ones the core gave up on. */
        ms_bus_conn *p;
        while ((p = ms_bus_core_pop_pending(&core))) {
            check(!p->pending, "popped connection still pending");
            if (!p->closing)
                continue;
            check(p->why[0] != '\0', "closing without a reason");
            for (int k = 0; k < NCONN; k++)
                if (slots[k].conn == p)
                    close_slot(&slots[k]);
        }
        for (int k = 0; k < NCONN; k++) {
            if (!slots[k].conn)
                continue;
            check(!slots[k].conn->closing || slots[k].conn->pending,
                  "closing connection not on the pending list");
            check_queue(&slots[k], &lim);
            /* The owed list stays in proportion to the tags there are
             * (room for stale entries up to a doubling), whatever the
             * number of messages. */
            check(slots[k].conn->nclist <= 2 * core.tags.count + 64,
                  "owed list grows with the number of messages");
        }
    }

    /* Tag table sanity. */
    check(core.tags.count == core.tags.next_id - 1, "ids not dense");
    for (int k = 0; k < NCONN; k++) {
        if (slots[k].conn)
            check_queue(&slots[k], &lim);
        ms_buf_free(&slots[k].in);
    }
    ms_bus_core_free(&core);
    return 0;
}
