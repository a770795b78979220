/* Modbus PDU codec (src/modbus/codec/mb_pdu.c, mb_names.c, mb_data.c): the
 * examples of the Modbus Application Protocol Specification v1.1b3 for every
 * supported function, frames captured from libmodbus 3.1.6, exceptions, the
 * quantity limits on both sides at 0, 1, max and max + 1, byte count and
 * length mismatches, every prefix of every frame, FC17's free-form answer,
 * and the data helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mb_testutil.h"
#include "mscada/error.h"
#include "mscada/modbus.h"

typedef struct {
    const char *what;
    ms_mb_dir dir;
    const char *hex;
} example;

/* The spec's example PDUs (section 6 of v1.1b3), requests and responses. */
static const example spec[] = {
    {"6.1 read coils 20-38", MS_MB_REQUEST, "01 00 13 00 13"},
    {"6.1 response", MS_MB_RESPONSE, "01 03 CD 6B 05"},
    {"6.2 read discrete inputs 197-218", MS_MB_REQUEST, "02 00 C4 00 16"},
    {"6.2 response", MS_MB_RESPONSE, "02 03 AC DB 35"},
    {"6.3 read holding registers 108-110", MS_MB_REQUEST, "03 00 6B 00 03"},
    {"6.3 response", MS_MB_RESPONSE, "03 06 02 2B 00 00 00 64"},
    {"6.4 read input register 9", MS_MB_REQUEST, "04 00 08 00 01"},
    {"6.4 response", MS_MB_RESPONSE, "04 02 00 0A"},
    {"6.5 write coil 173 on", MS_MB_REQUEST, "05 00 AC FF 00"},
    {"6.5 response", MS_MB_RESPONSE, "05 00 AC FF 00"},
    {"6.6 write register 2 = 3", MS_MB_REQUEST, "06 00 01 00 03"},
    {"6.6 response", MS_MB_RESPONSE, "06 00 01 00 03"},
    {"6.11 write coils 20-29", MS_MB_REQUEST, "0F 00 13 00 0A 02 CD 01"},
    {"6.11 response", MS_MB_RESPONSE, "0F 00 13 00 0A"},
    {"6.12 write registers 2-3", MS_MB_REQUEST,
     "10 00 01 00 02 04 00 0A 01 02"},
    {"6.12 response", MS_MB_RESPONSE, "10 00 01 00 02"},
    {"6.13 report server id", MS_MB_REQUEST, "11"},
    /* 6.13 leaves the id to the device: one byte 0x2A, run indicator ON */
    {"6.13 response", MS_MB_RESPONSE, "11 02 2A FF"},
    {"6.16 mask write register 5", MS_MB_REQUEST, "16 00 04 00 F2 00 25"},
    {"6.16 response", MS_MB_RESPONSE, "16 00 04 00 F2 00 25"},
    {"6.17 read 4-9, write 15-17", MS_MB_REQUEST,
     "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF"},
    {"6.17 response", MS_MB_RESPONSE,
     "17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF"},
    {"6.21 read device identification, basic", MS_MB_REQUEST, "2B 0E 01 00"},
    /* 6.21's response; object lengths are the strings' lengths. */
    {"6.21 response", MS_MB_RESPONSE,
     "2B 0E 01 01 00 00 03"
     " 00 16 436F6D70616E79206964656E74696669636174696F6E" /* Company
                                                             identification */
     " 01 0F 50726F6475637420636F6465205858"               /* Product code XX */
     " 02 05 56322E3131"},                                 /* V2.11 */
    {"7 exception example: read coils 1186", MS_MB_REQUEST, "01 04 A1 00 01"},
    {"7 exception response", MS_MB_RESPONSE, "81 02"},
};
#define NSPEC (sizeof spec / sizeof spec[0])

/* PDUs captured from libmodbus 3.1.6 (a modbus_t client over a socketpair
 * to a libmodbus server, modbus_set_debug output; MBAP header removed: see
 * test_modbus_mbap.c for the whole ADUs). */
static const example libmodbus[] = {
    /* modbus_read_bits(ctx, 0, 2000, b) */
    {"read_bits 2000", MS_MB_REQUEST, "01 00 00 07 D0"},
    /* modbus_read_registers(ctx, 0, 125, r) */
    {"read_registers 125", MS_MB_REQUEST, "03 00 00 00 7D"},
    /* modbus_write_bits(ctx, 19, 10, {1,0,1,1,0,0,1,1,1,0}) */
    {"write_bits", MS_MB_REQUEST, "0F 00 13 00 0A 02 CD 01"},
    /* modbus_write_and_read_registers(ctx, 14, 3, {0xFF,0xFF,0xFF}, 3, 6) */
    {"write_and_read_registers", MS_MB_REQUEST,
     "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF"},
    {"write_and_read_registers reply", MS_MB_RESPONSE,
     "17 0C 00 FE 00 C5 00 01 00 03 00 0D 00 FF"},
    /* the server's reply to modbus_read_registers(ctx, 498, 5, r) over a
     * mapping of 500 registers */
    {"read past the mapping", MS_MB_RESPONSE, "83 02"},
    /* the server's reply to a raw FC3 request for 126 registers */
    {"126 registers", MS_MB_RESPONSE, "83 03"},
    /* modbus_report_slave_id(ctx, ...) and the server's reply: id 0xB4,
     * run ON, "LMB3.1.6" */
    {"report_slave_id", MS_MB_REQUEST, "11"},
    {"report_slave_id reply", MS_MB_RESPONSE,
     "11 0A B4 FF 4C 4D 42 33 2E 31 2E 36"},
};
#define NLIBMODBUS (sizeof libmodbus / sizeof libmodbus[0])

/* ---- helpers ---------------------------------------------------------------- */

static int decode(const example *e, const uint8_t *p, size_t n,
                  ms_mb_request *q, ms_mb_response *r)
{
    return e->dir == MS_MB_REQUEST ? ms_mb_request_decode(p, n, q)
                                   : ms_mb_response_decode(p, n, r);
}

/* Decodes, re-encodes to the same bytes, checks ms_mb_pdu_length on the whole
 * PDU and on every prefix, that no prefix decodes and that a short buffer
 * gives MS_ETOOBIG. */
static void check_example(const example *e)
{
    uint8_t pdu[300], out[300];
    size_t n = mb_hex(e->hex, pdu, sizeof pdu);
    ms_mb_request q;
    ms_mb_response r;
    int rc = decode(e, pdu, n, &q, &r);
    if (e->dir == MS_MB_RESPONSE && (pdu[0] & 0x80)) {
        assert_int_equal(rc, ms_mb_exc_err(pdu[0] & 0x7f, pdu[1]));
        assert_int_equal(r.exception, pdu[1]);
    } else {
        if (rc != 0)
            fail_msg("%s: decode gives %d", e->what, rc);
    }
    int m = e->dir == MS_MB_REQUEST ? ms_mb_request_encode(&q, out, sizeof out)
                                    : ms_mb_response_encode(&r, out, sizeof out);
    assert_int_equal(m, (int)n);
    assert_memory_equal(out, pdu, n);
    int s = e->dir == MS_MB_REQUEST ? ms_mb_request_encode(&q, out, n - 1)
                                    : ms_mb_response_encode(&r, out, n - 1);
    assert_int_equal(s, MS_ETOOBIG);

    assert_int_equal(ms_mb_pdu_length(e->dir, pdu, n), (int)n);
    for (size_t k = 0; k < n; k++) {
        int l = ms_mb_pdu_length(e->dir, pdu, k);
        if (l != 0 && l != (int)n)
            fail_msg("%s: length of %zu-byte prefix is %d", e->what, k, l);
        assert_true(decode(e, pdu, k, &q, &r) < 0);
        /* A byte too many is as wrong as one too few. */
    }
    pdu[n] = 0;
    assert_true(decode(e, pdu, n + 1, &q, &r) < 0);
}

static ms_mb_request req_of(const char *hex, uint8_t *buf)
{
    ms_mb_request q;
    size_t n = mb_hex(hex, buf, 300);
    assert_int_equal(ms_mb_request_decode(buf, n, &q), 0);
    return q;
}

static ms_mb_response rsp_of(const char *hex, uint8_t *buf)
{
    ms_mb_response r;
    size_t n = mb_hex(hex, buf, 300);
    assert_int_equal(ms_mb_response_decode(buf, n, &r), 0);
    return r;
}

static int req_rc(const char *hex)
{
    uint8_t buf[300];
    ms_mb_request q;
    size_t n = mb_hex(hex, buf, sizeof buf);
    return ms_mb_request_decode(buf, n, &q);
}

static int rsp_rc(const char *hex)
{
    uint8_t buf[300];
    ms_mb_response r;
    size_t n = mb_hex(hex, buf, sizeof buf);
    return ms_mb_response_decode(buf, n, &r);
}

/* ---- examples ------------------------------------------------------------- */

static void test_spec_examples_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPEC; i++)
        check_example(&spec[i]);
}

static void test_libmodbus_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NLIBMODBUS; i++)
        check_example(&libmodbus[i]);
}

static void test_spec_fields_reads(void **state)
{
    (void)state;
    uint8_t b[300];
    ms_mb_request q = req_of("01 00 13 00 13", b);
    assert_int_equal(q.fc, MS_MB_READ_COILS);
    assert_int_equal(q.addr, 19);
    assert_int_equal(q.count, 19);
    ms_mb_response r = rsp_of("01 03 CD 6B 05", b);
    assert_int_equal(r.nbytes, 3);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);
    /* coils 27-20 = CD: coil 20 is the LSB */
    bool bits[19];
    ms_mb_bits_unpack(bits, r.data, 19);
    static const bool want[19] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 1,
                                  0, 1, 0, 1, 1, 0, 1, 0, 1};
    assert_memory_equal(bits, want, sizeof want);

    q = req_of("02 00 C4 00 16", b);
    assert_int_equal(q.addr, 196);
    assert_int_equal(q.count, 22);

    q = req_of("03 00 6B 00 03", b);
    assert_int_equal(q.fc, MS_MB_READ_HOLDING_REGISTERS);
    assert_int_equal(q.addr, 107);
    assert_int_equal(q.count, 3);
    r = rsp_of("03 06 02 2B 00 00 00 64", b);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);
    uint16_t regs[3];
    ms_mb_regs_load(regs, r.data, 3);
    assert_int_equal(regs[0], 555);
    assert_int_equal(regs[1], 0);
    assert_int_equal(regs[2], 100);

    q = req_of("04 00 08 00 01", b);
    assert_int_equal(q.fc, MS_MB_READ_INPUT_REGISTERS);
    assert_int_equal(q.addr, 8);
    r = rsp_of("04 02 00 0A", b);
    assert_int_equal(ms_mb_reg_get(r.data, 0), 10);
}

static void test_spec_fields_writes(void **state)
{
    (void)state;
    uint8_t b[300], rb[300];
    ms_mb_request q = req_of("05 00 AC FF 00", b);
    assert_int_equal(q.addr, 172);
    assert_int_equal(q.value, 1);
    ms_mb_response r = rsp_of("05 00 AC FF 00", rb);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);
    q = req_of("05 00 AC 00 00", b);
    assert_int_equal(q.value, 0);
    assert_int_equal(ms_mb_response_match(&q, &r), MS_EPROTO);

    q = req_of("06 00 01 00 03", b);
    assert_int_equal(q.addr, 1);
    assert_int_equal(q.value, 3);

    q = req_of("0F 00 13 00 0A 02 CD 01", b);
    assert_int_equal(q.addr, 19);
    assert_int_equal(q.count, 10);
    assert_true(q.data == b + 6);
    bool bits[10];
    ms_mb_bits_unpack(bits, q.data, 10);
    static const bool want[10] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    assert_memory_equal(bits, want, sizeof want);
    r = rsp_of("0F 00 13 00 0A", rb);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);

    q = req_of("10 00 01 00 02 04 00 0A 01 02", b);
    assert_int_equal(q.count, 2);
    assert_int_equal(ms_mb_reg_get(q.data, 0), 0x000A);
    assert_int_equal(ms_mb_reg_get(q.data, 1), 0x0102);
    r = rsp_of("10 00 01 00 02", rb);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);
    r = rsp_of("10 00 01 00 03", rb);
    assert_int_equal(ms_mb_response_match(&q, &r), MS_EPROTO);

    q = req_of("16 00 04 00 F2 00 25", b);
    assert_int_equal(q.addr, 4);
    assert_int_equal(q.and_mask, 0x00F2);
    assert_int_equal(q.or_mask, 0x0025);
    /* The spec's arithmetic: current 0x12 gives 0x17. */
    uint16_t cur = 0x12;
    assert_int_equal((cur & q.and_mask) | (q.or_mask & ~q.and_mask), 0x17);
    r = rsp_of("16 00 04 00 F2 00 25", rb);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);

    q = req_of("17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF", b);
    assert_int_equal(q.addr, 3);
    assert_int_equal(q.count, 6);
    assert_int_equal(q.waddr, 14);
    assert_int_equal(q.wcount, 3);
    assert_int_equal(ms_mb_reg_get(q.data, 2), 0xFF);
    r = rsp_of("17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF", rb);
    assert_int_equal(r.nbytes, 12);
    assert_int_equal(ms_mb_reg_get(r.data, 1), 0x0ACD);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);
}

static void test_encode_from_fields(void **state)
{
    (void)state;
    uint8_t out[300], want[300];
    uint8_t regs[4];
    ms_mb_regs_store(regs, (const uint16_t[]){0x000A, 0x0102}, 2);
    ms_mb_request q = {.fc = MS_MB_WRITE_MULTIPLE_REGISTERS, .addr = 1,
                       .count = 2, .data = regs};
    size_t n = mb_hex("10 00 01 00 02 04 00 0A 01 02", want, sizeof want);
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), (int)n);
    assert_memory_equal(out, want, n);

    /* FC5: any non-zero value is "on" */
    q = (ms_mb_request){.fc = MS_MB_WRITE_SINGLE_COIL, .addr = 172,
                        .value = 7};
    n = mb_hex("05 00 AC FF 00", want, sizeof want);
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), (int)n);
    assert_memory_equal(out, want, n);

    bool bits[10] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    uint8_t packed[2] = {0xFF, 0xFF};
    ms_mb_bits_pack(packed, bits, 10);
    assert_int_equal(packed[0], 0xCD);
    assert_int_equal(packed[1], 0x01); /* unused bits zero */
    q = (ms_mb_request){.fc = MS_MB_WRITE_MULTIPLE_COILS, .addr = 19,
                        .count = 10, .data = packed};
    n = mb_hex("0F 00 13 00 0A 02 CD 01", want, sizeof want);
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), (int)n);
    assert_memory_equal(out, want, n);

    /* data missing, function unknown */
    q.data = NULL;
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), MS_EINVAL);
    q = (ms_mb_request){.fc = 7};
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), MS_EINVAL);
    q = (ms_mb_request){.fc = MS_MB_ENCAPSULATED, .mei = 13, .dev_code = 1};
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), MS_EINVAL);
    q.mei = MS_MB_MEI_DEVICE_ID;
    q.dev_code = 5;
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), MS_ERANGE);

    ms_mb_response r = {.fc = MS_MB_READ_HOLDING_REGISTERS, .nbytes = 4};
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_EINVAL);
    r.fc = 99;
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_EINVAL);
}

/* ---- exceptions ------------------------------------------------------------ */

static void test_exceptions(void **state)
{
    (void)state;
    static const uint8_t codes[] = {1, 2, 3, 4, 5, 6, 8, 10, 11};
    static const uint8_t fcs[] = {1, 2, 3, 4, 5, 6, 15, 16, 22, 23, 43};
    char text[128];
    for (size_t f = 0; f < sizeof fcs; f++)
        for (size_t c = 0; c < sizeof codes; c++) {
            uint8_t pdu[2] = {(uint8_t)(fcs[f] | 0x80), codes[c]}, out[2];
            ms_mb_response r;
            int rc = ms_mb_response_decode(pdu, 2, &r);
            assert_int_equal(rc, ms_mb_exc_err(fcs[f], codes[c]));
            assert_true(ms_mb_err_is_exc(rc));
            assert_int_equal(ms_mb_err_fc(rc), fcs[f]);
            assert_int_equal(ms_mb_err_exc(rc), codes[c]);
            assert_int_equal(r.fc, fcs[f]);
            assert_int_equal(r.exception, codes[c]);
            assert_non_null(ms_mb_exc_name(codes[c]));
            assert_non_null(ms_mb_fc_name(fcs[f]));
            assert_int_equal(ms_mb_response_encode(&r, out, 2), 2);
            assert_memory_equal(out, pdu, 2);
            /* an exception to the request's function is that error */
            ms_mb_request q = {.fc = fcs[f]};
            assert_int_equal(ms_mb_response_match(&q, &r), rc);
            q.fc = fcs[f] == 1 ? 2 : 1;
            assert_int_equal(ms_mb_response_match(&q, &r), MS_EPROTO);
        }
    assert_string_equal(
        ms_mb_strerror(ms_mb_exc_err(3, 2), text, sizeof text),
        "FC3 read holding registers: exception 2 illegal data address");
    assert_string_equal(
        ms_mb_strerror(ms_mb_exc_err(16, 3), text, sizeof text),
        "FC16 write multiple registers: exception 3 illegal data value");
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(23, 4), text, sizeof text),
                        "FC23 read/write multiple registers: exception 4 "
                        "server device failure");
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(1, 6), text, sizeof text),
                        "FC1 read coils: exception 6 server device busy");
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(4, 10), text, sizeof text),
                        "FC4 read input registers: exception 10 gateway path "
                        "unavailable");
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(43, 11), text, sizeof text),
                        "FC43 read device identification: exception 11 "
                        "gateway target device failed to respond");
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(8, 1), text, sizeof text),
                        "FC8 unknown function: exception 1 illegal function");
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(3, 0x42), text, sizeof text),
                        "FC3 read holding registers: exception 66 unknown "
                        "exception");
    assert_string_equal(ms_mb_strerror(MS_EPROTO, text, sizeof text),
                        "protocol error");
    assert_false(ms_mb_err_is_exc(MS_EPROTO));
    assert_false(ms_mb_err_is_exc(0));
    assert_null(ms_mb_exc_name(7));
    assert_null(ms_mb_fc_name(7));
    /* truncation is safe */
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(3, 2), text, 4), "FC3");

    /* an exception for a function we don't know still decodes */
    assert_int_equal(rsp_rc("88 01"), ms_mb_exc_err(8, 1));
    /* but not for function 0, nor exception 0, nor with a wrong length */
    assert_int_equal(rsp_rc("80 01"), MS_EPROTO);
    assert_int_equal(rsp_rc("83 00"), MS_EPROTO); /* found by fuzz_modbus */
    assert_int_equal(rsp_rc("83"), MS_EPROTO);
    assert_int_equal(rsp_rc("83 02 00"), MS_EPROTO);
    /* encoding one needs a function code */
    ms_mb_response r = {.fc = 0, .exception = 1};
    uint8_t out[4];
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_EINVAL);
    r.fc = 3;
    assert_int_equal(ms_mb_response_encode(&r, out, 1), MS_ETOOBIG);
}

/* The exception a server must answer for malformed requests. */
static void test_request_exceptions(void **state)
{
    (void)state;
    uint8_t b[1] = {0};
    ms_mb_request q;
    assert_int_equal(ms_mb_request_decode(b, 0, &q), MS_EPROTO);
    /* functions we don't serve: 1 */
    assert_int_equal(req_rc("07"), ms_mb_exc_err(7, 1));
    assert_int_equal(req_rc("08 00 00 12 34"), ms_mb_exc_err(8, 1));
    assert_int_equal(req_rc("0B"), ms_mb_exc_err(11, 1));
    assert_int_equal(req_rc("2B 0D 00 00"), ms_mb_exc_err(43, 1));
    /* not requests at all */
    assert_int_equal(req_rc("00 00 00 00 01"), MS_EPROTO);
    assert_int_equal(req_rc("83 00 00 00 01"), MS_EPROTO);
    /* FC5 value neither 0 nor FF00: 3 */
    assert_int_equal(req_rc("05 00 AC FF 01"), ms_mb_exc_err(5, 3));
    assert_int_equal(req_rc("05 00 AC 00 01"), ms_mb_exc_err(5, 3));
    assert_int_equal(rsp_rc("05 00 AC 12 34"), MS_EPROTO);
    /* wrong lengths: 3 */
    assert_int_equal(req_rc("03 00 6B 00"), ms_mb_exc_err(3, 3));
    assert_int_equal(req_rc("03 00 6B 00 03 00"), ms_mb_exc_err(3, 3));
    assert_int_equal(req_rc("06 00 01"), ms_mb_exc_err(6, 3));
    assert_int_equal(req_rc("16 00 04 00 F2 00"), ms_mb_exc_err(22, 3));
    assert_int_equal(req_rc("0F 00 13 00 0A"), ms_mb_exc_err(15, 3));
    assert_int_equal(req_rc("17 00 03 00 06 00 0E 00 03"), ms_mb_exc_err(23, 3));
    assert_int_equal(req_rc("2B"), ms_mb_exc_err(43, 3));
    assert_int_equal(req_rc("2B 0E 01"), ms_mb_exc_err(43, 3));
    assert_int_equal(req_rc("2B 0E 01 00 00"), ms_mb_exc_err(43, 3));
    /* byte count against quantity: 3 */
    assert_int_equal(req_rc("0F 00 13 00 0A 01 CD"), ms_mb_exc_err(15, 3));
    assert_int_equal(req_rc("0F 00 13 00 0A 03 CD 01 00"), ms_mb_exc_err(15, 3));
    assert_int_equal(req_rc("0F 00 13 00 08 01 CD"), 0);
    assert_int_equal(req_rc("0F 00 13 00 09 01 CD"), ms_mb_exc_err(15, 3));
    assert_int_equal(req_rc("10 00 01 00 02 03 00 0A 01"), ms_mb_exc_err(16, 3));
    assert_int_equal(req_rc("10 00 01 00 02 05 00 0A 01 02 03"),
                     ms_mb_exc_err(16, 3));
    assert_int_equal(req_rc("17 00 03 00 06 00 0E 00 03 04 00 FF 00 FF"),
                     ms_mb_exc_err(23, 3));
    /* byte count against the bytes there: 3 */
    assert_int_equal(req_rc("10 00 01 00 02 04 00 0A 01"), ms_mb_exc_err(16, 3));
    assert_int_equal(req_rc("10 00 01 00 02 04 00 0A 01 02 03"),
                     ms_mb_exc_err(16, 3));
    /* read device id code outside 1-4: 3 */
    assert_int_equal(req_rc("2B 0E 00 00"), ms_mb_exc_err(43, 3));
    assert_int_equal(req_rc("2B 0E 05 00"), ms_mb_exc_err(43, 3));
    for (int c = 1; c <= 4; c++) {
        char hex[16];
        snprintf(hex, sizeof hex, "2B0E%02X80", c);
        assert_int_equal(req_rc(hex), 0);
    }
    /* over 65535: 2, but a bad quantity comes first (3) */
    assert_int_equal(req_rc("03 FF FF 00 01"), 0);
    assert_int_equal(req_rc("03 FF FF 00 02"), ms_mb_exc_err(3, 2));
    assert_int_equal(req_rc("03 FF 83 00 7D"), 0); /* 65411 + 125 = 65536 */
    assert_int_equal(req_rc("03 FF 84 00 7D"), ms_mb_exc_err(3, 2));
    assert_int_equal(req_rc("03 FF FF 00 7E"), ms_mb_exc_err(3, 3));
    assert_int_equal(req_rc("01 FF FF 00 02"), ms_mb_exc_err(1, 2));
    assert_int_equal(req_rc("0F FF FF 00 02 01 03"), ms_mb_exc_err(15, 2));
    assert_int_equal(req_rc("0F FF FF 00 02 02 03 00"), ms_mb_exc_err(15, 3));
    assert_int_equal(req_rc("17 FF FF 00 01 FF FF 00 02 04 00 01 00 02"),
                     ms_mb_exc_err(23, 2));
    assert_int_equal(req_rc("17 FF FF 00 02 00 00 00 01 02 00 01"),
                     ms_mb_exc_err(23, 2));
    assert_int_equal(req_rc("17 FF FF 00 01 FF FF 00 01 02 00 01"), 0);
    /* single writes and FC22 have no range to overflow */
    assert_int_equal(req_rc("06 FF FF 12 34"), 0);
    assert_int_equal(req_rc("16 FF FF 00 00 FF FF"), 0);
    /* the function code survives for the answer */
    assert_int_equal(ms_mb_request_decode((const uint8_t[]){0x10, 0}, 2, &q),
                     ms_mb_exc_err(16, 3));
    assert_int_equal(q.fc, 16);
}

/* ---- limits ----------------------------------------------------------------- */

/* Request PDU of fc for n items at addr 0; data bytes 0xA5. */
static size_t limit_pdu(uint8_t fc, unsigned n, uint8_t *p)
{
    p[0] = fc;
    p[1] = p[2] = 0;
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    if (fc == MS_MB_WRITE_MULTIPLE_COILS || fc == MS_MB_WRITE_MULTIPLE_REGISTERS) {
        size_t bc = fc == MS_MB_WRITE_MULTIPLE_COILS ? (n + 7) / 8 : 2u * n;
        p[5] = (uint8_t)bc;
        memset(p + 6, 0xA5, bc);
        return 6 + bc;
    }
    return 5;
}

static void test_request_limits(void **state)
{
    (void)state;
    static const struct {
        uint8_t fc;
        unsigned max;
    } lim[] = {{1, 2000}, {2, 2000}, {3, 125}, {4, 125}, {15, 1968}, {16, 123}};
    static uint8_t data[512];
    memset(data, 0xA5, sizeof data);
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        unsigned ns[4] = {0, 1, lim[i].max, lim[i].max + 1};
        for (int k = 0; k < 4; k++) {
            bool ok = k == 1 || k == 2;
            uint8_t pdu[600], out[600];
            size_t n = limit_pdu(lim[i].fc, ns[k], pdu);
            ms_mb_request q;
            int rc = ms_mb_request_decode(pdu, n, &q);
            if (ok) {
                assert_int_equal(rc, 0);
                assert_int_equal(q.count, ns[k]);
                assert_true(n <= MS_MB_PDU_MAX);
            } else {
                assert_int_equal(rc, ms_mb_exc_err(lim[i].fc, 3));
            }
            q = (ms_mb_request){.fc = lim[i].fc, .count = (uint16_t)ns[k],
                                .data = data};
            rc = ms_mb_request_encode(&q, out, sizeof out);
            if (ok) {
                assert_int_equal(rc, (int)n);
                assert_memory_equal(out, pdu, n);
            } else {
                assert_int_equal(rc, MS_ERANGE);
            }
        }
    }
    /* FC23: read 1..125, write 1..121 */
    static const unsigned rd[] = {0, 1, 125, 126}, wr[] = {0, 1, 121, 122};
    for (int a = 0; a < 4; a++)
        for (int w = 0; w < 4; w++) {
            bool ok = (a == 1 || a == 2) && (w == 1 || w == 2);
            ms_mb_request q = {.fc = MS_MB_READ_WRITE_REGISTERS, .addr = 10,
                               .count = (uint16_t)rd[a], .waddr = 20,
                               .wcount = (uint16_t)wr[w], .data = data};
            uint8_t out[600], pdu[600];
            int rc = ms_mb_request_encode(&q, out, sizeof out);
            assert_int_equal(rc, ok ? (int)(10 + 2 * wr[w]) : MS_ERANGE);
            pdu[0] = 23;
            pdu[1] = 0, pdu[2] = 10, pdu[3] = 0, pdu[4] = (uint8_t)rd[a];
            pdu[5] = 0, pdu[6] = 20, pdu[7] = 0, pdu[8] = (uint8_t)wr[w];
            pdu[9] = (uint8_t)(2 * wr[w]);
            memset(pdu + 10, 0xA5, 2 * wr[w]);
            ms_mb_request back;
            rc = ms_mb_request_decode(pdu, 10 + 2 * wr[w], &back);
            assert_int_equal(rc, ok ? 0 : ms_mb_exc_err(23, 3));
            if (ok) {
                assert_memory_equal(out, pdu, 10 + 2 * wr[w]);
                assert_int_equal(back.count, rd[a]);
                assert_int_equal(back.wcount, wr[w]);
            }
        }
    /* encode: ranges past 65535 */
    uint8_t out[600];
    ms_mb_request q = {.fc = 3, .addr = 0xFFFF, .count = 1};
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), 5);
    q.count = 2;
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), MS_ERANGE);
    q = (ms_mb_request){.fc = 23, .addr = 0, .count = 1, .waddr = 0xFFFF,
                        .wcount = 2, .data = data};
    assert_int_equal(ms_mb_request_encode(&q, out, sizeof out), MS_ERANGE);
}

static void test_response_limits(void **state)
{
    (void)state;
    static uint8_t pdu[600], out[600];
    ms_mb_response r;
    /* reads: byte counts */
    static const struct {
        uint8_t fc;
        unsigned bc;
        bool ok;
    } reads[] = {
        {1, 0, false},   {1, 1, true},    {1, 250, true},  {1, 251, false},
        {2, 0, false},   {2, 250, true},  {2, 251, false}, {3, 0, false},
        {3, 1, false},   {3, 2, true},    {3, 3, false},   {3, 250, true},
        {3, 252, false}, {4, 249, false}, {4, 250, true},  {23, 2, true},
        {23, 250, true}, {23, 252, false}, {23, 7, false},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        pdu[0] = reads[i].fc;
        pdu[1] = (uint8_t)reads[i].bc;
        memset(pdu + 2, 0x5A, reads[i].bc);
        size_t n = 2 + reads[i].bc;
        int rc = ms_mb_response_decode(pdu, n, &r);
        assert_int_equal(rc, reads[i].ok ? 0 : MS_EPROTO);
        r = (ms_mb_response){.fc = reads[i].fc, .nbytes = reads[i].bc,
                             .data = pdu + 2};
        rc = ms_mb_response_encode(&r, out, sizeof out);
        assert_int_equal(rc, reads[i].ok ? (int)n : MS_ERANGE);
    }
    /* writes: echoed quantities */
    static const struct {
        uint8_t fc;
        unsigned n;
        bool ok;
    } writes[] = {{15, 0, false},   {15, 1, true},    {15, 1968, true},
                  {15, 1969, false}, {16, 0, false},  {16, 1, true},
                  {16, 123, true},  {16, 124, false}};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        uint8_t p[5] = {writes[i].fc, 0, 0, (uint8_t)(writes[i].n >> 8),
                        (uint8_t)writes[i].n};
        assert_int_equal(ms_mb_response_decode(p, 5, &r),
                         writes[i].ok ? 0 : MS_EPROTO);
        r = (ms_mb_response){.fc = writes[i].fc, .count = (uint16_t)writes[i].n};
        assert_int_equal(ms_mb_response_encode(&r, out, sizeof out),
                         writes[i].ok ? 5 : MS_ERANGE);
    }
    assert_int_equal(rsp_rc("10 FF FF 00 01"), 0);
    assert_int_equal(rsp_rc("10 FF FF 00 02"), MS_EPROTO);
    /* lengths */
    assert_int_equal(rsp_rc("03 04 00 01 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("03 04 00 01 00 02 03"), MS_EPROTO);
    assert_int_equal(rsp_rc("03"), MS_EPROTO);
    assert_int_equal(rsp_rc("06 00 01 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("10 00 01 00 02 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("16 00 04 00 F2 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("07 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("00"), MS_EPROTO);
    uint8_t b[1] = {0};
    assert_int_equal(ms_mb_response_decode(b, 0, &r), MS_EPROTO);
    /* a match needs the byte count the request implies */
    ms_mb_request q = {.fc = 1, .count = 9};
    pdu[0] = 1, pdu[1] = 2;
    assert_int_equal(ms_mb_response_decode(pdu, 4, &r), 0);
    assert_int_equal(ms_mb_response_match(&q, &r), 0);
    q.count = 8;
    assert_int_equal(ms_mb_response_match(&q, &r), MS_EPROTO);
    q = (ms_mb_request){.fc = 3, .count = 1};
    assert_int_equal(ms_mb_response_match(&q, &r), MS_EPROTO);
}

/* ---- device identification ------------------------------------------------- */

static void test_devid(void **state)
{
    (void)state;
    uint8_t b[300], out[300];
    ms_mb_request q = req_of("2B 0E 01 00", b);
    assert_int_equal(q.mei, MS_MB_MEI_DEVICE_ID);
    assert_int_equal(q.dev_code, MS_MB_DEVID_BASIC);
    assert_int_equal(q.object_id, 0);

    /* build 6.21's response with ms_mb_devid_put */
    uint8_t list[256];
    size_t used = 0;
    assert_int_equal(ms_mb_devid_put(list, sizeof list, &used, 0,
                                     "Company identification", 22), 0);
    assert_int_equal(ms_mb_devid_put(list, sizeof list, &used, 1,
                                     "Product code XX", 15), 0);
    assert_int_equal(ms_mb_devid_put(list, sizeof list, &used, 2, "V2.11", 5),
                     0);
    assert_int_equal(used, 24 + 17 + 7);
    assert_int_equal(ms_mb_devid_put(list, 50, &used, 3, "abc", 3), MS_ETOOBIG);
    ms_mb_response r = {.fc = MS_MB_ENCAPSULATED, .mei = MS_MB_MEI_DEVICE_ID,
                        .dev_code = 1, .conformity = 1, .more_follows = 0,
                        .next_object_id = 0, .nobjects = 3, .data = list,
                        .nbytes = used};
    int n = ms_mb_response_encode(&r, out, sizeof out);
    assert_int_equal(n, 7 + 48);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, out, (size_t)n), n);
    ms_mb_response back;
    assert_int_equal(ms_mb_response_decode(out, (size_t)n, &back), 0);
    assert_int_equal(ms_mb_response_match(&q, &back), 0);
    assert_int_equal(back.conformity, 1);
    assert_int_equal(back.nobjects, 3);
    size_t off = 0;
    ms_mb_devid_obj o;
    assert_int_equal(ms_mb_devid_next(&back, &off, &o), 1);
    assert_int_equal(o.id, 0);
    assert_int_equal(o.len, 22);
    assert_memory_equal(o.value, "Company identification", 22);
    assert_int_equal(ms_mb_devid_next(&back, &off, &o), 1);
    assert_int_equal(o.id, 1);
    assert_memory_equal(o.value, "Product code XX", 15);
    assert_int_equal(ms_mb_devid_next(&back, &off, &o), 1);
    assert_int_equal(o.id, 2);
    assert_memory_equal(o.value, "V2.11", 5);
    assert_int_equal(ms_mb_devid_next(&back, &off, &o), 0);

    /* stream access continued: more follows, next object 3; empty values */
    assert_int_equal(rsp_rc("2B 0E 02 82 FF 03 01 00 00"), 0);
    assert_int_equal(rsp_rc("2B 0E 04 83 00 00 00"), 0);
    /* faults */
    assert_int_equal(rsp_rc("2B 0E 02 82 01 03 01 00 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0E 05 82 00 00 01 00 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0E 00 82 00 00 01 00 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0D 01 82 00 00 01 00 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0E 01 01 00 00 02 00 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0E 01 01 00 00 01 00 02 41"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0E 01 01 00 00 01 00 01 41 42"), MS_EPROTO);
    assert_int_equal(rsp_rc("2B 0E 01 01 00 00"), MS_EPROTO);
    /* a list that does not add up won't encode */
    r.nobjects = 2;
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_ERANGE);
    r.nobjects = 3;
    r.mei = 13;
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_EINVAL);
    /* lengths: the object walk, and a list too long for a PDU */
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, out, 1), 0);
    b[0] = 0x2B, b[1] = 0x0D;
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, b, 2), MS_EPROTO);
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, b, 2), MS_EPROTO);
    memset(b, 0, sizeof b);
    b[0] = 0x2B, b[1] = 0x0E, b[2] = 3, b[6] = 2;
    b[7] = 0x80, b[8] = 200;
    b[209] = 0x81, b[210] = 60; /* 7 + 202 + 62 = 271 > 253 */
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, b, 209), 0);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, b, 211), MS_EPROTO);
    b[210] = 42; /* 7 + 202 + 44 = 253 */
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, b, 211), 253);
    assert_int_equal(ms_mb_response_decode(b, 253, &r), 0);
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), 253);
    assert_memory_equal(out, b, 253);
}

static void test_report_server_id(void **state)
{
    (void)state;
    uint8_t b[300], out[300];
    ms_mb_request q = req_of("11", b);
    assert_int_equal(q.fc, MS_MB_REPORT_SERVER_ID);
    assert_string_equal(ms_mb_fc_name(17), "report server id");
    char msg[128];
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(17, 4), msg, sizeof msg),
                        "FC17 report server id: exception 4 server device "
                        "failure");
    /* The request carries nothing else. */
    assert_int_equal(req_rc("11 00"), ms_mb_exc_err(17, 3));
    /* A response from fields: id "ab", run OFF. */
    const uint8_t data[] = {'a', 'b', MS_MB_RUN_OFF};
    ms_mb_response r = {.fc = 17, .data = data, .nbytes = 3};
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), 5);
    assert_memory_equal(out, "\x11\x03" "ab\x00", 5);
    ms_mb_response back;
    assert_int_equal(ms_mb_response_decode(out, 5, &back), 0);
    assert_int_equal(back.nbytes, 3);
    assert_ptr_equal(back.data, out + 2);
    assert_int_equal(ms_mb_response_match(&q, &back), 0);
    /* Not an answer to another function. */
    ms_mb_request q3 = {.fc = 3, .addr = 0, .count = 1};
    assert_int_equal(ms_mb_response_match(&q3, &back), MS_EPROTO);
    /* Faults: no run indicator, a count that disagrees with the length. */
    assert_int_equal(rsp_rc("11 00"), MS_EPROTO);
    assert_int_equal(rsp_rc("11 02 2A"), MS_EPROTO);
    assert_int_equal(rsp_rc("11 01 FF 00"), MS_EPROTO);
    r.nbytes = 0;
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_ERANGE);
    /* The largest: 251 bytes after the count fill the PDU. */
    static uint8_t big[252];
    r.data = big;
    r.nbytes = MS_MB_PDU_MAX - 2;
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_MB_PDU_MAX);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, out, 2), MS_MB_PDU_MAX);
    r.nbytes++;
    assert_int_equal(ms_mb_response_encode(&r, out, sizeof out), MS_ERANGE);
    out[1] = 252;
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, out, 2), MS_EPROTO);
    /* Lengths: the request is its function code alone. */
    b[0] = 17;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, b, 1), 1);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, b, 1), 0);
}

/* ---- lengths ---------------------------------------------------------------- */

static void test_pdu_length(void **state)
{
    (void)state;
    uint8_t p[300] = {0};
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 0), 0);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 0), 0);
    /* unknown functions can't be framed by length */
    static const uint8_t unknown[] = {0, 7, 8, 11, 12, 18, 20, 21, 24, 0x7f};
    for (size_t i = 0; i < sizeof unknown; i++) {
        p[0] = unknown[i];
        assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 1), MS_EPROTO);
        assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 1), MS_EPROTO);
    }
    p[0] = 0x83;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 1), MS_EPROTO);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 1), 2);
    /* byte counts that pass the PDU's 253 bytes */
    p[0] = 16, p[5] = 247;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 6), 253);
    p[5] = 248;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 6), MS_EPROTO);
    p[0] = 23, p[9] = 243;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 10), 253);
    p[9] = 244;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 10), MS_EPROTO);
    p[0] = 3, p[1] = 251;
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 2), 253);
    p[1] = 252;
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 2), MS_EPROTO);
    /* direction matters */
    p[0] = 16;
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 1), 5);
    p[0] = 3;
    assert_int_equal(ms_mb_pdu_length(MS_MB_REQUEST, p, 1), 5);
    assert_int_equal(ms_mb_pdu_length(MS_MB_RESPONSE, p, 1), 0);
}

/* ---- data helpers ----------------------------------------------------------- */

static void test_word_order(void **state)
{
    (void)state;
    uint16_t r[4];
    ms_mb_u32_set(r, 0x12345678u, MS_MB_WORDS_BIG);
    assert_int_equal(r[0], 0x1234);
    assert_int_equal(r[1], 0x5678);
    assert_int_equal(ms_mb_u32_get(r, MS_MB_WORDS_BIG), 0x12345678u);
    assert_int_equal(ms_mb_u32_get(r, MS_MB_WORDS_LITTLE), 0x56781234u);
    ms_mb_u32_set(r, 0x12345678u, MS_MB_WORDS_LITTLE);
    assert_int_equal(r[0], 0x5678);
    assert_int_equal(r[1], 0x1234);

    ms_mb_u64_set(r, 0x0102030405060708ull, MS_MB_WORDS_BIG);
    assert_int_equal(r[0], 0x0102);
    assert_int_equal(r[3], 0x0708);
    assert_true(ms_mb_u64_get(r, MS_MB_WORDS_BIG) == 0x0102030405060708ull);
    assert_true(ms_mb_u64_get(r, MS_MB_WORDS_LITTLE) == 0x0708050603040102ull);
    ms_mb_u64_set(r, 0x0102030405060708ull, MS_MB_WORDS_LITTLE);
    assert_int_equal(r[0], 0x0708);
    assert_int_equal(r[1], 0x0506);
    assert_int_equal(r[3], 0x0102);

    /* 1.0f is 0x3F800000; 1.0 is 0x3FF0000000000000 */
    ms_mb_f32_set(r, 1.0f, MS_MB_WORDS_BIG);
    assert_int_equal(r[0], 0x3F80);
    assert_int_equal(r[1], 0);
    ms_mb_f32_set(r, -2.5f, MS_MB_WORDS_LITTLE);
    assert_true(ms_mb_f32_get(r, MS_MB_WORDS_LITTLE) == -2.5f);
    assert_int_equal(r[1], 0xC020);
    ms_mb_f64_set(r, 1.0, MS_MB_WORDS_BIG);
    assert_int_equal(r[0], 0x3FF0);
    assert_int_equal(r[3], 0);
    ms_mb_f64_set(r, 1e300, MS_MB_WORDS_LITTLE);
    assert_true(ms_mb_f64_get(r, MS_MB_WORDS_LITTLE) == 1e300);
    assert_true(ms_mb_f64_get(r, MS_MB_WORDS_BIG) != 1e300);

    /* registers as bytes: big-endian */
    uint8_t b[4];
    ms_mb_regs_store(b, (const uint16_t[]){0x1234, 0xABCD}, 2);
    assert_int_equal(b[0], 0x12);
    assert_int_equal(b[3], 0xCD);
    uint16_t back[2];
    ms_mb_regs_load(back, b, 2);
    assert_int_equal(back[1], 0xABCD);
}

static void test_bits(void **state)
{
    (void)state;
    uint8_t b[3] = {0};
    ms_mb_bit_set(b, 0, true);
    ms_mb_bit_set(b, 9, true);
    ms_mb_bit_set(b, 23, true);
    assert_int_equal(b[0], 0x01);
    assert_int_equal(b[1], 0x02);
    assert_int_equal(b[2], 0x80);
    assert_true(ms_mb_bit_get(b, 9));
    assert_false(ms_mb_bit_get(b, 8));
    ms_mb_bit_set(b, 9, false);
    assert_int_equal(b[1], 0);
    assert_int_equal(ms_mb_bits_bytes(0), 0);
    assert_int_equal(ms_mb_bits_bytes(1), 1);
    assert_int_equal(ms_mb_bits_bytes(8), 1);
    assert_int_equal(ms_mb_bits_bytes(9), 2);
    assert_int_equal(ms_mb_bits_bytes(2000), 250);
    assert_int_equal(ms_mb_bits_bytes(1968), 246);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples_round_trip),
        cmocka_unit_test(test_libmodbus_round_trip),
        cmocka_unit_test(test_spec_fields_reads),
        cmocka_unit_test(test_spec_fields_writes),
        cmocka_unit_test(test_encode_from_fields),
        cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_request_exceptions),
        cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_response_limits),
        cmocka_unit_test(test_devid),
        cmocka_unit_test(test_report_server_id),
        cmocka_unit_test(test_pdu_length),
        cmocka_unit_test(test_word_order),
        cmocka_unit_test(test_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
