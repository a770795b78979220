/* Fuzz target for the Modbus client's response path (mb_session.c): a
 * session with eight requests of different functions and units submitted,
 * fed the input as the device's answers, in pieces, with deadlines passing
 * between pieces.
 *
 * Input layout:
 *   byte 0      max_in_flight - 1 (low 3 bits); bit 3: RTU framing
 *   byte 1      piece size - 1 (0: byte by byte)
 *   byte 2      bits: after piece i, let every deadline pass when bit
 *               (i % 8) is set
 *   the rest    the stream from the device
 * Transaction ids start at 1 and count up, so answers are findable.
 *
 * Checks: every request's callback runs exactly once (by the close at the
 * latest); a successful answer fits its request; in flight never exceeds
 * max_in_flight; the stream position never passes the data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/link/mb_session.h"
#include "mscada/error.h"

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "fuzz_mbclient: %s:%d: check failed: %s\n",      \
                    __FILE__, __LINE__, #c);                                 \
            abort();                                                         \
        }                                                                    \
    } while (0)

#define NREQ 8

static int calls[NREQ];

static void on_done(int status, uint8_t unit, const ms_mb_request *req,
                    const ms_mb_response *rsp, void *arg)
{
    int i = (int)(intptr_t)arg;
    (void)unit;
    calls[i]++;
    if (status == 0) {
        CHECK(rsp);
        CHECK(rsp->fc == req->fc);
        CHECK(ms_mb_response_match(req, rsp) == 0);
    }
}

static const uint8_t regs4[8] = {0, 1, 0, 2, 0, 3, 0, 4};
static const uint8_t bits[2] = {0x55, 0x01};

static ms_mb_request make(int i)
{
    ms_mb_request q;
    memset(&q, 0, sizeof q);
    switch (i) {
    case 0: q.fc = 3; q.addr = 0; q.count = 4; break;
    case 1: q.fc = 1; q.addr = 10; q.count = 10; break;
    case 2: q.fc = 4; q.addr = 5; q.count = 2; break;
    case 3: q.fc = 6; q.addr = 7; q.value = 0x1234; break;
    case 4: q.fc = 16; q.addr = 1; q.count = 4; q.data = regs4; break;
    case 5: q.fc = 5; q.addr = 3; q.value = 1; break;
    case 6: q.fc = 22; q.addr = 2; q.and_mask = 0xfffe; q.or_mask = 1; break;
    default: q.fc = 15; q.addr = 0; q.count = 9; q.data = bits; break;
    }
    return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    ms_mb_framing f = data[0] & 8 ? MS_MB_FRAMING_RTU : MS_MB_FRAMING_MBAP;
    unsigned mif = (data[0] & 7) + 1u;
    size_t piece = (size_t)data[1] + 1;
    uint8_t expire_bits = data[2];
    data += 3;
    size -= 3;

    ms_mb_session s;
    ms_mb_session_init(&s, f, mif, 1.0, 1, 0.5, "fuzz");
    memset(calls, 0, sizeof calls);
    for (int i = 0; i < NREQ; i++) {
        ms_mb_request q = make(i);
        CHECK(ms_mb_session_submit(&s, 0, (uint8_t)(1 + i % 3), &q, on_done,
                                   (void *)(intptr_t)i) == 0);
    }
    ms_buf out = {0}, in = {0};
    uint64_t now = 0;
    ms_mb_session_take(&s, now, &out);
    size_t off = 0;
    for (unsigned k = 0; off < size; k++) {
        size_t n = size - off < piece ? size - off : piece;
        CHECK(ms_buf_append(&in, data + off, n) == 0);
        off += n;
        size_t used = 0;
        int rc = ms_mb_session_feed(&s, now, ms_buf_head(&in),
                                    ms_buf_size(&in), &used);
        if (rc < 0) {
            /* A dropped connection: everything fails, the stream restarts,
             * as mb_client.c does. */
            CHECK(rc == MS_EPROTO);
            ms_mb_session_fail_all(&s, MS_ECLOSED);
            in.off = in.len = 0;
        } else {
            CHECK(used <= ms_buf_size(&in));
            ms_buf_consume(&in, used);
        }
        if (expire_bits & (1u << (k % 8))) {
            now += 2000000000ull;
            ms_mb_session_expire(&s, now);
        }
        CHECK(s.ninflight <= s.max_in_flight);
        out.off = out.len = 0;
        ms_mb_session_take(&s, now, &out);
        CHECK(s.ninflight <= s.max_in_flight);
    }
    ms_mb_session_close(&s);
    for (int i = 0; i < NREQ; i++)
        CHECK(calls[i] == 1);
    ms_buf_free(&out);
    ms_buf_free(&in);
    return 0;
}
