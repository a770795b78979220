/* Bus frame codec (docs/design.md §6): headers, chunked encoding, re-assembly by
 * ms_frame_reader fed whole, byte by byte and in random pieces, the cap, the
 * real pymscada bytes; and the byte buffer (src/core/buf.c) it relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/value.h"
#include "ms_fixture.h"

#define MAXLEN MS_FRAME_MAX_LEN
#define HEAD MS_FRAME_HEAD

/* Payload sizes around the chunk boundary. */
static const size_t sizes[] = {0, 1, 65520, 65521, 65522, 131042};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng_state;
static void rng_seed(uint64_t s)
{
    rng_state = s ? s : 1;
}
static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint8_t *make_payload(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 8) * 13);
    return p;
}

static size_t unhex(const char *hex, uint8_t **out)
{
    size_t n = strlen(hex);
    assert_int_equal(n % 2, 0);
    uint8_t *b = malloc(n / 2 + 1);
    assert_non_null(b);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned x;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &x), 1);
        b[i] = (uint8_t)x;
    }
    *out = b;
    return n / 2;
}

/* A message the reader should hand out, and where it ends in the stream. */
typedef struct {
    uint8_t cmd;
    uint16_t tag_id;
    uint64_t time_us;
    const uint8_t *data;
    size_t len;
    size_t end; /* stream offset just past its last chunk */
} want_msg;

/* Appends a whole (chunked) message to stream s and records it in w. */
static void add_msg(ms_buf *s, want_msg *w, uint8_t cmd, uint16_t tag_id,
                    uint64_t time_us, const uint8_t *data, size_t len)
{
    size_t n = ms_frame_wire_size(len);
    uint8_t *p = ms_buf_reserve(s, n);
    assert_non_null(p);
    assert_int_equal(ms_frame_encode(p, cmd, tag_id, time_us, data, len), n);
    ms_buf_commit(s, n);
    if (w) {
        w->cmd = cmd;
        w->tag_id = tag_id;
        w->time_us = time_us;
        w->data = data;
        w->len = len;
        w->end = ms_buf_size(s);
    }
}

/* Appends one chunk (header + n bytes) to stream s. */
static void add_chunk(ms_buf *s, uint8_t cmd, uint16_t tag_id,
                      uint64_t time_us, const uint8_t *data, size_t n)
{
    uint8_t *p = ms_buf_reserve(s, HEAD + n);
    assert_non_null(p);
    ms_frame_head_encode(p, cmd, tag_id, (uint16_t)n, time_us);
    if (n)
        memcpy(p + HEAD, data, n);
    ms_buf_commit(s, HEAD + n);
}

typedef enum { FEED_ALL, FEED_BYTE, FEED_RANDOM } feed_mode;
static const char *const mode_name[] = {"all at once", "byte by byte",
                                        "random pieces"};

static size_t piece(feed_mode mode, size_t left)
{
    size_t k;
    switch (mode) {
    case FEED_ALL: return left;
    case FEED_BYTE: return 1;
    default:
        switch (rng() % 4) {
        case 0: k = 1 + rng() % 16; break;
        case 1: k = 1 + rng() % 1000; break;
        case 2: k = 1 + rng() % 70000; break;
        default: k = 1 + rng() % 200000; break;
        }
        return k < left ? k : left;
    }
}

typedef struct {
    size_t seen;     /* messages handed out */
    size_t consumed; /* stream bytes the reader said it used */
} feed_result;

/* Feeds stream s (n bytes) to r in pieces, keeping the unused bytes like a
 * caller would, and checks every message against want[]: header fields,
 * payload bytes and where in the stream it ended. Returns the reader's last
 * result: 0 when the stream ran out, or its error. */
static int feed(ms_frame_reader *r, const uint8_t *s, size_t n, feed_mode mode,
                const want_msg *want, size_t nwant, feed_result *res)
{
    ms_buf b = {0};
    size_t pos = 0;
    int rc = 0;
    res->seen = 0;
    res->consumed = 0;
    while (pos < n) {
        size_t k = piece(mode, n - pos);
        assert_int_equal(ms_buf_append(&b, s + pos, k), 0);
        pos += k;
        for (;;) {
            const uint8_t *h = ms_buf_head(&b);
            size_t len = ms_buf_size(&b);
            size_t used = (size_t)-1;
            ms_msg m;
            memset(&m, 0xee, sizeof m);
            rc = ms_frame_reader_next(r, h, len, &used, &m);
            assert_true(used <= len);
            assert_true(r->held <= r->cap);
            res->consumed += used;
            if (rc != 1) {
                ms_buf_consume(&b, used);
                break;
            }
            assert_true(used >= HEAD);
            if (res->seen >= nwant)
                fail_msg("%s: unexpected message %zu (tag %u, %zu bytes)",
                         mode_name[mode], res->seen, m.tag_id, m.len);
            const want_msg *w = &want[res->seen];
            assert_int_equal(m.cmd, w->cmd);
            assert_int_equal(m.tag_id, w->tag_id);
            assert_true(m.time_us == w->time_us);
            assert_int_equal(m.len, w->len);
            if (w->len)
                assert_memory_equal(m.data, w->data, w->len);
            /* The message boundary: it ends exactly after its last chunk. */
            if (res->consumed != w->end)
                fail_msg("%s: message %zu ended at %zu, expected %zu",
                         mode_name[mode], res->seen, res->consumed, w->end);
            /* Zero-copy data must lie within the bytes just used. */
            uintptr_t d = (uintptr_t)m.data, lo = (uintptr_t)h;
            if (d >= lo && d < lo + len)
                assert_true(d + m.len <= lo + used);
            res->seen++;
            ms_buf_consume(&b, used);
        }
        if (rc < 0)
            break;
        assert_int_equal(rc, 0);
        /* What is left holds no whole chunk. */
        size_t rest = ms_buf_size(&b);
        if (rest >= HEAD)
            assert_true(rest < (size_t)HEAD + ms_get_u16(ms_buf_head(&b) + 4));
    }
    ms_buf_free(&b);
    return rc;
}

/* Feeds s in all three ways to fresh readers with the given cap and expects
 * every message of want[] and the whole stream used. */
static void feed_all_ways(const uint8_t *s, size_t n, size_t cap,
                          const want_msg *want, size_t nwant)
{
    for (int mode = FEED_ALL; mode <= FEED_RANDOM; mode++) {
        ms_frame_reader r;
        ms_frame_reader_init(&r, cap);
        rng_seed(0x5eed0000u + (uint64_t)n);
        feed_result res;
        int rc = feed(&r, s, n, (feed_mode)mode, want, nwant, &res);
        if (rc != 0)
            fail_msg("%s: rc %d after %zu messages", mode_name[mode], rc,
                     res.seen);
        if (res.seen != nwant)
            fail_msg("%s: %zu messages, expected %zu", mode_name[mode],
                     res.seen, nwant);
        assert_int_equal(res.consumed, n);
        assert_int_equal(r.held, 0);
        assert_int_equal(r.npend, 0);
        ms_frame_reader_free(&r);
    }
}

/* ---- headers -------------------------------------------------------------- */

static void test_cmd_names(void **state)
{
    (void)state;
    static const char *names[] = {"ID",    "SET",  "GET", "RTA", "SUB",
                                  "UNSUB", "LIST", "ERR", "LOG"};
    for (int c = 1; c <= 9; c++)
        assert_string_equal(ms_cmd_name(c), names[c - 1]);
    assert_int_equal(MS_CMD_RTA, 4);
    assert_int_equal(MS_CMD_LOG, 9);
    assert_null(ms_cmd_name(0));
    assert_null(ms_cmd_name(10));
    assert_null(ms_cmd_name(-1));
    assert_null(ms_cmd_name(255));
}

static void test_head_encode_decode(void **state)
{
    (void)state;
    /* pymscada: A sets flow = 12.5 at 1700000000000000 (transcript step 3) */
    static const uint8_t want[HEAD] = {0x01, 0x02, 0x00, 0x02, 0x00, 0x09, 0x00,
                                       0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00};
    uint8_t out[HEAD + 2];
    memset(out, 0xa5, sizeof out);
    ms_frame_head_encode(out, MS_CMD_SET, 2, 9, 1700000000000000ULL);
    assert_memory_equal(out, want, HEAD);
    assert_int_equal(out[HEAD], 0xa5);

    ms_frame_head h;
    memset(&h, 0, sizeof h);
    assert_int_equal(ms_frame_head_decode(want, HEAD, &h), HEAD);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.cmd, MS_CMD_SET);
    assert_int_equal(h.tag_id, 2);
    assert_int_equal(h.size, 9);
    assert_true(h.time_us == 1700000000000000ULL);

    /* Every field at its extremes. */
    ms_frame_head_encode(out, 0xff, 0xffff, 0xffff, UINT64_MAX);
    static const uint8_t ones[HEAD] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(out, ones, HEAD);
    assert_int_equal(ms_frame_head_decode(out, HEAD, &h), HEAD);
    assert_int_equal(h.cmd, 0xff);
    assert_int_equal(h.tag_id, 0xffff);
    assert_int_equal(h.size, 0xffff);
    assert_true(h.time_us == UINT64_MAX);

    ms_frame_head_encode(out, MS_CMD_LIST, 0x1234, 0xfff1,
                         0x0102030405060708ULL);
    static const uint8_t mixed[HEAD] = {0x01, 0x07, 0x12, 0x34, 0xff,
                                        0xf1, 0x01, 0x02, 0x03, 0x04,
                                        0x05, 0x06, 0x07, 0x08};
    assert_memory_equal(out, mixed, HEAD);

    /* More bytes than a header: only 14 are read. */
    uint8_t longer[HEAD + 5];
    memcpy(longer, want, HEAD);
    memset(longer + HEAD, 0x02, 5);
    assert_int_equal(ms_frame_head_decode(longer, sizeof longer, &h), HEAD);
    assert_int_equal(h.size, 9);
}

static void test_head_short(void **state)
{
    (void)state;
    static const uint8_t bytes[HEAD] = {0x01, 0x02, 0x00, 0x02, 0x00, 0x09, 0x00,
                                        0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00};
    ms_frame_head h;
    /* Fewer than 14 bytes: not a header yet (ASan checks nothing past len
     * is read: each length gets its own exact-size copy). */
    for (size_t len = 0; len < HEAD; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, bytes, len);
        assert_int_equal(ms_frame_head_decode(copy, len, &h), 0);
        free(copy);
    }
}

static void test_head_bad_version(void **state)
{
    (void)state;
    static const uint8_t versions[] = {0x00, 0x02, 0x10, 0x7f, 0x80, 0xff};
    for (size_t k = 0; k < sizeof versions; k++) {
        uint8_t b[HEAD];
        ms_frame_head_encode(b, MS_CMD_GET, 999, 0x1234, 42);
        b[0] = versions[k];
        ms_frame_head h;
        memset(&h, 0, sizeof h);
        assert_int_equal(ms_frame_head_decode(b, HEAD, &h), MS_EPROTO);
        /* The header is filled in all the same. */
        assert_int_equal(h.version, versions[k]);
        assert_int_equal(h.cmd, MS_CMD_GET);
        assert_int_equal(h.tag_id, 999);
        assert_int_equal(h.size, 0x1234);
        assert_true(h.time_us == 42);
    }
}

/* ---- encoding ------------------------------------------------------------- */

static void test_wire_size(void **state)
{
    (void)state;
    static const size_t want[NSIZES] = {
        14,                 /* 0: one empty message */
        15,                 /* 1 */
        65520 + 14,         /* 65520: one short chunk */
        65521 + 2 * 14,     /* 65521: full chunk + empty chunk */
        65522 + 2 * 14,     /* 65522: full chunk + 1 byte */
        131042 + 3 * 14,    /* 131042: two full chunks + empty chunk */
    };
    for (size_t k = 0; k < NSIZES; k++)
        assert_int_equal(ms_frame_wire_size(sizes[k]), want[k]);
    assert_int_equal(ms_frame_wire_size(131041), 131041 + 2 * 14);
    assert_int_equal(ms_frame_wire_size(131043), 131043 + 3 * 14);
    assert_int_equal(ms_frame_wire_size(100000), 100000 + 2 * 14);
}

static void test_encode_sizes(void **state)
{
    (void)state;
    /* Expected chunk sizes for each payload size. */
    static const size_t chunks[NSIZES][4] = {
        {0, (size_t)-1},
        {1, (size_t)-1},
        {65520, (size_t)-1},
        {65521, 0, (size_t)-1},
        {65521, 1, (size_t)-1},
        {65521, 65521, 0, (size_t)-1},
    };
    for (size_t k = 0; k < NSIZES; k++) {
        size_t len = sizes[k];
        uint8_t *data = make_payload(len, (unsigned)k);
        size_t n = ms_frame_wire_size(len);
        uint8_t *out = malloc(n + 16);
        assert_non_null(out);
        memset(out, 0xa5, n + 16);
        assert_int_equal(ms_frame_encode(out, MS_CMD_SET, 0x4321, 0xabcdef + k,
                                         data, len),
                         n);
        for (size_t i = n; i < n + 16; i++)
            assert_int_equal(out[i], 0xa5);
        /* Walk the chunks. */
        size_t off = 0, got = 0, c = 0;
        for (; chunks[k][c] != (size_t)-1; c++) {
            ms_frame_head h;
            assert_true(off + HEAD <= n);
            assert_int_equal(ms_frame_head_decode(out + off, n - off, &h), HEAD);
            assert_int_equal(h.cmd, MS_CMD_SET);
            assert_int_equal(h.tag_id, 0x4321);
            assert_true(h.time_us == 0xabcdef + k);
            assert_int_equal(h.size, chunks[k][c]);
            off += HEAD;
            if (h.size)
                assert_memory_equal(out + off, data + got, h.size);
            off += h.size;
            got += h.size;
        }
        assert_int_equal(off, n);
        assert_int_equal(got, len);
        free(out);
        free(data);
    }
}

/* ---- re-assembly ---------------------------------------------------------- */

static void test_reader_each_size(void **state)
{
    (void)state;
    for (size_t k = 0; k < NSIZES; k++) {
        uint8_t *data = make_payload(sizes[k], (unsigned)k + 1);
        ms_buf s = {0};
        want_msg w;
        add_msg(&s, &w, MS_CMD_SET, (uint16_t)(100 + k),
                0x0102030405060708ULL + k, data, sizes[k]);
        assert_int_equal(ms_buf_size(&s), ms_frame_wire_size(sizes[k]));
        feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 0, &w, 1);
        /* A cap of exactly the payload is enough. */
        if (sizes[k] >= MAXLEN)
            feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), sizes[k], &w, 1);
        ms_buf_free(&s);
        free(data);
    }
}

static void test_reader_many_in_one_buffer(void **state)
{
    (void)state;
    /* All six sizes back to back, then again in reverse, each with its own
     * command, tag id and time; some on the same tag id one after another. */
    uint8_t *data[NSIZES];
    want_msg w[2 * NSIZES + 3];
    size_t nw = 0;
    ms_buf s = {0};
    for (size_t k = 0; k < NSIZES; k++) {
        data[k] = make_payload(sizes[k], (unsigned)(k * 31));
        add_msg(&s, &w[nw++], (uint8_t)(1 + k), (uint16_t)(7 + k),
                1700000000000000ULL + k, data[k], sizes[k]);
    }
    for (size_t k = NSIZES; k-- > 0;)
        add_msg(&s, &w[nw++], MS_CMD_SET, 5, k, data[k], sizes[k]);
    /* Short messages, as pymscada sends them: SUB, GET, an empty SET. */
    add_msg(&s, &w[nw++], MS_CMD_SUB, 2, 0, NULL, 0);
    add_msg(&s, &w[nw++], MS_CMD_GET, 2, 0, NULL, 0);
    add_msg(&s, &w[nw++], MS_CMD_SET, 2, 0, NULL, 0);
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 0, w, nw);

    /* The same stream cut short: partial header, then a partial message.
     * The reader hands out what is whole and keeps the rest. */
    size_t full = ms_buf_size(&s);
    static const uint8_t tail[] = {0x01, 0x02, 0x00, 0x09, 0x00, 0x09, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                                   0x01, 0x00, 0x00};
    for (size_t cut = 1; cut <= sizeof tail; cut += 6) {
        ms_buf t = {0};
        assert_int_equal(ms_buf_append(&t, ms_buf_head(&s), full), 0);
        assert_int_equal(ms_buf_append(&t, tail, cut), 0);
        for (int mode = FEED_ALL; mode <= FEED_RANDOM; mode++) {
            ms_frame_reader r;
            ms_frame_reader_init(&r, 0);
            rng_seed(77 + cut);
            feed_result res;
            assert_int_equal(feed(&r, ms_buf_head(&t), ms_buf_size(&t),
                                  (feed_mode)mode, w, nw, &res),
                             0);
            assert_int_equal(res.seen, nw);
            assert_int_equal(res.consumed, full);
            ms_frame_reader_free(&r);
        }
        ms_buf_free(&t);
    }
    ms_buf_free(&s);
    for (size_t k = 0; k < NSIZES; k++)
        free(data[k]);
}

static void test_reader_interleaved(void **state)
{
    (void)state;
    /* A: tag 10, 2*MAXLEN + 5 bytes; B: tag 20, MAXLEN + 10 bytes;
     * C: tag 30, 3 bytes alone; D: tag 40, exactly MAXLEN (ends empty). */
    size_t la = 2 * MAXLEN + 5, lb = MAXLEN + 10, lc = 3, ld = MAXLEN;
    uint8_t *a = make_payload(la, 1), *b = make_payload(lb, 2),
            *c = make_payload(lc, 3), *d = make_payload(ld, 4);
    ms_buf s = {0};
    want_msg w[4];
    add_chunk(&s, MS_CMD_SET, 10, 1000, a, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 20, 2000, b, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 40, 4000, d, MAXLEN);
    add_msg(&s, &w[0], MS_CMD_SET, 30, 3000, c, lc); /* C while others wait */
    add_chunk(&s, MS_CMD_SET, 10, 1000, a + MAXLEN, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 20, 2000, b + MAXLEN, 10); /* B ends */
    w[1] = (want_msg){MS_CMD_SET, 20, 2000, b, lb, ms_buf_size(&s)};
    add_chunk(&s, MS_CMD_SET, 40, 4000, NULL, 0); /* D ends, empty chunk */
    w[2] = (want_msg){MS_CMD_SET, 40, 4000, d, ld, ms_buf_size(&s)};
    add_chunk(&s, MS_CMD_SET, 10, 1000, a + 2 * MAXLEN, 5); /* A ends */
    w[3] = (want_msg){MS_CMD_SET, 10, 1000, a, la, ms_buf_size(&s)};
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 0, w, 4);
    /* The cap bounds what is held at once: at most A's two chunks, B's and
     * D's, i.e. 4 * MAXLEN before B's end arrives (B's 10 bytes on top). */
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 4 * MAXLEN + 10, w, 4);

    /* Two tag ids alternating chunk by chunk, both multi-chunk, ending in
     * the other order than they began. */
    ms_buf t = {0};
    add_chunk(&t, MS_CMD_RTA, 1, 11, a, MAXLEN);
    add_chunk(&t, MS_CMD_SET, 2, 22, b, MAXLEN);
    add_chunk(&t, MS_CMD_SET, 2, 22, b + MAXLEN, 10);
    w[0] = (want_msg){MS_CMD_SET, 2, 22, b, lb, ms_buf_size(&t)};
    add_chunk(&t, MS_CMD_RTA, 1, 11, a + MAXLEN, MAXLEN);
    add_chunk(&t, MS_CMD_RTA, 1, 11, a + 2 * MAXLEN, 5);
    w[1] = (want_msg){MS_CMD_RTA, 1, 11, a, la, ms_buf_size(&t)};
    /* and the same tag id again right after, a fresh payload */
    add_msg(&t, &w[2], MS_CMD_SET, 1, 12, c, lc);
    feed_all_ways(ms_buf_head(&t), ms_buf_size(&t), 0, w, 3);

    ms_buf_free(&s);
    ms_buf_free(&t);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* Feeds s every way to a reader with cap and expects want[0..nok) and then
 * MS_ETOOBIG from the chunk of bad_tag that ends at stream offset bad_end. */
static void expect_toobig(const uint8_t *s, size_t n, size_t cap,
                          const want_msg *want, size_t nok, uint16_t bad_tag,
                          uint16_t bad_size, size_t bad_end)
{
    for (int mode = FEED_ALL; mode <= FEED_RANDOM; mode++) {
        ms_frame_reader r;
        ms_frame_reader_init(&r, cap);
        rng_seed(99 + cap);
        feed_result res;
        int rc = feed(&r, s, n, (feed_mode)mode, want, nok, &res);
        if (rc != MS_ETOOBIG)
            fail_msg("%s, cap %zu: rc %d, expected MS_ETOOBIG",
                     mode_name[mode], cap, rc);
        assert_int_equal(res.seen, nok);
        assert_int_equal(r.bad.tag_id, bad_tag);
        assert_int_equal(r.bad.size, bad_size);
        assert_int_equal(r.bad.version, 1);
        /* used covers the offending chunk (the stream is dropped anyway) */
        assert_int_equal(res.consumed, bad_end);
        assert_true(r.held <= cap);
        ms_frame_reader_free(&r);
    }
}

static void test_reader_cap(void **state)
{
    (void)state;
    uint8_t *p = make_payload(2 * MAXLEN + 2, 9);
    want_msg w[3];

    /* cap MAXLEN: a payload of MAXLEN fits (full chunk + empty), twice in a
     * row on the same tag (what was held is given back); MAXLEN+1 doesn't. */
    ms_buf s = {0};
    add_msg(&s, &w[0], MS_CMD_SET, 3, 1, p, MAXLEN);
    add_msg(&s, &w[1], MS_CMD_SET, 3, 2, p + 1, MAXLEN);
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), MAXLEN, w, 2);
    add_msg(&s, NULL, MS_CMD_SET, 3, 3, p, MAXLEN + 1);
    expect_toobig(ms_buf_head(&s), ms_buf_size(&s), MAXLEN, w, 2, 3, 1,
                  ms_buf_size(&s));
    ms_buf_free(&s);

    /* cap 2*MAXLEN: 131042 fits, 131043 doesn't. */
    add_msg(&s, &w[0], MS_CMD_SET, 4, 1, p, 2 * MAXLEN);
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 2 * MAXLEN, w, 1);
    add_msg(&s, NULL, MS_CMD_SET, 4, 1, p, 2 * MAXLEN + 1);
    expect_toobig(ms_buf_head(&s), ms_buf_size(&s), 2 * MAXLEN, w, 1, 4, 1,
                  ms_buf_size(&s));
    ms_buf_free(&s);

    /* A cap below one chunk: the first full chunk is refused. */
    add_msg(&s, &w[0], MS_CMD_SET, 5, 1, p, 100);
    size_t first = ms_buf_size(&s);
    add_msg(&s, NULL, MS_CMD_SET, 6, 1, p, MAXLEN + 1);
    expect_toobig(ms_buf_head(&s), ms_buf_size(&s), 1000, w, 1, 6, MAXLEN,
                  first + HEAD + MAXLEN);
    ms_buf_free(&s);

    /* The sum over two tag ids: A and B each hold a full chunk (2*MAXLEN,
     * at the cap); A's 1-byte end passes it although A alone (MAXLEN+1)
     * would not. */
    add_chunk(&s, MS_CMD_SET, 7, 1, p, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 8, 1, p + 1, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 7, 1, p + MAXLEN, 1);
    size_t a_end = ms_buf_size(&s);
    add_chunk(&s, MS_CMD_SET, 8, 1, p + 1 + MAXLEN, 0);
    size_t b_end = ms_buf_size(&s);
    expect_toobig(ms_buf_head(&s), ms_buf_size(&s), 2 * MAXLEN, w, 0, 7, 1,
                  a_end);
    /* One byte more of cap and both come through. */
    w[0] = (want_msg){MS_CMD_SET, 7, 1, p, MAXLEN + 1, a_end};
    w[1] = (want_msg){MS_CMD_SET, 8, 1, p + 1, MAXLEN, b_end};
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 2 * MAXLEN + 1, w, 2);
    ms_buf_free(&s);

    /* A third tag's full chunk is refused while two are held at the cap. */
    add_chunk(&s, MS_CMD_SET, 7, 1, p, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 8, 1, p, MAXLEN);
    add_chunk(&s, MS_CMD_SET, 9, 1, p, MAXLEN);
    expect_toobig(ms_buf_head(&s), ms_buf_size(&s), 2 * MAXLEN, w, 0, 9,
                  MAXLEN, ms_buf_size(&s));
    ms_buf_free(&s);

    /* The default cap. */
    ms_frame_reader r;
    ms_frame_reader_init(&r, 0);
    assert_int_equal(r.cap, MS_FRAME_DEFAULT_CAP);
    ms_frame_reader_free(&r);
    free(p);
}

static void test_reader_bad_version(void **state)
{
    (void)state;
    uint8_t *p = make_payload(MAXLEN + 5, 2);
    want_msg w[1];
    for (int where = 0; where < 2; where++) {
        ms_buf s = {0};
        add_msg(&s, &w[0], MS_CMD_SET, 2, 5, p, 9);
        size_t good = ms_buf_size(&s);
        if (where == 1) {
            /* after a full chunk, in the middle of a chunked payload */
            add_chunk(&s, MS_CMD_SET, 3, 5, p, MAXLEN);
            good = ms_buf_size(&s);
        }
        uint8_t bad[HEAD + 4];
        ms_frame_head_encode(bad, MS_CMD_LIST, 0x0102, 4, 0x77);
        bad[0] = 2;
        memcpy(bad + HEAD, "^abc", 4);
        assert_int_equal(ms_buf_append(&s, bad, sizeof bad), 0);
        /* a valid message after it is never reached */
        add_msg(&s, NULL, MS_CMD_SET, 2, 6, p, 9);
        for (int mode = FEED_ALL; mode <= FEED_RANDOM; mode++) {
            ms_frame_reader r;
            ms_frame_reader_init(&r, 0);
            rng_seed(5);
            feed_result res;
            int rc = feed(&r, ms_buf_head(&s), ms_buf_size(&s),
                          (feed_mode)mode, w, 1, &res);
            assert_int_equal(rc, MS_EPROTO);
            assert_int_equal(res.seen, 1);
            /* The reader stops at the bad header. */
            assert_int_equal(res.consumed, good);
            assert_int_equal(r.bad.version, 2);
            assert_int_equal(r.bad.cmd, MS_CMD_LIST);
            assert_int_equal(r.bad.tag_id, 0x0102);
            assert_int_equal(r.bad.size, 4);
            assert_true(r.bad.time_us == 0x77);
            ms_frame_reader_free(&r);
        }
        ms_buf_free(&s);
    }
    free(p);
}

static void test_reader_zero_copy(void **state)
{
    (void)state;
    /* A single short message is handed out in place; an assembled one from
     * the reader's memory, which stays valid until the next call. */
    uint8_t *p = make_payload(MAXLEN + 3, 4);
    ms_buf s = {0};
    add_msg(&s, NULL, MS_CMD_SET, 1, 1, p, 9);
    add_msg(&s, NULL, MS_CMD_SET, 1, 1, p, MAXLEN + 3);
    ms_frame_reader r;
    ms_frame_reader_init(&r, 0);
    const uint8_t *b = ms_buf_head(&s);
    size_t n = ms_buf_size(&s), used;
    ms_msg m;
    assert_int_equal(ms_frame_reader_next(&r, b, n, &used, &m), 1);
    assert_ptr_equal(m.data, b + HEAD);
    assert_int_equal(used, HEAD + 9);
    b += used;
    n -= used;
    assert_int_equal(ms_frame_reader_next(&r, b, n, &used, &m), 1);
    assert_int_equal(used, n);
    assert_int_equal(m.len, MAXLEN + 3);
    assert_memory_equal(m.data, p, MAXLEN + 3);
    /* Nothing left: 0 and no bytes used; frees the assembled copy. */
    assert_int_equal(ms_frame_reader_next(&r, b + used, 0, &used, &m), 0);
    assert_int_equal(used, 0);
    /* Freed with a partial payload pending: no leak (ASan checks). */
    add_chunk(&s, MS_CMD_SET, 9, 1, p, MAXLEN);
    b = ms_buf_head(&s) + ms_buf_size(&s) - (HEAD + MAXLEN);
    assert_int_equal(ms_frame_reader_next(&r, b, HEAD + MAXLEN, &used, &m), 0);
    assert_int_equal(used, HEAD + MAXLEN);
    assert_int_equal(r.held, MAXLEN);
    assert_int_equal(r.npend, 1);
    ms_frame_reader_free(&r);
    ms_buf_free(&s);
    free(p);
}

static void test_reader_reuse_and_reset(void **state)
{
    (void)state;
    /* Two assembled messages in turn: the second re-assembles into the
     * first one's memory once that is handed back (the next call), and is
     * whole and right. */
    uint8_t *p = make_payload(MAXLEN + 3, 5);
    uint8_t *q = make_payload(MAXLEN + 7, 6);
    ms_buf s = {0};
    add_msg(&s, NULL, MS_CMD_SET, 1, 1, p, MAXLEN + 3);
    add_msg(&s, NULL, MS_CMD_SET, 2, 1, q, MAXLEN + 7);
    ms_frame_reader r;
    ms_frame_reader_init(&r, 0);
    const uint8_t *b = ms_buf_head(&s);
    size_t n = ms_buf_size(&s), used;
    ms_msg m;
    assert_int_equal(ms_frame_reader_next(&r, b, n, &used, &m), 1);
    assert_int_equal(m.len, MAXLEN + 3);
    assert_memory_equal(m.data, p, MAXLEN + 3);
    const uint8_t *first = m.data;
    assert_int_equal(ms_frame_reader_next(&r, b + used, n - used, &used, &m),
                     1);
    assert_int_equal(m.tag_id, 2);
    assert_int_equal(m.len, MAXLEN + 7);
    assert_memory_equal(m.data, q, MAXLEN + 7);
    assert_ptr_equal(m.data, first);
    /* Reset with a partial payload pending: empty as a fresh reader, with
     * the new cap; the same stream then reads the same again. */
    add_chunk(&s, MS_CMD_SET, 9, 1, p, MAXLEN);
    b = ms_buf_head(&s) + ms_buf_size(&s) - (HEAD + MAXLEN);
    assert_int_equal(ms_frame_reader_next(&r, b, HEAD + MAXLEN, &used, &m), 0);
    assert_int_equal(r.npend, 1);
    ms_frame_reader_reset(&r, 2 * MAXLEN);
    assert_int_equal(r.cap, 2 * MAXLEN);
    assert_int_equal(r.held, 0);
    assert_int_equal(r.npend, 0);
    assert_null(r.out);
    b = ms_buf_head(&s);
    assert_int_equal(ms_frame_reader_next(&r, b, n, &used, &m), 1);
    assert_int_equal(m.len, MAXLEN + 3);
    assert_memory_equal(m.data, p, MAXLEN + 3);
    ms_frame_reader_free(&r);
    ms_buf_free(&s);
    free(p);
    free(q);
}

static void test_encode_random_round_trip(void **state)
{
    (void)state;
    /* Random sizes (many near chunk multiples), encoded together, read back
     * in random pieces. */
    rng_seed(2024);
    enum { N = 24 };
    uint8_t *data[N];
    want_msg w[N];
    ms_buf s = {0};
    for (int i = 0; i < N; i++) {
        size_t len;
        switch (rng() % 3) {
        case 0: len = rng() % 100; break;
        case 1: len = (1 + rng() % 3) * MAXLEN + (rng() % 5) - 2; break;
        default: len = rng() % (3 * MAXLEN); break;
        }
        data[i] = make_payload(len, (unsigned)i);
        add_msg(&s, &w[i], (uint8_t)(1 + rng() % 9), (uint16_t)(rng() % 4),
                rng(), data[i], len);
    }
    feed_all_ways(ms_buf_head(&s), ms_buf_size(&s), 0, w, N);
    ms_buf_free(&s);
    for (int i = 0; i < N; i++)
        free(data[i]);
}

/* ---- the pymscada transcript ---------------------------------------------- */

static json_t *load_transcript(void)
{
    json_error_t err;
    json_t *root = json_load_file(
        ms_fixture("pymscada-bus/transcript.json"), 0, &err);
    if (!root)
        fail_msg("transcript.json: %s (line %d)", err.text, err.line);
    return root;
}

static void test_transcript_big_str(void **state)
{
    (void)state;
    json_t *root = load_transcript();
    json_t *step = json_array_get(json_object_get(root, "steps"), 10);
    assert_non_null(step);
    const char *hex[2] = {
        json_string_value(json_object_get(step, "send")),
        json_string_value(json_object_get(json_object_get(step, "recv"), "B")),
    };
    /* pymscada's bytes: a 100000-byte payload (STR type byte + 99999 'x')
     * as a full chunk of 65521 and a last chunk of 34479. */
    size_t plen = 100000;
    uint8_t *payload = malloc(plen);
    assert_non_null(payload);
    payload[0] = MS_TYPE_STR;
    memset(payload + 1, 'x', plen - 1);
    for (int k = 0; k < 2; k++) {
        assert_non_null(hex[k]);
        uint8_t *wire;
        size_t n = unhex(hex[k], &wire);
        assert_int_equal(n, ms_frame_wire_size(plen));
        want_msg w = {MS_CMD_SET, 2, 0x00060a24181e4002ULL, payload, plen, n};
        feed_all_ways(wire, n, 0, &w, 1);

        /* Our encoder writes the very same bytes. */
        uint8_t *enc = malloc(n);
        assert_non_null(enc);
        assert_int_equal(ms_frame_encode(enc, MS_CMD_SET, 2,
                                         0x00060a24181e4002ULL, payload, plen),
                         n);
        assert_memory_equal(enc, wire, n);
        free(enc);

        /* And the payload decodes to the string. */
        ms_frame_reader r;
        ms_frame_reader_init(&r, 0);
        size_t used;
        ms_msg m;
        assert_int_equal(ms_frame_reader_next(&r, wire, n, &used, &m), 1);
        assert_int_equal(used, n);
        ms_value v;
        assert_int_equal(ms_value_decode(m.data, m.len, &v), 0);
        assert_int_equal(v.type, MS_TYPE_STR);
        assert_int_equal(v.u.buf.len, plen - 1);
        assert_memory_equal(v.u.buf.ptr, payload + 1, plen - 1);
        ms_frame_reader_free(&r);
        free(wire);
    }
    free(payload);
    json_decref(root);
}

/* Every stream in the transcript reads whole, with the expected number of
 * messages (step 0's reply to A is pymscada's ERR, then the ID). */
static void test_transcript_all_streams(void **state)
{
    (void)state;
    json_t *root = load_transcript();
    json_t *steps = json_object_get(root, "steps");
    assert_true(json_array_size(steps) >= 14);
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(steps); i++) {
        json_t *step = json_array_get(steps, i);
        json_t *recv = json_object_get(step, "recv");
        const char *hex[3] = {
            json_string_value(json_object_get(step, "send")),
            json_string_value(json_object_get(recv, "A")),
            json_string_value(json_object_get(recv, "B")),
        };
        for (int k = 0; k < 3; k++) {
            assert_non_null(hex[k]);
            uint8_t *wire;
            size_t n = unhex(hex[k], &wire);
            ms_frame_reader r;
            ms_frame_reader_init(&r, 0);
            size_t off = 0, used, count = 0;
            ms_msg m;
            int rc;
            uint8_t cmds[4] = {0};
            while ((rc = ms_frame_reader_next(&r, wire + off, n - off, &used,
                                              &m)) == 1) {
                off += used;
                assert_non_null(ms_cmd_name(m.cmd));
                if (count < 4)
                    cmds[count] = m.cmd;
                count++;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(off, n);
            if (i == 0 && k == 1) {
                assert_int_equal(count, 2);
                assert_int_equal(cmds[0], MS_CMD_ERR);
                assert_int_equal(cmds[1], MS_CMD_ID);
            }
            total += count;
            ms_frame_reader_free(&r);
            free(wire);
        }
    }
    assert_true(total >= 20);
    json_decref(root);
}

/* ---- the byte buffer (src/core/buf.c) ------------------------------------- */

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 3 + seed);
}

static void check_fill(const uint8_t *p, size_t n, size_t from, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)((i + from) * 3 + seed))
            fail_msg("byte %zu: %u", i, p[i]);
}

static void test_buf_reserve_commit(void **state)
{
    (void)state;
    ms_buf b = {0};
    assert_int_equal(ms_buf_size(&b), 0);
    uint8_t *w = ms_buf_reserve(&b, 10);
    assert_non_null(w);
    assert_true(b.cap >= 10);
    fill(w, 10, 1);
    assert_int_equal(ms_buf_size(&b), 0); /* not yet committed */
    ms_buf_commit(&b, 10);
    assert_int_equal(ms_buf_size(&b), 10);
    check_fill(ms_buf_head(&b), 10, 0, 1);

    /* Reserve more than is used: commit only part of it. */
    w = ms_buf_reserve(&b, 100);
    assert_non_null(w);
    assert_ptr_equal(w, ms_buf_head(&b) + 10);
    fill(w, 100, 0);
    ms_buf_commit(&b, 5);
    assert_int_equal(ms_buf_size(&b), 15);

    /* Growth keeps the bytes. */
    ms_buf_free(&b);
    uint8_t src[10000];
    fill(src, sizeof src, 7);
    for (size_t i = 0; i < sizeof src; i += 1000)
        assert_int_equal(ms_buf_append(&b, src + i, 1000), 0);
    assert_int_equal(ms_buf_size(&b), sizeof src);
    assert_true(b.cap >= sizeof src);
    assert_memory_equal(ms_buf_head(&b), src, sizeof src);
    w = ms_buf_reserve(&b, 1 << 20);
    assert_non_null(w);
    assert_true(b.cap - b.len >= (1u << 20));
    assert_memory_equal(ms_buf_head(&b), src, sizeof src);
    ms_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.off, 0);
}

static void test_buf_consume(void **state)
{
    (void)state;
    ms_buf b = {0};
    uint8_t src[300];
    fill(src, sizeof src, 0);
    assert_int_equal(ms_buf_append(&b, src, sizeof src), 0);
    ms_buf_consume(&b, 0);
    assert_int_equal(ms_buf_size(&b), 300);
    ms_buf_consume(&b, 100);
    assert_int_equal(ms_buf_size(&b), 200);
    check_fill(ms_buf_head(&b), 200, 100, 0);
    ms_buf_consume(&b, 199);
    assert_int_equal(ms_buf_size(&b), 1);
    check_fill(ms_buf_head(&b), 1, 299, 0);
    /* Emptied: offsets go back to the start, memory stays. */
    size_t cap = b.cap;
    ms_buf_consume(&b, 1);
    assert_int_equal(ms_buf_size(&b), 0);
    assert_int_equal(b.off, 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    /* Consuming past the end empties the buffer. */
    assert_int_equal(ms_buf_append(&b, src, 10), 0);
    ms_buf_consume(&b, 50);
    assert_int_equal(ms_buf_size(&b), 0);
    /* Append after consume keeps order. */
    assert_int_equal(ms_buf_append(&b, src, 20), 0);
    ms_buf_consume(&b, 5);
    assert_int_equal(ms_buf_append(&b, src + 20, 20), 0);
    check_fill(ms_buf_head(&b), 35, 5, 0);
    ms_buf_free(&b);
}

static void test_buf_slide(void **state)
{
    (void)state;
    ms_buf b = {0};
    uint8_t src[4096];
    fill(src, sizeof src, 3);

    /* Most consumed: live bytes slide to the front, in place. */
    assert_non_null(ms_buf_reserve(&b, 1));
    size_t cap = b.cap;
    assert_true(cap >= 3000);
    assert_int_equal(ms_buf_append(&b, src, 3000), 0);
    ms_buf_consume(&b, 2500);
    uint8_t *data = b.data;
    size_t room = cap - b.len; /* less than asked below */
    uint8_t *w = ms_buf_reserve(&b, room + 1);
    assert_non_null(w);
    assert_int_equal(b.off, 0);
    assert_int_equal(ms_buf_size(&b), 500);
    assert_ptr_equal(w, b.data + 500);
    assert_true(b.cap - b.len >= room + 1);
    assert_ptr_equal(b.data, data); /* slid, not reallocated */
    assert_int_equal(b.cap, cap);
    check_fill(ms_buf_head(&b), 500, 2500, 3);
    ms_buf_free(&b);

    /* Little consumed: bytes move (by copy or slide) but stay intact. */
    assert_int_equal(ms_buf_append(&b, src, 3000), 0);
    ms_buf_consume(&b, 1000);
    cap = b.cap;
    w = ms_buf_reserve(&b, cap - 3000 + 1);
    assert_non_null(w);
    assert_ptr_equal(w, ms_buf_head(&b) + 2000);
    assert_true(b.cap - b.len >= cap - 3000 + 1);
    check_fill(ms_buf_head(&b), 2000, 1000, 3);
    ms_buf_free(&b);

    /* Consumed and more than the capacity asked: grows, bytes intact. */
    assert_int_equal(ms_buf_append(&b, src, 4096), 0);
    ms_buf_consume(&b, 100);
    w = ms_buf_reserve(&b, 3 * b.cap);
    assert_non_null(w);
    assert_ptr_equal(w, ms_buf_head(&b) + 3996);
    check_fill(ms_buf_head(&b), 3996, 100, 3);
    ms_buf_free(&b);

    /* A long run of append/consume never loses or reorders a byte. */
    rng_seed(31);
    size_t in = 0, out = 0;
    uint8_t big[5000];
    for (int i = 0; i < 20000; i++) {
        size_t k = rng() % sizeof big;
        if (rng() & 1) {
            for (size_t j = 0; j < k; j++)
                big[j] = (uint8_t)((in + j) * 3 + 1);
            assert_int_equal(ms_buf_append(&b, big, k), 0);
            in += k;
        } else {
            if (k > ms_buf_size(&b))
                k = ms_buf_size(&b);
            check_fill(ms_buf_head(&b), k, out, 1);
            ms_buf_consume(&b, k);
            out += k;
        }
        assert_int_equal(ms_buf_size(&b), in - out);
        assert_true(b.off <= b.len && b.len <= b.cap);
    }
    ms_buf_free(&b);
}

static void test_buf_shrink(void **state)
{
    (void)state;
    ms_buf b = {0};
    uint8_t src[100000];
    fill(src, sizeof src, 5);
    assert_int_equal(ms_buf_append(&b, src, sizeof src), 0);
    size_t cap = b.cap;
    /* Not empty: nothing changes. */
    ms_buf_shrink(&b, 0);
    assert_int_equal(b.cap, cap);
    assert_int_equal(ms_buf_size(&b), sizeof src);
    assert_memory_equal(ms_buf_head(&b), src, sizeof src);
    ms_buf_consume(&b, 10);
    ms_buf_shrink(&b, 0);
    assert_int_equal(b.cap, cap);
    check_fill(ms_buf_head(&b), sizeof src - 10, 10, 5);
    /* Empty and at most `keep`: the memory stays. */
    ms_buf_consume(&b, sizeof src);
    uint8_t *data = b.data;
    ms_buf_shrink(&b, cap);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    /* Empty and above `keep`: memory goes down to at most `keep`. */
    ms_buf_shrink(&b, 4096);
    assert_true(b.cap <= 4096);
    assert_int_equal(ms_buf_size(&b), 0);
    /* Still usable. */
    assert_int_equal(ms_buf_append(&b, src, 10), 0);
    assert_memory_equal(ms_buf_head(&b), src, 10);
    ms_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_names),
        cmocka_unit_test(test_head_encode_decode),
        cmocka_unit_test(test_head_short),
        cmocka_unit_test(test_head_bad_version),
        cmocka_unit_test(test_wire_size),
        cmocka_unit_test(test_encode_sizes),
        cmocka_unit_test(test_reader_each_size),
        cmocka_unit_test(test_reader_many_in_one_buffer),
        cmocka_unit_test(test_reader_interleaved),
        cmocka_unit_test(test_reader_cap),
        cmocka_unit_test(test_reader_bad_version),
        cmocka_unit_test(test_reader_zero_copy),
        cmocka_unit_test(test_reader_reuse_and_reset),
        cmocka_unit_test(test_encode_random_round_trip),
        cmocka_unit_test(test_transcript_big_str),
        cmocka_unit_test(test_transcript_all_streams),
        cmocka_unit_test(test_buf_reserve_commit),
        cmocka_unit_test(test_buf_consume),
        cmocka_unit_test(test_buf_slide),
        cmocka_unit_test(test_buf_shrink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
