/* The wwwserver's pure protocol layer (src/www/codec): Python-identical
 * JSON text and float repr, YAML -> JSON as PyYAML, tag_info exactly as
 * pymscada's standardise_tag_info, browser message decoding, frame
 * encoding, and the hub: subscriptions, tag_info then value, conflation of
 * scalars, rta-id filtering of BYTES and dict values, the bounded queue
 * (overflow once), rta ids distinct and recycled, set checks, rta/rqs ids
 * and max_points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mscada/error.h"
#include "mscada/log.h"
#include "www/codec/www_hub.h"
#include "www/codec/www_json.h"
#include "www/codec/www_msg.h"
#include "www/codec/www_taginfo.h"

static void test_float_repr(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *s;
    } cases[] = {{2.0, "2.0"},          {0.1, "0.1"},
                 {1e100, "1e+100"},     {-1e100, "-1e+100"},
                 {1e16, "1e+16"},       {1e15, "1000000000000000.0"},
                 {1.5e-5, "1.5e-05"},   {0.0001, "0.0001"},
                 {123.456, "123.456"},  {-0.5, "-0.5"},
                 {0.0, "0.0"},          {1.7976931348623157e308,
                                         "1.7976931348623157e+308"},
                 {33.3, "33.3"},        {12345678901234567890.0,
                                         "1.2345678901234567e+19"}};
    char buf[48];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_www_float_repr(cases[i].d, buf);
        assert_string_equal(buf, cases[i].s);
    }
}

static char *dump(const json_t *j)
{
    char *s = ms_www_json_text(j, NULL);
    assert_non_null(s);
    return s;
}

static void test_json_dump(void **state)
{
    (void)state;
    json_t *j = json_loads("{\"a\": [1, 2.5, true, null], \"b\": "
                           "\"\\u00e9\\n\\\"x\\u0001\\ud83d\\ude00\"}",
                           0, NULL);
    assert_non_null(j);
    char *s = dump(j);
    assert_string_equal(s, "{\"a\": [1, 2.5, true, null], \"b\": "
                           "\"\\u00e9\\n\\\"x\\u0001\\ud83d\\ude00\"}");
    free(s);
    json_decref(j);
}

static json_t *yaml(const char *text, ms_conf_doc **doc)
{
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("t.yaml", text, strlen(text), doc, &err),
                     0);
    return ms_www_conf_json(ms_conf_root(*doc));
}

static void test_conf_json(void **state)
{
    (void)state;
    ms_conf_doc *doc;
    json_t *j = yaml("a: 1\nb: 1.5\nc: yes\nd: 'yes'\ne:\nf: [0x10, 1_000, "
                     "text, ~]\ng: {h: -1.0e+100, h2: 1e+100}\ni: 010\n", &doc);
    char *s = dump(j);
    assert_string_equal(s, "{\"a\": 1, \"b\": 1.5, \"c\": true, \"d\": "
                           "\"yes\", \"e\": null, \"f\": [16, 1000, \"text\", "
                           "null], \"g\": {\"h\": -1e+100, \"h2\": \"1e+100\"}, \"i\": 8}");
    free(s);
    json_decref(j);
    ms_conf_free(doc);
}

/* What pymscada's standardise_tag_info gives, as json.dumps writes it. */
static void check_info(const char *yaml_text, const char *name,
                       const char *want)
{
    ms_conf_doc *doc;
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("tags.yaml", yaml_text, strlen(yaml_text),
                                   &doc, &err), 0);
    json_t *info = ms_www_taginfo(name, ms_conf_get(ms_conf_root(doc), name));
    char *s = dump(info);
    assert_string_equal(s, want);
    free(s);
    json_decref(info);
    ms_conf_free(doc);
}

static void test_taginfo(void **state)
{
    (void)state;
    check_info("FloatSet:\n  desc: Float Setpoint\n  type: float\n"
               "  min: -1.0e+100\n  max: 1.0e+100\n  units: m\n  dp: 1\n"
               "  init: 2\n", "FloatSet",
               "{\"desc\": \"Float Setpoint\", \"type\": \"float\", \"min\": "
               "-1e+100, \"max\": 1e+100, \"units\": \"m\", \"dp\": 1, "
               "\"init\": 2, \"name\": \"FloatSet\", \"id\": null, "
               "\"deadband\": null}");
    check_info("T: {}\n", "T",
               "{\"name\": \"T\", \"id\": null, \"desc\": \"T\", \"type\": "
               "\"float\", \"dp\": 2, \"deadband\": null}");
    check_info("M:\n  desc: Mode\n  multi: [a, b]\n  type: float\n"
               "  dp: 3\n", "M",
               "{\"desc\": \"Mode\", \"multi\": [\"a\", \"b\"], \"type\": "
               "\"int\", \"dp\": 0, \"name\": \"M\", \"id\": null, "
               "\"deadband\": null}");
    check_info("S:\n  type: text\n  dp: 1\n  deadband: 0.5\n", "S",
               "{\"type\": \"str\", \"deadband\": 0.5, \"name\": \"S\", "
               "\"id\": null, \"desc\": \"S\"}");
    check_info("D:\n  type: dict\n  alarm: x\n", "D",
               "{\"type\": \"dict\", \"alarm\": \"x\", \"name\": \"D\", "
               "\"id\": null, \"desc\": \"D\", \"deadband\": null}");
    check_info("I:\n  type: int\n  format: date\n", "I",
               "{\"type\": \"int\", \"format\": \"date\", \"name\": \"I\", "
               "\"id\": null, \"desc\": \"I\", \"dp\": 0, \"deadband\": "
               "null}");
}

static void test_msg_decode(void **state)
{
    (void)state;
    ms_www_msg m;
    char why[200];
    const char *ok = "{\"type\":\"set\",\"tagname\":\"F\",\"value\":33.3}";
    assert_int_equal(ms_www_msg_decode(ok, strlen(ok), &m, why, sizeof why),
                     0);
    assert_int_equal(m.cmd, MS_WWW_SET);
    assert_string_equal(m.tagname, "F");
    assert_true(json_is_real(m.value));
    json_decref(m.root);
    const char *rqs = "{\"type\":\"rqs\",\"tagname\":\"F\",\"value\":{}}";
    assert_int_equal(ms_www_msg_decode(rqs, strlen(rqs), &m, why,
                                       sizeof why), 0);
    assert_int_equal(m.cmd, MS_WWW_RTA);
    assert_true(m.rqs);
    json_decref(m.root);
    const char *file = "{\"type\":\"file\",\"action\":\"upload\"}";
    assert_int_equal(ms_www_msg_decode(file, strlen(file), &m, why,
                                       sizeof why), 0);
    assert_int_equal(m.cmd, MS_WWW_FILE);
    json_decref(m.root);
    static const char *const bad[] = {
        "{", "[1]", "{\"type\":\"sub\"}", "{\"type\":\"zap\",\"tagname\":\"F\"}",
        "{\"tagname\":\"F\"}", "{\"type\":\"rta\",\"tagname\":\"F\",\"value\":1}",
        "{\"type\":\"sub\",\"tagname\":\"\"}", "{\"type\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        assert_int_equal(ms_www_msg_decode(bad[i], strlen(bad[i]), &m, why,
                                           sizeof why), MS_EPROTO);
        assert_true(why[0] != 0);
    }
}

static void test_frames(void **state)
{
    (void)state;
    uint8_t h[10];
    assert_int_equal(ms_www_ws_header(h, MS_WS_TEXT, 125), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 125);
    assert_int_equal(ms_www_ws_header(h, MS_WS_BINARY, 126), 4);
    assert_int_equal(h[0], 0x82);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[3], 126);
    assert_int_equal(ms_www_ws_header(h, MS_WS_BINARY, 70000), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(ms_get_u64(h + 2), 70000);
    /* pack('!HHQq', 11, 1, t, 42) */
    ms_buf b = {0};
    ms_value v = ms_value_int(42);
    assert_int_equal(ms_www_frame_value(&b, 11, 1700000000000000ull, &v), 0);
    static const uint8_t want[] = {0x82, 20, 0, 11, 0, 1, 0x00, 0x06, 0x0a,
                                   0x24, 0x18, 0x1e, 0x40, 0x00, 0, 0, 0, 0,
                                   0, 0, 0, 42};
    assert_int_equal(ms_buf_size(&b), sizeof want);
    assert_memory_equal(ms_buf_head(&b), want, sizeof want);
    ms_buf_free(&b);
}

/* ---- the hub ---------------------------------------------------------- */

typedef struct {
    int want_write;
    int overflow;
    ms_www_conn *last_overflow;
} calls;

static void on_want(ms_www_conn *c, void *arg)
{
    (void)c;
    ((calls *)arg)->want_write++;
}

static void on_overflow(ms_www_conn *c, void *arg)
{
    ((calls *)arg)->overflow++;
    ((calls *)arg)->last_overflow = c;
}

typedef struct {
    int op;
    uint8_t *p;
    size_t len;
} frame;

/* Splits what fill() wrote into frames; returns how many. */
static size_t frames_of(ms_www_conn *c, frame *out, size_t max)
{
    ms_buf b = {0};
    while (ms_www_conn_fill(c, &b, 1 << 20))
        ;
    size_t n = 0, pos = 0;
    const uint8_t *d = ms_buf_head(&b);
    while (pos < ms_buf_size(&b)) {
        assert_true(n < max);
        int op = d[pos] & 0x0f;
        assert_true(d[pos] & 0x80);
        size_t len = d[pos + 1], h = 2;
        if (len == 126) {
            len = ms_get_u16(d + pos + 2);
            h = 4;
        } else if (len == 127) {
            len = ms_get_u64(d + pos + 2);
            h = 10;
        }
        out[n].op = op;
        out[n].p = malloc(len + 1);
        memcpy(out[n].p, d + pos + h, len);
        out[n].p[len] = 0;
        out[n].len = len;
        n++;
        pos += h + len;
    }
    ms_buf_free(&b);
    return n;
}

static void frames_free(frame *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].p);
}

static ms_www_hub *hub_make(calls *k, size_t queue_max, int ids)
{
    ms_www_hub_config cfg;
    ms_www_hub_config_init(&cfg);
    cfg.want_write = on_want;
    cfg.overflow = on_overflow;
    cfg.arg = k;
    if (queue_max)
        cfg.queue_max = queue_max;
    if (ids)
        cfg.rta_ids = ids;
    json_t *config = json_pack("{s:s}", "primary_color", "darkmagenta");
    json_t *pages = json_pack("[{s:s}]", "name", "Main");
    ms_www_hub *h;
    assert_int_equal(ms_www_hub_new(&cfg, config, pages, &h), 0);
    json_decref(config);
    json_decref(pages);
    static const char *const names[] = {"I", "F", "S", "__history__", "D",
                                        "L"};
    static const char *const types[] = {"int", "float", "str", "bytes",
                                        "dict", "list"};
    for (int i = 0; i < 6; i++) {
        json_t *info = json_pack("{s:s}", "type", types[i]);
        if (i == 1) {
            json_object_set_new(info, "min", json_integer(0));
            json_object_set_new(info, "max", json_integer(100));
        }
        json_object_set_new(info, "name", json_string(names[i]));
        assert_int_equal(ms_www_hub_add_tag(h, names[i], info), i);
    }
    return h;
}

static ms_www_action recv_text(ms_www_conn *c, const char *text)
{
    ms_www_action a;
    ms_www_conn_recv(c, text, strlen(text), &a);
    return a;
}

static void test_hub_sub_and_values(void **state)
{
    (void)state;
    calls k = {0};
    ms_www_hub *h = hub_make(&k, 0, 0);
    ms_www_conn *c = ms_www_conn_new(h, "127.0.0.1:1", NULL);
    assert_non_null(c);
    assert_int_equal(k.want_write, 1);
    frame f[16];
    size_t n = frames_of(c, f, 16);
    assert_int_equal(n, 2);
    assert_string_equal((char *)f[0].p, "{\"type\": \"config\", \"payload\": "
                        "{\"primary_color\": \"darkmagenta\"}}");
    assert_string_equal((char *)f[1].p, "{\"type\": \"pages\", \"payload\": "
                        "[{\"name\": \"Main\"}]}");
    frames_free(f, n);

    /* sub before the bus id is known: asks for a bus SUB, sends nothing */
    ms_www_action a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"I\"}");
    assert_int_equal(a.kind, MS_WWW_ACT_SUB);
    assert_int_equal(a.tag, 0);
    ms_www_action_done(&a);
    ms_value v = ms_value_int(42);
    ms_www_hub_value(h, 0, &v, 1000);
    assert_int_equal(frames_of(c, f, 16), 0);
    ms_www_hub_set_id(h, 0, 11);
    n = frames_of(c, f, 16);
    assert_int_equal(n, 2);
    assert_string_equal((char *)f[0].p, "{\"type\": \"tag_info\", \"payload\": "
                        "{\"type\": \"int\", \"name\": \"I\", \"id\": 11}}");
    assert_int_equal(f[1].op, MS_WS_BINARY);
    assert_int_equal(f[1].len, 20);
    assert_int_equal(ms_get_u16(f[1].p), 11);
    assert_int_equal(ms_get_u16(f[1].p + 2), 1);
    assert_int_equal(ms_get_u64(f[1].p + 4), 1000);
    assert_int_equal(ms_get_u64(f[1].p + 12), 42);
    frames_free(f, n);

    /* a second sub of a known tag: no bus SUB, tag_info + value again */
    a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"I\"}");
    assert_int_equal(a.kind, MS_WWW_ACT_NONE);
    n = frames_of(c, f, 16);
    assert_int_equal(n, 2);
    frames_free(f, n);

    /* conflation: three values while busy -> only the latest */
    for (int i = 1; i <= 3; i++) {
        v = ms_value_int(i);
        ms_www_hub_value(h, 0, &v, 2000 + (uint64_t)i);
    }
    n = frames_of(c, f, 16);
    assert_int_equal(n, 1);
    assert_int_equal(ms_get_u64(f[0].p + 12), 3);
    assert_int_equal(ms_get_u64(f[0].p + 4), 2003);
    frames_free(f, n);
    ms_www_conn_stats st;
    ms_www_conn_get_stats(c, &st);
    assert_int_equal(st.conflated, 2);

    /* str: UTF-8 to the end, no length */
    ms_www_hub_set_id(h, 2, 5);
    a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"S\"}");
    assert_int_equal(a.kind, MS_WWW_ACT_SUB);
    n = frames_of(c, f, 16);
    assert_int_equal(n, 1); /* tag_info, no value yet */
    frames_free(f, n);
    v = ms_value_buf(MS_TYPE_STR, "hello", 5);
    ms_www_hub_value(h, 2, &v, 7);
    n = frames_of(c, f, 16);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].len, 17);
    assert_int_equal(ms_get_u16(f[0].p + 2), 3);
    assert_memory_equal(f[0].p + 12, "hello", 5);
    frames_free(f, n);

    /* a list: JSON `tag` message, the value's text as the bus had it */
    ms_www_hub_set_id(h, 5, 9);
    a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"L\"}");
    frames_free(f, frames_of(c, f, 16));
    v = ms_value_buf(MS_TYPE_JSON, "[1, 2]", 6);
    ms_www_hub_value(h, 5, &v, 1700000000000000ull);
    n = frames_of(c, f, 16);
    assert_int_equal(n, 1);
    assert_string_equal((char *)f[0].p, "{\"type\": \"tag\", \"payload\": "
                        "{\"tagid\": 9, \"time_us\": 1700000000000000, "
                        "\"value\": [1, 2]}}");
    frames_free(f, n);

    /* bus down and up: a bus message each, ids forgotten meanwhile */
    ms_www_hub_bus(h, false);
    v = ms_value_int(99);
    ms_www_hub_value(h, 0, &v, 3000);
    n = frames_of(c, f, 16);
    assert_int_equal(n, 1);
    assert_string_equal((char *)f[0].p, "{\"type\": \"bus\", \"payload\": "
                        "{\"connected\": false}}");
    frames_free(f, n);
    ms_www_hub_bus(h, true);
    ms_www_hub_set_id(h, 0, 12); /* maybe another id after a restart */
    n = frames_of(c, f, 16);
    assert_int_equal(n, 3);
    assert_non_null(strstr((char *)f[0].p, "\"connected\": true"));
    assert_non_null(strstr((char *)f[1].p, "\"id\": 12"));
    assert_int_equal(ms_get_u16(f[2].p), 12);
    assert_int_equal(ms_get_u64(f[2].p + 12), 99);
    frames_free(f, n);
    ms_www_hub_free(h);
}

static void test_hub_rta_filter(void **state)
{
    (void)state;
    calls k = {0};
    ms_www_hub *h = hub_make(&k, 0, 0);
    ms_www_conn *a = ms_www_conn_new(h, "a", NULL);
    ms_www_conn *b = ms_www_conn_new(h, "b", NULL);
    assert_int_not_equal(ms_www_conn_rta_id(a), ms_www_conn_rta_id(b));
    frame f[16];
    frames_free(f, frames_of(a, f, 16));
    frames_free(f, frames_of(b, f, 16));
    ms_www_hub_set_id(h, 3, 20);
    ms_www_hub_set_id(h, 4, 21);
    const char *subs[] = {"{\"type\":\"sub\",\"tagname\":\"__history__\"}",
                          "{\"type\":\"sub\",\"tagname\":\"D\"}"};
    for (int i = 0; i < 2; i++) {
        ms_www_action x = recv_text(a, subs[i]);
        ms_www_action_done(&x);
        x = recv_text(b, subs[i]);
        ms_www_action_done(&x);
    }
    frames_free(f, frames_of(a, f, 16));
    frames_free(f, frames_of(b, f, 16));
    /* a history reply for b only */
    uint8_t reply[34] = {0};
    ms_put_u16(reply, (uint16_t)ms_www_conn_rta_id(b));
    ms_put_u16(reply + 2, 7);
    ms_put_u16(reply + 4, 2);
    ms_value v = ms_value_buf(MS_TYPE_BYTES, reply, sizeof reply);
    ms_www_hub_value(h, 3, &v, 5);
    assert_int_equal(frames_of(a, f, 16), 0);
    size_t n = frames_of(b, f, 16);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].len, 12 + sizeof reply);
    assert_int_equal(ms_get_u16(f[0].p + 2), 4);
    assert_memory_equal(f[0].p + 12, reply, sizeof reply);
    frames_free(f, n);
    /* rta id 0 (the reset value): everybody */
    static const uint8_t zero[6] = {0};
    v = ms_value_buf(MS_TYPE_BYTES, zero, 6);
    ms_www_hub_value(h, 3, &v, 6);
    n = frames_of(a, f, 16);
    assert_int_equal(n, 1);
    frames_free(f, n);
    n = frames_of(b, f, 16);
    assert_int_equal(n, 1);
    frames_free(f, n);
    /* dict for a only; a dict without the key for both */
    char d[64];
    snprintf(d, sizeof d, "{\"__rta_id__\": %d, \"data\": []}",
             ms_www_conn_rta_id(a));
    v = ms_value_buf(MS_TYPE_JSON, d, strlen(d));
    ms_www_hub_value(h, 4, &v, 8);
    n = frames_of(a, f, 16);
    assert_int_equal(n, 1);
    assert_non_null(strstr((char *)f[0].p, "\"data\": []"));
    frames_free(f, n);
    assert_int_equal(frames_of(b, f, 16), 0);
    v = ms_value_buf(MS_TYPE_JSON, "{\"x\": 1}", 8);
    ms_www_hub_value(h, 4, &v, 9);
    n = frames_of(b, f, 16);
    assert_int_equal(n, 1);
    frames_free(f, n);
    ms_www_hub_free(h);
}

static void test_hub_queue_bound(void **state)
{
    (void)state;
    calls k = {0};
    ms_www_hub *h = hub_make(&k, 4096, 0);
    ms_www_conn *slow = ms_www_conn_new(h, "slow", NULL);
    ms_www_conn *fast = ms_www_conn_new(h, "fast", NULL);
    ms_www_hub_set_id(h, 5, 9);
    ms_www_hub_set_id(h, 0, 10);
    ms_www_action a = recv_text(slow, "{\"type\":\"sub\",\"tagname\":\"L\"}");
    assert_int_equal(a.kind, MS_WWW_ACT_SUB);
    a = recv_text(fast, "{\"type\":\"sub\",\"tagname\":\"L\"}");
    assert_int_equal(a.kind, MS_WWW_ACT_NONE);
    a = recv_text(slow, "{\"type\":\"sub\",\"tagname\":\"I\"}");
    assert_int_equal(a.kind, MS_WWW_ACT_SUB);
    frame f[64];
    char big[1000];
    memset(big, ' ', sizeof big);
    big[0] = '[';
    big[sizeof big - 1] = ']';
    for (int i = 0; i < 10; i++) {
        ms_value v = ms_value_buf(MS_TYPE_JSON, big, sizeof big);
        ms_www_hub_value(h, 5, &v, (uint64_t)i);
        size_t n = frames_of(fast, f, 64);
        if (i == 0)
            assert_int_equal(n, 4); /* config, pages, tag_info, value */
        else
            assert_int_equal(n, 1);
        frames_free(f, n);
    }
    /* scalars never count: a thousand int updates stay one slot */
    for (int i = 0; i < 1000; i++) {
        ms_value v = ms_value_int(i);
        ms_www_hub_value(h, 0, &v, (uint64_t)i);
    }
    assert_int_equal(k.overflow, 1);
    assert_ptr_equal(k.last_overflow, slow);
    assert_true(ms_www_conn_overflowed(slow));
    assert_false(ms_www_conn_overflowed(fast));
    ms_www_conn_stats st;
    ms_www_conn_get_stats(slow, &st);
    assert_true(st.queued <= 4096);
    ms_www_conn_free(slow);
    ms_www_conn_free(fast);
    ms_www_hub_free(h);
}

static void test_hub_rta_ids(void **state)
{
    (void)state;
    calls k = {0};
    ms_www_hub *h = hub_make(&k, 0, 3);
    ms_www_conn *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = ms_www_conn_new(h, "x", NULL);
        assert_non_null(c[i]);
        assert_int_equal(ms_www_conn_rta_id(c[i]), i + 1);
    }
    assert_null(ms_www_conn_new(h, "refused", NULL));
    ms_www_conn_free(c[1]); /* id 2 free again */
    ms_www_conn *d = ms_www_conn_new(h, "y", NULL);
    assert_non_null(d);
    assert_int_equal(ms_www_conn_rta_id(d), 2);
    ms_www_conn_free(c[0]);
    ms_www_conn_free(c[2]);
    /* after 2, the next free one is taken, not the lowest: 3 then 1 */
    ms_www_conn *e = ms_www_conn_new(h, "z", NULL);
    assert_int_equal(ms_www_conn_rta_id(e), 3);
    ms_www_hub_free(h); /* frees d and e too */
}

static void test_hub_set_and_rta(void **state)
{
    (void)state;
    calls k = {0};
    ms_www_hub *h = hub_make(&k, 0, 0);
    ms_www_conn *c = ms_www_conn_new(h, "c", NULL);
    ms_www_action a = recv_text(c, "{\"type\":\"set\",\"tagname\":\"F\","
                                   "\"value\":3}");
    assert_int_equal(a.kind, MS_WWW_ACT_NONE); /* set before sub */
    a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"F\"}");
    a = recv_text(c, "{\"type\":\"set\",\"tagname\":\"F\",\"value\":33.3}");
    assert_int_equal(a.kind, MS_WWW_ACT_SET);
    assert_int_equal(a.value.type, MS_TYPE_FLOAT);
    assert_true(a.value.u.f == 33.3);
    a = recv_text(c, "{\"type\":\"set\",\"tagname\":\"F\",\"value\":7}");
    assert_int_equal(a.value.type, MS_TYPE_FLOAT);
    static const char *const refused[] = {
        "{\"type\":\"set\",\"tagname\":\"F\",\"value\":\"x\"}",
        "{\"type\":\"set\",\"tagname\":\"F\",\"value\":101}",
        "{\"type\":\"set\",\"tagname\":\"F\",\"value\":-1}",
        "{\"type\":\"set\",\"tagname\":\"Nope\",\"value\":1}",
        "{\"type\":\"file\",\"action\":\"upload\",\"filename\":\"a.pdf\"}",
        "not json", "{\"type\":\"get\",\"tagname\":\"F\"}"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        a = recv_text(c, refused[i]);
        assert_int_equal(a.kind, MS_WWW_ACT_NONE);
        assert_null(a.text);
    }
    a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"I\"}");
    a = recv_text(c, "{\"type\":\"set\",\"tagname\":\"I\",\"value\":1.5}");
    assert_int_equal(a.kind, MS_WWW_ACT_NONE);
    a = recv_text(c, "{\"type\":\"set\",\"tagname\":\"I\",\"value\":5}");
    assert_int_equal(a.kind, MS_WWW_ACT_SET);
    assert_int_equal(a.value.u.i, 5);
    a = recv_text(c, "{\"type\":\"sub\",\"tagname\":\"D\"}");
    a = recv_text(c, "{\"type\":\"set\",\"tagname\":\"D\",\"value\":"
                     "{\"labels\":[\"a\"]}}");
    assert_int_equal(a.kind, MS_WWW_ACT_SET);
    assert_string_equal(a.text, "{\"labels\": [\"a\"]}");
    ms_www_action_done(&a);

    /* rta: this connection's id added; no sub needed */
    int id = ms_www_conn_rta_id(c);
    char want[256];
    a = recv_text(c, "{\"type\":\"rta\",\"tagname\":\"D\",\"value\":"
                     "{\"action\":\"BULK HISTORY\"}}");
    assert_int_equal(a.kind, MS_WWW_ACT_RTA);
    snprintf(want, sizeof want, "{\"action\": \"BULK HISTORY\", "
             "\"__rta_id__\": %d}", id);
    assert_string_equal(a.text, want);
    ms_www_action_done(&a);
    a = recv_text(c, "{\"type\":\"rqs\",\"tagname\":\"D\",\"value\":{}}");
    snprintf(want, sizeof want, "{\"__rqs_id__\": %d, \"__rta_id__\": %d}",
             id, id);
    assert_string_equal(a.text, want);
    ms_www_action_done(&a);
    /* history: max_points sized to the range (1 h -> 3600), kept when
     * given, capped for a year */
    a = recv_text(c, "{\"type\":\"rta\",\"tagname\":\"__history__\","
                     "\"value\":{\"tagname\":\"F\",\"start_ms\":0,"
                     "\"end_ms\":3600000}}");
    snprintf(want, sizeof want, "{\"tagname\": \"F\", \"start_ms\": 0, "
             "\"end_ms\": 3600000, \"__rta_id__\": %d, \"max_points\": 3600}",
             id);
    assert_string_equal(a.text, want);
    ms_www_action_done(&a);
    a = recv_text(c, "{\"type\":\"rta\",\"tagname\":\"__history__\","
                     "\"value\":{\"tagname\":\"F\",\"start_ms\":0,"
                     "\"end_ms\":31536000000}}");
    assert_non_null(strstr(a.text, "\"max_points\": 100000}"));
    ms_www_action_done(&a);
    a = recv_text(c, "{\"type\":\"rta\",\"tagname\":\"__history__\","
                     "\"value\":{\"tagname\":\"F\",\"max_points\":5}}");
    assert_null(strstr(a.text, "100000"));
    ms_www_action_done(&a);
    ms_www_hub_stats hs;
    ms_www_hub_get_stats(h, &hs);
    assert_int_equal(hs.refused, 8); /* get is not refused */
    ms_www_hub_free(h);
}

int main(void)
{
    ms_log_setup("test_www_codec", MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_repr),
        cmocka_unit_test(test_json_dump),
        cmocka_unit_test(test_conf_json),
        cmocka_unit_test(test_taginfo),
        cmocka_unit_test(test_msg_decode),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_hub_sub_and_values),
        cmocka_unit_test(test_hub_rta_filter),
        cmocka_unit_test(test_hub_queue_bound),
        cmocka_unit_test(test_hub_rta_ids),
        cmocka_unit_test(test_hub_set_and_rta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
