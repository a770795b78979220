/* RTU framing (src/modbus/codec/mb_rtu.c): CRC-16 against the Modbus over Serial
 * Line spec's example and frames libmodbus 3.1.6 sent, frames delimited by
 * the PDU's own length (every prefix needs more, split streams), bad CRCs,
 * functions whose length can't be told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mb_testutil.h"
#include "mscada/error.h"
#include "mscada/modbus.h"

#define RTU MS_MB_FRAMING_RTU

/* Requests libmodbus 3.1.6 sent from modbus_new_rtu(pty, 19200, 'E', 8, 1)
 * (read on the pty's master side, modbus_set_debug output). */
static const struct {
    const char *call;
    const char *hex;
} sent[] = {
    {"modbus_set_slave(ctx, 1); modbus_read_registers(ctx, 0, 10, r)",
     "01 03 00 00 00 0A C5 CD"},
    {"modbus_set_slave(ctx, 17); modbus_write_registers(ctx, 1, 2, "
     "{0x000A, 0x0102})",
     "11 10 00 01 00 02 04 00 0A 01 02 C6 F0"},
    {"modbus_set_slave(ctx, 2); modbus_write_bit(ctx, 172, 1)",
     "02 05 00 AC FF 00 4C 28"},
};
#define NSENT (sizeof sent / sizeof sent[0])

/* Responses: the spec's PDUs framed for unit 1; CRCs as we compute them
 * (the CRC itself is checked against independent values above). */
static const char *responses[] = {
    "01 03 06 02 2B 00 00 00 64 05 7A", "01 83 02 C0 F1",
    "01 0F 00 13 00 0A 24 09",
    "01 2B 0E 01 01 00 00 01 00 05 56 32 2E 31 31 76 45",
};
#define NRESP (sizeof responses / sizeof responses[0])

static void test_crc(void **state)
{
    (void)state;
    /* Modbus over Serial Line v1.02, 6.2.2: the CRC of 02 07 is 0x1241 */
    assert_int_equal(ms_mb_crc16((const uint8_t[]){0x02, 0x07}, 2), 0x1241);
    assert_int_equal(ms_mb_crc16(NULL, 0), 0xFFFF);
    for (size_t i = 0; i < NSENT; i++) {
        uint8_t b[64];
        size_t n = mb_hex(sent[i].hex, b, sizeof b);
        uint16_t c = ms_mb_crc16(b, n - 2);
        assert_int_equal(b[n - 2], c & 0xFF); /* low byte first */
        assert_int_equal(b[n - 1], c >> 8);
        /* the CRC over a frame with its CRC is 0 */
        assert_int_equal(ms_mb_crc16(b, n), 0);
    }
}

static void check_frame(const char *hex, ms_mb_dir dir)
{
    uint8_t b[300], out[300];
    size_t n = mb_hex(hex, b, sizeof b);
    ms_mb_adu a;
    assert_int_equal(ms_mb_adu_decode(RTU, dir, b, n, &a), (int)n);
    assert_int_equal(a.tid, 0);
    assert_int_equal(a.unit, b[0]);
    assert_true(a.pdu == b + 1);
    assert_int_equal(a.pdu_len, n - 3);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(ms_mb_adu_decode(RTU, dir, b, k, &a), 0);
    /* re-frame */
    int m;
    if (dir == MS_MB_REQUEST) {
        ms_mb_request q;
        assert_int_equal(ms_mb_request_decode(a.pdu, a.pdu_len, &q), 0);
        m = ms_mb_request_frame(RTU, 0, b[0], &q, out, sizeof out);
        assert_int_equal(ms_mb_request_frame(RTU, 0, b[0], &q, out, n - 1),
                         MS_ETOOBIG);
    } else {
        ms_mb_response r;
        int rc = ms_mb_response_decode(a.pdu, a.pdu_len, &r);
        assert_true(rc == 0 || ms_mb_err_is_exc(rc));
        m = ms_mb_response_frame(RTU, 0, b[0], &r, out, sizeof out);
    }
    assert_int_equal(m, (int)n);
    assert_memory_equal(out, b, n);
    /* every single bit flipped is caught (by the CRC or the length) */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            int rc = ms_mb_adu_decode(RTU, dir, b, n, &a);
            assert_true(rc != (int)n);
            b[i] ^= (uint8_t)(1u << bit);
        }
}

static void test_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSENT; i++)
        check_frame(sent[i].hex, MS_MB_REQUEST);
    for (size_t i = 0; i < NRESP; i++)
        check_frame(responses[i], MS_MB_RESPONSE);
}

/* Back-to-back frames (rtu-over-tcp, or a serial read that caught two),
 * split at every point. */
static void test_stream_splits(void **state)
{
    (void)state;
    uint8_t s[512];
    size_t n = 0, ends[NSENT];
    for (size_t i = 0; i < NSENT; i++) {
        n += mb_hex(sent[i].hex, s + n, sizeof s - n);
        ends[i] = n;
    }
    for (size_t split = 0; split <= n; split++) {
        uint8_t buf[512];
        size_t have = 0, fed = 0, got = 0, consumed = 0;
        for (int part = 0; part < 2; part++) {
            size_t k = part == 0 ? split : n - split;
            memcpy(buf + have, s + fed, k);
            have += k;
            fed += k;
            ms_mb_adu a;
            int rc;
            while ((rc = ms_mb_adu_decode(RTU, MS_MB_REQUEST, buf, have,
                                          &a)) > 0) {
                consumed += (size_t)rc;
                assert_int_equal(consumed, ends[got]);
                got++;
                memmove(buf, buf + rc, have - (size_t)rc);
                have -= (size_t)rc;
            }
            assert_int_equal(rc, 0);
        }
        assert_int_equal(got, NSENT);
    }
}

static void test_faults(void **state)
{
    (void)state;
    uint8_t b[300];
    ms_mb_adu a;
    /* bad CRC */
    size_t n = mb_hex("01 03 00 00 00 0A C5 CE", b, sizeof b);
    assert_int_equal(ms_mb_adu_decode(RTU, MS_MB_REQUEST, b, n, &a),
                     MS_EPROTO);
    /* a request read as a response has another length: FC3 "00" bytes */
    n = mb_hex("01 03 00 00 00 0A C5 CD", b, sizeof b);
    assert_int_equal(ms_mb_adu_decode(RTU, MS_MB_RESPONSE, b, n, &a),
                     MS_EPROTO);
    /* functions of unknown length */
    n = mb_hex("01 08 00 00 12 34", b, sizeof b);
    assert_int_equal(ms_mb_adu_decode(RTU, MS_MB_REQUEST, b, n, &a),
                     MS_EPROTO);
    assert_int_equal(ms_mb_adu_decode(RTU, MS_MB_REQUEST, b, 1, &a), 0);
    /* a byte count past 253 */
    n = mb_hex("01 10 00 00 00 7C F8", b, sizeof b);
    assert_int_equal(ms_mb_adu_decode(RTU, MS_MB_REQUEST, b, n, &a),
                     MS_EPROTO);
    /* head and tail, wrap */
    assert_int_equal(ms_mb_adu_head(RTU), 1);
    assert_int_equal(ms_mb_adu_tail(RTU), 2);
    b[1] = 0x83, b[2] = 0x02;
    assert_int_equal(ms_mb_adu_wrap(RTU, 0xFFFF, 1, b, 2), 5);
    uint8_t want[5];
    mb_hex("01 83 02 C0 F1", want, sizeof want);
    assert_memory_equal(b, want, 5);
    assert_int_equal(ms_mb_adu_wrap(RTU, 0, 1, b, 254), MS_EINVAL);
    /* 125 registers: 1 + 252 + 2 */
    ms_mb_response r = {.fc = 3, .nbytes = 250, .data = b + 10};
    uint8_t out[300];
    memset(b, 0x42, sizeof b);
    assert_int_equal(ms_mb_response_frame(RTU, 0, 9, &r, out, sizeof out),
                     255);
    assert_int_equal(ms_mb_adu_decode(RTU, MS_MB_RESPONSE, out, 255, &a), 255);
    assert_int_equal(a.pdu_len, 252);
    assert_int_equal(ms_mb_response_frame(RTU, 0, 9, &r, out, 254),
                     MS_ETOOBIG);
    assert_int_equal(ms_mb_response_frame(RTU, 0, 9, &r, out, 2), MS_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_stream_splits),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
