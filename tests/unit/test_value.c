/* Value codec (docs/design.md §5): every type's wire form against hand-written
 * bytes, the real pymscada bytes from the bus transcript, and the rejection
 * of wrong lengths, unknown type bytes and invalid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/value.h"
#include "ms_fixture.h"

#define SENTINEL 0xA5

/* Encodes v into a buffer of exactly cap bytes followed by sentinels and
 * checks the result against want (wantlen bytes) and that nothing past the
 * written bytes was touched. */
static void check_encode(const ms_value *v, const uint8_t *want, size_t wantlen)
{
    uint8_t out[64];
    assert_true(wantlen + 8 <= sizeof out);
    memset(out, SENTINEL, sizeof out);
    assert_int_equal(ms_value_wire_size(v), wantlen);
    long n = ms_value_encode(v, out, wantlen);
    assert_int_equal(n, (long)wantlen);
    if (wantlen)
        assert_memory_equal(out, want, wantlen);
    for (size_t i = wantlen; i < sizeof out; i++)
        assert_int_equal(out[i], SENTINEL);
}

static int64_t decode_int(const uint8_t *buf, size_t len)
{
    ms_value v;
    assert_int_equal(ms_value_decode(buf, len, &v), 0);
    assert_int_equal(v.type, MS_TYPE_INT);
    return v.u.i;
}

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}

/* ---- type names ------------------------------------------------------- */

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ms_type_name(MS_TYPE_NONE), "none");
    assert_string_equal(ms_type_name(MS_TYPE_INT), "int");
    assert_string_equal(ms_type_name(MS_TYPE_FLOAT), "float");
    assert_string_equal(ms_type_name(MS_TYPE_STR), "str");
    assert_string_equal(ms_type_name(MS_TYPE_BYTES), "bytes");
    assert_string_equal(ms_type_name(MS_TYPE_JSON), "json");
    assert_null(ms_type_name((ms_type)6));
    assert_null(ms_type_name((ms_type)255));
    assert_null(ms_type_name((ms_type)-1));
}

/* ---- INT ------------------------------------------------------------------ */

static void test_int_wire(void **state)
{
    (void)state;
    static const struct {
        int64_t i;
        uint8_t wire[9];
    } cases[] = {
        /* pymscada: flow = 7 (transcript step 4) */
        {7, {0x01, 0, 0, 0, 0, 0, 0, 0, 0x07}},
        {0, {0x01, 0, 0, 0, 0, 0, 0, 0, 0}},
        {-1, {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {-2, {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}},
        {256, {0x01, 0, 0, 0, 0, 0, 0, 0x01, 0x00}},
        {0x0102030405060708LL,
         {0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}},
        {INT64_MAX, {0x01, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {INT64_MIN, {0x01, 0x80, 0, 0, 0, 0, 0, 0, 0}},
        {1700000000000000LL,
         {0x01, 0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ms_value v = ms_value_int(cases[k].i);
        check_encode(&v, cases[k].wire, 9);
        assert_true(decode_int(cases[k].wire, 9) == cases[k].i);
    }
}

static void test_int_wrong_length(void **state)
{
    (void)state;
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    buf[0] = MS_TYPE_INT;
    for (size_t len = 1; len < sizeof buf; len++) {
        if (len == 9)
            continue;
        ms_value v = ms_value_buf(MS_TYPE_STR, "untouched", 9);
        assert_int_equal(ms_value_decode(buf, len, &v), MS_EPROTO);
    }
}

/* ---- FLOAT ---------------------------------------------------------------- */

static void test_float_wire(void **state)
{
    (void)state;
    static const struct {
        uint64_t bits;
        uint8_t wire[9];
    } cases[] = {
        /* pymscada: flow = 12.5 (transcript step 3) */
        {0x4029000000000000ULL, {0x02, 0x40, 0x29, 0, 0, 0, 0, 0, 0}},
        /* 1.0, -2.0, 0.0, -0.0 */
        {0x3ff0000000000000ULL, {0x02, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
        {0xc000000000000000ULL, {0x02, 0xc0, 0x00, 0, 0, 0, 0, 0, 0}},
        {0x0000000000000000ULL, {0x02, 0, 0, 0, 0, 0, 0, 0, 0}},
        {0x8000000000000000ULL, {0x02, 0x80, 0, 0, 0, 0, 0, 0, 0}},
        /* 0.1 = 0x3FB999999999999A */
        {0x3fb999999999999aULL,
         {0x02, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}},
        /* +inf, -inf */
        {0x7ff0000000000000ULL, {0x02, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}},
        {0xfff0000000000000ULL, {0x02, 0xff, 0xf0, 0, 0, 0, 0, 0, 0}},
        /* smallest subnormal, largest finite */
        {0x0000000000000001ULL, {0x02, 0, 0, 0, 0, 0, 0, 0, 0x01}},
        {0x7fefffffffffffffULL,
         {0x02, 0x7f, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        /* quiet NaN with a payload: bits survive both ways */
        {0x7ff8000000001234ULL, {0x02, 0x7f, 0xf8, 0, 0, 0, 0, 0x12, 0x34}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ms_value v = ms_value_float(bits_double(cases[k].bits));
        check_encode(&v, cases[k].wire, 9);
        ms_value d;
        assert_int_equal(ms_value_decode(cases[k].wire, 9, &d), 0);
        assert_int_equal(d.type, MS_TYPE_FLOAT);
        assert_true(double_bits(d.u.f) == cases[k].bits);
    }
    /* A plain literal, to be sure the bits above mean what they say. */
    ms_value v = ms_value_float(12.5);
    static const uint8_t w125[9] = {0x02, 0x40, 0x29, 0, 0, 0, 0, 0, 0};
    check_encode(&v, w125, 9);
}

static void test_float_wrong_length(void **state)
{
    (void)state;
    uint8_t buf[32];
    memset(buf, 0x40, sizeof buf);
    buf[0] = MS_TYPE_FLOAT;
    for (size_t len = 1; len < sizeof buf; len++) {
        if (len == 9)
            continue;
        ms_value v;
        assert_int_equal(ms_value_decode(buf, len, &v), MS_EPROTO);
    }
}

/* ---- STR, BYTES, JSON ----------------------------------------------------- */

static void test_str_wire(void **state)
{
    (void)state;
    static const uint8_t flow[] = {0x03, 'f', 'l', 'o', 'w'};
    ms_value v = ms_value_buf(MS_TYPE_STR, "flow", 4);
    check_encode(&v, flow, sizeof flow);

    ms_value d;
    assert_int_equal(ms_value_decode(flow, sizeof flow, &d), 0);
    assert_int_equal(d.type, MS_TYPE_STR);
    assert_int_equal(d.u.buf.len, 4);
    /* Decoding borrows: it points into the payload. */
    assert_ptr_equal(d.u.buf.ptr, flow + 1);

    /* The empty string is a type byte alone, and is not "never set". */
    static const uint8_t empty[] = {0x03};
    ms_value e = ms_value_buf(MS_TYPE_STR, NULL, 0);
    check_encode(&e, empty, 1);
    assert_int_equal(ms_value_decode(empty, 1, &d), 0);
    assert_int_equal(d.type, MS_TYPE_STR);
    assert_int_equal(d.u.buf.len, 0);

    /* Multi-byte UTF-8: é € 😀 and an embedded NUL (valid UTF-8). */
    static const uint8_t multi[] = {0x03, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0,
                                    0x9f, 0x98, 0x80, 0x00, 'z'};
    ms_value m = ms_value_buf(MS_TYPE_STR, multi + 1, sizeof multi - 1);
    check_encode(&m, multi, sizeof multi);
    assert_int_equal(ms_value_decode(multi, sizeof multi, &d), 0);
    assert_int_equal(d.type, MS_TYPE_STR);
    assert_int_equal(d.u.buf.len, sizeof multi - 1);
    assert_memory_equal(d.u.buf.ptr, multi + 1, sizeof multi - 1);
}

static void test_bytes_wire(void **state)
{
    (void)state;
    /* Any bytes at all, including ones that are not UTF-8. */
    static const uint8_t raw[] = {0x04, 0xff, 0xfe, 0x00, 0xc0, 0x80, 0xed,
                                  0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xc3};
    ms_value v = ms_value_buf(MS_TYPE_BYTES, raw + 1, sizeof raw - 1);
    check_encode(&v, raw, sizeof raw);
    ms_value d;
    assert_int_equal(ms_value_decode(raw, sizeof raw, &d), 0);
    assert_int_equal(d.type, MS_TYPE_BYTES);
    assert_int_equal(d.u.buf.len, sizeof raw - 1);
    assert_ptr_equal(d.u.buf.ptr, raw + 1);

    static const uint8_t empty[] = {0x04};
    ms_value e = ms_value_buf(MS_TYPE_BYTES, NULL, 0);
    check_encode(&e, empty, 1);
    assert_int_equal(ms_value_decode(empty, 1, &d), 0);
    assert_int_equal(d.type, MS_TYPE_BYTES);
    assert_int_equal(d.u.buf.len, 0);
}

static void test_json_wire(void **state)
{
    (void)state;
    /* pymscada: the RTA payload of transcript step 9, {"ask": 1} */
    static const uint8_t ask[] = {0x05, 0x7b, 0x22, 0x61, 0x73, 0x6b, 0x22,
                                  0x3a, 0x20, 0x31, 0x7d};
    ms_value v = ms_value_buf(MS_TYPE_JSON, "{\"ask\": 1}", 10);
    check_encode(&v, ask, sizeof ask);
    ms_value d;
    assert_int_equal(ms_value_decode(ask, sizeof ask, &d), 0);
    assert_int_equal(d.type, MS_TYPE_JSON);
    assert_int_equal(d.u.buf.len, 10);
    assert_memory_equal(d.u.buf.ptr, "{\"ask\": 1}", 10);

    static const uint8_t list[] = {0x05, '[', '1', ',', ' ', '"', 0xc3, 0xa9,
                                   '"', ']'};
    assert_int_equal(ms_value_decode(list, sizeof list, &d), 0);
    assert_int_equal(d.type, MS_TYPE_JSON);
    assert_int_equal(d.u.buf.len, sizeof list - 1);

    /* JSON must be UTF-8 like STR. */
    static const uint8_t bad[] = {0x05, '"', 0xff, '"'};
    assert_int_equal(ms_value_decode(bad, sizeof bad, &d), MS_EPROTO);
}

static void test_none(void **state)
{
    (void)state;
    ms_value v = ms_value_int(99);
    uint8_t dummy = 0x42;
    /* An empty payload is "never set"; buf is not read. */
    assert_int_equal(ms_value_decode(&dummy, 0, &v), 0);
    assert_int_equal(v.type, MS_TYPE_NONE);

    ms_value n = ms_value_none();
    assert_int_equal(ms_value_wire_size(&n), 0);
    uint8_t out[4];
    memset(out, SENTINEL, sizeof out);
    assert_int_equal(ms_value_encode(&n, out, 0), 0);
    assert_int_equal(ms_value_encode(&n, out, sizeof out), 0);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], SENTINEL);
}

static void test_unknown_type_bytes(void **state)
{
    (void)state;
    static const uint8_t types[] = {0x00, 0x06, 0x07, 0x09, 0x10, 0x41,
                                    0x7f, 0x80, 0x81, 0xfe, 0xff};
    uint8_t buf[16];
    for (size_t k = 0; k < sizeof types; k++) {
        memset(buf, 0, sizeof buf);
        buf[0] = types[k];
        /* alone, with 8 bytes (an INT's length) and with text after it */
        ms_value v;
        assert_int_equal(ms_value_decode(buf, 1, &v), MS_ETYPE);
        assert_int_equal(ms_value_decode(buf, 9, &v), MS_ETYPE);
        memcpy(buf + 1, "hello", 5);
        assert_int_equal(ms_value_decode(buf, 6, &v), MS_ETYPE);
    }

    /* Encoding a value of an unknown type fails too, and writes nothing. */
    ms_value v = ms_value_int(1);
    v.type = (ms_type)6;
    uint8_t out[16];
    memset(out, SENTINEL, sizeof out);
    assert_int_equal(ms_value_encode(&v, out, sizeof out), MS_ETYPE);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], SENTINEL);
}

static void test_encode_too_small(void **state)
{
    (void)state;
    uint8_t out[32];
    ms_value vals[5];
    vals[0] = ms_value_int(7);
    vals[1] = ms_value_float(12.5);
    vals[2] = ms_value_buf(MS_TYPE_STR, "flow", 4);
    vals[3] = ms_value_buf(MS_TYPE_BYTES, "\x00\x01", 2);
    vals[4] = ms_value_buf(MS_TYPE_JSON, "[]", 2);
    for (size_t k = 0; k < 5; k++) {
        size_t need = ms_value_wire_size(&vals[k]);
        assert_true(need > 0 && need <= sizeof out);
        for (size_t cap = 0; cap < need; cap++) {
            memset(out, SENTINEL, sizeof out);
            assert_int_equal(ms_value_encode(&vals[k], out, cap), MS_ETOOBIG);
            /* nothing written on failure */
            for (size_t i = 0; i < sizeof out; i++)
                assert_int_equal(out[i], SENTINEL);
        }
        assert_int_equal(ms_value_encode(&vals[k], out, need), (long)need);
        assert_int_equal(ms_value_encode(&vals[k], out, sizeof out), (long)need);
    }
    /* An empty STR/BYTES still needs its type byte. */
    ms_value e = ms_value_buf(MS_TYPE_BYTES, NULL, 0);
    assert_int_equal(ms_value_encode(&e, out, 0), MS_ETOOBIG);
    assert_int_equal(ms_value_encode(&e, out, 1), 1);
    assert_int_equal(out[0], 0x04);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

typedef struct {
    const char *what;
    const char *bytes;
    size_t len;
} utf8_case;

#define U(what, lit) {what, lit, sizeof(lit) - 1}

static const utf8_case utf8_good[] = {
    U("empty", ""),
    U("ascii", "hello, world"),
    U("NUL", "a\x00" "b"),
    U("DEL U+7F", "\x7f"),
    U("U+80", "\xc2\x80"),
    U("U+7FF", "\xdf\xbf"),
    U("U+800", "\xe0\xa0\x80"),
    U("U+D7FF", "\xed\x9f\xbf"),
    U("U+E000", "\xee\x80\x80"),
    U("U+FFFD", "\xef\xbf\xbd"),
    U("U+FFFF", "\xef\xbf\xbf"),
    U("U+10000", "\xf0\x90\x80\x80"),
    U("U+1F600", "\xf0\x9f\x98\x80"),
    U("U+10FFFF", "\xf4\x8f\xbf\xbf"),
    U("mixed", "k\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"),
};

static const utf8_case utf8_bad[] = {
    /* overlong forms */
    U("overlong NUL 2", "\xc0\x80"),
    U("overlong / 2", "\xc0\xaf"),
    U("overlong U+7F 2", "\xc1\xbf"),
    U("overlong NUL 3", "\xe0\x80\x80"),
    U("overlong U+7FF 3", "\xe0\x9f\xbf"),
    U("overlong NUL 4", "\xf0\x80\x80\x80"),
    U("overlong U+FFFF 4", "\xf0\x8f\xbf\xbf"),
    U("overlong after ascii", "ok\xc0\x80"),
    /* surrogates */
    U("U+D800", "\xed\xa0\x80"),
    U("U+DBFF", "\xed\xaf\xbf"),
    U("U+DC00", "\xed\xb0\x80"),
    U("U+DFFF", "\xed\xbf\xbf"),
    U("CESU pair", "\xed\xa0\xbd\xed\xb8\x80"),
    /* truncated sequences */
    U("lead 2 at end", "\xc3"),
    U("lead 3 at end", "\xe2\x82"),
    U("lead 3 alone", "\xe2"),
    U("lead 4 at end", "\xf0\x9f\x98"),
    U("lead 4 alone", "\xf0"),
    U("truncated before ascii", "\xe2\x82" "A"),
    U("truncated before lead", "\xc3\xc3\xa9"),
    U("ascii then truncated", "abc\xf0\x9f"),
    /* past U+10FFFF */
    U("U+110000", "\xf4\x90\x80\x80"),
    U("F5 lead", "\xf5\x80\x80\x80"),
    U("F7 lead", "\xf7\xbf\xbf\xbf"),
    U("5-byte form", "\xf8\x88\x80\x80\x80"),
    U("6-byte form", "\xfc\x84\x80\x80\x80\x80"),
    U("FE", "\xfe"),
    U("FF", "\xff"),
    /* stray continuation bytes, bad continuations */
    U("lone 80", "\x80"),
    U("lone BF", "\xbf"),
    U("continuation after ascii", "a\x80"),
    U("C3 28", "\xc3\x28"),
    U("E2 28 A1", "\xe2\x28\xa1"),
    U("E2 82 28", "\xe2\x82\x28"),
    U("F0 28 8C BC", "\xf0\x28\x8c\xbc"),
    U("F0 90 28 BC", "\xf0\x90\x28\xbc"),
    U("F0 90 8C 28", "\xf0\x90\x8c\x28"),
    U("extra continuation", "\xc3\xa9\xa9"),
};

/* ms_value_same, the one "changed?" rule (modbusclient, modbusserver,
 * history, the client library): the wire form, so floats bit for bit. */
static void test_same(void **state)
{
    (void)state;
    ms_value a = ms_value_float(NAN), b = ms_value_float(NAN);
    assert_true(ms_value_same(&a, &b)); /* == says a NaN always changed */
    a = ms_value_float(0.0);
    b = ms_value_float(-0.0);
    assert_false(ms_value_same(&a, &b)); /* == says they are the same */
    b = ms_value_float(0.0);
    assert_true(ms_value_same(&a, &b));
    b = ms_value_float(1e-300);
    assert_false(ms_value_same(&a, &b));
    a = ms_value_int(5);
    b = ms_value_float(5.0);
    assert_false(ms_value_same(&a, &b)); /* another type is a change */
    b = ms_value_int(5);
    assert_true(ms_value_same(&a, &b));
    b = ms_value_int(-5);
    assert_false(ms_value_same(&a, &b));
    a = ms_value_buf(MS_TYPE_STR, "ab", 2);
    b = ms_value_buf(MS_TYPE_STR, "abc", 2);
    assert_true(ms_value_same(&a, &b));
    b = ms_value_buf(MS_TYPE_BYTES, "ab", 2);
    assert_false(ms_value_same(&a, &b));
    b = ms_value_buf(MS_TYPE_STR, "ac", 2);
    assert_false(ms_value_same(&a, &b));
    a = ms_value_buf(MS_TYPE_JSON, NULL, 0);
    b = ms_value_buf(MS_TYPE_JSON, "", 0);
    assert_true(ms_value_same(&a, &b));
    a = ms_value_none();
    b = ms_value_none();
    assert_true(ms_value_same(&a, &b));
}

static void test_utf8(void **state)
{
    (void)state;
    uint8_t buf[64];
    ms_value v;
    for (size_t k = 0; k < sizeof utf8_good / sizeof utf8_good[0]; k++) {
        const utf8_case *c = &utf8_good[k];
        if (!ms_utf8_valid((const uint8_t *)c->bytes, c->len))
            fail_msg("valid UTF-8 rejected: %s", c->what);
        for (int t = MS_TYPE_STR; t <= MS_TYPE_JSON; t += 2) {
            buf[0] = (uint8_t)t;
            memcpy(buf + 1, c->bytes, c->len);
            if (ms_value_decode(buf, c->len + 1, &v) != 0)
                fail_msg("%s: valid UTF-8 rejected: %s", ms_type_name(t),
                         c->what);
            assert_int_equal(v.type, t);
            assert_int_equal(v.u.buf.len, c->len);
        }
    }
    for (size_t k = 0; k < sizeof utf8_bad / sizeof utf8_bad[0]; k++) {
        const utf8_case *c = &utf8_bad[k];
        if (ms_utf8_valid((const uint8_t *)c->bytes, c->len))
            fail_msg("invalid UTF-8 accepted: %s", c->what);
        /* Also with valid text on both sides. */
        memcpy(buf, "ab", 2);
        memcpy(buf + 2, c->bytes, c->len);
        memcpy(buf + 2 + c->len, "cd", 2);
        if (ms_utf8_valid(buf, c->len + 4))
            fail_msg("invalid UTF-8 accepted in text: %s", c->what);
        for (int t = MS_TYPE_STR; t <= MS_TYPE_JSON; t += 2) {
            buf[0] = (uint8_t)t;
            memcpy(buf + 1, c->bytes, c->len);
            if (ms_value_decode(buf, c->len + 1, &v) != MS_EPROTO)
                fail_msg("%s: invalid UTF-8 accepted: %s", ms_type_name(t),
                         c->what);
        }
        /* BYTES takes anything. */
        buf[0] = MS_TYPE_BYTES;
        assert_int_equal(ms_value_decode(buf, c->len + 1, &v), 0);
        assert_int_equal(v.type, MS_TYPE_BYTES);
    }
    /* The length is respected: a valid prefix of a longer invalid run. */
    assert_true(ms_utf8_valid((const uint8_t *)"ab\xff", 2));
    assert_false(ms_utf8_valid((const uint8_t *)"\xc3\xa9", 1));
}

/* Every code point U+0000..U+10FFFF, encoded by hand: valid exactly when it
 * is not a surrogate; and every 2-byte sequence checked against the rule. */
static size_t utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static void test_utf8_exhaustive(void **state)
{
    (void)state;
    uint8_t o[4];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        size_t n = utf8_put(cp, o);
        bool want = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (ms_utf8_valid(o, n) != want)
            fail_msg("U+%04X: expected %s", (unsigned)cp,
                     want ? "valid" : "invalid");
        /* Every proper prefix of a multi-byte sequence is truncated. */
        for (size_t k = 1; k < n; k++)
            if (ms_utf8_valid(o, k))
                fail_msg("U+%04X: %zu-byte prefix accepted", (unsigned)cp, k);
    }
    /* All two-byte inputs: valid exactly when both are ASCII, or a C2..DF
     * lead with one continuation byte. */
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            uint8_t s[2] = {(uint8_t)a, (uint8_t)b};
            bool want = (a < 0x80 && b < 0x80) ||
                        (a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf);
            if (ms_utf8_valid(s, 2) != want)
                fail_msg("%02X %02X: expected %s", a, b,
                         want ? "valid" : "invalid");
        }
    }
}

/* ---- round trips over many values (fixed seed) ---------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void test_round_trip_random(void **state)
{
    (void)state;
    uint8_t out[9];
    for (int k = 0; k < 100000; k++) {
        uint64_t r = rng();
        ms_value v = (k & 1) ? ms_value_int((int64_t)r)
                             : ms_value_float(bits_double(r));
        assert_int_equal(ms_value_encode(&v, out, sizeof out), 9);
        assert_int_equal(out[0], (k & 1) ? 1 : 2);
        /* big-endian by hand */
        assert_true(ms_get_u64(out + 1) == r);
        for (int i = 0; i < 8; i++)
            assert_int_equal(out[1 + i], (uint8_t)(r >> (56 - 8 * i)));
        ms_value d;
        assert_int_equal(ms_value_decode(out, 9, &d), 0);
        assert_int_equal(d.type, v.type);
        if (d.type == MS_TYPE_INT)
            assert_true(d.u.i == v.u.i);
        else
            assert_true(double_bits(d.u.f) == r);
    }
}

static void test_endian_helpers(void **state)
{
    (void)state;
    uint8_t b[8];
    ms_put_u16(b, 0xfff1);
    assert_int_equal(b[0], 0xff);
    assert_int_equal(b[1], 0xf1);
    assert_int_equal(ms_get_u16(b), 0xfff1);
    ms_put_u32(b, 0x80a0b0c0u);
    assert_int_equal(b[0], 0x80);
    assert_int_equal(b[3], 0xc0);
    assert_true(ms_get_u32(b) == 0x80a0b0c0u);
    ms_put_u64(b, 0x00060a24181e4000ULL);
    static const uint8_t t[8] = {0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00};
    assert_memory_equal(b, t, 8);
    assert_true(ms_get_u64(b) == 1700000000000000ULL);
    ms_put_u64(b, UINT64_MAX);
    assert_true(ms_get_u64(b) == UINT64_MAX);
}

/* ---- the pymscada transcript ---------------------------------------------- */

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

static json_t *load_transcript(void)
{
    json_error_t err;
    json_t *root = json_load_file(
        ms_fixture("pymscada-bus/transcript.json"), 0, &err);
    if (!root)
        fail_msg("transcript.json: %s (line %d)", err.text, err.line);
    return root;
}

/* The payload of the single message in step `i`'s `send`. */
static size_t step_payload(json_t *root, size_t i, uint8_t **wire,
                           const uint8_t **payload)
{
    json_t *step = json_array_get(json_object_get(root, "steps"), i);
    assert_non_null(step);
    const char *hex = json_string_value(json_object_get(step, "send"));
    assert_non_null(hex);
    size_t n = unhex(hex, wire);
    assert_true(n >= MS_FRAME_HEAD);
    assert_int_equal(ms_get_u16(*wire + 4), n - MS_FRAME_HEAD);
    *payload = *wire + MS_FRAME_HEAD;
    return n - MS_FRAME_HEAD;
}

static void test_transcript_values(void **state)
{
    (void)state;
    json_t *root = load_transcript();
    uint8_t *wire;
    const uint8_t *p;
    size_t n;
    ms_value v;
    uint8_t out[16];

    /* step 3: flow = 12.5 */
    n = step_payload(root, 3, &wire, &p);
    assert_int_equal(ms_value_decode(p, n, &v), 0);
    assert_int_equal(v.type, MS_TYPE_FLOAT);
    assert_true(double_bits(v.u.f) == double_bits(12.5));
    ms_value f = ms_value_float(12.5);
    assert_int_equal(ms_value_encode(&f, out, sizeof out), (long)n);
    assert_memory_equal(out, p, n);
    free(wire);

    /* step 4: flow = 7; step 12: flow = 8 */
    static const size_t isteps[] = {4, 12};
    static const int64_t ivals[] = {7, 8};
    for (size_t k = 0; k < 2; k++) {
        n = step_payload(root, isteps[k], &wire, &p);
        assert_int_equal(ms_value_decode(p, n, &v), 0);
        assert_int_equal(v.type, MS_TYPE_INT);
        assert_true(v.u.i == ivals[k]);
        ms_value iv = ms_value_int(ivals[k]);
        assert_int_equal(ms_value_encode(&iv, out, sizeof out), (long)n);
        assert_memory_equal(out, p, n);
        free(wire);
    }

    /* step 9: RTA with JSON {"ask": 1} */
    n = step_payload(root, 9, &wire, &p);
    assert_int_equal(ms_value_decode(p, n, &v), 0);
    assert_int_equal(v.type, MS_TYPE_JSON);
    assert_int_equal(v.u.buf.len, 10);
    assert_memory_equal(v.u.buf.ptr, "{\"ask\": 1}", 10);
    free(wire);

    /* step 2's reply: SET with empty data = never set */
    json_t *step2 = json_array_get(json_object_get(root, "steps"), 2);
    const char *hex = json_string_value(
        json_object_get(json_object_get(step2, "recv"), "B"));
    assert_non_null(hex);
    n = unhex(hex, &wire);
    assert_int_equal(n, MS_FRAME_HEAD);
    assert_int_equal(wire[1], MS_CMD_SET);
    assert_int_equal(ms_get_u16(wire + 4), 0);
    v = ms_value_int(1);
    assert_int_equal(ms_value_decode(wire + MS_FRAME_HEAD, 0, &v), 0);
    assert_int_equal(v.type, MS_TYPE_NONE);
    free(wire);

    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_same),
        cmocka_unit_test(test_int_wire),
        cmocka_unit_test(test_int_wrong_length),
        cmocka_unit_test(test_float_wire),
        cmocka_unit_test(test_float_wrong_length),
        cmocka_unit_test(test_str_wire),
        cmocka_unit_test(test_bytes_wire),
        cmocka_unit_test(test_json_wire),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_unknown_type_bytes),
        cmocka_unit_test(test_encode_too_small),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_exhaustive),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_endian_helpers),
        cmocka_unit_test(test_transcript_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
