/* Fuzz target for the bus's text port (src/bus/bus_text.c) on a core, driven
 * the way the I/O layer drives it: two text connections take arbitrary
 * bytes as lines; a binary and a text subscriber are subscribed to every
 * tag there is (so each text SET fans out to a binary and a text queue).
 *
 * Input: a sequence of segments, each
 *   u8 control, u16 length (big-endian), length bytes (clipped to the input)
 * control bit 0: which text connection reads the bytes (0 or 1)
 *         bit 2: afterwards, write out (consume) its queue, then drain
 *         bit 3: first, free that connection and open a new one (greeted)
 *         bit 4: write out and drain every connection afterwards
 * The segment's bytes are the connection's next read: appended to what it
 * left unused last time, then given to ms_bus_text_input.
 *
 * Invariants (abort() on failure): no queue passes the hard cap; a text
 * connection's queue is whole lines, each ending in \n, each of a known
 * form (value lines "NAME VALUE TIME" with VALUE JSON and TIME ISO 8601
 * UTC with microseconds); the binary queue is whole, well-formed server
 * messages; a healthy text connection keeps no whole line unused and at
 * most MS_BUS_TEXT_LINE_MAX bytes; a connection the core gave up on says
 * why and is on the pending list. Closing and quit connections are freed
 * after each step, as the I/O layer does; everything is freed at the end. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_core.h"
#include "bus/bus_text.h"
#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/log.h"
#include "mscada/value.h"

#define NSLOT 4 /* 0, 1: text input; 2: binary subscriber; 3: text sub */
#define BIN 2
#define TSUB 3

typedef struct {
    ms_bus_conn *conn;
    ms_buf in;      /* bytes read but not yet used */
    size_t checked; /* queue bytes (from the head) already validated */
    bool text;
} slot;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_bus_text: invariant broken: %s\n", what);
        abort();
    }
}

static bool starts(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && !memcmp(p, s, k);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* "2026-11-21T13:06:07.881143Z" */
static bool iso_time(const uint8_t *p, size_t n)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (n != sizeof pat - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (pat[i] == 'd' ? !is_digit(p[i]) : p[i] != (uint8_t)pat[i])
            return false;
    return true;
}

static bool json_value(const uint8_t *p, size_t n)
{
    if ((n == 3 && !memcmp(p, "NaN", 3)) ||
        (n == 8 && !memcmp(p, "Infinity", 8)) ||
        (n == 9 && !memcmp(p, "-Infinity", 9)))
        return true;
    json_t *j = json_loadb((const char *)p, n,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_decref(j);
    return j != NULL;
}

/* "NAME VALUE TIME" */
static bool value_line(const uint8_t *p, size_t n)
{
    const uint8_t *sp1 = memchr(p, ' ', n);
    if (!sp1 || !ms_tag_name_valid(p, (size_t)(sp1 - p)))
        return false;
    const uint8_t *sp2 = p + n;
    while (sp2 > sp1 && sp2[-1] != ' ')
        sp2--;
    return sp2 > sp1 + 1 && iso_time(sp2, n - (size_t)(sp2 - p)) &&
           json_value(sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
}

/* "RTA NAME VALUE" */
static bool rta_line(const uint8_t *p, size_t n)
{
    if (!starts(p, n, "RTA "))
        return false;
    p += 4;
    n -= 4;
    const uint8_t *sp = memchr(p, ' ', n);
    return sp && ms_tag_name_valid(p, (size_t)(sp - p)) &&
           json_value(sp + 1, n - (size_t)(sp + 1 - p));
}

/* One output line, without its \n. */
static void check_line(const uint8_t *p, size_t n)
{
    if (starts(p, n, "#") || starts(p, n, "HELP ") || starts(p, n, "ERR ") ||
        (n == 2 && starts(p, n, "OK")) || (n == 3 && starts(p, n, "BYE")))
        return;
    if (starts(p, n, "LIST") && (n == 4 || p[4] == ' ')) {
        check(n == 4 || (n > 5 && p[n - 1] != ' ' && p[5] != ' '),
              "malformed LIST line");
        return;
    }
    check(value_line(p, n) || rta_line(p, n), "line of no known form");
}

static void check_text_queue(slot *s, const ms_bus_limits *lim)
{
    ms_bus_conn *c = s->conn;
    size_t len = ms_buf_size(&c->out);
    check(s->checked <= len, "queue shrank without a write");
    check(ms_bus_conn_queued(c) <= lim->hard_cap, "queue over the hard cap");
    if (len == s->checked)
        return;
    const uint8_t *p = ms_buf_head(&c->out);
    check(p[len - 1] == '\n', "text queue ends inside a line");
    size_t off = s->checked;
    while (off < len) {
        const uint8_t *nl = memchr(p + off, '\n', len - off);
        check(nl != NULL, "text queue ends inside a line");
        check_line(p + off, (size_t)(nl - (p + off)));
        off = (size_t)(nl - p) + 1;
    }
    s->checked = off;
}

/* As fuzz_bus: whole messages of server commands, chunk runs together. */
static void check_bin_queue(slot *s, const ms_bus_limits *lim)
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
        check(rc == MS_FRAME_HEAD, "binary queue: bad or partial header");
        check(len - off - MS_FRAME_HEAD >= h.size,
              "binary queue: partial payload");
        check(h.cmd == MS_CMD_SET || h.cmd == MS_CMD_ERR,
              "binary subscriber got something other than SET/ERR");
        if (in_run)
            check(h.cmd == run_cmd && h.tag_id == run_tag,
                  "chunks of two messages interleaved");
        off += MS_FRAME_HEAD + h.size;
        in_run = h.size == MS_FRAME_MAX_LEN;
        run_cmd = h.cmd;
        run_tag = h.tag_id;
    }
    check(!in_run, "binary queue ends inside a chunked message");
    s->checked = off;
}

static void check_queue(slot *s, const ms_bus_limits *lim)
{
    if (!s->conn)
        return;
    if (s->text)
        check_text_queue(s, lim);
    else
        check_bin_queue(s, lim);
}

static void open_slot(ms_bus_core *core, slot *s, int i)
{
    char peer[32]; /* room for any int: gcc -Wformat-truncation */
    snprintf(peer, sizeof peer, "fuzz:%d", i);
    s->conn = ms_bus_core_conn_new(core, peer, NULL,
                                   s->text ? &ms_bus_proto_text
                                           : &ms_bus_proto_frames);
    check(s->conn != NULL, "conn_new failed");
    s->in.off = s->in.len = 0;
    s->checked = 0;
    if (s->text)
        ms_bus_text_greet(s->conn);
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

/* Subscribes the two subscribers to tags [*from, next_id). */
static void sub_new_tags(ms_bus_core *core, slot *slots, uint32_t *from)
{
    for (; *from < core->tags.next_id && *from <= MS_BUS_MAX_ID; (*from)++) {
        ms_msg m = {MS_CMD_SUB, (uint16_t)*from, 0, NULL, 0};
        if (slots[BIN].conn)
            ms_bus_core_handle(slots[BIN].conn, &m);
        if (slots[TSUB].conn)
            ms_bus_core_handle(slots[TSUB].conn, &m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        ms_log_setup("fuzz_bus_text", MS_LOG_ERROR);
        quiet = true;
    }
    const ms_bus_limits lim = {256 * 1024, 4096, 512 * 1024};
    ms_bus_core core;
    if (ms_bus_core_init(&core, &lim) < 0)
        abort();
    check(ms_bus_core_start(&core) == 0, "start failed");
    slot slots[NSLOT];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < NSLOT; i++) {
        slots[i].text = i != BIN;
        open_slot(&core, &slots[i], i);
    }
    uint32_t subbed = 1;
    sub_new_tags(&core, slots, &subbed);

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

        int i = ctl & 1;
        slot *s = &slots[i];
        if (ctl & 8)
            close_slot(s);
        if (!s->conn)
            open_slot(&core, s, i);
        if (n && !s->conn->quit && !s->conn->closing) {
            check(ms_buf_append(&s->in, seg, n) == 0, "out of memory");
            size_t used = (size_t)-1;
            int rc = ms_bus_text_input(s->conn, ms_buf_head(&s->in),
                                       ms_buf_size(&s->in), &used);
            check(used <= ms_buf_size(&s->in), "used more than given");
            ms_buf_consume(&s->in, used);
            if (rc < 0) {
                check(rc == MS_ETOOBIG || rc == MS_ENOMEM,
                      "unexpected error code");
                check(s->conn->closing && s->conn->why[0],
                      "error without closing and a reason");
            } else if (!s->conn->closing && !s->conn->quit) {
                size_t left = ms_buf_size(&s->in);
                check(left <= MS_BUS_TEXT_LINE_MAX,
                      "more than a line's worth kept unused");
                check(!left || !memchr(ms_buf_head(&s->in), '\n', left),
                      "a whole line was left unused");
            }
        }
        sub_new_tags(&core, slots, &subbed);
        for (int k = 0; k < NSLOT; k++)
            check_queue(&slots[k], &lim);
        if (ctl & 4)
            write_out(s);
        if (ctl & 16)
            for (int k = 0; k < NSLOT; k++)
                write_out(&slots[k]);
        for (int k = 0; k < NSLOT; k++)
            if (slots[k].conn && slots[k].conn->closing)
                check(slots[k].conn->pending,
                      "closing connection not on the pending list");
        /* The I/O layer's flush pass: drop the ones the core gave up on;
         * a quit one closes once its queue is written. */
        ms_bus_conn *p;
        while ((p = ms_bus_core_pop_pending(&core))) {
            check(!p->pending, "popped connection still pending");
            if (!p->closing)
                continue;
            check(p->why[0] != '\0', "closing without a reason");
            for (int k = 0; k < NSLOT; k++)
                if (slots[k].conn == p)
                    close_slot(&slots[k]);
        }
        for (int k = 0; k < NSLOT; k++) {
            if (!slots[k].conn)
                continue;
            check_queue(&slots[k], &lim);
            if (slots[k].conn->quit) {
                write_out(&slots[k]);
                close_slot(&slots[k]);
            }
        }
        /* The subscribers come back if they were dropped (hard cap). */
        for (int k = BIN; k < NSLOT; k++)
            if (!slots[k].conn) {
                open_slot(&core, &slots[k], k);
                subbed = 1;
                sub_new_tags(&core, slots, &subbed);
                write_out(&slots[k]);
            }
    }

    check(core.tags.count == core.tags.next_id - 1, "ids not dense");
    for (int k = 0; k < NSLOT; k++) {
        check_queue(&slots[k], &lim);
        close_slot(&slots[k]);
        ms_buf_free(&slots[k].in);
    }
    ms_bus_core_free(&core);
    return 0;
}
