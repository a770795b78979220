/* Modbus shared memory without threads: declarations (ranges, overlaps,
 * distinct bits of a register), every type in both word orders through the
 * accessors and the registers they leave, change marks and the requests
 * planned from them, and the conflict rule when a read comes in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "modbus/msm/msm_int.h"
#include "mscada/error.h"

static ms_memory *layout_mem(void)
{
    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.coils = (ms_memory_area){16, 100};
    l.discrete_inputs = (ms_memory_area){8, 0};
    l.input_registers = (ms_memory_area){4, 10};
    l.holding = (ms_memory_area){300, 40099};
    ms_memory *m;
    assert_int_equal(ms_memory_new_layout(&l, &m), 0);
    return m;
}

static void test_declare_ranges(void **state)
{
    (void)state;
    ms_memory *m;
    assert_int_equal(ms_memory_new(8, &m), 0);
    ms_var s = ms_memory_word(m, "STATE", 0);
    assert_true(ms_var_ok(s));
    assert_string_equal(ms_var_name(m, s), "STATE");
    ms_var c = ms_memory_uint32(m, "COUNTER", 7);
    assert_int_equal(c.id, MS_EINVAL);
    assert_string_equal(ms_memory_error(m),
                        "COUNTER at holding register 7 (2 registers) goes "
                        "past the end of an 8-register area");
    assert_false(ms_var_ok(ms_memory_word(m, "W8", 8)));
    assert_true(ms_var_ok(ms_memory_uint32(m, "COUNTER", 6)));
    /* Nothing but holding registers in this memory. */
    assert_false(ms_var_ok(ms_memory_coil(m, "C", 0)));
    /* A bool in a register needs its bit; a coil holds only a bool. */
    ms_var_decl d = {"B", MS_MB_HOLDING_REGISTERS, 1, MS_VAR_BOOL,
                     MS_MB_WORDS_BIG, -1, 0};
    assert_false(ms_var_ok(ms_memory_declare(m, &d)));
    d.bit = 16;
    assert_false(ms_var_ok(ms_memory_declare(m, &d)));
    d = (ms_var_decl){"S", MS_MB_HOLDING_REGISTERS, 1, MS_VAR_STRING,
                      MS_MB_WORDS_BIG, -1, 0};
    assert_false(ms_var_ok(ms_memory_declare(m, &d)));
    d.len = 11; /* six registers: 1-6 */
    assert_false(ms_var_ok(ms_memory_declare(m, &d))); /* overlaps COUNTER */
    d.len = 10;
    assert_true(ms_var_ok(ms_memory_declare(m, &d)));
    /* A failed variable is harmless in accessors. */
    assert_int_equal(ms_memory_set_word(m, (ms_var){MS_EINVAL}, 1),
                     MS_EINVAL);
    assert_int_equal(ms_memory_get_word(m, (ms_var){MS_EINVAL}), 0);
    ms_memory_free(m);
    /* Areas that don't fit. */
    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.holding = (ms_memory_area){10, 65530};
    m = (ms_memory *)&l; /* must be set to NULL */
    assert_int_equal(ms_memory_new_layout(&l, &m), MS_EINVAL);
    assert_null(m);
    m = (ms_memory *)&l;
    assert_int_equal(ms_memory_new(65537, &m), MS_EINVAL);
    assert_null(m);

    m = layout_mem();
    ms_var_decl di = {"DI", MS_MB_DISCRETE_INPUTS, 7, MS_VAR_BOOL,
                      MS_MB_WORDS_BIG, -1, 0};
    assert_true(ms_var_ok(ms_memory_declare(m, &di)));
    di.type = MS_VAR_UINT16;
    di.offset = 6;
    assert_false(ms_var_ok(ms_memory_declare(m, &di)));
    assert_non_null(strstr(ms_memory_error(m), "holds a bool"));
    ms_memory_free(m);
}

static void test_overlaps_and_bits(void **state)
{
    (void)state;
    ms_memory *m;
    assert_int_equal(ms_memory_new(8, &m), 0);
    assert_true(ms_var_ok(ms_memory_float64(m, "F", 2))); /* 2-5 */
    assert_false(ms_var_ok(ms_memory_word(m, "X", 5)));
    assert_non_null(strstr(ms_memory_error(m), "overlaps F"));
    assert_false(ms_var_ok(ms_memory_int32(m, "Y", 1)));
    assert_false(ms_var_ok(ms_memory_bit(m, "B", 3, 0)));
    ms_var b0 = ms_memory_bit(m, "B0", 0, 0);
    ms_var b15 = ms_memory_bit(m, "B15", 0, 15);
    assert_true(ms_var_ok(b0));
    assert_true(ms_var_ok(b15));
    assert_false(ms_var_ok(ms_memory_bit(m, "B0again", 0, 0)));
    assert_false(ms_var_ok(ms_memory_word(m, "W0", 0)));
    assert_true(ms_var_ok(ms_memory_word(m, "W1", 1)));
    assert_int_equal(ms_memory_set_bool(m, b15, true), 0);
    assert_true(ms_memory_get_bool(m, b15));
    assert_false(ms_memory_get_bool(m, b0));
    assert_int_equal(m->area[MS_MB_HOLDING_REGISTERS].regs[0], 0x8000);
    /* Types are checked by width. */
    assert_int_equal(ms_memory_set_u32(m, b0, 1), MS_ETYPE);
    ms_memory_free(m);
}

/* Sets x through the accessors, checks the registers the device would see
 * against want, and reads it back. */
static void test_types_both_orders(void **state)
{
    (void)state;
    for (int o = 0; o < 2; o++) {
        ms_mb_word_order ord = o ? MS_MB_WORDS_LITTLE : MS_MB_WORDS_BIG;
        ms_memory *m = layout_mem();
        uint16_t *r = m->area[MS_MB_HOLDING_REGISTERS].regs;
        ms_var_decl d = {NULL, MS_MB_HOLDING_REGISTERS, 0, MS_VAR_INT16, ord,
                         -1, 0};
        ms_var v[12];
        static const ms_var_type types[] = {
            MS_VAR_INT16, MS_VAR_UINT16, MS_VAR_INT32, MS_VAR_UINT32,
            MS_VAR_INT64, MS_VAR_UINT64, MS_VAR_FLOAT32, MS_VAR_FLOAT64};
        uint32_t off = 0;
        for (int i = 0; i < 8; i++) {
            d.type = types[i];
            d.offset = off;
            v[i] = ms_memory_declare(m, &d);
            assert_true(ms_var_ok(v[i]));
            off += ms_mb_type_regs((ms_mb_type)types[i]);
        }
        d.type = MS_VAR_STRING;
        d.offset = off;
        d.len = 7;
        v[8] = ms_memory_declare(m, &d);
        assert_true(ms_var_ok(v[8]));
        ms_memory_set_i16(m, v[0], -1234);
        ms_memory_set_word(m, v[1], 54321);
        ms_memory_set_i32(m, v[2], -7654321);
        ms_memory_set_u32(m, v[3], 4000000001u);
        ms_memory_set_i64(m, v[4], -98765432109876LL);
        ms_memory_set_u64(m, v[5], 1234567890123456789ULL);
        ms_memory_set_f32(m, v[6], -0.75f);
        ms_memory_set_f64(m, v[7], 1e100);
        assert_int_equal(ms_memory_set_str(m, v[8], "abcdefghij"), 0);
        assert_int_equal(ms_memory_get_i16(m, v[0]), -1234);
        assert_int_equal(ms_memory_get_word(m, v[1]), 54321);
        assert_int_equal(ms_memory_get_i32(m, v[2]), -7654321);
        assert_int_equal(ms_memory_get_u32(m, v[3]), 4000000001u);
        assert_true(ms_memory_get_i64(m, v[4]) == -98765432109876LL);
        assert_true(ms_memory_get_u64(m, v[5]) == 1234567890123456789ULL);
        assert_true(ms_memory_get_f32(m, v[6]) == -0.75f);
        assert_true(ms_memory_get_f64(m, v[7]) == 1e100);
        char s[32];
        assert_int_equal(ms_memory_get_str(m, v[8], s, sizeof s), 7);
        assert_string_equal(s, "abcdefg");
        /* The registers as a device sees them. */
        uint32_t u = 4000000001u; /* 0xEE6B2801 */
        assert_int_equal(r[4], o ? (u & 0xffff) : (u >> 16));
        assert_int_equal(r[5], o ? (u >> 16) : (u & 0xffff));
        uint64_t q = 1234567890123456789ULL;
        for (int i = 0; i < 4; i++)
            assert_int_equal(r[10 + i],
                             (uint16_t)(q >> (16 * (o ? i : 3 - i))));
        assert_int_equal(r[off], 0x6162);
        assert_int_equal(r[off + 3], 0x6700); /* odd length: low byte 0 */
        /* Wrong-width accessors refuse. */
        assert_int_equal(ms_memory_set_u64(m, v[3], 1), MS_ETYPE);
        assert_int_equal(ms_memory_get_f32(m, v[7]), 0);
        ms_memory_free(m);
    }
}

static void test_coils_inputs(void **state)
{
    (void)state;
    ms_memory *m = layout_mem();
    ms_var c = ms_memory_coil(m, "C", 15);
    ms_var i = ms_memory_input(m, "I", 0);
    assert_true(ms_var_ok(c) && ms_var_ok(i));
    assert_false(ms_var_ok(ms_memory_coil(m, "C16", 16)));
    ms_memory_set_bool(m, c, true);
    assert_true(ms_memory_get_bool(m, c));
    assert_int_equal(m->area[MS_MB_COILS].dirty[15], 1);
    ms_memory_set_bool(m, i, true); /* local only: inputs are read-only */
    assert_true(ms_memory_get_bool(m, i));
    ms_memory_free(m);
}

static void test_plan_writes(void **state)
{
    (void)state;
    ms_memory *m = layout_mem();
    ms_var w0 = ms_memory_word(m, "W0", 0);
    ms_var u1 = ms_memory_uint32(m, "U1", 1);
    ms_var w5 = ms_memory_word(m, "W5", 5);
    ms_var b7 = ms_memory_bit(m, "B7", 7, 3);
    ms_var b7b = ms_memory_bit(m, "B7b", 7, 9);
    ms_var c0 = ms_memory_coil(m, "C0", 0);
    ms_var c1 = ms_memory_coil(m, "C1", 1);
    ms_var c5 = ms_memory_coil(m, "C5", 5);
    ms_var_decl big = {"BIG", MS_MB_HOLDING_REGISTERS, 10, MS_VAR_STRING,
                       MS_MB_WORDS_BIG, -1, 250}; /* 125 registers */
    ms_var s = ms_memory_declare(m, &big);
    assert_true(ms_var_ok(s));
    msm_plan p = {0};
    assert_int_equal(msm_plan_writes(m, &p), 0);
    assert_int_equal(p.n, 0); /* nothing changed */
    ms_memory_set_word(m, w0, 7);
    ms_memory_set_u32(m, u1, 0x10002);
    ms_memory_set_word(m, w5, 9);
    ms_memory_set_bool(m, b7, true);
    ms_memory_set_bool(m, b7b, false);
    ms_memory_set_bool(m, c0, true);
    ms_memory_set_bool(m, c1, true);
    ms_memory_set_bool(m, c5, true);
    ms_memory_set_str(m, s, "x");
    assert_int_equal(msm_plan_writes(m, &p), 0);
    /* FC15 0-1, FC5 5, FC16 0-2, FC6 5, FC22 7, FC16 10-132, FC16 133-134 */
    assert_int_equal(p.n, 7);
    assert_int_equal(p.reqs[0].req.fc, MS_MB_WRITE_MULTIPLE_COILS);
    assert_int_equal(p.reqs[0].req.addr, 100);
    assert_int_equal(p.reqs[0].req.count, 2);
    assert_int_equal(p.reqs[0].req.data[0], 3);
    assert_int_equal(p.reqs[1].req.fc, MS_MB_WRITE_SINGLE_COIL);
    assert_int_equal(p.reqs[1].req.addr, 105);
    assert_int_equal(p.reqs[1].req.value, MS_MB_COIL_ON);
    assert_int_equal(p.reqs[2].req.fc, MS_MB_WRITE_MULTIPLE_REGISTERS);
    assert_int_equal(p.reqs[2].req.addr, 40099);
    assert_int_equal(p.reqs[2].req.count, 3);
    assert_memory_equal(p.reqs[2].req.data, "\0\7\0\1\0\2", 6);
    assert_int_equal(p.reqs[3].req.fc, MS_MB_WRITE_SINGLE_REGISTER);
    assert_int_equal(p.reqs[3].req.addr, 40104);
    assert_int_equal(p.reqs[3].req.value, 9);
    assert_int_equal(p.reqs[4].req.fc, MS_MB_MASK_WRITE_REGISTER);
    assert_int_equal(p.reqs[4].req.addr, 40106);
    assert_int_equal(p.reqs[4].req.and_mask, (uint16_t)~0x208);
    assert_int_equal(p.reqs[4].req.or_mask, 0x8);
    assert_int_equal(p.reqs[5].req.count, MS_MB_MAX_WRITE_REGS);
    assert_int_equal(p.reqs[6].req.count, 2);
    for (size_t i = 0; i < p.n; i++) {
        uint8_t pdu[MS_MB_PDU_MAX];
        assert_true(ms_mb_request_encode(&p.reqs[i].req, pdu, sizeof pdu) >
                    0);
    }
    /* Planned means unmarked: the next plan is empty. */
    msm_plan q = {0};
    assert_int_equal(msm_plan_writes(m, &q), 0);
    assert_int_equal(q.n, 0);
    /* A failed write goes back. */
    msm_unplan(m, &p.reqs[4]);
    msm_unplan(m, &p.reqs[3]);
    assert_int_equal(msm_plan_writes(m, &q), 0);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.reqs[0].req.fc, MS_MB_WRITE_SINGLE_REGISTER);
    assert_int_equal(q.reqs[1].req.fc, MS_MB_MASK_WRITE_REGISTER);
    /* Dropped changes are not written. */
    ms_memory_set_word(m, w0, 8);
    msm_drop_changes(m);
    q.n = 0;
    assert_int_equal(msm_plan_writes(m, &q), 0);
    assert_int_equal(q.n, 0);
    msm_plan_free(&q);
    msm_plan_free(&p);
    ms_memory_free(m);
}

static void test_plan_reads_and_conflicts(void **state)
{
    (void)state;
    ms_memory *m = layout_mem();
    ms_var w0 = ms_memory_word(m, "W0", 0);
    ms_var w1 = ms_memory_word(m, "W1", 1);
    ms_var b2 = ms_memory_bit(m, "B2", 2, 0);
    msm_plan p = {0};
    assert_int_equal(msm_plan_reads(m, &p), 0);
    /* coils, inputs, input registers, holding 300 = 125 + 125 + 50 */
    assert_int_equal(p.n, 6);
    assert_int_equal(p.reqs[0].req.fc, MS_MB_READ_COILS);
    assert_int_equal(p.reqs[0].req.addr, 100);
    assert_int_equal(p.reqs[1].req.fc, MS_MB_READ_DISCRETE_INPUTS);
    assert_int_equal(p.reqs[2].req.fc, MS_MB_READ_INPUT_REGISTERS);
    assert_int_equal(p.reqs[2].req.addr, 10);
    assert_int_equal(p.reqs[3].req.addr, 40099);
    assert_int_equal(p.reqs[4].req.addr, 40099 + 125);
    assert_int_equal(p.reqs[5].req.count, 50);
    /* The device says 5, 6, 0xFFFE; the program changed W1 and B2. */
    ms_memory_set_word(m, w1, 42);
    ms_memory_set_bool(m, b2, true);
    uint8_t data[250];
    memset(data, 0, sizeof data);
    ms_mb_reg_set(data, 0, 5);
    ms_mb_reg_set(data, 1, 6);
    ms_mb_reg_set(data, 2, 0xFFFE);
    ms_mb_response rsp = {.fc = 3, .data = data, .nbytes = 250};
    msm_apply_read(m, &p.reqs[3], &rsp);
    assert_int_equal(ms_memory_get_word(m, w0), 5);
    assert_int_equal(ms_memory_get_word(m, w1), 42); /* ours wins */
    assert_int_equal(m->area[MS_MB_HOLDING_REGISTERS].regs[2], 0xFFFF);
    /* Once written, the device's values come in. */
    msm_plan wp = {0};
    msm_plan_writes(m, &wp);
    assert_int_equal(wp.n, 2);
    msm_apply_read(m, &p.reqs[3], &rsp);
    assert_int_equal(ms_memory_get_word(m, w1), 6);
    assert_false(ms_memory_get_bool(m, b2));
    msm_plan_free(&wp);
    msm_plan_free(&p);
    ms_memory_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declare_ranges),
        cmocka_unit_test(test_overlaps_and_bits),
        cmocka_unit_test(test_types_both_orders),
        cmocka_unit_test(test_coils_inputs),
        cmocka_unit_test(test_plan_writes),
        cmocka_unit_test(test_plan_reads_and_conflicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
