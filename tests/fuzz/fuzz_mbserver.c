/* Fuzz target for the Modbus server's request handling on memory: the bytes
 * are an MBAP stream, decoded as the server's connection does and every
 * ADU answered by ms_mb_serve_pdu from a small memory (unit 1: 4x 0-99, 3x
 * 0-9, 0x 0-99, 1x 0-15; unit 2: 4x 1000-1009).
 *
 * Checks: every answer is a response that decodes and matches its request
 * (or an exception of that function), never over MS_MB_PDU_MAX; reads see
 * what earlier writes left; the write callback only names ranges inside
 * memory. Invariants are checked with abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/mbserver.h"

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "fuzz_mbserver: %s:%d: check failed: %s\n",      \
                    __FILE__, __LINE__, #c);                                 \
            abort();                                                         \
        }                                                                    \
    } while (0)

static void on_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                     uint16_t count, void *arg)
{
    ms_mb_mem *m = arg;
    uint16_t *r;
    uint8_t *b;
    CHECK(count > 0);
    CHECK(ms_mb_mem_lookup(m, unit, file, addr, count, &r, &b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_mb_mem m;
    ms_mb_mem_init(&m);
    CHECK(ms_mb_mem_add(&m, 1, MS_MB_HOLDING_REGISTERS, 0, 99) == 0);
    CHECK(ms_mb_mem_add(&m, 1, MS_MB_INPUT_REGISTERS, 0, 9) == 0);
    CHECK(ms_mb_mem_add(&m, 1, MS_MB_COILS, 0, 99) == 0);
    CHECK(ms_mb_mem_add(&m, 1, MS_MB_DISCRETE_INPUTS, 0, 15) == 0);
    CHECK(ms_mb_mem_add(&m, 2, MS_MB_HOLDING_REGISTERS, 1000, 1009) == 0);
    ms_mb_handler h = {.mem = &m, .on_write = on_write, .arg = &m};
    size_t off = 0;
    while (off < size) {
        ms_mb_adu adu;
        int n = ms_mb_adu_decode(MS_MB_FRAMING_MBAP, MS_MB_REQUEST,
                                 data + off, size - off, &adu);
        if (n <= 0)
            break; /* need more, or the stream is dropped */
        uint8_t out[MS_MB_PDU_MAX + 8];
        memset(out, 0xEE, sizeof out);
        int len = ms_mb_serve_pdu(&h, adu.unit, adu.pdu, adu.pdu_len, out);
        off += (size_t)n;
        if (len == MS_EPROTO)
            break; /* the server drops the connection */
        CHECK(len >= 2 && len <= MS_MB_PDU_MAX);
        CHECK(out[MS_MB_PDU_MAX] == 0xEE); /* nothing past the limit */
        ms_mb_response rsp;
        int rc = ms_mb_response_decode(out, (size_t)len, &rsp);
        ms_mb_request req;
        int qrc = ms_mb_request_decode(adu.pdu, adu.pdu_len, &req);
        if (rsp.exception) {
            CHECK(ms_mb_err_is_exc(rc));
            CHECK(rsp.fc == (adu.pdu[0] & 0x7f));
            if (qrc < 0 && ms_mb_mem_has_unit(&m, adu.unit))
                CHECK(rsp.exception == ms_mb_err_exc(qrc));
            continue;
        }
        CHECK(rc == 0);
        CHECK(qrc == 0);
        CHECK(ms_mb_response_match(&req, &rsp) == 0);
        /* A register read sees memory. */
        if (req.fc == MS_MB_READ_HOLDING_REGISTERS) {
            uint16_t *r;
            CHECK(ms_mb_mem_lookup(&m, adu.unit, MS_MB_HOLDING_REGISTERS,
                                   req.addr, req.count, &r, NULL) == 0);
            for (size_t i = 0; i < req.count; i++)
                CHECK(ms_mb_reg_get(rsp.data, i) == r[i]);
        }
    }
    ms_mb_mem_free(&m);
    return 0;
}
