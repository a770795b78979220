/* The Sparkplug B codec: payload round trips, bytes written by hand from
 * sparkplug_b.proto, malformed input, value mapping, topics, STATE, seq. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mscada/error.h"
#include "sparkplug/codec/spb_payload.h"
#include "sparkplug/codec/spb_topic.h"

static void test_roundtrip(void **st)
{
    (void)st;
    ms_spb_metric m[4];
    memset(m, 0, sizeof m);
    m[0].name = "bdSeq";
    m[0].name_len = 5;
    ms_value v = ms_value_int(-3);
    assert_int_equal(ms_spb_metric_set_value(&m[0], &v), 0);
    m[1].name = "Pump/Speed";
    m[1].name_len = 10;
    m[1].has_alias = true;
    m[1].alias = 300;
    v = ms_value_float(12.5);
    ms_spb_metric_set_value(&m[1], &v);
    m[1].unit = "rpm";
    m[1].unit_len = 3;
    m[1].has_low = m[1].has_high = true;
    m[1].low = -1;
    m[1].high = 3000;
    m[1].has_readonly = true;
    m[1].readonly = true;
    m[2].has_alias = true;
    m[2].alias = 2;
    m[2].has_time = true;
    m[2].time_ms = 1700000000123ull;
    m[2].historical = true;
    v = ms_value_buf(MS_TYPE_STR, "héllo", 6);
    ms_spb_metric_set_value(&m[2], &v);
    m[3].name = "blob";
    m[3].name_len = 4;
    v = ms_value_buf(MS_TYPE_BYTES, "\0\1\2", 3);
    ms_spb_metric_set_value(&m[3], &v);
    ms_spb_payload pl = {true, 1700000000000ull, true, 255, m, 4};
    ms_spb_buf b = {0};
    assert_int_equal(ms_spb_encode(&pl, &b), 0);

    ms_spb_payload d;
    assert_int_equal(ms_spb_decode(b.p, b.len, &d), 0);
    assert_true(d.has_time && d.time_ms == 1700000000000ull);
    assert_true(d.has_seq && d.seq == 255);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.metrics[0].datatype, MS_SPB_INT64);
    assert_int_equal(d.metrics[0].name_len, 5);
    assert_memory_equal(d.metrics[0].name, "bdSeq", 5);
    ms_value out;
    assert_int_equal(ms_spb_metric_get_value(&d.metrics[0], &out), 0);
    assert_int_equal(out.type, MS_TYPE_INT);
    assert_int_equal(out.u.i, -3);
    const ms_spb_metric *s = &d.metrics[1];
    assert_true(s->has_alias && s->alias == 300);
    assert_int_equal(s->datatype, MS_SPB_DOUBLE);
    assert_int_equal(ms_spb_metric_get_value(s, &out), 0);
    assert_true(out.type == MS_TYPE_FLOAT && out.u.f == 12.5);
    assert_int_equal(s->unit_len, 3);
    assert_memory_equal(s->unit, "rpm", 3);
    assert_true(s->has_low && s->low == -1 && s->has_high &&
                s->high == 3000 && s->has_readonly && s->readonly);
    s = &d.metrics[2];
    assert_null(s->name);
    assert_true(s->historical && s->has_time &&
                s->time_ms == 1700000000123ull);
    assert_int_equal(ms_spb_metric_get_value(s, &out), 0);
    assert_int_equal(out.type, MS_TYPE_STR);
    assert_memory_equal(out.u.buf.ptr, "héllo", 6);
    assert_int_equal(ms_spb_metric_get_value(&d.metrics[3], &out), 0);
    assert_int_equal(out.type, MS_TYPE_BYTES);
    assert_int_equal(out.u.buf.len, 3);

    /* every cut short is refused, or is a shorter valid payload */
    for (size_t k = 0; k < b.len; k++) {
        ms_spb_payload t;
        int rc = ms_spb_decode(b.p, k, &t);
        assert_true(rc == 0 || rc == MS_EPROTO);
        if (rc == 0) {
            assert_true(t.n <= 4);
            ms_spb_payload_free(&t);
        }
    }
    ms_spb_payload_free(&d);
    ms_spb_buf_free(&b);
}

/* Bytes as protoc writes them: Payload{timestamp:1, metrics:[{name:"a",
 * datatype:Int32, int_value:-1 as uint32}], seq:7}, a Metric with a
 * Float, an unknown field (20) and a DataSet (17). */
static void test_known_bytes(void **st)
{
    (void)st;
    const uint8_t raw[] = {
        0x08, 0x01,                         /* timestamp 1 */
        0x12, 0x0b, 0x0a, 0x01, 'a', 0x20, 0x03,
        0x50, 0xff, 0xff, 0xff, 0xff, 0x0f, /* int_value 4294967295 */
        0x12, 0x0f, 0x10, 0x05, 0x20, 0x09,
        0x65, 0x00, 0x00, 0xc0, 0x3f,       /* float 1.5 */
        0xa0, 0x01, 0x07,                   /* field 20 = 7, skipped */
        0x8a, 0x01, 0x00,                   /* dataset_value {} */
        0x18, 0x07};                        /* seq 7 */
    ms_spb_payload d;
    assert_int_equal(ms_spb_decode(raw, sizeof raw, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.seq, 7);
    ms_value v;
    assert_int_equal(ms_spb_metric_get_value(&d.metrics[0], &v), 0);
    assert_int_equal(v.u.i, -1);
    /* The DataSet after the float wins: a type the bus can't hold. */
    assert_int_equal(d.metrics[1].kind, MS_SPB_V_OTHER);
    assert_int_equal(d.metrics[1].alias, 5);
    assert_int_equal(ms_spb_metric_get_value(&d.metrics[1], &v), MS_ETYPE);
    ms_spb_payload_free(&d);

    /* wrong wire types, groups, a length past the end, a long varint */
    const uint8_t bad1[] = {0x09, 0, 0, 0, 0, 0, 0, 0, 0}; /* ts as fixed64 */
    const uint8_t bad2[] = {0x13};                         /* group */
    const uint8_t bad3[] = {0x12, 0x05, 0x0a};
    const uint8_t bad4[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0x02};
    const uint8_t bad5[] = {0x12, 0x02, 0x52, 0x00};  /* metric long as LEN */
    assert_int_equal(ms_spb_decode(bad1, sizeof bad1, &d), MS_EPROTO);
    assert_int_equal(ms_spb_decode(bad2, sizeof bad2, &d), MS_EPROTO);
    assert_int_equal(ms_spb_decode(bad3, sizeof bad3, &d), MS_EPROTO);
    assert_int_equal(ms_spb_decode(bad4, sizeof bad4, &d), MS_EPROTO);
    assert_int_equal(ms_spb_decode(bad5, sizeof bad5, &d), MS_EPROTO);
    assert_int_equal(ms_spb_decode(raw, 0, &d), 0);
    assert_int_equal(d.n, 0);
}

/* A payload Eclipse Tahu's JS codec (sparkplug-payload 1.0.3) wrote:
 * tests/fuzz/corpus/sparkplug/payload_tahu. */
static void test_tahu_bytes(void **st)
{
    (void)st;
    FILE *f = fopen(MS_SOURCE_DIR "/tests/fuzz/corpus/sparkplug/payload_tahu",
                    "rb");
    assert_non_null(f);
    uint8_t raw[512];
    size_t n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    ms_spb_payload d;
    assert_int_equal(ms_spb_decode(raw, n, &d), 0);
    assert_true(d.seq == 3 && d.time_ms == 1700000000000ull);
    assert_int_equal(d.n, 8);
    const int64_t ints[] = {7, -5, 0, 0, 1, 0, -9};
    const ms_type types[] = {MS_TYPE_INT, MS_TYPE_INT, MS_TYPE_FLOAT,
                             MS_TYPE_STR, MS_TYPE_INT, MS_TYPE_FLOAT,
                             MS_TYPE_INT, MS_TYPE_BYTES};
    for (size_t i = 0; i < 8; i++) {
        ms_value v;
        assert_int_equal(ms_spb_metric_get_value(&d.metrics[i], &v), 0);
        assert_int_equal(v.type, types[i]);
        if (v.type == MS_TYPE_INT)
            assert_int_equal(v.u.i, ints[i]);
        assert_int_equal(d.metrics[i].has_alias, i > 0);
    }
    assert_int_equal(d.metrics[2].unit_len, 2);
    assert_memory_equal(d.metrics[2].unit, "kW", 2);
    assert_true(d.metrics[2].has_high && d.metrics[2].high == 10);
    ms_spb_payload_free(&d);
}

static void test_values(void **st)
{
    (void)st;
    ms_spb_metric m;
    memset(&m, 0, sizeof m);
    ms_value v;
    m.kind = MS_SPB_V_INT;
    m.v.u = 0xff;
    m.datatype = MS_SPB_INT8;
    assert_int_equal(ms_spb_metric_get_value(&m, &v), 0);
    assert_int_equal(v.u.i, -1);
    m.datatype = MS_SPB_UINT8;
    ms_spb_metric_get_value(&m, &v);
    assert_int_equal(v.u.i, 255);
    m.kind = MS_SPB_V_LONG;
    m.datatype = MS_SPB_UINT64;
    m.v.u = UINT64_MAX;
    assert_int_equal(ms_spb_metric_get_value(&m, &v), MS_ERANGE);
    m.datatype = MS_SPB_BOOLEAN;
    assert_int_equal(ms_spb_metric_get_value(&m, &v), MS_ETYPE);
    m.kind = MS_SPB_V_BOOL;
    m.v.b = true;
    assert_int_equal(ms_spb_metric_get_value(&m, &v), 0);
    assert_int_equal(v.u.i, 1);
    m.is_null = true;
    assert_int_equal(ms_spb_metric_get_value(&m, &v), MS_ENOENT);
    v = ms_value_buf(MS_TYPE_JSON, "[1]", 3);
    assert_int_equal(ms_spb_metric_set_value(&m, &v), 0);
    assert_int_equal(m.datatype, MS_SPB_STRING);
    v = ms_value_none();
    assert_int_equal(ms_spb_metric_set_value(&m, &v), MS_ETYPE);
    assert_string_equal(ms_spb_datatype_name(MS_SPB_INT64), "Int64");
    assert_string_equal(ms_spb_datatype_name(999), "Unknown");
}

static void test_topics(void **st)
{
    (void)st;
    ms_spb_topic t;
    const char *a = "spBv1.0/Plant/DDATA/Site1/PLC1";
    assert_int_equal(ms_spb_topic_parse(a, strlen(a), &t), 0);
    assert_int_equal(t.type, MS_SPB_DDATA);
    assert_string_equal(t.group, "Plant");
    assert_string_equal(t.node, "Site1");
    assert_string_equal(t.device, "PLC1");
    char buf[600];
    assert_int_equal(ms_spb_topic_format(&t, buf, sizeof buf),
                     (int)strlen(a));
    assert_string_equal(buf, a);
    const char *s = "spBv1.0/STATE/scada1";
    assert_int_equal(ms_spb_topic_parse(s, strlen(s), &t), 0);
    assert_int_equal(t.type, MS_SPB_STATE);
    assert_string_equal(t.node, "scada1");
    const char *n = "spBv1.0/G/NCMD/N";
    assert_int_equal(ms_spb_topic_parse(n, strlen(n), &t), 0);
    assert_int_equal(t.type, MS_SPB_NCMD);
    assert_string_equal(t.device, "");
    const char *bad[] = {"", "spBv1.0", "spBv1.0/G/NDATA", "spBv1.0/G/NDATA/",
                         "spBv1.0/G/NDATA/N/D", "spBv1.0/G/DDATA/N",
                         "spBv1.0/G/XDATA/N", "spAv1.0/G/NDATA/N",
                         "spBv1.0//NDATA/N", "spBv1.0/STATE/h/x",
                         "spBv1.0/STATE/", "spBv1.0/G/DDATA/N/D/",
                         "spBv1.0/G+/NDATA/N"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ms_spb_topic_parse(bad[i], strlen(bad[i]), &t),
                         MS_EINVAL);
    memset(&t, 0, sizeof t);
    t.type = MS_SPB_NDATA;
    strcpy(t.group, "G");
    strcpy(t.node, "N#");
    assert_int_equal(ms_spb_topic_format(&t, buf, sizeof buf), MS_EINVAL);
    strcpy(t.node, "N");
    assert_int_equal(ms_spb_topic_format(&t, buf, 8), MS_ETOOBIG);
    strcpy(t.device, "D");
    assert_int_equal(ms_spb_topic_format(&t, buf, sizeof buf), MS_EINVAL);
}

static void test_state_seq(void **st)
{
    (void)st;
    char buf[80];
    int k = ms_spb_state_format(true, 1700000000000ull, buf, sizeof buf);
    assert_string_equal(buf, "{\"online\":true,\"timestamp\":1700000000000}");
    bool on = false;
    uint64_t ts = 0;
    assert_int_equal(ms_spb_state_parse((const uint8_t *)buf, (size_t)k, &on,
                                        &ts), 0);
    assert_true(on);
    assert_true(ts == 1700000000000ull);
    const char *off = "{\"online\": false}";
    assert_int_equal(ms_spb_state_parse((const uint8_t *)off, strlen(off),
                                        &on, &ts), 0);
    assert_false(on);
    assert_int_equal(ms_spb_state_parse((const uint8_t *)"ONLINE", 6, &on,
                                        &ts), MS_EPROTO);
    assert_int_equal(ms_spb_seq_next(255), 0);
    assert_true(ms_spb_seq_follows(255, 0));
    assert_true(ms_spb_seq_follows(4, 5));
    assert_false(ms_spb_seq_follows(4, 6));
    assert_false(ms_spb_seq_follows(255, 256));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_tahu_bytes),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_state_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
