/* A server's answers (src/modbus/server/mb_answer.c) to what the codec
 * tests can't see: FC17 report server id with the default id (the unit
 * asked), a configured id of any bytes, run indicator on and off, an id too
 * long for a PDU; and units 0 and 255 answered as "this device" with
 * unit_any (the lowest unit with memory, writes reported for it), not
 * without it, and not when they have memory of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mscada/error.h"
#include "mscada/mbserver.h"

static const uint8_t FC17[] = {MS_MB_REPORT_SERVER_ID};

/* Answers pdu for unit; returns the response's length. */
static int answer(const ms_mb_handler *h, uint8_t unit, const uint8_t *pdu,
                  size_t len, uint8_t *out)
{
    memset(out, 0xEE, MS_MB_PDU_MAX);
    return ms_mb_serve_pdu(h, unit, pdu, len, out);
}

static void test_report_server_id(void **state)
{
    (void)state;
    ms_mb_mem mem;
    ms_mb_mem_init(&mem);
    assert_int_equal(ms_mb_mem_add(&mem, 1, MS_MB_HOLDING_REGISTERS, 0, 9),
                     0);
    assert_int_equal(ms_mb_mem_add(&mem, 5, MS_MB_COILS, 0, 9), 0);
    ms_mb_handler h = {.mem = &mem, .product_name = "pump 4"};
    uint8_t out[MS_MB_PDU_MAX];
    /* Default: one byte, the unit, then run ON; nothing more (the product
     * name is FC43's). The answer decodes. */
    assert_int_equal(answer(&h, 1, FC17, 1, out), 4);
    assert_memory_equal(out, "\x11\x02\x01\xFF", 4);
    ms_mb_response r;
    assert_int_equal(ms_mb_response_decode(out, 4, &r), 0);
    assert_int_equal(answer(&h, 5, FC17, 1, out), 4);
    assert_memory_equal(out, "\x11\x02\x05\xFF", 4);
    /* Configured bytes (a 0 among them), run OFF. */
    const uint8_t id[] = {0x2A, 0x00, 0x07};
    h.server_id = id;
    h.server_id_len = sizeof id;
    h.run_off = true;
    assert_int_equal(answer(&h, 1, FC17, 1, out), 6);
    assert_memory_equal(out, "\x11\x04\x2A\x00\x07\x00", 6);
    /* An empty id: the run indicator alone. */
    h.server_id_len = 0;
    assert_int_equal(answer(&h, 1, FC17, 1, out), 3);
    assert_memory_equal(out, "\x11\x01\x00", 3);
    /* An id longer than a PDU holds is cut to MS_MB_MAX_SERVER_ID. */
    static uint8_t longid[300];
    memset(longid, 'x', sizeof longid);
    h.server_id = longid;
    h.server_id_len = sizeof longid;
    h.run_off = false;
    assert_int_equal(answer(&h, 1, FC17, 1, out), MS_MB_PDU_MAX);
    assert_int_equal(out[1], MS_MB_MAX_SERVER_ID + 1);
    assert_int_equal(out[MS_MB_PDU_MAX - 1], 0xFF);
    /* A unit without memory: 11 first; extra bytes: 3. */
    assert_int_equal(answer(&h, 9, FC17, 1, out), 2);
    assert_memory_equal(out, "\x91\x0B", 2);
    const uint8_t extra[] = {17, 0};
    assert_int_equal(answer(&h, 1, extra, 2, out), 2);
    assert_memory_equal(out, "\x91\x03", 2);
    ms_mb_mem_free(&mem);
}

typedef struct {
    int writes;
    uint8_t unit;
} seen;

static void on_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                     uint16_t count, void *arg)
{
    seen *s = arg;
    (void)file;
    (void)addr;
    (void)count;
    s->writes++;
    s->unit = unit;
}

static void test_unit_any(void **state)
{
    (void)state;
    ms_mb_mem mem;
    ms_mb_mem_init(&mem);
    /* Unit 7 added first, 3 after: the lowest (3) is "this device". */
    assert_int_equal(ms_mb_mem_add(&mem, 7, MS_MB_HOLDING_REGISTERS, 0, 9),
                     0);
    assert_int_equal(ms_mb_mem_add(&mem, 3, MS_MB_HOLDING_REGISTERS, 0, 9),
                     0);
    seen s = {0};
    ms_mb_handler h = {.mem = &mem, .on_write = on_write, .arg = &s};
    uint8_t out[MS_MB_PDU_MAX];
    const uint8_t wr[] = {6, 0x00, 0x02, 0x12, 0x34}; /* 4x3 = 0x1234 */
    const uint8_t rd[] = {3, 0x00, 0x02, 0x00, 0x01};
    /* Off (the default): 0 and 255 are units like any other. */
    assert_int_equal(answer(&h, 0, rd, sizeof rd, out), 2);
    assert_memory_equal(out, "\x83\x0B", 2);
    assert_int_equal(answer(&h, 255, rd, sizeof rd, out), 2);
    assert_int_equal(out[1], MS_MB_EX_GATEWAY_TARGET_FAILED);
    /* On: both write and read unit 3's memory; the write is unit 3's; FC17
     * names unit 3. */
    h.unit_any = true;
    assert_int_equal(answer(&h, 0, FC17, 1, out), 4);
    assert_memory_equal(out, "\x11\x02\x03\xFF", 4);
    assert_int_equal(answer(&h, 255, wr, sizeof wr, out), 5);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.unit, 3);
    uint16_t *regs;
    assert_int_equal(ms_mb_mem_lookup(&mem, 3, MS_MB_HOLDING_REGISTERS, 2, 1,
                                      &regs, NULL), 0);
    assert_int_equal(regs[0], 0x1234);
    assert_int_equal(answer(&h, 0, rd, sizeof rd, out), 4);
    assert_memory_equal(out, "\x03\x02\x12\x34", 4);
    /* Other units are still themselves. */
    assert_int_equal(answer(&h, 7, rd, sizeof rd, out), 4);
    assert_memory_equal(out, "\x03\x02\x00\x00", 4);
    assert_int_equal(answer(&h, 254, rd, sizeof rd, out), 2);
    assert_int_equal(out[1], MS_MB_EX_GATEWAY_TARGET_FAILED);
    /* 255 with memory of its own is served from it. */
    assert_int_equal(
        ms_mb_mem_add(&mem, 255, MS_MB_HOLDING_REGISTERS, 0, 9), 0);
    assert_int_equal(answer(&h, 255, rd, sizeof rd, out), 4);
    assert_memory_equal(out, "\x03\x02\x00\x00", 4);
    ms_mb_mem_free(&mem);
    /* No memory at all: still 11. */
    ms_mb_mem_init(&mem);
    assert_int_equal(answer(&h, 0, rd, sizeof rd, out), 2);
    assert_int_equal(out[1], MS_MB_EX_GATEWAY_TARGET_FAILED);
    ms_mb_mem_free(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_server_id),
        cmocka_unit_test(test_unit_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
