/* The pure SNMP parts: OID text, varbind values to tag values and back,
 * counter deltas and rates (wraps, resets), walk tag names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "apps/snmpclient/snmpc_config.h"
#include "mscada/error.h"
#include "snmp/snmp_oid.h"
#include "snmp/snmp_value.h"

static ms_snmp_oid oid(const char *s)
{
    ms_snmp_oid o;
    assert_int_equal(ms_snmp_oid_parse(s, strlen(s), &o), 0);
    return o;
}

static void test_oid_parse(void **st)
{
    (void)st;
    ms_snmp_oid o = oid(".1.3.6.1.2.1.1.3.0");
    assert_int_equal(o.n, 9);
    assert_int_equal(o.sub[8], 0);
    char buf[64];
    assert_int_equal(ms_snmp_oid_format(&o, buf, sizeof buf), 17);
    assert_string_equal(buf, "1.3.6.1.2.1.1.3.0");
    o = oid("1.3.4294967295");
    assert_int_equal(o.sub[2], 4294967295u);
    const char *bad[] = {"", ".", "1", "1..3", "1.3.", "a.b", "1.3.4294967296",
                         "1.3 ", "-1.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ms_snmp_oid_parse(bad[i], strlen(bad[i]), &o),
                         MS_EINVAL);
    /* formatting cut short stays terminated */
    o = oid("1.3.6.1.2.1");
    assert_int_equal(ms_snmp_oid_format(&o, buf, 5), 11);
    assert_string_equal(buf, "1.3.");
}

static void test_oid_order(void **st)
{
    (void)st;
    ms_snmp_oid a = oid("1.3.6.1.2"), b = oid("1.3.6.1.10"),
                c = oid("1.3.6.1.2.5");
    assert_true(ms_snmp_oid_cmp(&a, &b) < 0);
    assert_true(ms_snmp_oid_cmp(&a, &c) < 0);
    assert_true(ms_snmp_oid_cmp(&c, &b) < 0);
    assert_true(ms_snmp_oid_under(&c, &a));
    assert_false(ms_snmp_oid_under(&a, &a));
    assert_false(ms_snmp_oid_under(&b, &a));
}

/* A dup is the OID at its own size, independent of the original, and
 * orders, nests and prints as the full form does. */
static void test_oid_kept(void **st)
{
    (void)st;
    ms_snmp_oid a = oid("1.3.6.1.2.1.2.2.1.10.3"), root = oid("1.3.6.1.2");
    ms_snmp_oidref k, r;
    assert_int_equal(ms_snmp_oidref_dup(ms_snmp_oid_ref(&a), &k), 0);
    assert_int_equal(ms_snmp_oidref_dup(ms_snmp_oid_ref(&root), &r), 0);
    assert_ptr_not_equal(k.sub, a.sub);
    a.sub[10] = 4; /* the dup keeps its own sub-ids */
    char buf[64];
    assert_int_equal(ms_snmp_oidref_format(k, buf, sizeof buf), 22);
    assert_string_equal(buf, "1.3.6.1.2.1.2.2.1.10.3");
    assert_true(ms_snmp_oidref_cmp(k, ms_snmp_oid_ref(&a)) < 0);
    assert_true(ms_snmp_oidref_cmp(ms_snmp_oid_ref(&a), k) > 0);
    a.sub[10] = 3;
    assert_int_equal(ms_snmp_oidref_cmp(k, ms_snmp_oid_ref(&a)), 0);
    assert_true(ms_snmp_oidref_under(k, r));
    assert_false(ms_snmp_oidref_under(r, k));
    assert_false(ms_snmp_oidref_under(r, r));
    assert_true(ms_snmp_oidref_cmp(r, k) < 0);
    ms_snmp_oidref_free(&k);
    assert_null(k.sub);
    assert_int_equal(k.n, 0);
    ms_snmp_oidref_free(&k); /* emptied: freeing again is harmless */
    ms_snmp_oidref_free(&r);
    ms_snmp_oidref_free(NULL);
}

static void test_values(void **st)
{
    (void)st;
    char buf[64];
    ms_value v;
    ms_snmp_vb vb = {.type = MS_SNMP_INTEGER, .i = -42};
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_INT, buf, 64, &v), 0);
    assert_int_equal(v.u.i, -42);
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_STR, buf, 64, &v), 0);
    assert_memory_equal(v.u.buf.ptr, "-42", 3);
    vb = (ms_snmp_vb){.type = MS_SNMP_COUNTER64, .u = UINT64_MAX};
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_INT, buf, 64, &v),
                     MS_ERANGE);
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_FLOAT, buf, 64, &v), 0);
    vb = (ms_snmp_vb){.type = MS_SNMP_OCTETS, .p = (const uint8_t *)"eth0\0",
                      .len = 5};
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_STR, buf, 64, &v), 0);
    assert_int_equal(v.type, MS_TYPE_STR);
    assert_int_equal(v.u.buf.len, 4);
    static const uint8_t mac[] = {0x00, 0x1a, 0xff};
    vb = (ms_snmp_vb){.type = MS_SNMP_OCTETS, .p = mac, .len = 3};
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_BYTES, buf, 64, &v), 0);
    assert_int_equal(v.type, MS_TYPE_BYTES);
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_STR, buf, 64, &v), 0);
    assert_memory_equal(v.u.buf.ptr, "00:1a:ff", 8);
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_INT, buf, 64, &v),
                     MS_ETYPE);
    static const uint8_t ip[] = {10, 1, 2, 3};
    vb = (ms_snmp_vb){.type = MS_SNMP_IPADDR, .p = ip, .len = 4};
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_STR, buf, 64, &v), 0);
    assert_memory_equal(v.u.buf.ptr, "10.1.2.3", 8);
    vb = (ms_snmp_vb){.type = MS_SNMP_NOSUCHOBJECT};
    assert_true(ms_snmp_is_exception(vb.type));
    assert_int_equal(ms_snmp_vb_to_value(&vb, MS_TYPE_INT, buf, 64, &v),
                     MS_ETYPE);
}

static void test_set_values(void **st)
{
    (void)st;
    uint8_t b[4];
    ms_snmp_vb vb;
    ms_value v = ms_value_int(5);
    assert_int_equal(ms_snmp_vb_from_value(&v, MS_SNMP_INTEGER, b, &vb), 0);
    assert_int_equal(vb.i, 5);
    v = ms_value_int(5000000000);
    assert_int_equal(ms_snmp_vb_from_value(&v, MS_SNMP_INTEGER, b, &vb),
                     MS_ERANGE);
    assert_int_equal(ms_snmp_vb_from_value(&v, MS_SNMP_GAUGE32, b, &vb),
                     MS_ERANGE);
    v = ms_value_buf(MS_TYPE_STR, "192.168.0.1", 11);
    assert_int_equal(ms_snmp_vb_from_value(&v, MS_SNMP_IPADDR, b, &vb), 0);
    assert_int_equal(b[0], 192);
    assert_int_equal(b[3], 1);
    v = ms_value_buf(MS_TYPE_STR, "300.1.1.1", 9);
    assert_int_equal(ms_snmp_vb_from_value(&v, MS_SNMP_IPADDR, b, &vb),
                     MS_ERANGE);
    assert_int_equal(ms_snmp_type_parse("Counter64"), MS_SNMP_COUNTER64);
    assert_int_equal(ms_snmp_type_parse("nope"), 0);
    assert_string_equal(ms_snmp_errstat_name(2), "noSuchName");
}

static ms_snmp_step step(ms_snmp_counter *c, uint8_t t, uint64_t u,
                         uint64_t us, int64_t *d, double *r)
{
    ms_snmp_vb vb = {.type = t, .u = u};
    return ms_snmp_counter_step(c, &vb, us, d, r);
}

static void test_counters(void **st)
{
    (void)st;
    ms_snmp_counter c = {0};
    int64_t d;
    double r;
    assert_int_equal(step(&c, MS_SNMP_COUNTER32, 4294967290u, 0, &d, &r),
                     MS_SNMP_STEP_PRIMED);
    assert_int_equal(step(&c, MS_SNMP_COUNTER32, 5, 2000000, &d, &r),
                     MS_SNMP_STEP_DELTA);
    assert_int_equal(d, 11);
    assert_true(r > 5.49 && r < 5.51);
    /* a big step back is a reset, not 4 billion */
    assert_int_equal(step(&c, MS_SNMP_COUNTER32, 1, 3000000, &d, &r),
                     MS_SNMP_STEP_RESET);
    assert_int_equal(step(&c, MS_SNMP_COUNTER32, 4, 4000000, &d, &r),
                     MS_SNMP_STEP_DELTA);
    assert_int_equal(d, 3);
    ms_snmp_counter c64 = {0};
    step(&c64, MS_SNMP_COUNTER64, UINT64_MAX - 5, 0, &d, &r);
    assert_int_equal(step(&c64, MS_SNMP_COUNTER64, 4, 1000000, &d, &r),
                     MS_SNMP_STEP_DELTA);
    assert_int_equal(d, 10);
    ms_snmp_counter_reset(&c64);
    assert_int_equal(step(&c64, MS_SNMP_COUNTER64, 9, 0, &d, &r),
                     MS_SNMP_STEP_PRIMED);
    /* gauges may fall */
    ms_snmp_counter g = {0};
    step(&g, MS_SNMP_GAUGE32, 10, 0, &d, &r);
    step(&g, MS_SNMP_GAUGE32, 7, 0, &d, &r);
    assert_int_equal(d, -3);
    assert_true(r == 0); /* no time passed */
}

static void test_walk_names(void **st)
{
    (void)st;
    ms_snmpc_walk w = {.root = oid("1.3.6.1.2.1.2.2.1.10"),
                       .tag = (char *)"in_{index}_octets"};
    ms_snmp_oid o = oid("1.3.6.1.2.1.2.2.1.10.3");
    char name[300];
    assert_int_equal(ms_snmpc_walk_tag_name(&w, &o, name, sizeof name), 0);
    assert_string_equal(name, "in_3_octets");
    w.tag = (char *)"t";
    o = oid("1.3.6.1.2.1.2.2.1.10.3.7");
    assert_int_equal(ms_snmpc_walk_tag_name(&w, &o, name, sizeof name), 0);
    assert_string_equal(name, "t_3.7");
    o = oid("1.3.6.1.2.1.2.2.1.11.3");
    assert_int_equal(ms_snmpc_walk_tag_name(&w, &o, name, sizeof name),
                     MS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oid_parse),  cmocka_unit_test(test_oid_order),
        cmocka_unit_test(test_oid_kept),
        cmocka_unit_test(test_values),     cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_counters),   cmocka_unit_test(test_walk_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
