/* The Modbus map (src/modbus/codec/mb_map.c): every type in both word orders
 * against hand-written registers, bits in registers, clamping at each
 * type's edges, scale/offset round trips, address parsing and its error
 * messages, and the server memory's merging and lookups. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mscada/error.h"
#include "mscada/mbmap.h"

/* ---- addresses ------------------------------------------------------------ */

static void test_addr_ok(void **state)
{
    (void)state;
    ms_mb_addr a;
    char err[256], buf[96];
    assert_int_equal(ms_mb_addr_parse("RTU:1:4x:3", &a, err, sizeof err), 0);
    assert_string_equal(a.rtu, "RTU");
    assert_int_equal(a.unit, 1);
    assert_int_equal(a.file, MS_MB_HOLDING_REGISTERS);
    assert_int_equal(a.word, 3);
    assert_int_equal(a.addr, 2);
    assert_int_equal(a.bit, -1);
    assert_string_equal(ms_mb_addr_format(&a, buf, sizeof buf), "RTU:1:4x:3");

    assert_int_equal(ms_mb_addr_parse("plc_2:255:3x:65536.15", &a, err,
                                      sizeof err), 0);
    assert_int_equal(a.unit, 255);
    assert_int_equal(a.file, MS_MB_INPUT_REGISTERS);
    assert_int_equal(a.addr, 65535);
    assert_int_equal(a.bit, 15);
    assert_string_equal(ms_mb_addr_format(&a, buf, sizeof buf),
                        "plc_2:255:3x:65536.15");

    assert_int_equal(ms_mb_addr_parse("R:0:0x:1", &a, err, sizeof err), 0);
    assert_int_equal(a.file, MS_MB_COILS);
    assert_int_equal(a.addr, 0);
    assert_int_equal(ms_mb_addr_parse("R:7:1x:10", &a, err, sizeof err), 0);
    assert_int_equal(a.file, MS_MB_DISCRETE_INPUTS);
    assert_int_equal(a.addr, 9);
}

static void expect_bad(const char *text, const char *msg)
{
    ms_mb_addr a;
    char err[256] = "";
    assert_int_equal(ms_mb_addr_parse(text, &a, err, sizeof err), MS_EINVAL);
    if (!strstr(err, msg))
        fail_msg("'%s': message '%s' lacks '%s'", text, err, msg);
}

static void test_addr_errors(void **state)
{
    (void)state;
    expect_bad("RTU", "RTU:UNIT:FILE:WORD");
    expect_bad("", "RTU:UNIT:FILE:WORD");
    expect_bad(":1:4x:1", "RTU name");
    expect_bad("RTU:x:4x:1", "UNIT must be a number 0 to 255");
    expect_bad("RTU:256:4x:1", "UNIT must be");
    expect_bad("RTU::4x:1", "UNIT must be");
    expect_bad("RTU:1:2x:1", "FILE must be 0x");
    expect_bad("RTU:1:4y:1", "FILE must be");
    expect_bad("RTU:1:4x", "FILE must be");
    expect_bad("RTU:1:4x:0", "WORD must be a number 1 to 65536");
    expect_bad("RTU:1:4x:65537", "WORD must be");
    expect_bad("RTU:1:4x:", "WORD must be");
    expect_bad("RTU:1:4x:-1", "WORD must be");
    expect_bad("RTU:1:4x:1.16", "BIT must be 0 to 15");
    expect_bad("RTU:1:4x:1.", "BIT must be");
    expect_bad("RTU:1:0x:1.3", ".BIT is only for registers");
    expect_bad("RTU:1:1x:1.0", ".BIT is only for registers");
    expect_bad("RTU:1:4x:1x", "unexpected 'x'");
    expect_bad("RTU:1:4x:1.2.3", "unexpected '.3'");
    expect_bad("RTU:1:4x:1 ", "unexpected ' '");
}

static void test_types(void **state)
{
    (void)state;
    static const char *names[] = {"bool",  "int16",  "uint16",
                                  "int32", "uint32", "int64",
                                  "uint64", "float32", "float64"};
    static const unsigned regs[] = {1, 1, 1, 2, 2, 4, 4, 2, 4};
    for (int i = 0; i < 9; i++) {
        ms_mb_type t;
        assert_int_equal(ms_mb_type_parse(names[i], &t), 0);
        assert_int_equal(t, i);
        assert_string_equal(ms_mb_type_name(t), names[i]);
        assert_int_equal(ms_mb_type_regs(t), regs[i]);
    }
    ms_mb_type t;
    assert_int_equal(ms_mb_type_parse("float", &t), MS_EINVAL);
    assert_int_equal(ms_mb_type_parse("INT16", &t), MS_EINVAL);
    ms_mb_word_order o;
    assert_int_equal(ms_mb_word_order_parse("little", &o), 0);
    assert_int_equal(o, MS_MB_WORDS_LITTLE);
    assert_int_equal(ms_mb_word_order_parse("big", &o), 0);
    assert_int_equal(o, MS_MB_WORDS_BIG);
    assert_int_equal(ms_mb_word_order_parse("middle", &o), MS_EINVAL);
}

static void test_conv_check(void **state)
{
    (void)state;
    ms_mb_addr a;
    char err[256];
    ms_mb_conv c = ms_mb_conv_make(MS_MB_INT16);
    assert_int_equal(ms_mb_addr_parse("R:1:0x:1", &a, err, sizeof err), 0);
    assert_int_equal(ms_mb_conv_check(&c, &a, err, sizeof err), MS_EINVAL);
    assert_non_null(strstr(err, "holds a bool, not int16"));
    c.type = MS_MB_BOOL;
    assert_int_equal(ms_mb_conv_check(&c, &a, err, sizeof err), 0);
    assert_int_equal(ms_mb_addr_parse("R:1:4x:65535", &a, err, sizeof err), 0);
    c.type = MS_MB_FLOAT32;
    assert_int_equal(ms_mb_conv_check(&c, &a, err, sizeof err), 0);
    c.type = MS_MB_FLOAT64;
    assert_int_equal(ms_mb_conv_check(&c, &a, err, sizeof err), MS_EINVAL);
    assert_non_null(strstr(err, "past 65536"));
    c.type = MS_MB_INT16;
    c.bit = 3;
    assert_int_equal(ms_mb_conv_check(&c, &a, err, sizeof err), MS_EINVAL);
    assert_non_null(strstr(err, "register bit holds a bool"));
    c.bit = -1;
    c.scaled = true;
    c.scale = 0;
    assert_int_equal(ms_mb_conv_check(&c, &a, err, sizeof err), MS_EINVAL);
    assert_non_null(strstr(err, "scale must be"));
}

/* ---- conversion ------------------------------------------------------------ */

typedef struct {
    ms_mb_type type;
    ms_mb_word_order order;
    ms_value v;
    uint16_t regs[4];
} conv_case;

/* Constant initialisers (the inline makers are not constant). */
#define I(x) {MS_TYPE_INT, {.i = (x)}}
#define F(x) {MS_TYPE_FLOAT, {.f = (x)}}
#define BIG MS_MB_WORDS_BIG
#define LIT MS_MB_WORDS_LITTLE

/* Registers written by hand from the IEEE / two's complement forms. */
static const conv_case cases[] = {
    {MS_MB_BOOL, BIG, I(1), {1}},
    {MS_MB_BOOL, BIG, I(0), {0}},
    {MS_MB_INT16, BIG, I(-2), {0xFFFE}},
    {MS_MB_INT16, BIG, I(32767), {0x7FFF}},
    {MS_MB_INT16, LIT, I(-32768), {0x8000}},
    {MS_MB_UINT16, BIG, I(65535), {0xFFFF}},
    {MS_MB_UINT16, LIT, I(4660), {0x1234}},
    {MS_MB_INT32, BIG, I(0x12345678), {0x1234, 0x5678}},
    {MS_MB_INT32, LIT, I(0x12345678), {0x5678, 0x1234}},
    {MS_MB_INT32, BIG, I(-2), {0xFFFF, 0xFFFE}},
    {MS_MB_INT32, LIT, I(-2), {0xFFFE, 0xFFFF}},
    {MS_MB_UINT32, BIG, I(4000000000), {0xEE6B, 0x2800}},
    {MS_MB_UINT32, LIT, I(4000000000), {0x2800, 0xEE6B}},
    {MS_MB_INT64, BIG, I(0x0102030405060708), {0x0102, 0x0304, 0x0506, 0x0708}},
    {MS_MB_INT64, LIT, I(0x0102030405060708), {0x0708, 0x0506, 0x0304, 0x0102}},
    {MS_MB_INT64, BIG, I(-3), {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFD}},
    {MS_MB_UINT64, BIG, I(1700000000000000), {0x0006, 0x0A24, 0x181E, 0x4000}},
    {MS_MB_UINT64, LIT, I(1700000000000000), {0x4000, 0x181E, 0x0A24, 0x0006}},
    {MS_MB_FLOAT32, BIG, F(1.5), {0x3FC0, 0x0000}},
    {MS_MB_FLOAT32, LIT, F(1.5), {0x0000, 0x3FC0}},
    {MS_MB_FLOAT32, BIG, F(-123.25), {0xC2F6, 0x8000}},
    {MS_MB_FLOAT32, LIT, F(-123.25), {0x8000, 0xC2F6}},
    {MS_MB_FLOAT64, BIG, F(1.5), {0x3FF8, 0, 0, 0}},
    {MS_MB_FLOAT64, LIT, F(1.5), {0, 0, 0, 0x3FF8}},
    {MS_MB_FLOAT64, BIG, F(-0.1), {0xBFB9, 0x9999, 0x9999, 0x999A}},
    {MS_MB_FLOAT64, LIT, F(-0.1), {0x999A, 0x9999, 0x9999, 0xBFB9}},
};

static void test_encode_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *k = &cases[i];
        ms_mb_conv c = ms_mb_conv_make(k->type);
        c.order = k->order;
        uint16_t regs[4] = {0xAAAA, 0xAAAA, 0xAAAA, 0xAAAA};
        bool clamped = true;
        assert_int_equal(ms_mb_encode(&c, &k->v, regs, &clamped), 0);
        assert_false(clamped);
        unsigned n = ms_mb_type_regs(k->type);
        for (unsigned j = 0; j < n; j++)
            if (regs[j] != k->regs[j])
                fail_msg("case %zu (%s): reg %u is %04X, want %04X", i,
                         ms_mb_type_name(k->type), j, regs[j], k->regs[j]);
        for (unsigned j = n; j < 4; j++)
            assert_int_equal(regs[j], 0xAAAA); /* nothing past the value */
        ms_value v = ms_mb_decode(&c, k->regs);
        assert_int_equal(v.type, k->v.type);
        if (v.type == MS_TYPE_INT)
            assert_true(v.u.i == k->v.u.i);
        else if (k->type == MS_MB_FLOAT32)
            assert_true(v.u.f == (double)(float)k->v.u.f);
        else
            assert_true(v.u.f == k->v.u.f);
    }
}

static void test_cross_types(void **state)
{
    (void)state;
    /* A float into an integer register rounds; an int into a float. */
    ms_mb_conv c = ms_mb_conv_make(MS_MB_INT16);
    uint16_t r[4];
    ms_value v = ms_value_float(2.5);
    assert_int_equal(ms_mb_encode(&c, &v, r, NULL), 0);
    assert_int_equal(r[0], 2); /* to even, as nearbyint */
    v = ms_value_float(-7.6);
    assert_int_equal(ms_mb_encode(&c, &v, r, NULL), 0);
    assert_int_equal(r[0], 0xFFF8);
    c = ms_mb_conv_make(MS_MB_FLOAT32);
    v = ms_value_int(3);
    assert_int_equal(ms_mb_encode(&c, &v, r, NULL), 0);
    assert_int_equal(r[0], 0x4040);
    assert_int_equal(r[1], 0);
    /* Types with no number refused; NaN into an integer refused. */
    v = ms_value_buf(MS_TYPE_STR, "x", 1);
    assert_int_equal(ms_mb_encode(&c, &v, r, NULL), MS_ETYPE);
    c = ms_mb_conv_make(MS_MB_INT32);
    v = ms_value_float(NAN);
    assert_int_equal(ms_mb_encode(&c, &v, r, NULL), MS_ERANGE);
    /* NaN and infinities pass through float registers. */
    c = ms_mb_conv_make(MS_MB_FLOAT32);
    assert_int_equal(ms_mb_encode(&c, &v, r, NULL), 0);
    assert_true(isnan(ms_mb_decode(&c, r).u.f));
    v = ms_value_float(INFINITY);
    bool cl = true;
    assert_int_equal(ms_mb_encode(&c, &v, r, &cl), 0);
    assert_false(cl);
    assert_int_equal(r[0], 0x7F80);
    /* uint64 above INT64_MAX reads as INT64_MAX. */
    c = ms_mb_conv_make(MS_MB_UINT64);
    uint16_t big[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
    v = ms_mb_decode(&c, big);
    assert_true(v.type == MS_TYPE_INT && v.u.i == INT64_MAX);
}

static void test_bits(void **state)
{
    (void)state;
    ms_mb_conv c = ms_mb_conv_make(MS_MB_BOOL);
    c.bit = 5;
    uint16_t r = 0x8001;
    ms_value v = ms_value_int(1);
    assert_int_equal(ms_mb_encode(&c, &v, &r, NULL), 0);
    assert_int_equal(r, 0x8021);
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 1);
    v = ms_value_int(0);
    assert_int_equal(ms_mb_encode(&c, &v, &r, NULL), 0);
    assert_int_equal(r, 0x8001);
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 0);
    c.bit = 15;
    v = ms_value_float(0.5); /* nonzero is true */
    assert_int_equal(ms_mb_encode(&c, &v, &r, NULL), 0);
    assert_int_equal(r, 0x8001);
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 1);
    c.bit = 0;
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 1);
    c.bit = 1;
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 0);
    /* A bool without a bit: coil/input 0/1, or a whole register != 0. */
    c.bit = -1;
    v = ms_value_int(42);
    assert_int_equal(ms_mb_encode(&c, &v, &r, NULL), 0);
    assert_int_equal(r, 1);
    r = 0x100;
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 1);
    r = 0;
    assert_int_equal(ms_mb_decode(&c, &r).u.i, 0);
}

typedef struct {
    ms_mb_type type;
    ms_value v;
    int64_t want; /* the integer stored */
} clamp_case;

static void test_clamp(void **state)
{
    (void)state;
    static const clamp_case cc[] = {
        {MS_MB_INT16, I(40000), 32767},
        {MS_MB_INT16, I(-40000), -32768},
        {MS_MB_INT16, F(1e9), 32767},
        {MS_MB_INT16, F(-INFINITY), -32768},
        {MS_MB_UINT16, I(-1), 0},
        {MS_MB_UINT16, I(70000), 65535},
        {MS_MB_UINT16, F(65535.4), 65535}, /* rounds inside: no clamp */
        {MS_MB_INT32, I(3000000000), INT32_MAX},
        {MS_MB_INT32, I(-3000000000), INT32_MIN},
        {MS_MB_UINT32, I(-5), 0},
        {MS_MB_UINT32, I(5000000000), UINT32_MAX},
        {MS_MB_INT64, F(1e30), INT64_MAX},
        {MS_MB_INT64, F(-1e30), INT64_MIN},
        {MS_MB_UINT64, I(-1), 0},
        {MS_MB_UINT64, F(-0.7), 0},
    };
    for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++) {
        ms_mb_conv c = ms_mb_conv_make(cc[i].type);
        uint16_t r[4] = {0};
        bool clamped = false;
        assert_int_equal(ms_mb_encode(&c, &cc[i].v, r, &clamped), 0);
        bool inside = i == 6;
        if (clamped == inside)
            fail_msg("case %zu: clamped %d", i, clamped);
        ms_value d = ms_mb_decode(&c, r);
        if (d.u.i != cc[i].want)
            fail_msg("case %zu: %lld, want %lld", i, (long long)d.u.i,
                     (long long)cc[i].want);
    }
    /* uint64 from a float beyond 2^64 stores all ones. */
    ms_mb_conv c = ms_mb_conv_make(MS_MB_UINT64);
    uint16_t r[4];
    bool clamped;
    ms_value v = ms_value_float(1e30);
    assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
    assert_true(clamped);
    for (int j = 0; j < 4; j++)
        assert_int_equal(r[j], 0xFFFF);
    /* float32 past FLT_MAX clamps to it. */
    c = ms_mb_conv_make(MS_MB_FLOAT32);
    v = ms_value_float(1e300);
    assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
    assert_true(clamped);
    assert_int_equal(r[0], 0x7F7F);
    assert_int_equal(r[1], 0xFFFF);
    v = ms_value_float(-1e300);
    assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
    assert_true(clamped);
    assert_int_equal(r[0], 0xFF7F);
}

static void test_scale(void **state)
{
    (void)state;
    /* 4-20 mA as 0-1000 raw = 0-100 %: eng = raw * 0.1 + 0. */
    ms_mb_conv c = ms_mb_conv_make(MS_MB_INT16);
    c.scaled = true;
    c.scale = 0.1;
    c.offset = -20;
    uint16_t r[4];
    ms_value v = ms_value_float(30.0); /* raw = (30 + 20) / 0.1 = 500 */
    bool clamped;
    assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
    assert_false(clamped);
    assert_int_equal(r[0], 500);
    ms_value d = ms_mb_decode(&c, r);
    assert_int_equal(d.type, MS_TYPE_FLOAT);
    assert_true(fabs(d.u.f - 30.0) < 1e-9);
    v = ms_value_int(10); /* an INT engineering value is scaled too: raw 300 */
    assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
    assert_int_equal(r[0], 300);
    v = ms_value_float(5000); /* raw 50200: clamps to 32767 */
    assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
    assert_true(clamped);
    assert_int_equal(r[0], 32767);
    /* Round trips through each type, both orders. */
    for (int t = MS_MB_INT16; t <= MS_MB_FLOAT64; t++) {
        for (int o = 0; o < 2; o++) {
            c = ms_mb_conv_make((ms_mb_type)t);
            c.order = (ms_mb_word_order)o;
            c.scaled = true;
            c.scale = 0.5;
            c.offset = 100;
            v = ms_value_float(1234.5); /* raw 2269 */
            assert_int_equal(ms_mb_encode(&c, &v, r, &clamped), 0);
            assert_false(clamped);
            d = ms_mb_decode(&c, r);
            assert_int_equal(d.type, MS_TYPE_FLOAT);
            if (fabs(d.u.f - 1234.5) > 1e-9)
                fail_msg("%s order %d: %.17g", ms_mb_type_name((ms_mb_type)t),
                         o, d.u.f);
        }
    }
}

/* ---- memory ---------------------------------------------------------------- */

static void test_mem(void **state)
{
    (void)state;
    ms_mb_mem m;
    ms_mb_mem_init(&m);
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_HOLDING_REGISTERS, 0, 99), 0);
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_COILS, 10, 19), 0);
    assert_int_equal(ms_mb_mem_add(&m, 2, MS_MB_HOLDING_REGISTERS, 0, 9), 0);
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_HOLDING_REGISTERS, 5, 4),
                     MS_EINVAL);
    uint16_t *regs;
    uint8_t *bits;
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_HOLDING_REGISTERS, 0, 100,
                                      &regs, &bits), 0);
    assert_non_null(regs);
    assert_null(bits);
    regs[50] = 0x1234;
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_HOLDING_REGISTERS, 50, 1,
                                      &regs, NULL), 0);
    assert_int_equal(regs[0], 0x1234);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_HOLDING_REGISTERS, 0, 101,
                                      &regs, NULL),
                     MS_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_HOLDING_REGISTERS, 100, 1,
                                      &regs, NULL),
                     MS_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_INPUT_REGISTERS, 0, 1,
                                      &regs, NULL),
                     MS_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(ms_mb_mem_lookup(&m, 3, MS_MB_HOLDING_REGISTERS, 0, 1,
                                      &regs, NULL),
                     MS_MB_EX_GATEWAY_TARGET_FAILED);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_COILS, 9, 2, NULL, &bits),
                     MS_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_COILS, 10, 10, NULL, &bits),
                     0);
    bits[3] = 1;
    /* Touching and overlapping blocks merge, keeping contents. */
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_HOLDING_REGISTERS, 100, 199),
                     0);
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_COILS, 0, 9), 0);
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_COILS, 30, 39), 0);
    assert_int_equal(ms_mb_mem_add(&m, 1, MS_MB_COILS, 15, 35), 0);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_HOLDING_REGISTERS, 40, 125,
                                      &regs, NULL), 0);
    assert_int_equal(regs[10], 0x1234);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_COILS, 0, 40, NULL, &bits),
                     0);
    assert_int_equal(bits[13], 1);
    assert_int_equal(ms_mb_mem_lookup(&m, 1, MS_MB_COILS, 0, 41, NULL, &bits),
                     MS_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(m.n, 3);
    /* The whole address space. */
    assert_int_equal(ms_mb_mem_add(&m, 9, MS_MB_INPUT_REGISTERS, 0, 65535), 0);
    assert_int_equal(ms_mb_mem_lookup(&m, 9, MS_MB_INPUT_REGISTERS, 65411, 125,
                                      &regs, NULL), 0);
    ms_mb_mem_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_ok),    cmocka_unit_test(test_addr_errors),
        cmocka_unit_test(test_types),      cmocka_unit_test(test_conv_check),
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_cross_types), cmocka_unit_test(test_bits),
        cmocka_unit_test(test_clamp),      cmocka_unit_test(test_scale),
        cmocka_unit_test(test_mem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
