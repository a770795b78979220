/* The bus's text port (src/bus/bus_text.c, docs/design.md §6): the JSON form of
 * every wire value (ms_bus_text_format_value), and the line protocol driven
 * on a core the way the I/O layer drives it (ms_bus_text_input on a
 * connection marked text), checking the exact reply lines queued, and the
 * crossing between text and binary clients on the same core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>

#include "bus/bus_core.h"
#include "bus_testcore.h"
#include "bus/bus_tags.h"
#include "bus/bus_text.h"
#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/mstime.h"
#include "mscada/value.h"

/* ---- formatting ------------------------------------------------------------- */

/* The JSON text of a wire value (caller frees). */
static char *fmt(const void *value, size_t len)
{
    ms_buf out = {0};
    assert_int_equal(ms_bus_text_format_value(&out, value, len), 0);
    assert_int_equal(ms_buf_append(&out, "", 1), 0);
    char *s = strdup((const char *)ms_buf_head(&out));
    assert_non_null(s);
    /* Nothing in a value may break its line. */
    assert_null(strchr(s, '\n'));
    assert_int_equal(strlen(s) + 1, ms_buf_size(&out));
    ms_buf_free(&out);
    return s;
}

static void expect_fmt_raw(const void *value, size_t len, const char *want)
{
    char *got = fmt(value, len);
    if (strcmp(got, want))
        fail_msg("formatted as [%s], expected [%s]", got, want);
    free(got);
}

/* A type byte and len bytes of body. */
static void expect_fmt(uint8_t type, const void *body, size_t len,
                       const char *want)
{
    uint8_t *v = malloc(len + 1);
    assert_non_null(v);
    v[0] = type;
    if (len)
        memcpy(v + 1, body, len);
    expect_fmt_raw(v, len + 1, want);
    free(v);
}

static void expect_fmt_str(uint8_t type, const char *body, const char *want)
{
    expect_fmt(type, body, strlen(body), want);
}

static char *fmt_value(ms_value v)
{
    uint8_t w[9];
    long n = ms_value_encode(&v, w, sizeof w);
    assert_int_equal(n, 9);
    return fmt(w, 9);
}

static void expect_int(int64_t i, const char *want)
{
    char *got = fmt_value(ms_value_int(i));
    assert_string_equal(got, want);
    free(got);
}

static void expect_float(double d, const char *want)
{
    char *got = fmt_value(ms_value_float(d));
    char copy[64];
    snprintf(copy, sizeof copy, "%s", got);
    free(got);
    if (strcmp(copy, want))
        fail_msg("%.17g formatted as [%s], expected [%s]", d, copy, want);
}

static void test_format_never_set(void **state)
{
    (void)state;
    expect_fmt_raw("", 0, "null");
}

static void test_format_int(void **state)
{
    (void)state;
    expect_int(0, "0");
    expect_int(1, "1");
    expect_int(-1, "-1");
    expect_int(1234567890123LL, "1234567890123");
    expect_int(INT64_MAX, "9223372036854775807");
    expect_int(INT64_MIN, "-9223372036854775808");
}

static void test_format_float(void **state)
{
    (void)state;
    expect_float(0.1, "0.1");
    expect_float(2.5, "2.5");
    expect_float(-2.5, "-2.5");
    expect_float(3.0, "3.0");
    expect_float(0.0, "0.0");
    expect_float(-0.0, "-0.0");
    expect_float(100.0, "100.0");
    expect_float(1e300, "1e+300");
    expect_float(-1e300, "-1e+300");
    expect_float(1e-7, "1e-07"); /* as Python writes it */
    expect_float(1.0 / 3.0, "0.3333333333333333");
    expect_float(0.1 + 0.2, "0.30000000000000004");
    expect_float(DBL_MAX, "1.7976931348623157e+308");
    expect_float(NAN, "NaN");
    expect_float(-NAN, "NaN");
    expect_float(INFINITY, "Infinity");
    expect_float(-INFINITY, "-Infinity");
}

/* Any finite double: a JSON number that reads back to the same bits, and
 * still a float to a JSON reader (has '.' or an exponent). */
static void test_format_float_round_trips(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    double fixed[] = {1e15, 1e16, 1e22, 123456789.125, 4.35, 1e-300,
                      DBL_MIN, DBL_MIN / 4, 2.2250738585072009e-308,
                      9007199254740993.0, 0.000123};
    for (int i = 0; i < 20000 + (int)(sizeof fixed / sizeof *fixed); i++) {
        double d;
        if (i < (int)(sizeof fixed / sizeof *fixed)) {
            d = fixed[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(&d, &x, sizeof d);
            if (!isfinite(d))
                continue;
        }
        char *s = fmt_value(ms_value_float(d));
        char *end;
        double back = strtod(s, &end);
        if (*end || memcmp(&back, &d, sizeof d))
            fail_msg("%.17g formatted as [%s] does not read back", d, s);
        if (!strpbrk(s, ".e"))
            fail_msg("%.17g formatted as [%s]: reads as an integer", d, s);
        assert_true(strlen(s) <= 24);
        free(s);
    }
}

/* "shortest round trip" (bus_text.h): a denormal needs fewer digits than
 * the 15 the formatter starts at. Python's json writes 5e-324. */
static void test_format_float_denormal_shortest(void **state)
{
    (void)state;
    expect_float(5e-324, "5e-324");
    expect_float(1e-310, "1e-310");
}

static void test_format_str(void **state)
{
    (void)state;
    expect_fmt_str(MS_TYPE_STR, "", "\"\"");
    expect_fmt_str(MS_TYPE_STR, "Auto", "\"Auto\"");
    expect_fmt_str(MS_TYPE_STR, "two words", "\"two words\"");
    expect_fmt_str(MS_TYPE_STR, "say \"hi\"", "\"say \\\"hi\\\"\"");
    expect_fmt_str(MS_TYPE_STR, "C:\\dir\\", "\"C:\\\\dir\\\\\"");
    expect_fmt_str(MS_TYPE_STR, "a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    expect_fmt_str(MS_TYPE_STR, "\n", "\"\\n\"");
    expect_fmt_str(MS_TYPE_STR, "/ok/", "\"/ok/\"");
    /* Multi-byte UTF-8 is kept as it is. */
    expect_fmt_str(MS_TYPE_STR, "Gr\xc3\xbc\xc3\x9f" "e \xc2\xb0" "C \xe2\x82\xac"
                                " \xf0\x9d\x84\x9e",
                   "\"Gr\xc3\xbc\xc3\x9f" "e \xc2\xb0" "C \xe2\x82\xac"
                   " \xf0\x9d\x84\x9e\"");
}

/* Case-insensitive: \u00ff and \u00FF are the same JSON. */
static void expect_fmt_ci(uint8_t type, const void *body, size_t len,
                          const char *want)
{
    uint8_t *v = malloc(len + 1);
    assert_non_null(v);
    v[0] = type;
    memcpy(v + 1, body, len);
    char *got = fmt(v, len + 1);
    if (strcasecmp(got, want))
        fail_msg("formatted as [%s], expected [%s]", got, want);
    free(got);
    free(v);
}

static void test_format_str_control_and_invalid(void **state)
{
    (void)state;
    expect_fmt_ci(MS_TYPE_STR, "\x00", 1, "\"\\u0000\"");
    expect_fmt_ci(MS_TYPE_STR, "a\x01" "b\x1f" "c\x7f", 6,
                  "\"a\\u0001b\\u001fc\\u007f\"");
    expect_fmt_ci(MS_TYPE_STR, "\x1b[31m", 5, "\"\\u001b[31m\"");
    /* Invalid UTF-8: each bad byte as \u00XX, the valid rest kept. */
    expect_fmt_ci(MS_TYPE_STR, "\xff", 1, "\"\\u00ff\"");
    expect_fmt_ci(MS_TYPE_STR, "a\xfe" "b", 3, "\"a\\u00feb\"");
    expect_fmt_ci(MS_TYPE_STR, "x\xc3", 2, "\"x\\u00c3\"");  /* cut short */
    expect_fmt_ci(MS_TYPE_STR, "\xc0\xaf", 2, "\"\\u00c0\\u00af\""); /* overlong */
    expect_fmt_ci(MS_TYPE_STR, "\xe2\x82", 2, "\"\\u00e2\\u0082\"");
    expect_fmt_ci(MS_TYPE_STR, "\xed\xa0\x80", 3,
                  "\"\\u00ed\\u00a0\\u0080\""); /* a surrogate */
    expect_fmt_ci(MS_TYPE_STR, "\x80\xc3\xbc", 3, "\"\\u0080\xc3\xbc\"");
}

static void test_format_bytes(void **state)
{
    (void)state;
    expect_fmt(MS_TYPE_BYTES, "", 0, "\"\"");
    expect_fmt(MS_TYPE_BYTES, "\x00\x01\xab\xff\n\"", 6, "\"0001abff0a22\"");
    uint8_t all[256];
    char want[2 * 256 + 3];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
        snprintf(want + 1 + 2 * i, 3, "%02x", i);
    }
    want[0] = '"';
    want[513] = '"';
    want[514] = '\0';
    expect_fmt(MS_TYPE_BYTES, all, sizeof all, want);
}

static void test_format_json(void **state)
{
    (void)state;
    expect_fmt_str(MS_TYPE_JSON, "[1, 2, 3]", "[1,2,3]");
    expect_fmt_str(MS_TYPE_JSON, "{ \"a\" : [1, \"x y\"],\n  \"b\": {\"c\": "
                                 "null}\n}\n",
                   "{\"a\":[1,\"x y\"],\"b\":{\"c\":null}}");
    expect_fmt_str(MS_TYPE_JSON, "[\"line\\nbreak\"]", "[\"line\\nbreak\"]");
    expect_fmt_str(MS_TYPE_JSON, "[]", "[]");
    expect_fmt_str(MS_TYPE_JSON, "{}", "{}");
    expect_fmt_str(MS_TYPE_JSON, "[true, false, -7, 2.5]",
                   "[true,false,-7,2.5]");
    /* Not JSON: shown as a string, so it can't break the line either. */
    expect_fmt_str(MS_TYPE_JSON, "{bad", "\"{bad\"");
    expect_fmt_str(MS_TYPE_JSON, "{\n", "\"{\\n\"");
    expect_fmt_str(MS_TYPE_JSON, "", "\"\"");
    expect_fmt_ci(MS_TYPE_JSON, "[\xff]", 3, "\"[\\u00ff]\"");
}

/* ---- driving a core ----------------------------------------------------------- */

static ms_bus_conn *text_conn(ms_bus_core *c, const char *peer)
{
    return core_conn(c, peer, &ms_bus_proto_text);
}

static ms_bus_conn *bin_conn(ms_bus_core *c, const char *peer)
{
    return core_conn(c, peer, &ms_bus_proto_frames);
}

/* Everything queued for a text connection, as a string (consumed; caller
 * frees). Every line ends with \n. */
static char *take_text(ms_bus_conn *conn)
{
    size_t n = ms_buf_size(&conn->out);
    char *s = malloc(n + 1);
    assert_non_null(s);
    if (n)
        memcpy(s, ms_buf_head(&conn->out), n);
    s[n] = '\0';
    ms_buf_consume(&conn->out, n);
    return s;
}

static void expect_text(ms_bus_conn *conn, const char *want)
{
    char *got = take_text(conn);
    if (strcmp(got, want))
        fail_msg("%s queued [%s], expected [%s]", conn->peer, got, want);
    free(got);
}

/* Expects exactly one line starting with prefix. */
static void expect_line_prefix(ms_bus_conn *conn, const char *prefix)
{
    char *got = take_text(conn);
    size_t n = strlen(got);
    if (strncmp(got, prefix, strlen(prefix)) || n == 0 ||
        got[n - 1] != '\n' || strchr(got, '\n') != got + n - 1)
        fail_msg("%s queued [%s], expected one line starting [%s]",
                 conn->peer, got, prefix);
    free(got);
}

/* Feeds bytes as one read; every whole line is used. */
static int feed(ms_bus_conn *conn, const void *p, size_t n, size_t *used)
{
    size_t u = (size_t)-1;
    int rc = ms_bus_text_input(conn, p, n, &u);
    assert_true(u <= n);
    if (used)
        *used = u;
    return rc;
}

static void say(ms_bus_conn *conn, const char *s)
{
    size_t used;
    assert_int_equal(feed(conn, s, strlen(s), &used), 0);
    assert_int_equal(used, strlen(s));
    assert_false(conn->closing);
}

/* say() and expect exactly want back. */
static void ask(ms_bus_conn *conn, const char *s, const char *want)
{
    say(conn, s);
    expect_text(conn, want);
}

static ms_bus_tag *find(ms_bus_core *c, const char *name)
{
    return ms_bus_tags_find(&c->tags, (const uint8_t *)name, strlen(name));
}

static char *iso(uint64_t time_us)
{
    static char s[40];
    ms_time_iso(time_us, s, sizeof s);
    return s;
}

/* The value line a tag's current value makes. */
static char *value_line(ms_bus_core *c, const char *name, const char *json)
{
    ms_bus_tag *tag = find(c, name);
    assert_non_null(tag);
    static char s[512];
    snprintf(s, sizeof s, "%s %s %s\n", name, json, iso(tag->time_us));
    return s;
}

/* ---- binary side ---------------------------------------------------------------- */

typedef struct {
    uint8_t cmd;
    uint16_t tag_id;
    uint64_t time_us;
    uint8_t data[256];
    size_t len;
} bmsg;

/* Decodes and consumes a binary connection's queue; returns the count. */
static size_t take_bin(ms_bus_conn *conn, bmsg *out, size_t cap)
{
    ms_frame_reader r;
    ms_frame_reader_init(&r, (size_t)1 << 24);
    const uint8_t *p = ms_buf_head(&conn->out);
    size_t len = ms_buf_size(&conn->out), off = 0, n = 0;
    for (;;) {
        size_t used = 0;
        ms_msg m;
        int rc = ms_frame_reader_next(&r, p + off, len - off, &used, &m);
        assert_true(rc >= 0);
        off += used;
        if (rc == 0)
            break;
        assert_true(n < cap);
        assert_true(m.len <= sizeof out[n].data);
        out[n].cmd = m.cmd;
        out[n].tag_id = m.tag_id;
        out[n].time_us = m.time_us;
        out[n].len = m.len;
        if (m.len)
            memcpy(out[n].data, m.data, m.len);
        n++;
    }
    assert_int_equal(off, len);
    ms_frame_reader_free(&r);
    ms_buf_consume(&conn->out, len);
    return n;
}

static void bin_send(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                     uint64_t time_us, const void *data, size_t len)
{
    uint8_t buf[MS_FRAME_HEAD + 512];
    assert_true(len <= 512);
    size_t n = ms_frame_encode(buf, cmd, tag_id, time_us, data, len);
    size_t used = 0;
    assert_int_equal(ms_bus_core_input(conn, buf, n, &used), 0);
    assert_int_equal(used, n);
}

static uint16_t bin_id(ms_bus_conn *conn, const char *name)
{
    bin_send(conn, MS_CMD_ID, 0, 0, name, strlen(name));
    bmsg m[2];
    assert_int_equal(take_bin(conn, m, 2), 1);
    assert_int_equal(m[0].cmd, MS_CMD_ID);
    return m[0].tag_id;
}

static void bin_sub(ms_bus_conn *conn, uint16_t id)
{
    bin_send(conn, MS_CMD_SUB, id, 0, NULL, 0);
    bmsg m[2];
    assert_int_equal(take_bin(conn, m, 2), 1);
    assert_int_equal(m[0].cmd, MS_CMD_SET);
}

static size_t wire(ms_value v, uint8_t out[9])
{
    long n = ms_value_encode(&v, out, 9);
    assert_int_equal(n, 9);
    return 9;
}

/* ---- commands ------------------------------------------------------------------- */

static void test_greeting(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_text_greet(t);
    expect_line_prefix(t, "#");
    core_del(c);
}

static void test_help(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    say(t, "help\n");
    expect_line_prefix(t, "HELP");
    say(t, "HELP\n");
    expect_line_prefix(t, "HELP ");
    say(t, "  Help  \n");
    expect_line_prefix(t, "HELP ");
    core_del(c);
}

static void test_empty_and_unknown(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ask(t, "\n", "");
    ask(t, "   \n", "");
    ask(t, "\t\r\n", "");
    ask(t, "\r\n", "");
    say(t, "frobnicate\n");
    expect_line_prefix(t, "ERR ");
    say(t, "frobnicate a b c\r\n");
    expect_line_prefix(t, "ERR ");
    say(t, "id x\n"); /* binary commands have no text form */
    expect_line_prefix(t, "ERR ");
    say(t, "rta x 1\n");
    expect_line_prefix(t, "ERR ");
    say(t, "\x01\x02\xff\n");
    expect_line_prefix(t, "ERR ");
    assert_null(find(c, "x"));
    assert_false(t->closing);
    core_del(c);
}

static void test_list(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ask(t, "set alpha 1\n", "OK\n");
    ask(t, "set beta 2\n", "OK\n");
    ask(t, "set xalpha 3\n", "OK\n");
    ask(t, "list\n", "LIST __bus__ alpha beta xalpha\n");
    ask(t, "LIST\r\n", "LIST __bus__ alpha beta xalpha\n");
    ask(t, "list ^al\n", "LIST alpha\n");
    ask(t, "list ^\n", "LIST __bus__ alpha beta xalpha\n");
    ask(t, "list pha$\n", "LIST alpha xalpha\n");
    ask(t, "list lph\n", "LIST alpha xalpha\n");
    ask(t, "list bus\n", "LIST __bus__\n");
    ask(t, "List ^beta\n", "LIST beta\n");
    ask(t, "list ^beta$\n", "LIST\n"); /* prefix wins: '$' is part of it */
    ask(t, "list nothing\n", "LIST\n");
    ask(t, "list  ^x  \n", "LIST xalpha\n");
    core_del(c);
}

static void test_get(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_conn *b = bin_conn(c, "b");
    uint16_t id = bin_id(b, "never");
    ask(t, "get never\n", "never null 1970-01-01T00:00:00.000000Z\n");
    uint8_t w[9];
    bin_send(b, MS_CMD_SET, id, 1700000000123456ULL, w,
             wire(ms_value_int(-42), w));
    ask(t, "get never\n", "never -42 2023-11-14T22:13:20.123456Z\n");
    ask(t, "GET never\r\n", "never -42 2023-11-14T22:13:20.123456Z\n");
    ask(t, "get   never  \n", "never -42 2023-11-14T22:13:20.123456Z\n");
    /* get takes several tags: a line for each, unknown ones as ERR. */
    {
        const ms_bus_tag *bt = ms_bus_tags_find(
            &c->tags, (const uint8_t *)"__bus__", 7);
        char want[200], ts[40];
        ms_time_iso(bt->time_us, ts, sizeof ts);
        snprintf(want, sizeof want,
                 "never -42 2023-11-14T22:13:20.123456Z\n"
                 "__bus__ \"started\" %s\nERR unknown tag 'nope'\n", ts);
        ask(t, "get never __bus__ nope\n", want);
    }
    /* Looking never creates a tag. */
    size_t count = c->tags.count;
    ask(t, "get nope\n", "ERR unknown tag 'nope'\n");
    assert_null(find(c, "nope"));
    assert_int_equal(c->tags.count, count);
    ask(t, "list nope\n", "LIST\n");
    say(t, "get\n");
    expect_line_prefix(t, "ERR ");
    /* Tag names are case-sensitive; commands are not. */
    ask(t, "get NEVER\n", "ERR unknown tag 'NEVER'\n");
    assert_int_equal(take_bin(b, (bmsg[1]){0}, 1), 0);
    core_del(c);
}

/* Sets name to text over the text port and returns its wire value. */
static ms_bus_tag *set_ok(ms_bus_conn *t, const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof line, "set %s %s\n", name, value);
    uint64_t t0 = ms_time_now_us();
    ask(t, line, "OK\n");
    uint64_t t1 = ms_time_now_us();
    ms_bus_tag *tag = find(t->core, name);
    assert_non_null(tag);
    assert_true(tag->time_us >= t0 && tag->time_us <= t1);
    return tag;
}

static void expect_stored(ms_bus_tag *tag, const void *want, size_t len)
{
    if (tag->len != len || memcmp(tag->value, want, len))
        fail_msg("%s holds %zu bytes (type %d), expected %zu (type %d)",
                 tag->name, tag->len, tag->len ? tag->value[0] : -1, len,
                 len ? ((const uint8_t *)want)[0] : -1);
}

static void expect_set_int(ms_bus_conn *t, const char *text, int64_t want)
{
    uint8_t w[9];
    expect_stored(set_ok(t, "v", text), w, wire(ms_value_int(want), w));
}

static void expect_set_float(ms_bus_conn *t, const char *text, double want)
{
    uint8_t w[9];
    expect_stored(set_ok(t, "v", text), w, wire(ms_value_float(want), w));
}

static void expect_set_raw(ms_bus_conn *t, const char *text, uint8_t type,
                           const char *body)
{
    uint8_t w[300];
    size_t n = strlen(body);
    assert_true(n < sizeof w);
    w[0] = type;
    memcpy(w + 1, body, n);
    expect_stored(set_ok(t, "v", text), w, n + 1);
}

static void test_set_values(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    assert_null(find(c, "v"));
    expect_set_int(t, "5", 5);
    assert_true(c->changed);
    expect_set_int(t, "-9223372036854775808", INT64_MIN);
    expect_set_int(t, "9223372036854775807", INT64_MAX);
    expect_set_int(t, "true", 1);
    expect_set_int(t, "false", 0);
    expect_set_float(t, "2.5", 2.5);
    expect_set_float(t, "3.0", 3.0);
    expect_set_float(t, "-0.0", -0.0);
    expect_set_float(t, "1e300", 1e300);
    expect_set_float(t, "0.1", 0.1);
    expect_set_raw(t, "\"a b\"", MS_TYPE_STR, "a b");
    expect_set_raw(t, "\"\"", MS_TYPE_STR, "");
    expect_set_raw(t, "\"say \\\"hi\\\"\\n\"", MS_TYPE_STR, "say \"hi\"\n");
    expect_set_raw(t, "Auto", MS_TYPE_STR, "Auto");
    expect_set_raw(t, "hello   world", MS_TYPE_STR, "hello   world");
    expect_set_raw(t, "Gr\xc3\xbc\xc3\x9f" "e", MS_TYPE_STR,
                   "Gr\xc3\xbc\xc3\x9f" "e");
    expect_set_raw(t, "[1, 2]", MS_TYPE_JSON, "[1,2]");
    expect_set_raw(t, "{\"k\": [1, \"x\"]}", MS_TYPE_JSON,
                   "{\"k\":[1,\"x\"]}");
    expect_set_raw(t, "[]", MS_TYPE_JSON, "[]");
    expect_set_raw(t, "{bad", MS_TYPE_STR, "{bad");
    /* Whatever was set reads back as JSON. */
    set_ok(t, "v", "[1, {\"a\": \"b c\"}]");
    ask(t, "get v\n", value_line(c, "v", "[1,{\"a\":\"b c\"}]"));
    set_ok(t, "v", "\"two words\"");
    ask(t, "get v\n", value_line(c, "v", "\"two words\""));
    set_ok(t, "v", "7.0");
    ask(t, "get v\n", value_line(c, "v", "7.0"));
    /* CRLF: the \r is not part of the value. */
    ask(t, "set v Manual\r\n", "OK\n");
    expect_stored(find(c, "v"), "\x03Manual", 7);
    core_del(c);
}

static void test_set_errors(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_tag *tag = set_ok(t, "v", "5");
    uint8_t w[9];
    wire(ms_value_int(5), w);
    size_t count = c->tags.count;
    const char *bad[] = {
        "set v null\n",         /* null is no value */
        "set v\n",              /* no value */
        "set v   \n",
        "set\n",
        "set v \xff\xfe\n",     /* a bare word that is not UTF-8 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        say(t, bad[i]);
        expect_line_prefix(t, "ERR ");
        expect_stored(tag, w, 9);
    }
    /* Invalid names create nothing. */
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = '\0';
    char line[400];
    snprintf(line, sizeof line, "set %s 1\n", longname);
    say(t, line);
    expect_line_prefix(t, "ERR ");
    say(t, "set a\x01z 1\n");
    expect_line_prefix(t, "ERR ");
    assert_int_equal(c->tags.count, count);
    /* 255 bytes is a valid name. */
    longname[255] = '\0';
    set_ok(t, longname, "1");
    core_del(c);
}

static void test_set_creates_until_table_full(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    core_fill_tags(c);
    ask(t, "set last 1\n", "OK\n");
    assert_int_equal(find(c, "last")->id, MS_BUS_MAX_ID);
    ask(t, "set one_too_many 1\n",
        "ERR cannot create 'one_too_many': tag table full\n");
    assert_null(find(c, "one_too_many"));
    ask(t, "set t1000 2\n", "OK\n");
    ask(t, "get t1000\n", value_line(c, "t1000", "2"));
    assert_false(t->closing);
    core_del(c);
}

static void test_sub_unsub(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_conn *b = bin_conn(c, "b");
    uint16_t a = bin_id(b, "a"), bb = bin_id(b, "b");
    uint8_t w[9];
    bin_send(b, MS_CMD_SET, a, 1000001, w, wire(ms_value_int(1), w));
    /* Current values at once, one line each, in order. */
    ask(t, "sub a b\n",
        "a 1 1970-01-01T00:00:01.000001Z\n"
        "b null 1970-01-01T00:00:00.000000Z\n");
    /* Then a line per change. */
    bin_send(b, MS_CMD_SET, a, 1700000000000001ULL, w,
             wire(ms_value_float(2.5), w));
    expect_text(t, "a 2.5 2023-11-14T22:13:20.000001Z\n");
    bin_send(b, MS_CMD_SET, bb, 1700000000000002ULL, "\x03x y", 4);
    expect_text(t, "b \"x y\" 2023-11-14T22:13:20.000002Z\n");
    /* Its own set is not echoed. */
    ask(t, "set a 3\n", "OK\n");
    /* Unknown names among known ones. */
    ask(t, "unsub a\n", "OK\n");
    bin_send(b, MS_CMD_SET, a, 1700000000000003ULL, w,
             wire(ms_value_int(4), w));
    expect_text(t, "");
    ask(t, "sub nope a\n",
        "ERR unknown tag 'nope'\na 4 2023-11-14T22:13:20.000003Z\n");
    assert_null(find(c, "nope"));
    ask(t, "unsub a nope b\n", "OK\nERR unknown tag 'nope'\nOK\n");
    ask(t, "UNSUB a\n", "OK\n"); /* not subscribed: still OK */
    bin_send(b, MS_CMD_SET, a, 5, w, wire(ms_value_int(5), w));
    bin_send(b, MS_CMD_SET, bb, 5, w, wire(ms_value_int(5), w));
    expect_text(t, "");
    say(t, "sub\n");
    expect_line_prefix(t, "ERR ");
    say(t, "unsub\n");
    expect_line_prefix(t, "ERR ");
    /* Sub twice: the current value twice, but one update per change. */
    ask(t, "Sub a\n", "a 5 1970-01-01T00:00:00.000005Z\n");
    ask(t, "sub a\n", "a 5 1970-01-01T00:00:00.000005Z\n");
    bin_send(b, MS_CMD_SET, a, 6, w, wire(ms_value_int(6), w));
    expect_text(t, "a 6 1970-01-01T00:00:00.000006Z\n");
    assert_int_equal(take_bin(b, (bmsg[1]){0}, 1), 0);
    core_del(c);
}

/* A SET from a text client reaches binary subscribers with the bus time. */
static void test_text_set_reaches_binary(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_conn *b = bin_conn(c, "b");
    ms_bus_conn *b2 = bin_conn(c, "b2");
    uint16_t id = bin_id(b, "shared");
    bin_sub(b, id);
    ask(t, "sub shared\n", "shared null 1970-01-01T00:00:00.000000Z\n");
    struct {
        const char *text;
        const char *wire;
        size_t len;
    } cases[] = {
        {"42", "\x01\0\0\0\0\0\0\0\x2a", 9},
        {"2.5", "\x02\x40\x04\0\0\0\0\0\0", 9},
        {"\"x y\"", "\x03x y", 4},
        {"Auto", "\x03" "Auto", 5},
        {"[1, 2]", "\x05[1,2]", 6},
        {"true", "\x01\0\0\0\0\0\0\0\x01", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[64];
        snprintf(line, sizeof line, "set shared %s\n", cases[i].text);
        uint64_t t0 = ms_time_now_us();
        ask(t, line, "OK\n"); /* and not its own value back */
        uint64_t t1 = ms_time_now_us();
        bmsg m[2];
        assert_int_equal(take_bin(b, m, 2), 1);
        assert_int_equal(m[0].cmd, MS_CMD_SET);
        assert_int_equal(m[0].tag_id, id);
        assert_true(m[0].time_us >= t0 && m[0].time_us <= t1);
        assert_int_equal(m[0].len, cases[i].len);
        assert_memory_equal(m[0].data, cases[i].wire, cases[i].len);
        /* Not a subscriber: nothing. */
        assert_int_equal(take_bin(b2, m, 2), 0);
    }
    /* A new tag made by a text set is known to binary clients. */
    ask(t, "set made_by_text 1\n", "OK\n");
    uint16_t mid = bin_id(b2, "made_by_text");
    bin_send(b2, MS_CMD_GET, mid, 0, NULL, 0);
    bmsg m[2];
    assert_int_equal(take_bin(b2, m, 2), 1);
    assert_int_equal(m[0].cmd, MS_CMD_SET);
    assert_memory_equal(m[0].data, "\x01\0\0\0\0\0\0\0\x01", 9);
    core_del(c);
}

/* A binary SET reaches a text subscriber as a line, every type. */
static void test_binary_set_reaches_text(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_conn *b = bin_conn(c, "b");
    uint16_t id = bin_id(b, "x");
    ask(t, "sub x\n", "x null 1970-01-01T00:00:00.000000Z\n");
#define W(s) s, sizeof(s) - 1
    struct {
        const char *wire;
        size_t len;
        const char *json;
    } cases[] = {
        {W("\x01\x80\0\0\0\0\0\0\0"), "-9223372036854775808"},
        {W("\x02\x3f\xf8\0\0\0\0\0\0"), "1.5"},
        {W("\x02\x7f\xf8\0\0\0\0\0\0"), "NaN"},
        {W("\x02\xff\xf0\0\0\0\0\0\0"), "-Infinity"},
        {W("\x03line1\nline2 \"q\""), "\"line1\\nline2 \\\"q\\\"\""},
        {W("\x03tab\there"), "\"tab\\there\""},
        {W("\x04\x00\xff\x0a"), "\"00ff0a\""},
        {W("\x04"), "\"\""},
        {W("\x05{\"a\":\n [1, 2]}"), "{\"a\":[1,2]}"},
        {W(""), "null"},
    };
#undef W
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t tu = 1763730367881143ULL + i;
        bin_send(b, MS_CMD_SET, id, tu, cases[i].wire, cases[i].len);
        char want[256];
        snprintf(want, sizeof want, "x %s %s\n", cases[i].json, iso(tu));
        expect_text(t, want);
    }
    assert_string_equal(iso(1763730367881143ULL),
                        "2025-11-21T13:06:07.881143Z");
    assert_int_equal(take_bin(b, (bmsg[1]){0}, 1), 0);
    /* A text client gone: binary sets go on. */
    ms_bus_core_conn_free(t);
    uint8_t w[9];
    bin_send(b, MS_CMD_SET, id, 9, w, wire(ms_value_int(9), w));
    assert_int_equal(take_bin(b, (bmsg[1]){0}, 1), 0);
    core_del(c);
}

/* RTA to a tag a text client set comes to it as a line. */
static void test_rta_to_text_author(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_conn *b = bin_conn(c, "b");
    ask(t, "set r 1\n", "OK\n");
    uint16_t id = bin_id(b, "r");
    const char rta[] = "\x05{\"cmd\": \"go\"}";
    bin_send(b, MS_CMD_RTA, id, 0, rta, sizeof rta - 1);
    expect_text(t, "RTA r {\"cmd\":\"go\"}\n");
    assert_int_equal(take_bin(b, (bmsg[1]){0}, 1), 0);
    ms_bus_core_conn_free(t);
    bin_send(b, MS_CMD_RTA, id, 0, rta, sizeof rta - 1);
    bmsg m[2];
    assert_int_equal(take_bin(b, m, 2), 1);
    assert_int_equal(m[0].cmd, MS_CMD_ERR);
    core_del(c);
}

static void test_lines_in_pieces(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    /* Several lines in one read, CRLF or LF. */
    say(t, "set a 1\r\nset b 2\nget a\r\n");
    char want[128];
    snprintf(want, sizeof want, "OK\nOK\n%s", value_line(c, "a", "1"));
    expect_text(t, want);
    size_t used;
    /* No newline yet: nothing used, nothing said. */
    assert_int_equal(feed(t, "li", 2, &used), 0);
    assert_int_equal(used, 0);
    expect_text(t, "");
    /* The I/O layer keeps the rest and gives it again with more. */
    assert_int_equal(feed(t, "list ^a", 7, &used), 0);
    assert_int_equal(used, 0);
    assert_int_equal(feed(t, "list ^a\r", 8, &used), 0);
    assert_int_equal(used, 0);
    expect_text(t, "");
    assert_int_equal(feed(t, "list ^a\r\nget b\nhel", 18, &used), 0);
    assert_int_equal(used, 15);
    char *got = take_text(t);
    assert_true(strncmp(got, "LIST a\nb 2 ", 11) == 0);
    free(got);
    assert_int_equal(feed(t, "help\n", 5, &used), 0);
    assert_int_equal(used, 5);
    expect_line_prefix(t, "HELP");
    core_del(c);
}

static void test_overlong_line_drops(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    size_t max = MS_BUS_TEXT_LINE_MAX;
    char *big = malloc(max + 10);
    assert_non_null(big);
    memset(big, 'a', max + 10);
    size_t used;
    /* Up to the limit without a newline: still waiting. */
    assert_int_equal(feed(t, big, max, &used), 0);
    assert_int_equal(used, 0);
    assert_false(t->closing);
    /* A line of exactly the limit is a line (an unknown command). */
    big[max] = '\n';
    assert_int_equal(feed(t, big, max + 1, &used), 0);
    assert_int_equal(used, max + 1);
    assert_false(t->closing);
    ms_buf_consume(&t->out, ms_buf_size(&t->out));
    /* One more byte without a newline: an ERR line, then the connection
     * quits (closes once that is written); nothing more is read. */
    memset(big, 'a', max + 10);
    assert_int_equal(feed(t, big, max + 1, &used), 0);
    assert_true(t->quit);
    assert_false(t->closing);
    expect_text(t, "ERR line over 65536 bytes; closing the connection\n");
    assert_int_equal(c->n.dropped, 1);
    assert_int_equal(feed(t, "help\n", 5, &used), 0);
    assert_int_equal(used, 0);
    expect_text(t, "");
    ms_bus_core_conn_free(t);

    /* Whole lines before it are still handled. */
    t = text_conn(c, "t2");
    memcpy(big, "help\n", 5);
    assert_int_equal(feed(t, big, max + 10, &used), 0);
    assert_int_equal(used, 5);
    assert_true(t->quit);
    char *got = take_text(t);
    assert_true(strncmp(got, "HELP", 4) == 0);
    assert_non_null(strstr(got, "\nERR line over 65536 bytes"));
    free(got);
    ms_bus_core_conn_free(t);

    /* An over-long line that does end in a newline is too long too. */
    t = text_conn(c, "t3");
    memset(big, 'a', max + 10);
    big[max + 1] = '\n';
    assert_int_equal(feed(t, big, max + 2, &used), 0);
    assert_true(t->quit);
    expect_line_prefix(t, "ERR line over");
    ms_bus_core_conn_free(t);
    free(big);
    core_del(c);
}

static bool popped(ms_bus_core *c, const ms_bus_conn *want)
{
    bool found = false;
    ms_bus_conn *p;
    while ((p = ms_bus_core_pop_pending(c)))
        found = found || p == want;
    return found;
}

/* The I/O layer writes out and closes only connections it pops off the
 * pending list (bus_flush in bus_server.c): a text connection quitting for
 * an over-long line must be on it too, even when it had nothing queued. */
static void test_overlong_line_is_pending(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_text_greet(t);
    assert_true(popped(c, t));
    ms_buf_consume(&t->out, ms_buf_size(&t->out)); /* written out */
    size_t max = MS_BUS_TEXT_LINE_MAX, used;
    char *big = malloc(max + 1);
    assert_non_null(big);
    memset(big, 'a', max + 1);
    assert_int_equal(feed(t, big, max + 1, &used), 0);
    free(big);
    assert_true(t->quit);
    bool found = popped(c, t);
    core_del(c); /* (before failing: no leak report to hide the point) */
    if (!found)
        fail_msg("a text connection quitting for an over-long line is not "
                 "on the pending list: the server never drops it");
}

/* Every reply is whole lines, even when it quotes a long word from the
 * client: "get <700-byte name>" must answer one ERR line ending in \n. */
static void test_long_words_in_err_lines(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    char line[2100];
    int bad = 0;
    const char *fmts[] = {"get %s\n", "sub %s\n", "unsub %s\n", "%s\n",
                          "set v %s\n"};
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        char word[2000];
        memset(word, 'w', sizeof word - 1);
        word[sizeof word - 1] = '\0';
        if (i == 4) /* a bare word that is not UTF-8: a bad value */
            word[0] = (char)0xff;
        snprintf(line, sizeof line, fmts[i], word);
        say(t, line);
        char *got = take_text(t);
        size_t n = strlen(got);
        if (strncmp(got, "ERR ", 4) || n == 0 || got[n - 1] != '\n') {
            print_message("reply to [%.12s...] (%zu bytes) does not end in "
                          "a newline: [%.30s...%s]\n", line, strlen(line),
                          got, n > 20 ? got + n - 20 : got);
            bad++;
        }
        free(got);
    }
    core_del(c);
    assert_int_equal(bad, 0);
}

static void test_nul_byte(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ask(t, "set a 1\n", "OK\n");
    size_t used;
    assert_int_equal(feed(t, "get a\0b\n", 8, &used), 0);
    assert_int_equal(used, 8);
    expect_line_prefix(t, "ERR ");
    assert_int_equal(feed(t, "set a\0 2\r\n", 10, &used), 0);
    expect_line_prefix(t, "ERR ");
    assert_int_equal(feed(t, "\0\n", 2, &used), 0);
    expect_line_prefix(t, "ERR ");
    assert_int_equal(feed(t, "help\0\r\n", 7, &used), 0);
    expect_line_prefix(t, "ERR ");
    ask(t, "get a\n", value_line(c, "a", "1"));
    assert_false(t->closing);
    core_del(c);
}

static void test_quit(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    size_t used;
    const char in[] = "help\nquit\nset after 1\n";
    assert_int_equal(feed(t, in, sizeof in - 1, &used), 0);
    assert_true(t->quit);
    assert_int_equal(used, 10);
    char *got = take_text(t);
    assert_true(strncmp(got, "HELP", 4) == 0);
    size_t n = strlen(got);
    assert_true(n >= 4 && strcmp(got + n - 4, "BYE\n") == 0);
    free(got);
    assert_null(find(c, "after"));
    /* Nothing more is read. */
    assert_int_equal(feed(t, "help\n", 5, &used), 0);
    assert_int_equal(used, 0);
    expect_text(t, "");
    ms_bus_core_conn_free(t);

    t = text_conn(c, "t2");
    ask(t, "QUIT\r\n", "BYE\n");
    assert_true(t->quit);
    core_del(c);
}

/* A text subscriber behind on reading gets the latest value of a tag once
 * it drains, as a binary one does. */
static void test_text_subscriber_conflated(void **state)
{
    (void)state;
    ms_bus_core *c = core_new(1u << 20, 256, 1u << 20);
    ms_bus_conn *t = text_conn(c, "t");
    ms_bus_conn *b = bin_conn(c, "b");
    uint16_t id = bin_id(b, "fast");
    ask(t, "sub fast\n", "fast null 1970-01-01T00:00:00.000000Z\n");
    uint8_t w[9];
    for (int i = 1; i <= 200; i++)
        bin_send(b, MS_CMD_SET, id, (uint64_t)i, w, wire(ms_value_int(i), w));
    char *got = take_text(t);
    size_t lines = 0;
    for (char *p = got; *p; p++)
        lines += *p == '\n';
    assert_true(lines > 0 && lines < 200);
    assert_true(strncmp(got, "fast 1 ", 7) == 0);
    free(got);
    assert_true(ms_bus_core_drain(t));
    expect_text(t, "fast 200 1970-01-01T00:00:00.000200Z\n");
    assert_false(ms_bus_core_drain(t));
    core_del(c);
}

/* Core replies to a text connection are lines too: ERR as "ERR text",
 * LIST as "LIST names"; ID replies are not shown. */
static void test_core_messages_as_lines(void **state)
{
    (void)state;
    ms_bus_core *c = core_default();
    ms_bus_conn *t = text_conn(c, "t");
    ms_msg get = {MS_CMD_GET, 999, 0, NULL, 0};
    ms_bus_core_handle(t, &get);
    expect_line_prefix(t, "ERR ");
    ms_msg id = {MS_CMD_ID, 0, 0, (const uint8_t *)"by_id", 5};
    ms_bus_core_handle(t, &id);
    expect_text(t, "");
    assert_non_null(find(c, "by_id"));
    ms_msg bad_id = {MS_CMD_ID, 0, 0, (const uint8_t *)"a b", 3};
    ms_bus_core_handle(t, &bad_id);
    expect_line_prefix(t, "ERR ");
    ms_msg list = {MS_CMD_LIST, 0, 0, (const uint8_t *)"^by", 3};
    ms_bus_core_handle(t, &list);
    expect_text(t, "LIST by_id\n");
    ms_msg unknown = {42, 0, 0, NULL, 0};
    ms_bus_core_handle(t, &unknown);
    expect_line_prefix(t, "ERR ");
    core_del(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_never_set),
        cmocka_unit_test(test_format_int),
        cmocka_unit_test(test_format_float),
        cmocka_unit_test(test_format_float_round_trips),
        cmocka_unit_test(test_format_float_denormal_shortest),
        cmocka_unit_test(test_format_str),
        cmocka_unit_test(test_format_str_control_and_invalid),
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_format_json),
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_empty_and_unknown),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_set_creates_until_table_full),
        cmocka_unit_test(test_sub_unsub),
        cmocka_unit_test(test_text_set_reaches_binary),
        cmocka_unit_test(test_binary_set_reaches_text),
        cmocka_unit_test(test_rta_to_text_author),
        cmocka_unit_test(test_lines_in_pieces),
        cmocka_unit_test(test_overlong_line_drops),
        cmocka_unit_test(test_overlong_line_is_pending),
        cmocka_unit_test(test_long_words_in_err_lines),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_quit),
        cmocka_unit_test(test_text_subscriber_conflated),
        cmocka_unit_test(test_core_messages_as_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
