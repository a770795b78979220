/* modbusclient's model (mb_poll.c, mb_clientconf.c): blocks split into
 * legal requests, tags bound to the requests holding their registers (also
 * across a split), gathering, and config errors naming file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "apps/modbusclient/mbc_plan.h"
#include "mscada/error.h"

static void test_split(void **state)
{
    (void)state;
    ms_mbc_read out[8];
    ms_mbc_block b = {1, MS_MB_HOLDING_REGISTERS, 0, 299};
    assert_int_equal(ms_mbc_split(&b, out, 8), 3);
    assert_int_equal(out[0].addr, 0);
    assert_int_equal(out[0].count, 125);
    assert_int_equal(out[1].addr, 125);
    assert_int_equal(out[1].count, 125);
    assert_int_equal(out[2].addr, 250);
    assert_int_equal(out[2].count, 50);
    b = (ms_mbc_block){2, MS_MB_COILS, 0, 4499};
    assert_int_equal(ms_mbc_split(&b, out, 8), 3);
    assert_int_equal(out[2].count, 500);
    assert_int_equal(out[2].unit, 2);
    /* The top of the address space. */
    b = (ms_mbc_block){1, MS_MB_INPUT_REGISTERS, 65500, 65535};
    assert_int_equal(ms_mbc_split(&b, out, 8), 1);
    assert_int_equal(out[0].count, 36);
    b = (ms_mbc_block){1, MS_MB_HOLDING_REGISTERS, 7, 7};
    assert_int_equal(ms_mbc_split(&b, out, 8), 1);
    assert_int_equal(out[0].count, 1);
    assert_int_equal(ms_mbc_read_fc(MS_MB_DISCRETE_INPUTS), 2);
}

static const char good[] =
    "bus_port: 1400\n"
    "rtus:\n"
    "- name: A\n"
    "  ip: 10.0.0.1\n"
    "  rate: 0.5\n"
    "  max_in_flight: 4\n"
    "  retries: 0\n"
    "  word_order: little\n"
    "  reads:\n"
    "  - {unit: 1, file: 4x, start: 1, end: 200}\n"
    "  - {unit: 1, file: 0x, start: 1, end: 10}\n"
    "tags:\n"
    "  F: {type: float64, read: 'A:1:4x:123'}\n"
    "  G: {type: int32, read: 'A:1:4x:1', word_order: big}\n"
    "  B: {type: bool, read: 'A:1:4x:5.15', write: 'A:1:4x:5.15'}\n"
    "  C: {type: bool, read: 'A:1:0x:2'}\n"
    "  N: {type: int16, read: 'A:1:4x:900'}\n";

static void test_config_and_plan(void **state)
{
    (void)state;
    ms_conf_doc *doc;
    ms_conf_error err;
    ms_mbc_config cfg;
    assert_int_equal(ms_conf_parse("m.yaml", good, strlen(good), &doc, &err),
                     0);
    int rc = ms_mbc_config_from_conf(ms_conf_root(doc), &cfg, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    ms_conf_free(doc);
    assert_int_equal(cfg.bus.port, 1400);
    assert_int_equal(cfg.nrtus, 1);
    ms_mbc_rtu *r = &cfg.rtus[0];
    assert_int_equal(r->net.max_in_flight, 4);
    assert_int_equal(r->net.retries, 0);
    /* Taken as it is (no retry), and the client takes it so. */
    assert_int_equal(ms_mb_client_config_check(&r->net, NULL, 0), 0);
    assert_true(r->net.timeout == 1.0); /* not given: the default */
    assert_int_equal(r->net.port, 502);
    assert_int_equal(r->nreq, 3); /* 125 + 75 registers, 10 coils */
    /* F (4x:123-126) straddles the first two requests. */
    ms_mbc_tag *f = &cfg.tags[0];
    assert_int_equal(f->r0, 0);
    assert_int_equal(f->r1, 1);
    assert_int_equal(f->conv.order, MS_MB_WORDS_LITTLE);
    assert_int_equal(cfg.tags[1].conv.order, MS_MB_WORDS_BIG);
    assert_int_equal(cfg.tags[2].conv.bit, 15);
    assert_int_equal(cfg.tags[4].r0, -1); /* not polled */
    uint16_t regs[4];
    assert_false(ms_mbc_gather(&cfg, 0, regs));
    for (unsigned i = 0; i < 125; i++)
        r->req[0].vals[i] = (uint16_t)i;
    for (unsigned i = 0; i < 75; i++)
        r->req[1].vals[i] = (uint16_t)(1000 + i);
    r->req[0].ok = true;
    assert_false(ms_mbc_gather(&cfg, 0, regs));
    r->req[1].ok = true;
    assert_true(ms_mbc_gather(&cfg, 0, regs));
    assert_int_equal(regs[0], 122);
    assert_int_equal(regs[1], 123);
    assert_int_equal(regs[2], 124);
    assert_int_equal(regs[3], 1000);
    /* Request 0 feeds F, G and B; request 1 only F. */
    assert_int_equal(r->req[0].ntags, 3);
    assert_int_equal(r->req[1].ntags, 1);
    ms_mbc_config_free(&cfg);
}

static bool tag_clamp(const char *yaml, size_t i)
{
    ms_conf_doc *doc;
    ms_conf_error err;
    ms_mbc_config cfg;
    assert_int_equal(ms_conf_parse("m.yaml", yaml, strlen(yaml), &doc, &err),
                     0);
    int rc = ms_mbc_config_from_conf(ms_conf_root(doc), &cfg, &err);
    if (rc)
        fail_msg("%s", err.text);
    ms_conf_free(doc);
    bool c = cfg.tags[i].clamp;
    ms_mbc_config_free(&cfg);
    return c;
}

/* Polled values are published as read unless clamp asks: the tag's own
 * key, else the module's. */
static void test_config_clamp(void **state)
{
    (void)state;
#define CL_RTU "rtus:\n- {name: A, poll: [{file: 4x, start: 1, end: 9}]}\n"
#define CL_TAGS                                                               \
    "tags:\n  D: {read: 'A:1:4x:1'}\n"                                        \
    "  Y: {read: 'A:1:4x:2', clamp: true}\n"                                   \
    "  N: {read: 'A:1:4x:3', clamp: false}\n"
    static const char off[] = CL_RTU CL_TAGS;
    static const char on[] = "clamp: true\n" CL_RTU CL_TAGS;
    assert_false(tag_clamp(off, 0));
    assert_true(tag_clamp(off, 1));
    assert_false(tag_clamp(off, 2));
    assert_true(tag_clamp(on, 0));
    assert_true(tag_clamp(on, 1));
    assert_false(tag_clamp(on, 2));
#undef CL_RTU
#undef CL_TAGS
}

static void expect_error(const char *text, const char *where,
                         const char *what)
{
    ms_conf_doc *doc;
    ms_conf_error err;
    ms_mbc_config cfg;
    assert_int_equal(ms_conf_parse("m.yaml", text, strlen(text), &doc, &err),
                     0);
    int rc = ms_mbc_config_from_conf(ms_conf_root(doc), &cfg, &err);
    ms_conf_free(doc);
    ms_mbc_config_free(&cfg);
    if (rc != MS_ECONFIG || !strstr(err.text, where) ||
        !strstr(err.text, what))
        fail_msg("for\n%s\ngot %d: %s", text, rc, err.text);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("rtus: []\ntags:\n  X: {read: 'B:1:4x:1'}\n", "m.yaml:3:",
                 "no rtu is called 'B'");
    expect_error("rtus:\n- {name: A, poll: [{unit: 1, file: 5x, start: 1, "
                 "end: 2}]}\n", "m.yaml:2:", "file must be");
    expect_error("rtus:\n- {name: A, poll: [{unit: 1, file: 4x, start: 5, "
                 "end: 2}]}\n", "m.yaml:2:", "end");
    expect_error("rtus:\n- {name: A}\ntags:\n  X: {type: float32, read: "
                 "'A:1:0x:1'}\n", "m.yaml:4:", "");
    expect_error("rtus:\n- {name: A}\ntags:\n  X: {type: int16, write: "
                 "'A:1:3x:1'}\n", "m.yaml:4:", "read-only");
    expect_error("rtus:\n- {name: A, writes: [{unit: 1, file: 4x, start: 1, "
                 "end: 2}]}\ntags:\n  X: {type: int32, write: 'A:1:4x:2'}\n",
                 "m.yaml:4:", "writes block");
    expect_error("rtus:\n- {name: A, max_in_flight: 0}\n", "m.yaml:2:",
                 "max_in_flight");
    expect_error("rtus:\n- {name: A, tcp_udp: serial}\n", "m.yaml:2:",
                 "needs a device");
    expect_error("rtus:\n- {name: A, tcp_udp: carrier-pigeon}\n",
                 "m.yaml:2:", "tcp_udp");
    expect_error("rtus:\n- {name: A}\n- {name: A}\n", "m.yaml:3:",
                 "second rtu");
    expect_error("rtus:\n- {name: A}\ntags:\n  X: {type: int17, read: "
                 "'A:1:4x:1'}\n", "m.yaml:4:", "type must be");
    expect_error("rtus:\n- {name: A}\ntags:\n  X: {type: int16}\n",
                 "m.yaml:4:", "needs read");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_config_and_plan),
        cmocka_unit_test(test_config_clamp),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
