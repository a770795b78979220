/* The bus server's state machine (src/bus/bus_core.c, docs/design.md §6): every
 * command driven with encoded frames, every reply decoded from the
 * connections' output queues with an independent ms_frame_reader; the
 * error paths that drop a connection; tag id exhaustion; and the slow
 * subscriber rules (conflation of plain SETs past the high-water mark,
 * BYTES never conflated, the hard cap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus_core.h"
#include "bus_testcore.h"
#include "bus/bus_tags.h"
#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/value.h"

/* ---- output decoding -------------------------------------------------------- */

typedef struct {
    uint8_t cmd;
    uint16_t tag_id;
    uint64_t time_us;
    uint8_t *data; /* copy, NUL-terminated for convenience */
    size_t len;
} rmsg;

typedef struct {
    rmsg *m;
    size_t n, a;
} rlist;

static void rlist_free(rlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->m[i].data);
    free(l->m);
    memset(l, 0, sizeof *l);
}

/* Decodes len bytes of server output into l (appending). Every byte must
 * belong to a whole message: the core only ever queues whole messages. */
static void decode_all(const uint8_t *p, size_t len, rlist *l)
{
    ms_frame_reader r;
    ms_frame_reader_init(&r, (size_t)1 << 30);
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        ms_msg m;
        int rc = ms_frame_reader_next(&r, p + off, len - off, &used, &m);
        assert_true(rc >= 0);
        off += used;
        if (rc == 0)
            break;
        if (l->n == l->a) {
            l->a = l->a ? l->a * 2 : 16;
            l->m = realloc(l->m, l->a * sizeof *l->m);
            assert_non_null(l->m);
        }
        rmsg *o = &l->m[l->n++];
        o->cmd = m.cmd;
        o->tag_id = m.tag_id;
        o->time_us = m.time_us;
        o->len = m.len;
        o->data = malloc(m.len + 1);
        assert_non_null(o->data);
        if (m.len)
            memcpy(o->data, m.data, m.len);
        o->data[m.len] = '\0';
    }
    assert_int_equal(off, len);
    assert_int_equal(r.npend, 0); /* no dangling "more follows" chunk */
    ms_frame_reader_free(&r);
}

/* Decodes a connection's queue without consuming it. */
static void peek(const ms_bus_conn *conn, rlist *l)
{
    rlist_free(l);
    if (ms_buf_size(&conn->out)) /* (an empty buffer may have no memory) */
        decode_all(ms_buf_head(&conn->out), ms_buf_size(&conn->out), l);
}

/* Decodes and consumes a connection's queue (as if written out). */
static void take(ms_bus_conn *conn, rlist *l)
{
    peek(conn, l);
    ms_buf_consume(&conn->out, ms_buf_size(&conn->out));
}

/* Consumes and checks that nothing was queued. */
static void expect_nothing(ms_bus_conn *conn)
{
    rlist l = {0};
    take(conn, &l);
    if (l.n)
        fail_msg("%s: unexpected message cmd %u tag %u", conn->peer,
                 l.m[0].cmd, l.m[0].tag_id);
    rlist_free(&l);
}

/* ---- input encoding --------------------------------------------------------- */

static int send_bytes(ms_bus_conn *conn, const uint8_t *p, size_t n)
{
    size_t used = (size_t)-1;
    int rc = ms_bus_core_input(conn, p, n, &used);
    assert_true(used <= n);
    /* A healthy connection consumes every whole message it is given. */
    if (rc == 0 && !conn->closing)
        assert_int_equal(used, n);
    return rc;
}

static int send_msg(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                    uint64_t time_us, const void *data, size_t len)
{
    size_t n = ms_frame_wire_size(len);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(ms_frame_encode(buf, cmd, tag_id, time_us,
                                     (const uint8_t *)data, len),
                     n);
    int rc = send_bytes(conn, buf, n);
    free(buf);
    return rc;
}

static void send_ok(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                    uint64_t time_us, const void *data, size_t len)
{
    assert_int_equal(send_msg(conn, cmd, tag_id, time_us, data, len), 0);
}

/* Encodes v (ms_value_encode) and sends it as a SET. */
static void send_value(ms_bus_conn *conn, uint16_t tag_id, uint64_t time_us,
                       ms_value v)
{
    size_t n = ms_value_wire_size(&v);
    uint8_t *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    assert_int_equal(ms_value_encode(&v, buf, n), (long)n);
    send_ok(conn, MS_CMD_SET, tag_id, time_us, buf, n);
    free(buf);
}

static void send_int(ms_bus_conn *conn, uint16_t tag_id, uint64_t time_us,
                     int64_t i)
{
    send_value(conn, tag_id, time_us, ms_value_int(i));
}

static void send_str(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                     uint64_t time_us, const char *s)
{
    send_ok(conn, cmd, tag_id, time_us, s, strlen(s));
}

/* Asks for a name's id and returns it (the only reply must be ID). */
static uint16_t tag_id(ms_bus_conn *conn, const char *name)
{
    assert_int_equal(ms_buf_size(&conn->out), 0);
    send_str(conn, MS_CMD_ID, 0, 0, name);
    rlist l = {0};
    take(conn, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.m[0].cmd, MS_CMD_ID);
    assert_int_equal(l.m[0].len, strlen(name));
    assert_memory_equal(l.m[0].data, name, strlen(name));
    uint16_t id = l.m[0].tag_id;
    assert_true(id != 0);
    rlist_free(&l);
    return id;
}

/* Subscribes and swallows the immediate SET reply. */
static void sub(ms_bus_conn *conn, uint16_t id)
{
    send_ok(conn, MS_CMD_SUB, id, 0, NULL, 0);
    rlist l = {0};
    take(conn, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.m[0].cmd, MS_CMD_SET);
    assert_int_equal(l.m[0].tag_id, id);
    rlist_free(&l);
}

/* Expects exactly one message of cmd/tag_id in the queue (consumed) and
 * returns its text (caller frees). */
static rmsg take_one(ms_bus_conn *conn, uint8_t cmd, uint16_t id)
{
    rlist l = {0};
    take(conn, &l);
    if (l.n != 1)
        fail_msg("%s: %zu messages, expected one %s", conn->peer, l.n,
                 ms_cmd_name(cmd));
    assert_int_equal(l.m[0].cmd, cmd);
    assert_int_equal(l.m[0].tag_id, id);
    rmsg m = l.m[0];
    free(l.m);
    return m;
}

static void expect_err(ms_bus_conn *conn, uint16_t id, uint64_t time_us)
{
    rmsg m = take_one(conn, MS_CMD_ERR, id);
    assert_true(m.time_us == time_us);
    assert_true(m.len > 0);
    assert_true(ms_utf8_valid(m.data, m.len));
    free(m.data);
    assert_false(conn->closing);
}

static uint64_t wire_int(const rmsg *m)
{
    ms_value v;
    assert_int_equal(ms_value_decode(m->data, m->len, &v), 0);
    assert_int_equal(v.type, MS_TYPE_INT);
    return (uint64_t)v.u.i;
}

/* ---- a core (bus_testcore.h) and its connections ------------------------ */

static ms_bus_conn *conn_new(ms_bus_core *c, const char *peer)
{
    return core_conn(c, peer, &ms_bus_proto_frames);
}

/* Pops every pending connection; returns how many, and whether want was
 * among them. */
static size_t pop_all(ms_bus_core *c, const ms_bus_conn *want, bool *found)
{
    size_t n = 0;
    ms_bus_conn *p;
    if (found)
        *found = false;
    while ((p = ms_bus_core_pop_pending(c))) {
        n++;
        if (found && p == want)
            *found = true;
        assert_int_equal(n < 1000, 1);
    }
    return n;
}

/* ---- __bus__ ------------------------------------------------------------------ */

static void test_bus_tag_started(void **state)
{
    (void)state;
    uint64_t before = ms_time_now_us();
    ms_bus_core *c = core_default();
    uint64_t after = ms_time_now_us();
    ms_bus_tag *t = ms_bus_tags_get(&c->tags, 1);
    assert_non_null(t);
    assert_string_equal(t->name, MS_BUS_TAG_NAME);
    assert_int_equal(t->len, 8);
    assert_memory_equal(t->value, "\x03started", 8);
    assert_null(t->author);
    assert_true(t->time_us >= before && t->time_us <= after);
    assert_null(ms_bus_tags_get(&c->tags, 2));

    ms_bus_conn *a = conn_new(c, "a");
    assert_int_equal(tag_id(a, "__bus__"), 1);
    send_ok(a, MS_CMD_GET, 1, 0, NULL, 0);
    rmsg m = take_one(a, MS_CMD_SET, 1);
    assert_int_equal(m.len, 8);
    assert_memory_equal(m.data, "\x03started", 8);
    assert_true(m.time_us == t->time_us);
    free(m.data);
    core_del(c);
}

/* ---- ID ---------------------------------------------------------------------- */

static void test_id_assigns_in_order(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *b = conn_new(c, "b");
    assert_int_equal(tag_id(a, "alpha"), 2);
    assert_int_equal(tag_id(a, "beta"), 3);
    assert_int_equal(tag_id(b, "gamma"), 4);
    assert_int_equal(tag_id(a, "alpha"), 2);
    assert_int_equal(tag_id(b, "alpha"), 2);
    assert_int_equal(tag_id(b, "beta"), 3);
    assert_int_equal(tag_id(a, "delta"), 5);
    /* Names are case-sensitive and compared whole. */
    assert_int_equal(tag_id(a, "Alpha"), 6);
    assert_int_equal(tag_id(a, "alph"), 7);
    assert_int_equal(c->tags.count, 7);

    /* The reply carries the tag's id (whatever the request's tag_id) and
     * the tag's time (0 until set). */
    send_int(b, 2, 777, 5);
    send_str(a, MS_CMD_ID, 99, 123, "alpha");
    rmsg m = take_one(a, MS_CMD_ID, 2);
    assert_true(m.time_us == 777);
    assert_string_equal((char *)m.data, "alpha");
    free(m.data);

    /* UTF-8 names are fine; 255 bytes is the longest. */
    assert_int_equal(tag_id(a, "D\xc3\xbc" "sseldorf.\xe2\x82\xac"), 8);
    char longest[256];
    memset(longest, 'x', 255);
    longest[255] = '\0';
    assert_int_equal(tag_id(a, longest), 9);
    core_del(c);
}

static void test_id_invalid_names(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a");
    char big[256];
    memset(big, 'n', sizeof big);
    static const struct {
        const char *name;
        size_t len;
    } bad[] = {
        {"", 0},
        {NULL, 256},          /* 256 bytes */
        {"a b", 3},           /* space */
        {" ", 1},
        {"a\tb", 3},          /* control characters */
        {"a\x01", 2},
        {"\x1f", 1},
        {"a\x7f", 2},
        {"a\nb", 3},
        {"a\0b", 3},          /* NUL inside */
        {"\xff", 1},          /* bad UTF-8 */
        {"a\xc3", 2},         /* truncated sequence */
        {"\xc0\x80", 2},      /* overlong */
        {"\xed\xa0\x80", 3},  /* surrogate */
        {"\xf4\x90\x80\x80", 4}, /* past U+10FFFF */
        {"\x80", 1},          /* lone continuation */
    };
    size_t before = c->tags.count;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const void *name = bad[i].name ? (const void *)bad[i].name : big;
        send_ok(a, MS_CMD_ID, (uint16_t)(100 + i), 1000 + i, name,
                bad[i].len);
        expect_err(a, (uint16_t)(100 + i), 1000 + i);
        assert_int_equal(c->tags.count, before);
    }
    /* Still working. */
    assert_int_equal(tag_id(a, "fine"), 2);
    core_del(c);
}

/* ---- SET fan-out ----------------------------------------------------------- */

static void test_set_fan_out(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *b = conn_new(c, "b"),
                *s1 = conn_new(c, "s1"), *s2 = conn_new(c, "s2"),
                *s3 = conn_new(c, "s3");
    uint16_t x = tag_id(a, "X");
    uint16_t y = tag_id(a, "Y");
    sub(b, x);
    sub(s1, x);
    sub(s2, x);
    sub(s3, x);
    sub(s3, y);
    (void)pop_all(c, NULL, NULL);

    uint8_t *big = malloc(200000);
    assert_non_null(big);
    for (size_t i = 0; i < 200000; i++)
        big[i] = (uint8_t)(i * 31 + (i >> 9));
    static const char js[] = "{\"a\": [1, 2, 3]}";
    ms_value vals[] = {
        ms_value_int(-42),
        ms_value_float(3.25),
        ms_value_buf(MS_TYPE_STR, "h\xc3\xa9llo", 6),
        ms_value_buf(MS_TYPE_BYTES, "\x00\x01\xff", 3),
        ms_value_buf(MS_TYPE_JSON, js, sizeof js - 1),
        ms_value_buf(MS_TYPE_BYTES, big, 200000), /* chunked */
        ms_value_buf(MS_TYPE_STR, big, 65520),    /* 1 x MAX_LEN: + empty chunk */
        ms_value_buf(MS_TYPE_BYTES, big, 65520),
        ms_value_buf(MS_TYPE_STR, "", 0),
    };
    /* (STR of arbitrary bytes: the bus does not check values.) */
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint64_t t = 1700000000000000ull + i;
        size_t n = ms_value_wire_size(&vals[i]);
        uint8_t *wire = malloc(n);
        assert_non_null(wire);
        assert_int_equal(ms_value_encode(&vals[i], wire, n), (long)n);
        ms_bus_conn *from = (i % 2) ? a : b;
        send_ok(from, MS_CMD_SET, x, t, wire, n);
        ms_bus_conn *all[] = {a, b, s1, s2, s3};
        size_t got = 0;
        bool found;
        for (size_t k = 0; k < 5; k++) {
            ms_bus_conn *to = all[k];
            if (to == a || to == from) {
                expect_nothing(to); /* a is not subscribed; from sent it */
                continue;
            }
            rmsg m = take_one(to, MS_CMD_SET, x);
            assert_true(m.time_us == t);
            assert_int_equal(m.len, n);
            assert_memory_equal(m.data, wire, n);
            free(m.data);
            got++;
        }
        assert_int_equal(got, from == b ? 3 : 4);
        /* Only the receivers have output. */
        size_t np = pop_all(c, from, &found);
        assert_int_equal(np, got);
        assert_false(found);
        /* The bus keeps the value. */
        ms_bus_tag *tag = ms_bus_tags_get(&c->tags, x);
        assert_int_equal(tag->len, n);
        assert_memory_equal(tag->value, wire, n);
        assert_true(tag->time_us == t);
        assert_ptr_equal(tag->author, from);
        free(wire);
    }

    /* An empty SET (no value) is delivered as such. */
    send_ok(a, MS_CMD_SET, x, 5, NULL, 0);
    rmsg m = take_one(s1, MS_CMD_SET, x);
    assert_int_equal(m.len, 0);
    assert_true(m.time_us == 5);
    free(m.data);
    rmsg e[3] = {take_one(b, MS_CMD_SET, x), take_one(s2, MS_CMD_SET, x),
                 take_one(s3, MS_CMD_SET, x)};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e[i].len, 0);
        free(e[i].data);
    }

    /* Many SETs arrive in the order sent, with nothing in between. */
    uint8_t stream[50 * 23];
    size_t sl = 0;
    for (int i = 0; i < 50; i++) {
        uint8_t v[9];
        ms_value iv = ms_value_int(i);
        assert_int_equal(ms_value_encode(&iv, v, sizeof v), 9);
        sl += ms_frame_encode(stream + sl, MS_CMD_SET, (i % 5) ? x : y,
                              (uint64_t)i, v, 9);
    }
    assert_int_equal(send_bytes(a, stream, sl), 0);
    rlist l = {0};
    take(s3, &l);
    assert_int_equal(l.n, 50);
    for (size_t i = 0; i < 50; i++) {
        assert_int_equal(l.m[i].tag_id, (i % 5) ? x : y);
        assert_true(l.m[i].time_us == i);
        assert_int_equal(wire_int(&l.m[i]), i);
    }
    take(s1, &l);
    assert_int_equal(l.n, 40);
    rlist_free(&l);
    expect_nothing(a);
    free(big);
    core_del(c);
}

/* Input may arrive in any pieces: the core uses whole messages only and
 * says how much it used. */
static void test_input_in_pieces(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "s");
    uint16_t x = tag_id(a, "X");
    sub(s, x);
    ms_buf stream = {0};
    uint8_t *big = calloc(1, 140000);
    assert_non_null(big);
    big[0] = MS_TYPE_BYTES;
    for (int i = 0; i < 3; i++) {
        size_t len = i == 1 ? 140000 : 9;
        uint8_t v[9];
        ms_value iv = ms_value_int(i);
        ms_value_encode(&iv, v, sizeof v);
        size_t n = ms_frame_wire_size(len);
        uint8_t *p = ms_buf_reserve(&stream, n);
        assert_non_null(p);
        ms_buf_commit(&stream, ms_frame_encode(p, MS_CMD_SET, x, (uint64_t)i,
                                               i == 1 ? big : v, len));
    }
    size_t total = ms_buf_size(&stream);
    ms_buf carry = {0};
    size_t fed = 0, step = 1;
    while (fed < total) {
        size_t k = total - fed < step ? total - fed : step;
        assert_int_equal(ms_buf_append(&carry, ms_buf_head(&stream) + fed, k),
                         0);
        fed += k;
        step = step * 3 + 1;
        size_t used = 0;
        assert_int_equal(ms_bus_core_input(a, ms_buf_head(&carry),
                                           ms_buf_size(&carry), &used),
                         0);
        assert_true(used <= ms_buf_size(&carry));
        ms_buf_consume(&carry, used);
    }
    assert_int_equal(ms_buf_size(&carry), 0);
    rlist l = {0};
    take(s, &l);
    assert_int_equal(l.n, 3);
    assert_int_equal(wire_int(&l.m[0]), 0);
    assert_int_equal(l.m[1].len, 140000);
    assert_memory_equal(l.m[1].data, big, 140000);
    assert_int_equal(wire_int(&l.m[2]), 2);
    assert_int_equal(a->msgs_in, 4); /* ID + 3 SETs */
    rlist_free(&l);
    ms_buf_free(&carry);
    ms_buf_free(&stream);
    free(big);
    core_del(c);
}

/* ---- SUB, UNSUB, GET ----------------------------------------------------- */

static void test_sub_replies_at_once(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "s");
    uint16_t x = tag_id(a, "X");
    /* Never set: an empty SET with time 0. */
    send_ok(s, MS_CMD_SUB, x, 55, NULL, 0);
    rmsg m = take_one(s, MS_CMD_SET, x);
    assert_int_equal(m.len, 0);
    assert_true(m.time_us == 0);
    free(m.data);
    /* Set: the value and the setter's time. */
    uint16_t y = tag_id(a, "Y");
    send_str(a, MS_CMD_SET, y, 424242, "\x03hi");
    send_ok(s, MS_CMD_SUB, y, 1, NULL, 0);
    m = take_one(s, MS_CMD_SET, y);
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.data, "\x03hi", 3);
    assert_true(m.time_us == 424242);
    free(m.data);
    /* Subscribing twice still gives one copy per SET. */
    send_ok(s, MS_CMD_SUB, y, 1, NULL, 0);
    m = take_one(s, MS_CMD_SET, y);
    free(m.data);
    assert_int_equal(ms_bus_tags_get(&c->tags, y)->nsubs, 1);
    send_int(a, y, 9, 9);
    m = take_one(s, MS_CMD_SET, y);
    assert_int_equal(wire_int(&m), 9);
    free(m.data);
    expect_nothing(a);
    core_del(c);
}

static void test_unsub(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "s"),
                *t = conn_new(c, "t");
    uint16_t x = tag_id(a, "X"), y = tag_id(a, "Y");
    sub(s, x);
    sub(s, y);
    sub(t, x);
    send_int(a, x, 1, 1);
    rmsg m = take_one(s, MS_CMD_SET, x);
    free(m.data);
    m = take_one(t, MS_CMD_SET, x);
    free(m.data);
    send_ok(s, MS_CMD_UNSUB, x, 0, NULL, 0);
    expect_nothing(s); /* no reply */
    send_int(a, x, 2, 2);
    expect_nothing(s);
    m = take_one(t, MS_CMD_SET, x); /* others unaffected */
    assert_int_equal(wire_int(&m), 2);
    free(m.data);
    send_int(a, y, 3, 3); /* the other subscription stays */
    m = take_one(s, MS_CMD_SET, y);
    free(m.data);
    /* UNSUB of a tag not subscribed is harmless, twice too. */
    send_ok(s, MS_CMD_UNSUB, x, 0, NULL, 0);
    send_ok(t, MS_CMD_UNSUB, y, 0, NULL, 0);
    expect_nothing(s);
    expect_nothing(t);
    assert_int_equal(ms_bus_tags_get(&c->tags, x)->nsubs, 1);
    /* Subscribe again: the current value, then updates. */
    send_ok(s, MS_CMD_SUB, x, 0, NULL, 0);
    m = take_one(s, MS_CMD_SET, x);
    assert_int_equal(wire_int(&m), 2);
    free(m.data);
    send_int(a, x, 4, 4);
    m = take_one(s, MS_CMD_SET, x);
    assert_int_equal(wire_int(&m), 4);
    free(m.data);
    core_del(c);
}

static void test_get(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *g = conn_new(c, "g");
    uint16_t x = tag_id(a, "X");
    send_ok(g, MS_CMD_GET, x, 5, NULL, 0);
    rmsg m = take_one(g, MS_CMD_SET, x);
    assert_int_equal(m.len, 0);
    assert_true(m.time_us == 0);
    free(m.data);
    send_value(a, x, 1234567, ms_value_float(-0.5));
    expect_nothing(a);
    send_ok(g, MS_CMD_GET, x, 5, NULL, 0);
    m = take_one(g, MS_CMD_SET, x);
    assert_int_equal(m.len, 9);
    assert_int_equal(m.data[0], MS_TYPE_FLOAT);
    assert_true(m.time_us == 1234567);
    free(m.data);
    /* GET does not subscribe. */
    send_int(a, x, 2, 2);
    expect_nothing(g);
    /* The setter may GET its own value. */
    send_ok(a, MS_CMD_GET, x, 0, NULL, 0);
    m = take_one(a, MS_CMD_SET, x);
    assert_int_equal(wire_int(&m), 2);
    free(m.data);
    core_del(c);
}

/* ---- RTA --------------------------------------------------------------------- */

static void test_rta(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *b = conn_new(c, "b"),
                *r = conn_new(c, "r");
    uint16_t x = tag_id(a, "__history__");
    /* Never set: no author. */
    send_str(r, MS_CMD_RTA, x, 17, "\x05{}");
    expect_err(r, x, 17);

    send_str(a, MS_CMD_SET, x, 1000, "\x04zz");
    static const char req[] = "\x05{\"tagname\": \"T\", \"start\": 0}";
    send_ok(r, MS_CMD_RTA, x, 2000, req, sizeof req - 1);
    expect_nothing(r);
    expect_nothing(b);
    rmsg m = take_one(a, MS_CMD_RTA, x);
    assert_true(m.time_us == 1000); /* the tag's time */
    assert_int_equal(m.len, sizeof req - 1);
    assert_memory_equal(m.data, req, sizeof req - 1);
    free(m.data);

    /* A large request survives chunking. */
    size_t bl = 150000;
    uint8_t *bigreq = malloc(bl);
    assert_non_null(bigreq);
    bigreq[0] = MS_TYPE_JSON;
    for (size_t i = 1; i < bl; i++)
        bigreq[i] = (uint8_t)('a' + i % 26);
    send_ok(r, MS_CMD_RTA, x, 1, bigreq, bl);
    m = take_one(a, MS_CMD_RTA, x);
    assert_int_equal(m.len, bl);
    assert_memory_equal(m.data, bigreq, bl);
    free(m.data);
    free(bigreq);

    /* The last setter is the author. */
    send_str(b, MS_CMD_SET, x, 3000, "\x04yy");
    send_ok(r, MS_CMD_RTA, x, 4000, req, sizeof req - 1);
    expect_nothing(a);
    m = take_one(b, MS_CMD_RTA, x);
    assert_true(m.time_us == 3000);
    free(m.data);

    /* Author gone: ERR to the requester. */
    ms_bus_core_conn_free(b);
    assert_null(ms_bus_tags_get(&c->tags, x)->author);
    send_ok(r, MS_CMD_RTA, x, 5000, req, sizeof req - 1);
    expect_err(r, x, 5000);
    expect_nothing(a);

    /* A closing author counts as gone. */
    send_str(a, MS_CMD_SET, x, 6000, "\x04xx");
    a->closing = true;
    send_ok(r, MS_CMD_RTA, x, 7000, req, sizeof req - 1);
    expect_err(r, x, 7000);
    a->closing = false;

    /* The bus itself set __bus__: nobody to ask. */
    send_ok(r, MS_CMD_RTA, 1, 8000, req, sizeof req - 1);
    expect_err(r, 1, 8000);
    core_del(c);
}

/* ---- LIST ---------------------------------------------------------------------- */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sends LIST and checks the reply holds exactly the space-separated names
 * in want (any order), tag_id 0 and the request's time. */
static void expect_list(ms_bus_conn *conn, const char *pattern, uint64_t t,
                        const char *want)
{
    send_str(conn, MS_CMD_LIST, 0, t, pattern);
    rmsg m = take_one(conn, MS_CMD_LIST, 0);
    assert_true(m.time_us == t);
    char *got = (char *)m.data;
    /* Single spaces only: none leading, trailing or doubled. */
    if (m.len) {
        assert_true(got[0] != ' ');
        assert_true(got[m.len - 1] != ' ');
        assert_null(strstr(got, "  "));
    }
    char *gw[64], *ww[64];
    size_t ng = 0, nw = 0;
    char *wcopy = strdup(want), *save;
    for (char *p = strtok_r(got, " ", &save); p; p = strtok_r(NULL, " ", &save))
        gw[ng++] = p;
    for (char *p = strtok_r(wcopy, " ", &save); p;
         p = strtok_r(NULL, " ", &save))
        ww[nw++] = p;
    qsort(gw, ng, sizeof *gw, cmp_str);
    qsort(ww, nw, sizeof *ww, cmp_str);
    if (ng != nw)
        fail_msg("LIST '%s' @%llu: got %zu names, want '%s'", pattern,
                 (unsigned long long)t, ng, want);
    for (size_t i = 0; i < ng; i++)
        assert_string_equal(gw[i], ww[i]);
    free(wcopy);
    free(m.data);
}

static void test_list(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a");
    uint64_t tb = ms_bus_tags_get(&c->tags, 1)->time_us;
    uint16_t pa = tag_id(a, "pump_a");
    uint16_t pb = tag_id(a, "pump_b");
    uint16_t tl = tag_id(a, "tank_level");
    (void)tag_id(a, "flow_pump"); /* never set */
    (void)tag_id(a, "ump");
    send_int(a, pa, tb + 10, 1);
    send_int(a, pb, tb + 20, 2);
    send_int(a, tl, tb + 30, 3);

    /* Empty: set after the request's time_us (strictly). */
    expect_list(a, "", tb + 15, "pump_b tank_level");
    expect_list(a, "", tb + 20, "tank_level");
    expect_list(a, "", tb + 30, "");
    expect_list(a, "", tb + 9, "pump_a pump_b tank_level");
    expect_list(a, "", 0, "__bus__ pump_a pump_b tank_level");
    /* ^prefix */
    expect_list(a, "^pump", 0, "pump_a pump_b");
    expect_list(a, "^pump_a", 0, "pump_a");
    expect_list(a, "^pump_ab", 0, "");
    expect_list(a, "^__", 0, "__bus__");
    expect_list(a, "^", 0, "__bus__ pump_a pump_b tank_level flow_pump ump");
    /* suffix$ */
    expect_list(a, "pump$", 0, "flow_pump");
    expect_list(a, "ump$", 0, "flow_pump ump");
    expect_list(a, "_b$", 0, "pump_b");
    expect_list(a, "level$", 0, "tank_level");
    expect_list(a, "xlevel$", 0, "");
    expect_list(a, "tank_level$", 0, "tank_level");
    expect_list(a, "$", 0, "__bus__ pump_a pump_b tank_level flow_pump ump");
    /* substring */
    expect_list(a, "ump", 0, "pump_a pump_b flow_pump ump");
    expect_list(a, "mp_", 0, "pump_a pump_b");
    expect_list(a, "_", 0, "__bus__ pump_a pump_b tank_level flow_pump");
    expect_list(a, "nothing", 0, "");
    expect_list(a, "ank_lev", 99, "tank_level");
    /* A longer pattern than any name. */
    char longp[300];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    expect_list(a, longp, 0, "");
    longp[0] = '^';
    expect_list(a, longp, 0, "");
    longp[0] = 'p';
    longp[sizeof longp - 2] = '$';
    expect_list(a, longp, 0, "");
    /* LIST never creates tags. */
    assert_int_equal(c->tags.count, 6);
    core_del(c);
}

/* ---- LOG --------------------------------------------------------------------- */

static void test_log(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "s");
    sub(s, 1);
    uint64_t before = ms_time_now_us();
    send_str(a, MS_CMD_LOG, 0, 5, "pump 3 tripped");
    uint64_t after = ms_time_now_us();
    expect_nothing(a); /* no reply; a is not subscribed */
    rmsg m = take_one(s, MS_CMD_SET, 1);
    assert_string_equal((char *)m.data, "\x03pump 3 tripped");
    assert_true(m.time_us >= before && m.time_us <= after);
    free(m.data);
    ms_bus_tag *bt = ms_bus_tags_get(&c->tags, 1);
    assert_int_equal(bt->len, 15);
    assert_memory_equal(bt->value, "\x03pump 3 tripped", 15);
    assert_null(bt->author);

    /* 300 bytes is the limit. */
    char text[302];
    memset(text, 'L', sizeof text);
    send_ok(a, MS_CMD_LOG, 0, 6, text, 300);
    m = take_one(s, MS_CMD_SET, 1);
    assert_int_equal(m.len, 301);
    assert_int_equal(m.data[0], MS_TYPE_STR);
    assert_memory_equal(m.data + 1, text, 300);
    free(m.data);
    send_ok(a, MS_CMD_LOG, 0, 7, text, 301);
    expect_err(a, 0, 7);
    expect_nothing(s);
    assert_int_equal(bt->len, 301);
    /* Not UTF-8. */
    send_ok(a, MS_CMD_LOG, 0, 8, "\xff\xfe", 2);
    expect_err(a, 0, 8);
    expect_nothing(s);
    /* Empty is fine. */
    send_ok(a, MS_CMD_LOG, 0, 9, NULL, 0);
    m = take_one(s, MS_CMD_SET, 1);
    assert_int_equal(m.len, 1);
    free(m.data);
    /* The logger gets it too when subscribed (the bus is the author). */
    sub(a, 1);
    send_str(a, MS_CMD_LOG, 0, 10, "again");
    m = take_one(a, MS_CMD_SET, 1);
    assert_string_equal((char *)m.data, "\x03" "again");
    free(m.data);
    m = take_one(s, MS_CMD_SET, 1);
    free(m.data);
    core_del(c);
}

/* ---- errors ------------------------------------------------------------------- */

static void test_unknown_tag_ids(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a");
    uint16_t x = tag_id(a, "X");
    static const uint8_t cmds[] = {MS_CMD_SET, MS_CMD_GET, MS_CMD_SUB,
                                   MS_CMD_UNSUB, MS_CMD_RTA};
    static const uint16_t ids[] = {0, 3, 999, 65535};
    for (size_t i = 0; i < sizeof cmds; i++) {
        for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
            uint64_t t = 100 * i + k;
            send_str(a, cmds[i], ids[k], t, "\x03v");
            rmsg m = take_one(a, MS_CMD_ERR, ids[k]);
            assert_true(m.time_us == t);
            assert_non_null(strstr((char *)m.data, ms_cmd_name(cmds[i])));
            free(m.data);
        }
    }
    assert_int_equal(c->tags.count, 2);
    assert_false(a->closing);
    /* Still works. */
    send_ok(a, MS_CMD_GET, x, 0, NULL, 0);
    rmsg m = take_one(a, MS_CMD_SET, x);
    free(m.data);
    core_del(c);
}

static void test_unsupported_commands(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a");
    static const uint8_t cmds[] = {0, 8, 10, 11, 100, 255};
    uint16_t x = tag_id(a, "X");
    for (size_t i = 0; i < sizeof cmds; i++) {
        send_str(a, cmds[i], x, 50 + i, "\x03zz");
        rmsg m = take_one(a, MS_CMD_ERR, x);
        assert_true(m.time_us == 50 + i);
        char num[8];
        snprintf(num, sizeof num, "%u", cmds[i]);
        assert_non_null(strstr((char *)m.data, num));
        free(m.data);
        assert_false(a->closing);
        /* The connection keeps working. */
        assert_int_equal(tag_id(a, "X"), x);
    }
    /* The value was not touched by the unknown commands. */
    assert_int_equal(ms_bus_tags_get(&c->tags, x)->len, 0);
    core_del(c);
}

static void test_bad_version_drops(void **state)
{
    (void)state;
    static const uint8_t versions[] = {0, 2, 7, 255};
    for (size_t v = 0; v < sizeof versions; v++) {
        ms_bus_core *c = core_default();
        ms_bus_conn *a = conn_new(c, "10.0.0.1:5000"), *b = conn_new(c, "b");
        uint16_t x = tag_id(b, "X");
        sub(b, x);
        (void)pop_all(c, NULL, NULL);
        /* A good GET, a SET, then a bad header in the same read. */
        uint8_t buf[3 * 40];
        size_t n = ms_frame_encode(buf, MS_CMD_GET, x, 1, NULL, 0);
        n += ms_frame_encode(buf + n, MS_CMD_SET, x, 2,
                             (const uint8_t *)"\x03ok", 3);
        size_t bad_at = n;
        n += ms_frame_encode(buf + n, MS_CMD_SET, x, 3,
                             (const uint8_t *)"\x03no", 3);
        buf[bad_at] = versions[v];
        n += ms_frame_encode(buf + n, MS_CMD_SET, x, 4,
                             (const uint8_t *)"\x03nn", 3);
        size_t used = 0;
        int rc = ms_bus_core_input(a, buf, n, &used);
        assert_int_equal(rc, MS_EPROTO);
        assert_int_equal(used, bad_at);
        assert_true(a->closing);
        char want[32];
        snprintf(want, sizeof want, "version %u", versions[v]);
        if (!strstr(a->why, want))
            fail_msg("why '%s' does not name %s", a->why, want);
        assert_int_equal(c->n.dropped, 1);
        /* The messages before it were handled. */
        rmsg m = take_one(a, MS_CMD_SET, x);
        free(m.data);
        m = take_one(b, MS_CMD_SET, x);
        assert_string_equal((char *)m.data, "\x03ok");
        free(m.data);
        bool found;
        (void)pop_all(c, a, &found);
        assert_true(found);
        /* More input to a closing connection is ignored. */
        used = 99;
        assert_int_equal(ms_bus_core_input(a, buf, bad_at, &used), 0);
        assert_int_equal(used, 0);
        /* The others carry on. */
        ms_bus_core_conn_free(a);
        assert_int_equal(tag_id(b, "Y"), x + 1);
        core_del(c);
    }
}

static void test_payload_over_max(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(100000, 1u << 20, 64u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "s");
    uint16_t x = tag_id(a, "X");
    sub(s, x);
    size_t len = 99000;
    uint8_t *p = calloc(1, 2 * MS_FRAME_MAX_LEN);
    assert_non_null(p);
    p[0] = MS_TYPE_BYTES;
    send_ok(a, MS_CMD_SET, x, 1, p, len); /* two chunks, under the cap */
    rmsg m = take_one(s, MS_CMD_SET, x);
    assert_int_equal(m.len, len);
    free(m.data);
    int rc = send_msg(a, MS_CMD_SET, x, 2, p, 2 * MS_FRAME_MAX_LEN);
    assert_int_equal(rc, MS_ETOOBIG);
    assert_true(a->closing);
    assert_true(strlen(a->why) > 0);
    expect_nothing(s);
    assert_false(s->closing);
    free(p);
    core_del(c);
}

/* ---- id exhaustion -------------------------------------------------------- */

static void test_ids_run_out(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *a = conn_new(c, "a");
    core_fill_tags(c);
    assert_int_equal(tag_id(a, "t1000"), 1000);
    assert_int_equal(tag_id(a, "last"), 65535);
    send_str(a, MS_CMD_ID, 0, 3, "one_too_many");
    rmsg m = take_one(a, MS_CMD_ERR, 0);
    assert_true(m.time_us == 3);
    assert_non_null(strstr((char *)m.data, "one_too_many"));
    free(m.data);
    assert_false(a->closing);
    assert_null(ms_bus_tags_find(&c->tags, (const uint8_t *)"one_too_many",
                                 12));
    /* Known names still answer; the last tag works. */
    assert_int_equal(tag_id(a, "last"), 65535);
    assert_int_equal(tag_id(a, "__bus__"), 1);
    ms_bus_conn *s = conn_new(c, "s");
    sub(s, 65535);
    send_int(a, 65535, 1, 1);
    m = take_one(s, MS_CMD_SET, 65535);
    free(m.data);
    expect_list(a, "^last", 0, "last");
    core_del(c);
}

/* ---- slow subscribers --------------------------------------------------------- */

#define HW 4096
#define SETSZ (MS_FRAME_HEAD + 9) /* one SET of an INT */

/* A subscriber that never reads stops getting plain SETs past the
 * high-water mark; it is owed the latest value of each tag instead, and
 * gets them once, in first-owed order, when it drains. */
static void test_conflation(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, HW, 1u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "slow"),
                *r = conn_new(c, "reader");
    enum { NT = 10, NSET = 1000 };
    uint16_t x[NT];
    for (int i = 0; i < NT; i++) {
        char n[8];
        snprintf(n, sizeof n, "X%d", i);
        x[i] = tag_id(a, n);
        sub(s, x[i]);
        sub(r, x[i]);
    }
    assert_true(c->n.conflated == 0);
    rlist l = {0};
    for (int k = 0; k < NSET; k++) {
        send_int(a, x[k % NT], 1000 + (uint64_t)k, k);
        /* The slow one's queue stays under the mark (plus one message). */
        assert_true(ms_bus_conn_queued(s) <= HW + SETSZ);
        /* The reader is not held back: it gets every SET at once. */
        rmsg m = take_one(r, MS_CMD_SET, x[k % NT]);
        assert_int_equal(wire_int(&m), k);
        free(m.data);
    }
    assert_false(s->closing);
    peek(s, &l);
    size_t q = l.n;
    assert_true(q > 0 && q < NSET - NT);
    /* The queued ones are the first q SETs, in order. */
    for (size_t i = 0; i < q; i++) {
        assert_int_equal(l.m[i].tag_id, x[i % NT]);
        assert_int_equal(wire_int(&l.m[i]), i);
    }
    assert_true(c->n.conflated == NSET - q);
    assert_int_equal(s->nclist, NT);

    /* Not drained while the queue is still long. */
    assert_false(ms_bus_core_drain(s));
    /* The slow one sets one of the owed tags itself: it knows that value,
     * so it is not owed any more. */
    uint16_t own = x[(q + 3) % NT];
    send_int(s, own, 5000, 5555);
    rmsg m = take_one(r, MS_CMD_SET, own);
    free(m.data);

    /* Written out: now it drains. */
    ms_buf_consume(&s->out, ms_buf_size(&s->out));
    assert_true(ms_bus_core_drain(s));
    take(s, &l);
    assert_int_equal(l.n, NT - 1);
    size_t j = 0;
    for (size_t i = 0; i < NT; i++) {
        size_t t = (q + i) % NT;
        if (x[t] == own)
            continue;
        /* The latest value of tag t: the last k < NSET with k % NT == t. */
        uint64_t last = NSET - NT + t;
        assert_int_equal(l.m[j].cmd, MS_CMD_SET);
        assert_int_equal(l.m[j].tag_id, x[t]);
        assert_int_equal(wire_int(&l.m[j]), last);
        assert_true(l.m[j].time_us == 1000 + last);
        j++;
    }
    assert_true(c->n.conflated == NSET - q - (NT - 1));
    /* Nothing more is owed: once. */
    assert_false(ms_bus_core_drain(s));
    expect_nothing(s);
    /* Back to normal delivery. */
    send_int(a, x[0], 9000, 9000);
    m = take_one(s, MS_CMD_SET, x[0]);
    assert_int_equal(wire_int(&m), 9000);
    free(m.data);
    m = take_one(r, MS_CMD_SET, x[0]);
    free(m.data);
    rlist_free(&l);
    core_del(c);
}

/* Many owed tags drain in several rounds, each up to the high-water mark,
 * every tag exactly once and in first-owed order. */
static void test_conflation_drains_in_rounds(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, HW, 1u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "slow");
    enum { NT = 600 };
    uint16_t *x = calloc(NT, sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < NT; i++) {
        char n[16];
        snprintf(n, sizeof n, "tag%03d", i);
        x[i] = tag_id(a, n);
        sub(s, x[i]);
    }
    /* Fill the queue with one tag, then owe the others in a scrambled
     * order (i * 7 mod NT), each set twice. */
    int k = 0;
    while (ms_bus_conn_queued(s) + SETSZ <= HW) {
        send_int(a, x[0], (uint64_t)k, k);
        k++;
    }
    size_t q0 = ms_buf_size(&s->out) / SETSZ;
    uint16_t *order = calloc(NT, sizeof *order);
    assert_non_null(order);
    for (int round = 0; round < 2; round++) {
        for (int i = 1; i < NT; i++) {
            int t = (i * 7) % NT;
            if (t == 0)
                continue;
            send_int(a, x[t], 100000 + (uint64_t)round, round * 1000 + t);
        }
    }
    size_t no = 0;
    for (int i = 1; i < NT; i++)
        if ((i * 7) % NT)
            order[no++] = x[(i * 7) % NT];
    assert_int_equal(s->nclist, no);
    ms_buf_consume(&s->out, ms_buf_size(&s->out));
    rlist l = {0}, all = {0};
    int rounds = 0;
    while (ms_bus_core_drain(s)) {
        rounds++;
        assert_true(ms_bus_conn_queued(s) <= HW + SETSZ);
        take(s, &l);
        for (size_t i = 0; i < l.n; i++) {
            if (all.n == all.a) {
                all.a = all.a ? all.a * 2 : 64;
                all.m = realloc(all.m, all.a * sizeof *all.m);
            }
            all.m[all.n++] = l.m[i];
            l.m[i].data = NULL;
        }
        assert_true(rounds < 100);
    }
    assert_true(rounds > 1);
    assert_int_equal(all.n, no);
    for (size_t i = 0; i < no; i++) {
        assert_int_equal(all.m[i].tag_id, order[i]);
        int t = -1;
        for (int z = 0; z < NT; z++)
            if (x[z] == order[i])
                t = z;
        assert_int_equal(wire_int(&all.m[i]), 1000 + t); /* round 2 */
    }
    assert_true(c->n.conflated == (uint64_t)(k - (int)q0) + 2 * no - no);
    assert_int_equal(s->nclist, 0);
    rlist_free(&l);
    rlist_free(&all);
    free(order);
    free(x);
    core_del(c);
}

/* Bytes the I/O layer has in flight count as queued. */
static void test_inflight_counts(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, HW, 1u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "slow");
    uint16_t x = tag_id(a, "X");
    sub(s, x);
    s->inflight = HW;
    send_int(a, x, 1, 1);
    expect_nothing(s);
    assert_true(c->n.conflated == 1);
    s->inflight = HW / 2;
    assert_false(ms_bus_core_drain(s)); /* not under half yet */
    s->inflight = HW / 2 - 1;
    assert_true(ms_bus_core_drain(s));
    rmsg m = take_one(s, MS_CMD_SET, x);
    assert_int_equal(wire_int(&m), 1);
    free(m.data);
    assert_true(c->n.conflated == 0);
    s->inflight = 0;
    core_del(c);
}

/* BYTES values (RTA replies such as history data) are never conflated:
 * they queue past the high-water mark until the hard cap closes the
 * connection. Plain SETs in between still conflate. */
static void test_bytes_never_conflated(void **state)
{
    (void)state;
    size_t cap = 64 * 1024;
    ms_bus_core *c = core_new(1u << 20, HW, cap);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "slow");
    uint16_t bt = tag_id(a, "__history__"), pt = tag_id(a, "plain");
    sub(s, bt);
    sub(s, pt);
    uint8_t val[1001];
    val[0] = MS_TYPE_BYTES;
    int sent = 0, plain = 0;
    while (!s->closing) {
        for (size_t i = 1; i < sizeof val; i++)
            val[i] = (uint8_t)(sent + i);
        send_ok(a, MS_CMD_SET, bt, (uint64_t)sent, val, sizeof val);
        assert_true(ms_bus_conn_queued(s) <= cap);
        sent++;
        if (ms_bus_conn_queued(s) > HW && plain < 5) {
            send_int(a, pt, 1, plain++);
            assert_true(ms_bus_conn_queued(s) <= cap);
        }
        assert_true(sent < 1000);
    }
    assert_false(a->closing);
    assert_true(strlen(s->why) > 0);
    assert_true(c->n.conflated == 5); /* only the plain SETs */
    /* Everything queued before the cap is there, in order. */
    rlist l = {0};
    peek(s, &l);
    size_t per = MS_FRAME_HEAD + sizeof val;
    assert_int_equal(l.n, cap / per);
    assert_int_equal(l.n, sent - 1);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.m[i].tag_id, bt);
        assert_int_equal(l.m[i].len, sizeof val);
        assert_true(l.m[i].time_us == i);
        assert_int_equal(l.m[i].data[1], (uint8_t)(i + 1));
    }
    bool found;
    (void)pop_all(c, s, &found);
    assert_true(found);
    /* A closing connection gets nothing more and is not drained. */
    send_ok(a, MS_CMD_SET, bt, 1, val, sizeof val);
    assert_true(ms_bus_conn_queued(s) <= cap);
    ms_buf_consume(&s->out, ms_buf_size(&s->out));
    assert_false(ms_bus_core_drain(s));
    expect_nothing(s);
    /* The I/O layer frees it; the others carry on. */
    ms_bus_core_conn_free(s);
    assert_int_equal(ms_bus_tags_get(&c->tags, bt)->nsubs, 0);
    send_ok(a, MS_CMD_SET, bt, 1, val, sizeof val);
    rlist_free(&l);
    core_del(c);
}

/* A client that asks and never reads: replies are never dropped, so its
 * queue grows up to the hard cap, never past it, and then it is closed. */
static void test_non_reader_hits_hard_cap(void **state)
{
    (void)state;
    size_t cap = 32 * 1024;
    ms_bus_core *c = core_new(1u << 20, HW, cap);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "greedy");
    uint16_t x = tag_id(a, "X");
    for (int i = 0; i < 30; i++) {
        char n[16];
        snprintf(n, sizeof n, "name_%02d", i);
        (void)tag_id(a, n);
    }
    send_str(a, MS_CMD_SET, x, 1, "\x04" "bytes value");
    sub(s, x);
    int i = 0;
    while (!s->closing) {
        switch (i % 5) {
        case 0: send_str(s, MS_CMD_LIST, 0, 0, "name"); break;
        case 1: send_str(s, MS_CMD_ID, 0, 0, "X"); break;
        case 2: send_ok(s, MS_CMD_GET, 999, 0, NULL, 0); break; /* ERR */
        case 3: send_ok(s, MS_CMD_GET, x, 0, NULL, 0); break;
        default: send_str(a, MS_CMD_SET, x, 2, "\x04" "more bytes"); break;
        }
        assert_true(ms_bus_conn_queued(s) <= cap);
        assert_true(++i < 100000);
    }
    assert_true(ms_bus_conn_queued(s) > cap / 2);
    assert_true(strstr(s->why, "cap") != NULL);
    /* Its queue is whole messages. */
    rlist l = {0};
    peek(s, &l);
    assert_true(l.n > 0);
    rlist_free(&l);
    core_del(c);
}

/* ---- faults found (docs/design.md §6 rules the core breaks) -------------------------- */

/* A GET (or SUB) reply that had to be conflated because the asker's queue
 * was long must still come when it drains, even when the asker is the
 * tag's author: a request always gets its reply. */
static void test_owed_get_reply_to_author_comes(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, HW, 1u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *f = conn_new(c, "filler");
    uint16_t x = tag_id(a, "X"), fill = tag_id(f, "fill");
    send_int(a, x, 77, 77);
    sub(a, fill);
    /* Fill a's queue past the mark with BYTES (never conflated). */
    uint8_t val[1001] = {MS_TYPE_BYTES};
    while (ms_bus_conn_queued(a) <= HW)
        send_ok(f, MS_CMD_SET, fill, 1, val, sizeof val);
    send_ok(a, MS_CMD_GET, x, 0, NULL, 0);
    ms_buf_consume(&a->out, ms_buf_size(&a->out));
    (void)ms_bus_core_drain(a);
    rlist l = {0};
    take(a, &l);
    size_t n = l.n;
    bool ok = n == 1 && l.m[0].tag_id == x && wire_int(&l.m[0]) == 77;
    rlist_free(&l);
    core_del(c);
    if (!ok)
        fail_msg("GET of a tag the asker authored while its queue was over "
                 "the high-water mark: %zu replies after drain, expected "
                 "one SET of tag %u = 77 (the reply is owed, then skipped "
                 "by ms_bus_core_drain's `tag->author == conn` check)",
                 n, x);
}

/* The owed list must stay in proportion to the number of tags: a slow
 * subscriber that also sets the owed tag (clearing its owed bit) must not
 * add a new list entry every time the tag is owed again. (The bound leaves
 * room for stale entries up to a doubling of the list.) */
static void test_owed_list_bounded(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, HW, 1u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "slow");
    uint16_t x = tag_id(a, "X");
    sub(s, x);
    while (ms_bus_conn_queued(s) + SETSZ <= HW)
        send_int(a, x, 1, 1);
    for (int i = 0; i < 5000; i++) {
        send_int(a, x, 2, i); /* owed to s */
        send_int(s, x, 3, i); /* s sets it: no longer owed */
    }
    size_t n = s->nclist, bound = 2 * c->tags.count + 64;
    core_del(c);
    if (n > bound)
        fail_msg("owed list of a connection holds %zu entries for 1 tag "
                 "(owe() appends again after tag_publish cleared the bit "
                 "but left the entry): memory grows with every message",
                 n);
}

/* After UNSUB, the connection must not get a value set after the UNSUB
 * through a conflated (owed) entry. */
static void test_no_value_set_after_unsub(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, HW, 1u << 20);
    ms_bus_conn *a = conn_new(c, "a"), *s = conn_new(c, "slow");
    uint16_t x = tag_id(a, "X"), y = tag_id(a, "Y");
    sub(s, x);
    sub(s, y);
    while (ms_bus_conn_queued(s) + SETSZ <= HW)
        send_int(a, y, 1, 0);
    send_int(a, x, 10, 1); /* owed */
    send_ok(s, MS_CMD_UNSUB, x, 0, NULL, 0);
    send_int(a, x, 20, 2); /* after UNSUB: not for s */
    ms_buf_consume(&s->out, ms_buf_size(&s->out));
    (void)ms_bus_core_drain(s);
    rlist l = {0};
    take(s, &l);
    bool bad = false;
    for (size_t i = 0; i < l.n; i++)
        if (l.m[i].tag_id == x && wire_int(&l.m[i]) == 2)
            bad = true;
    rlist_free(&l);
    core_del(c);
    if (bad)
        fail_msg("value set after UNSUB delivered by ms_bus_core_drain "
                 "(UNSUB leaves the tag owed)");
}

int main(void)
{
    ms_log_setup("test_bus_core", MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_tag_started),
        cmocka_unit_test(test_id_assigns_in_order),
        cmocka_unit_test(test_id_invalid_names),
        cmocka_unit_test(test_set_fan_out),
        cmocka_unit_test(test_input_in_pieces),
        cmocka_unit_test(test_sub_replies_at_once),
        cmocka_unit_test(test_unsub),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_rta),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_unknown_tag_ids),
        cmocka_unit_test(test_unsupported_commands),
        cmocka_unit_test(test_bad_version_drops),
        cmocka_unit_test(test_payload_over_max),
        cmocka_unit_test(test_ids_run_out),
        cmocka_unit_test(test_conflation),
        cmocka_unit_test(test_conflation_drains_in_rounds),
        cmocka_unit_test(test_inflight_counts),
        cmocka_unit_test(test_bytes_never_conflated),
        cmocka_unit_test(test_non_reader_hits_hard_cap),
        cmocka_unit_test(test_owed_get_reply_to_author_comes),
        cmocka_unit_test(test_owed_list_bounded),
        cmocka_unit_test(test_no_value_set_after_unsub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
