/* Finding RTU frames in a noisy stream (src/modbus/codec/mb_rtu_scan.c): clean
 * frames, garbage before, between and after frames, a frame cut short and
 * then a whole one, functions whose length can't be told (answered with
 * exception 1 by a slave), byte counts that disagree with the frame
 * (answered with exception 3), and the one-ADU-per-datagram rule of UDP
 * (src/modbus/link/mb_udp.c). Serial line settings and the 3.5-character
 * silence (src/modbus/link/mb_serial.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mb_testutil.h"
#include "modbus/link/mb_udp.h"
#include "mscada/error.h"
#include "mscada/mbserial.h"
#include "mscada/mbserver.h"

#define REQ MS_MB_REQUEST
#define RSP MS_MB_RESPONSE

/* libmodbus 3.1.6's read of 10 registers from unit 1, and the spec's
 * FC3 answer framed for unit 1 (test_modbus_rtu.c). */
static const char *const REQ1 = "01 03 00 00 00 0A C5 CD";
static const char *const RSP1 = "01 03 06 02 2B 00 00 00 64 05 7A";

/* Scans everything in buf, collecting the frames' offsets and lengths the
 * way a transport does: drop *skip bytes, take the frame. Returns frames
 * found; *held = bytes left waiting. */
static size_t scan_all(ms_mb_dir dir, const uint8_t *buf, size_t len,
                       size_t *offs, size_t *lens, size_t max, size_t *held)
{
    size_t off = 0, n = 0;
    for (;;) {
        ms_mb_adu adu;
        size_t skip = 99999;
        int rc = ms_mb_rtu_scan(dir, buf + off, len - off, &adu, &skip);
        assert_true(skip <= len - off);
        off += skip;
        if (rc <= 0)
            break;
        assert_ptr_equal(adu.pdu, buf + off + 1);
        assert_true(n < max);
        offs[n] = off;
        lens[n++] = (size_t)rc;
        off += (size_t)rc;
    }
    *held = len - off;
    return n;
}

static void test_clean(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = mb_hex(REQ1, b, sizeof b);
    ms_mb_adu adu;
    size_t skip = 7;
    assert_int_equal(ms_mb_rtu_scan(REQ, b, n, &adu, &skip), 8);
    assert_int_equal(skip, 0);
    assert_int_equal(adu.unit, 1);
    assert_int_equal(adu.pdu_len, 5);
    /* Every prefix is a frame still arriving, none of it garbage. */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(ms_mb_rtu_scan(REQ, b, k, &adu, &skip), 0);
        assert_int_equal(skip, 0);
    }
    n = mb_hex(RSP1, b, sizeof b);
    assert_int_equal(ms_mb_rtu_scan(RSP, b, n, &adu, &skip), 11);
    assert_int_equal(skip, 0);
    assert_int_equal(adu.pdu_len, 8);
}

static void test_noise_before_between_after(void **state)
{
    (void)state;
    uint8_t b[128];
    /* Line noise (a 0x00 and 0xFF burst, a stray byte), the frame, more
     * noise, the frame again, a trailing partial byte. */
    size_t n = mb_hex("00 FF FF 13 01 03 00 00 00 0A C5 CD "
                      "AA 55 01 03 00 00 00 0A C5 CD 01", b, sizeof b);
    size_t offs[4], lens[4], held;
    assert_int_equal(scan_all(REQ, b, n, offs, lens, 4, &held), 2);
    assert_int_equal(offs[0], 4);
    assert_int_equal(lens[0], 8);
    assert_int_equal(offs[1], 14);
    assert_int_equal(lens[1], 8);
    assert_int_equal(held, 1); /* may be the next frame's unit */
}

static void test_cut_short_then_whole(void **state)
{
    (void)state;
    uint8_t b[128];
    /* A response cut off mid-frame (the device reset), then a whole one:
     * the partial frame claims more bytes, but the whole frame behind it
     * wins. */
    size_t n = mb_hex("01 03 06 02 2B 00 "
                      "01 03 06 02 2B 00 00 00 64 05 7A", b, sizeof b);
    size_t offs[2], lens[2], held;
    assert_int_equal(scan_all(RSP, b, n, offs, lens, 2, &held), 1);
    assert_int_equal(offs[0], 6);
    assert_int_equal(held, 0);
    /* Only the partial one: held, none of it is garbage yet. */
    ms_mb_adu adu;
    size_t skip;
    assert_int_equal(ms_mb_rtu_scan(RSP, b, 6, &adu, &skip), 0);
    assert_int_equal(skip, 0);
}

static void test_bad_crc_skipped(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = mb_hex("01 03 00 00 00 0A C5 CE", b, sizeof b);
    ms_mb_adu adu;
    size_t skip;
    /* A corrupted frame is not a frame; its last bytes may yet start one. */
    assert_int_equal(ms_mb_rtu_scan(REQ, b, n, &adu, &skip), 0);
    assert_true(skip >= 1);
    assert_true(skip < n);
}

static void test_unknown_length_functions(void **state)
{
    (void)state;
    /* FC8 diagnostics, return query data 0x1234 to unit 17; FC11 get comm
     * event counter (no data); FC7 read exception status. CRCs computed. */
    static const uint8_t pdus[][6] = {
        {0x11, 0x08, 0x00, 0x00, 0x12, 0x34}, {0x11, 0x0B}, {0x02, 0x07}};
    static const size_t lens[] = {6, 2, 2};
    for (size_t i = 0; i < 3; i++) {
        uint8_t b[64];
        memset(b, 0, sizeof b);
        b[0] = 0xEE; /* noise first */
        memcpy(b + 1, pdus[i], lens[i]);
        uint16_t crc = ms_mb_crc16(b + 1, lens[i]);
        b[1 + lens[i]] = (uint8_t)crc;
        b[2 + lens[i]] = (uint8_t)(crc >> 8);
        size_t n = 1 + lens[i] + 2;
        ms_mb_adu adu;
        size_t skip;
        assert_int_equal(ms_mb_rtu_scan(REQ, b, n, &adu, &skip),
                         (int)(lens[i] + 2));
        assert_int_equal(skip, 1);
        assert_int_equal(adu.unit, pdus[i][0]);
        assert_int_equal(adu.pdu_len, lens[i] - 1);
        /* Before the CRC arrives it may still be arriving. */
        assert_int_equal(ms_mb_rtu_scan(REQ, b + 1, n - 2, &adu, &skip), 0);
        assert_int_equal(skip, 0);
        /* A slave answers it with exception 1 (unit known, memory empty
         * but present). */
        ms_mb_mem mem;
        ms_mb_mem_init(&mem);
        assert_int_equal(
            ms_mb_mem_add(&mem, adu.unit, MS_MB_HOLDING_REGISTERS, 0, 9), 0);
        ms_mb_handler h;
        memset(&h, 0, sizeof h);
        h.mem = &mem;
        uint8_t out[MS_MB_PDU_MAX];
        int r = ms_mb_serve_pdu(&h, adu.unit, adu.pdu, adu.pdu_len, out);
        assert_int_equal(r, 2);
        assert_int_equal(out[0], 0x80 | pdus[i][1]);
        assert_int_equal(out[1], MS_MB_EX_ILLEGAL_FUNCTION);
        ms_mb_mem_free(&mem);
        /* A master never takes it for an answer. */
        assert_int_equal(ms_mb_rtu_scan(RSP, b + 1, n - 1, &adu, &skip), 0);
    }
}

/* Puts a frame's CRC after its n bytes; returns n + 2. */
static size_t with_crc(uint8_t *b, size_t n)
{
    uint16_t crc = ms_mb_crc16(b, n);
    b[n] = (uint8_t)crc;
    b[n + 1] = (uint8_t)(crc >> 8);
    return n + 2;
}

static void test_byte_count_mismatch(void **state)
{
    (void)state;
    /* FC16 and FC15 with byte count 0 but data, FC23 with a byte count 2
     * short, each with a valid CRC at its real end (libmodbus' test
     * suite): the frame ends at its CRC, and a slave answers exception 3,
     * not silence. */
    static const char *const frames[] = {
        "01 10 00 01 00 02 00 00 0A 01 02",
        "01 0F 00 13 00 0A 00 CD 01",
        "01 17 00 03 00 01 00 0E 00 01 00 00 FF",
    };
    ms_mb_mem mem;
    ms_mb_mem_init(&mem);
    assert_int_equal(ms_mb_mem_add(&mem, 1, MS_MB_HOLDING_REGISTERS, 0, 99),
                     0);
    assert_int_equal(ms_mb_mem_add(&mem, 1, MS_MB_COILS, 0, 99), 0);
    ms_mb_handler h = {.mem = &mem};
    for (size_t i = 0; i < 3; i++) {
        uint8_t b[64];
        size_t n = with_crc(b, mb_hex(frames[i], b, sizeof b));
        ms_mb_adu adu;
        size_t skip = 99;
        assert_int_equal(ms_mb_rtu_scan(REQ, b, n, &adu, &skip), (int)n);
        assert_int_equal(skip, 0);
        assert_int_equal(adu.unit, 1);
        assert_int_equal(adu.pdu_len, n - 3);
        uint8_t out[MS_MB_PDU_MAX];
        assert_int_equal(
            ms_mb_serve_pdu(&h, adu.unit, adu.pdu, adu.pdu_len, out), 2);
        assert_int_equal(out[0], 0x80 | b[1]);
        assert_int_equal(out[1], MS_MB_EX_ILLEGAL_DATA_VALUE);
        /* Without its CRC it may still be arriving: held, not garbage. */
        assert_int_equal(ms_mb_rtu_scan(REQ, b, n - 2, &adu, &skip), 0);
        assert_int_equal(skip, 0);
        /* A master never takes such bytes for an answer. */
        assert_true(ms_mb_rtu_scan(RSP, b, n, &adu, &skip) <= 0);
    }
    /* A byte count too large, then the next request: the first frame ends
     * at its CRC (before where its count says), the second is whole. */
    uint8_t b[64];
    size_t n = with_crc(b, mb_hex("01 10 00 01 00 01 04 00 0A", b, sizeof b));
    n += with_crc(b + n, mb_hex("01 03 00 00 00 01", b + n, sizeof b - n));
    size_t offs[2], lens[2], held;
    assert_int_equal(scan_all(REQ, b, n, offs, lens, 2, &held), 2);
    assert_int_equal(lens[0], 11);
    assert_int_equal(offs[1], 11);
    assert_int_equal(lens[1], 8);
    assert_int_equal(held, 0);
    /* A well-formed FC16 is unchanged, and a corrupted one finds no CRC:
     * held while it may be arriving, dropped once a frame's worth passed. */
    n = with_crc(b, mb_hex("01 10 00 01 00 02 04 00 0A 01 02", b, sizeof b));
    ms_mb_adu adu;
    size_t skip;
    assert_int_equal(ms_mb_rtu_scan(REQ, b, n, &adu, &skip), (int)n);
    b[n - 1] ^= 0x40;
    assert_int_equal(ms_mb_rtu_scan(REQ, b, n, &adu, &skip), 0);
    assert_int_equal(skip, 0);
    uint8_t big[300];
    memset(big, 0, sizeof big);
    memcpy(big, b, n);
    assert_true(scan_all(REQ, big, sizeof big, offs, lens, 2, &held) <= 2);
    assert_true(held < 1 + MS_MB_PDU_MAX + 2);
    ms_mb_mem_free(&mem);
}

static void test_noise_only(void **state)
{
    (void)state;
    uint8_t b[600];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof b; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    size_t offs[8], lens[8], held;
    /* Random bytes may by chance hold a valid frame (1 in 65536 per try):
     * whatever is found, the scan ends and holds less than a frame. */
    scan_all(REQ, b, sizeof b, offs, lens, 8, &held);
    assert_true(held <= 1 + MS_MB_PDU_MAX + 2);
    scan_all(RSP, b, sizeof b, offs, lens, 8, &held);
    assert_true(held <= 1 + MS_MB_PDU_MAX + 2);
}

static void test_udp_datagram(void **state)
{
    (void)state;
    uint8_t b[64];
    ms_mb_adu adu;
    size_t n = mb_hex("00 01 00 00 00 06 01 03 00 00 00 0A", b, sizeof b);
    assert_int_equal(ms_mb_udp_datagram(MS_MB_FRAMING_MBAP, REQ, b, n, &adu),
                     0);
    assert_int_equal(adu.tid, 1);
    assert_int_equal(adu.pdu_len, 5);
    /* Bytes left over, or cut short: refused. */
    b[n] = 0;
    assert_int_equal(
        ms_mb_udp_datagram(MS_MB_FRAMING_MBAP, REQ, b, n + 1, &adu),
        MS_EPROTO);
    assert_int_equal(
        ms_mb_udp_datagram(MS_MB_FRAMING_MBAP, REQ, b, n - 1, &adu),
        MS_EPROTO);
    assert_int_equal(ms_mb_udp_datagram(MS_MB_FRAMING_MBAP, REQ, b, 0, &adu),
                     MS_EPROTO);
}

static void test_line_settings(void **state)
{
    (void)state;
    ms_mb_serial_config c;
    ms_mb_serial_config_init(&c);
    assert_int_equal(c.baud, 9600);
    assert_int_equal(c.parity, 'N');
    assert_int_equal(c.data_bits, 8);
    assert_int_equal(c.stop_bits, 1);
    assert_int_equal(ms_mb_serial_config_check(&c), MS_EINVAL); /* device */
    strcpy(c.device, "/dev/ttyS0");
    assert_int_equal(ms_mb_serial_config_check(&c), 0);
    /* 3.5 characters of 10 bits at 9600 baud: 3646 us. */
    assert_int_equal(ms_mb_serial_silence_us(&c), 3646);
    c.parity = 'E'; /* 11 bits */
    assert_int_equal(ms_mb_serial_silence_us(&c), 4010);
    c.baud = 115200;
    assert_int_equal(ms_mb_serial_silence_us(&c), 1750);
    c.baud = 12345;
    assert_int_equal(ms_mb_serial_config_check(&c), MS_EINVAL);
    c.baud = 19200;
    c.parity = 'X';
    assert_int_equal(ms_mb_serial_config_check(&c), MS_EINVAL);
    c.parity = 'O';
    c.stop_bits = 3;
    assert_int_equal(ms_mb_serial_config_check(&c), MS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_noise_before_between_after),
        cmocka_unit_test(test_cut_short_then_whole),
        cmocka_unit_test(test_bad_crc_skipped),
        cmocka_unit_test(test_unknown_length_functions),
        cmocka_unit_test(test_byte_count_mismatch),
        cmocka_unit_test(test_noise_only),
        cmocka_unit_test(test_udp_datagram),
        cmocka_unit_test(test_line_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
