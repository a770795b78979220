/* MBAP framing (src/modbus/codec/mb_mbap.c, mb_adu.c): whole ADUs captured from
 * libmodbus 3.1.6, a stream of them read whole, split at every point and
 * byte by byte, every prefix, the header's limits (protocol id, length
 * 2..254), and framing on encode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mb_testutil.h"
#include "mscada/error.h"
#include "mscada/modbus.h"
#include "mscada/value.h"

#define MBAP MS_MB_FRAMING_MBAP

typedef struct {
    const char *call;
    const char *request;
    const char *response;
} capture;

/* libmodbus 3.1.6: a modbus_new_tcp() client given one end of a socketpair
 * (modbus_set_socket) and a libmodbus server (modbus_receive + modbus_reply
 * over a modbus_mapping_new(500, 500, 500, 500)) on the other; bytes from
 * the client's modbus_set_debug(ctx, TRUE) output. Unit id 0xFF is
 * libmodbus' TCP default. */
static const capture captures[] = {
    {"modbus_read_bits(ctx, 19, 19, b)",
     "00 01 00 00 00 06 FF 01 00 13 00 13",
     "00 01 00 00 00 06 FF 01 03 CD 6B 05"},
    {"modbus_read_input_bits(ctx, 196, 22, b)",
     "00 02 00 00 00 06 FF 02 00 C4 00 16",
     "00 02 00 00 00 06 FF 02 03 AC DB 35"},
    {"modbus_read_registers(ctx, 107, 3, r)",
     "00 03 00 00 00 06 FF 03 00 6B 00 03",
     "00 03 00 00 00 09 FF 03 06 02 2B 00 00 00 64"},
    {"modbus_read_input_registers(ctx, 8, 1, r)",
     "00 04 00 00 00 06 FF 04 00 08 00 01",
     "00 04 00 00 00 05 FF 04 02 00 0A"},
    {"modbus_write_bit(ctx, 172, 1)", "00 05 00 00 00 06 FF 05 00 AC FF 00",
     "00 05 00 00 00 06 FF 05 00 AC FF 00"},
    {"modbus_write_register(ctx, 1, 3)", "00 06 00 00 00 06 FF 06 00 01 00 03",
     "00 06 00 00 00 06 FF 06 00 01 00 03"},
    {"modbus_write_bits(ctx, 19, 10, {1,0,1,1,0,0,1,1,1,0})",
     "00 07 00 00 00 09 FF 0F 00 13 00 0A 02 CD 01",
     "00 07 00 00 00 06 FF 0F 00 13 00 0A"},
    {"modbus_write_registers(ctx, 1, 2, {0x000A, 0x0102})",
     "00 08 00 00 00 0B FF 10 00 01 00 02 04 00 0A 01 02",
     "00 08 00 00 00 06 FF 10 00 01 00 02"},
    {"modbus_mask_write_register(ctx, 4, 0x00F2, 0x0025)",
     "00 09 00 00 00 08 FF 16 00 04 00 F2 00 25",
     "00 09 00 00 00 08 FF 16 00 04 00 F2 00 25"},
    {"modbus_write_and_read_registers(ctx, 14, 3, {0xFF,0xFF,0xFF}, 3, 6, r)",
     "00 0A 00 00 00 11 FF 17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF",
     "00 0A 00 00 00 0F FF 17 0C 00 FE 00 C5 00 01 00 03 00 0D 00 FF"},
    {"modbus_read_registers(ctx, 498, 5, r): past the mapping",
     "00 0B 00 00 00 06 FF 03 01 F2 00 05", "00 0B 00 00 00 03 FF 83 02"},
    {"modbus_read_bits(ctx, 0, 2000, b): past the mapping",
     "00 0C 00 00 00 06 FF 01 00 00 07 D0", "00 0C 00 00 00 03 FF 81 02"},
    {"modbus_send_raw_request(ctx, {FF 03 00 00 00 7E}): 126 registers",
     "00 00 00 00 00 06 FF 03 00 00 00 7E", "00 00 00 00 00 03 FF 83 03"},
};
#define NCAP (sizeof captures / sizeof captures[0])

/* Checks one whole ADU of direction dir: decodes, every prefix needs more,
 * re-frames to the same bytes. */
static void check_adu(const char *hex, ms_mb_dir dir, const char *call)
{
    uint8_t b[300], out[300];
    size_t n = mb_hex(hex, b, sizeof b);
    ms_mb_adu a;
    int rc = ms_mb_adu_decode(MBAP, dir, b, n, &a);
    if (rc != (int)n)
        fail_msg("%s: adu decode gives %d", call, rc);
    assert_int_equal(a.tid, ms_get_u16(b));
    assert_int_equal(a.unit, 0xFF);
    assert_true(a.pdu == b + 7);
    assert_int_equal(a.pdu_len, n - 7);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(ms_mb_adu_decode(MBAP, dir, b, k, &a), 0);
    assert_int_equal(ms_mb_adu_decode(MBAP, dir, b, n, &a), (int)n);
    int m;
    if (dir == MS_MB_REQUEST) {
        ms_mb_request q;
        rc = ms_mb_request_decode(a.pdu, a.pdu_len, &q);
        if (rc != 0) {
            /* over the limit: frames fine, but a server must refuse it */
            assert_int_equal(rc, ms_mb_exc_err(3, 3));
            return;
        }
        m = ms_mb_request_frame(MBAP, a.tid, a.unit, &q, out, sizeof out);
        assert_int_equal(ms_mb_request_frame(MBAP, a.tid, a.unit, &q, out,
                                             n - 1),
                         MS_ETOOBIG);
    } else {
        ms_mb_response r;
        rc = ms_mb_response_decode(a.pdu, a.pdu_len, &r);
        assert_true(rc == 0 || ms_mb_err_is_exc(rc));
        m = ms_mb_response_frame(MBAP, a.tid, a.unit, &r, out, sizeof out);
    }
    assert_int_equal(m, (int)n);
    assert_memory_equal(out, b, n);
}

static void test_libmodbus_adus(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCAP; i++) {
        check_adu(captures[i].request, MS_MB_REQUEST, captures[i].call);
        check_adu(captures[i].response, MS_MB_RESPONSE, captures[i].call);
    }
}

/* The requests and the responses must match each other. */
static void test_libmodbus_pairs(void **state)
{
    (void)state;
    char text[128];
    for (size_t i = 0; i < NCAP; i++) {
        uint8_t qb[300], rb[300];
        size_t qn = mb_hex(captures[i].request, qb, sizeof qb);
        size_t rn = mb_hex(captures[i].response, rb, sizeof rb);
        ms_mb_adu qa, ra;
        ms_mb_request q;
        ms_mb_response r;
        assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_REQUEST, qb, qn, &qa),
                         (int)qn);
        assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_RESPONSE, rb, rn, &ra),
                         (int)rn);
        assert_int_equal(qa.tid, ra.tid);
        if (ms_mb_request_decode(qa.pdu, qa.pdu_len, &q) != 0) {
            assert_int_equal(i, NCAP - 1); /* 126 registers, below */
            continue;
        }
        int rc = ms_mb_response_decode(ra.pdu, ra.pdu_len, &r);
        assert_int_equal(ms_mb_response_match(&q, &r), rc);
    }
    /* libmodbus answers 126 registers with exception 3, as we decode it */
    ms_mb_request q;
    uint8_t b[16];
    size_t n = mb_hex(captures[NCAP - 1].request, b, sizeof b);
    int rc = ms_mb_request_decode(b + 7, n - 7, &q);
    assert_int_equal(rc, ms_mb_exc_err(3, 3));
    assert_string_equal(ms_mb_strerror(rc, text, sizeof text),
                        "FC3 read holding registers: exception 3 illegal "
                        "data value");
}

/* All captured ADUs of one direction in one stream. */
static size_t make_stream(ms_mb_dir dir, uint8_t *s, size_t *ends)
{
    size_t n = 0;
    for (size_t i = 0; i < NCAP; i++) {
        const char *h =
            dir == MS_MB_REQUEST ? captures[i].request : captures[i].response;
        n += mb_hex(h, s + n, 4096 - n);
        ends[i] = n;
    }
    return n;
}

/* Reads s[0..n) fed in pieces: the first `split` bytes, then `step` bytes at
 * a time, keeping unused bytes as a transport would. Checks every ADU ends
 * where expected. */
static void read_stream(ms_mb_dir dir, const uint8_t *s, size_t n,
                        const size_t *ends, size_t split, size_t step)
{
    uint8_t buf[4096];
    size_t have = 0, fed = 0, got = 0, consumed = 0;
    while (fed < n || have) {
        size_t k = fed == 0 && split ? split : step;
        if (k > n - fed)
            k = n - fed;
        memcpy(buf + have, s + fed, k);
        have += k;
        fed += k;
        for (;;) {
            ms_mb_adu a;
            int rc = ms_mb_adu_decode(MBAP, dir, buf, have, &a);
            assert_true(rc >= 0);
            if (rc == 0)
                break;
            consumed += (size_t)rc;
            assert_int_equal(consumed, ends[got]);
            got++;
            memmove(buf, buf + rc, have - (size_t)rc);
            have -= (size_t)rc;
        }
        if (fed == n)
            break;
    }
    assert_int_equal(got, NCAP);
    assert_int_equal(have, 0);
}

static void test_stream_splits(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        uint8_t s[4096];
        size_t ends[NCAP];
        size_t n = make_stream((ms_mb_dir)d, s, ends);
        read_stream((ms_mb_dir)d, s, n, ends, 0, n);
        read_stream((ms_mb_dir)d, s, n, ends, 0, 1);
        for (size_t split = 1; split < n; split++)
            read_stream((ms_mb_dir)d, s, n, ends, split, n);
        for (size_t step = 2; step < 20; step++)
            read_stream((ms_mb_dir)d, s, n, ends, 0, step);
    }
}

static void test_header_limits(void **state)
{
    (void)state;
    uint8_t b[300] = {0};
    ms_mb_adu a;
    /* protocol id must be 0: known from the header alone */
    size_t n = mb_hex("00 01 00 01 00 06 FF 03 00 6B 00 03", b, sizeof b);
    assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_REQUEST, b, 7, &a),
                     MS_EPROTO);
    assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_REQUEST, b, n, &a),
                     MS_EPROTO);
    assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_REQUEST, b, 6, &a), 0);
    b[2] = 0x80, b[3] = 0;
    assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_REQUEST, b, n, &a),
                     MS_EPROTO);
    /* length: 2..254 */
    static const struct {
        uint16_t len;
        int rc;
    } lens[] = {{0, MS_EPROTO},   {1, MS_EPROTO},   {2, 8},
                {3, 9},           {253, 259},       {254, 260},
                {255, MS_EPROTO}, {256, MS_EPROTO}, {0xFFFF, MS_EPROTO}};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(b, 0, sizeof b);
        b[0] = 0x12, b[1] = 0x34;
        b[4] = (uint8_t)(lens[i].len >> 8), b[5] = (uint8_t)lens[i].len;
        b[6] = 7, b[7] = 3;
        assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_RESPONSE, b, 260, &a),
                         lens[i].rc);
        if (lens[i].rc > 0) {
            assert_int_equal(a.tid, 0x1234);
            assert_int_equal(a.unit, 7);
            assert_int_equal(a.pdu_len, lens[i].len - 1u);
            assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_RESPONSE, b,
                                              (size_t)lens[i].rc - 1, &a),
                             0);
        }
    }
    /* A PDU of one byte frames, its decode is the PDU codec's business. */
    n = mb_hex("00 01 00 00 00 02 01 03", b, sizeof b);
    assert_int_equal(ms_mb_adu_decode(MBAP, MS_MB_REQUEST, b, n, &a), 8);
    ms_mb_request q;
    assert_int_equal(ms_mb_request_decode(a.pdu, a.pdu_len, &q),
                     ms_mb_exc_err(3, 3));
}

static void test_wrap(void **state)
{
    (void)state;
    uint8_t b[300];
    assert_int_equal(ms_mb_adu_head(MBAP), 7);
    assert_int_equal(ms_mb_adu_tail(MBAP), 0);
    assert_int_equal(ms_mb_adu_head((ms_mb_framing)9), 0);
    assert_int_equal(ms_mb_adu_wrap(MBAP, 1, 1, b, 0), MS_EINVAL);
    assert_int_equal(ms_mb_adu_wrap(MBAP, 1, 1, b, 254), MS_EINVAL);
    memset(b, 0xEE, sizeof b);
    assert_int_equal(ms_mb_adu_wrap(MBAP, 0xBEEF, 0x11, b, 253), 260);
    assert_int_equal(b[0], 0xBE);
    assert_int_equal(b[1], 0xEF);
    assert_int_equal(b[2], 0);
    assert_int_equal(b[3], 0);
    assert_int_equal(b[4], 0);
    assert_int_equal(b[5], 254);
    assert_int_equal(b[6], 0x11);
    assert_int_equal(b[7], 0xEE); /* the PDU is left alone */
    ms_mb_adu a;
    assert_int_equal(ms_mb_adu_decode((ms_mb_framing)9, MS_MB_REQUEST, b, 260,
                                      &a),
                     MS_EINVAL);
    ms_mb_request q = {.fc = 3, .addr = 107, .count = 3};
    assert_int_equal(ms_mb_request_frame((ms_mb_framing)9, 0, 0, &q, b, 300),
                     MS_EINVAL);
    assert_int_equal(ms_mb_request_frame(MBAP, 0, 0, &q, b, 6), MS_ETOOBIG);
    q.count = 0;
    assert_int_equal(ms_mb_request_frame(MBAP, 0, 0, &q, b, 300), MS_ERANGE);
    ms_mb_response r = {.fc = 3, .exception = 2};
    assert_int_equal(ms_mb_response_frame(MBAP, 9, 1, &r, b, 300), 9);
    uint8_t want[9];
    mb_hex("00 09 00 00 00 03 01 83 02", want, sizeof want);
    assert_memory_equal(b, want, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libmodbus_adus),
        cmocka_unit_test(test_libmodbus_pairs),
        cmocka_unit_test(test_stream_splits),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
