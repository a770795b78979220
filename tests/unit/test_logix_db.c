/* logixserver's memory (src/logix/server/lgx_db.c) on what st-ethernet-ip
 * and pycomm3 ask at connect: a UDT's layout as Logix aligns it, the
 * Symbol instance list's structure types, the Template object's
 * Get_Attribute_List and Read Template bytes (whole and in fragments),
 * and reads, writes and RMW of UDT members with Logix's status codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "logix/server/lgx_db.h"

static ms_lgx_db db;
static long motor;

static int setup(void **st)
{
    (void)st;
    memset(&db, 0, sizeof db);
    ms_lgx_member m[3] = {{.name = "Speed", .type = MS_LGX_REAL},
                          {.name = "Mode", .type = MS_LGX_SINT},
                          {.name = "Hours", .type = MS_LGX_LINT}};
    motor = ms_lgx_db_add_udt(&db, "Motor", m, 3);
    assert_int_equal(motor, 0);
    uint32_t d3 = 3;
    assert_int_equal(ms_lgx_db_add_struct(&db, "M1", 0, NULL, 0), 0);
    assert_int_equal(ms_lgx_db_add_struct(&db, "Ms", 0, &d3, 1), 1);
    assert_int_equal(ms_lgx_db_add(&db, "Name", MS_LGX_TYPE_STRUCT, NULL, 0),
                     2);
    assert_int_equal(ms_lgx_db_add(&db, "D", MS_LGX_DINT, NULL, 0), 3);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    ms_lgx_db_free(&db);
    return 0;
}

static size_t serve(const uint8_t *req, size_t n, uint8_t *out, size_t room)
{
    return ms_lgx_db_serve(&db, req, n, out, 4096, room);
}

static void test_layout(void **st)
{
    (void)st;
    const ms_lgx_udt *u = &db.udts[0];
    /* REAL at 0, SINT at 4, LINT aligned to 8; the whole to 8 */
    assert_int_equal(u->m[0].offset, 0);
    assert_int_equal(u->m[1].offset, 4);
    assert_int_equal(u->m[2].offset, 8);
    assert_int_equal(u->size, 16);
    assert_int_equal(u->id, MS_LGX_UDT_ID0);
    assert_int_not_equal(u->handle, MS_LGX_STRING_HANDLE);
    assert_int_equal(db.tags[1].esize, 16);
    /* refused: BOOL members, a repeated member, a repeated or atomic name */
    ms_lgx_member b[2] = {{.name = "On", .type = MS_LGX_BOOL},
                          {.name = "X", .type = MS_LGX_DINT}};
    assert_int_equal(ms_lgx_db_add_udt(&db, "B", b, 2), -1);
    strcpy(b[0].name, "x");
    b[0].type = MS_LGX_INT;
    assert_int_equal(ms_lgx_db_add_udt(&db, "B", b, 2), -1);
    assert_int_equal(ms_lgx_db_add_udt(&db, "motor", &b[1], 1), -1);
    assert_int_equal(ms_lgx_db_add_udt(&db, "DINT", &b[1], 1), -1);
    assert_int_equal(ms_lgx_db_find_udt(&db, "MOTOR"), 0);
}

static void test_symbols(void **st)
{
    (void)st;
    /* 0x55 to class 0x6B from instance 0: attributes 1 and 2 */
    const uint8_t req[] = {0x55, 0x03, 0x20, 0x6B, 0x25, 0x00, 0x00, 0x00,
                           0x02, 0x00, 0x01, 0x00, 0x02, 0x00};
    uint8_t out[4096];
    size_t n = serve(req, sizeof req, out, 4002);
    assert_true(n > 4);
    assert_int_equal(out[0], 0xD5);
    assert_int_equal(out[2], 0);
    /* M1: instance 1, "M1", type 0x8000 | 0x100 */
    const uint8_t m1[] = {1, 0, 0, 0, 2, 0, 'M', '1', 0x00, 0x81};
    assert_memory_equal(out + 4, m1, sizeof m1);
    /* Ms: one dimension (bit 13) */
    const uint8_t ms[] = {2, 0, 0, 0, 2, 0, 'M', 's', 0x00, 0xA1};
    assert_memory_equal(out + 4 + sizeof m1, ms, sizeof ms);
    /* Name: STRING's template instance 0xFCE */
    const uint8_t nm[] = {3, 0, 0, 0, 4, 0, 'N', 'a', 'm', 'e', 0xCE, 0x8F};
    assert_memory_equal(out + 4 + 2 * sizeof m1, nm, sizeof nm);
}

static void test_template_attrs(void **st)
{
    (void)st;
    /* Get_Attribute_List on class 0x6C instance 0x100: 4, 5, 2, 1, 9 */
    const uint8_t req[] = {0x03, 0x03, 0x20, 0x6C, 0x25, 0x00, 0x00, 0x01,
                           0x05, 0x00, 0x04, 0x00, 0x05, 0x00, 0x02,
                           0x00, 0x01, 0x00, 0x09, 0x00};
    uint8_t out[4096];
    size_t n = serve(req, sizeof req, out, 504);
    /* members 3 * 8 + "Motor;n\0" 8 + "Speed\0Mode\0Hours\0" 17 = 49
     * bytes; (49 + 23) / 4 = 18 words */
    uint16_t h = db.udts[0].handle;
    const uint8_t want[] = {0x83, 0, 0, 0, 5, 0,
                            4, 0, 0, 0, 18, 0, 0, 0,
                            5, 0, 0, 0, 16, 0, 0, 0,
                            2, 0, 0, 0, 3, 0,
                            1, 0, 0, 0, (uint8_t)h, (uint8_t)(h >> 8),
                            9, 0, 0x14, 0};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, n);
    /* an instance that is no template: 0x05 */
    uint8_t bad[sizeof req];
    memcpy(bad, req, sizeof req);
    bad[7] = 0x02;
    n = serve(bad, sizeof bad, out, 504);
    assert_int_equal(n, 4);
    assert_int_equal(out[2], 0x05);
}

static void test_template_read(void **st)
{
    (void)st;
    /* Read Template of STRING (instance 0xFCE): offset 0, 100 bytes */
    const uint8_t req[] = {0x4C, 0x03, 0x20, 0x6C, 0x25, 0x00, 0xCE, 0x0F,
                           0, 0, 0, 0, 100, 0};
    uint8_t out[4096];
    size_t n = serve(req, sizeof req, out, 504);
    const uint8_t want[] = {0xCC, 0, 0, 0,
                            0, 0, 0xC4, 0x00, 0, 0, 0, 0,     /* LEN DINT @0 */
                            82, 0, 0xC2, 0x20, 4, 0, 0, 0,    /* DATA SINT[82] */
                            'S', 'T', 'R', 'I', 'N', 'G', ';', 'n', 0,
                            'L', 'E', 'N', 0, 'D', 'A', 'T', 'A', 0};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, n);
    /* a connection of 16 bytes: 12 then 0x06, and the rest from 12 */
    n = serve(req, sizeof req, out, 16);
    assert_int_equal(n, 16);
    assert_int_equal(out[2], 0x06);
    assert_memory_equal(out + 4, want + 4, 12);
    uint8_t again[sizeof req];
    memcpy(again, req, sizeof req);
    again[8] = 12;
    n = serve(again, sizeof again, out, 504);
    assert_int_equal(out[2], 0);
    assert_int_equal(n, sizeof want - 12);
    assert_memory_equal(out + 4, want + 16, n - 4);
    /* past the end */
    again[8] = 200;
    n = serve(again, sizeof again, out, 504);
    assert_int_equal(out[2], 0xFF);
}

static void test_members(void **st)
{
    (void)st;
    uint8_t out[4096];
    /* Write Ms[2].Hours (LINT) = 0x0102030405060708 */
    const uint8_t wr[] = {0x4D, 0x07, 0x91, 0x02, 'M', 's', 0x28, 0x02,
                          0x91, 0x05, 'H', 'o', 'u', 'r', 's', 0x00,
                          0xC5, 0x00, 0x01, 0x00,
                          8, 7, 6, 5, 4, 3, 2, 1};
    size_t n = serve(wr, sizeof wr, out, 504);
    assert_int_equal(n, 4);
    assert_int_equal(out[2], 0);
    assert_memory_equal(db.tags[1].data + 2 * 16 + 8, wr + 20, 8);
    /* a REAL written to it: 0xFF/0x2107 */
    uint8_t wrong[sizeof wr];
    memcpy(wrong, wr, sizeof wr);
    wrong[16] = 0xCA;
    n = serve(wrong, sizeof wrong, out, 504);
    assert_int_equal(out[2], 0xFF);
    assert_int_equal(out[4] | out[5] << 8, 0x2107);
    /* Read Ms[2] whole: 0x02A0, the handle, 16 bytes */
    const uint8_t rd[] = {0x4C, 0x03, 0x91, 0x02, 'M', 's', 0x28, 0x02,
                          0x01, 0x00};
    n = serve(rd, sizeof rd, out, 504);
    assert_int_equal(n, 4 + 4 + 16);
    assert_int_equal(out[4] | out[5] << 8, MS_LGX_TYPE_STRUCT);
    assert_int_equal(out[6] | out[7] << 8, db.udts[0].handle);
    assert_memory_equal(out + 8 + 8, wr + 20, 8);
    /* RMW bit 1 of M1.Mode (a SINT) */
    const uint8_t rmw[] = {0x4E, 0x05, 0x91, 0x02, 'M', '1', 0x91, 0x04,
                           'M', 'o', 'd', 'e', 0x01, 0x00, 0x02, 0xFF};
    n = serve(rmw, sizeof rmw, out, 504);
    assert_int_equal(out[2], 0);
    assert_int_equal(db.tags[0].data[4], 2);
    /* a member of a whole array, a missing member, a member of a DINT,
     * anything after a member: 0x05 */
    const uint8_t bad1[] = {0x4C, 0x05, 0x91, 0x02, 'M', 's', 0x91, 0x04,
                            'M', 'o', 'd', 'e', 0x01, 0x00};
    const uint8_t bad2[] = {0x4C, 0x04, 0x91, 0x02, 'M', '1', 0x91, 0x02,
                            'N', 'o', 0x01, 0x00};
    const uint8_t bad3[] = {0x4C, 0x04, 0x91, 0x01, 'D', 0x00, 0x91, 0x02,
                            'N', 'o', 0x01, 0x00};
    const uint8_t bad4[] = {0x4C, 0x06, 0x91, 0x02, 'M', '1', 0x91, 0x04,
                            'M', 'o', 'd', 'e', 0x28, 0x00, 0x01, 0x00};
    n = serve(bad1, sizeof bad1, out, 504);
    assert_int_equal(out[2], 0x05);
    n = serve(bad2, sizeof bad2, out, 504);
    assert_int_equal(out[2], 0x05);
    n = serve(bad3, sizeof bad3, out, 504);
    assert_int_equal(out[2], 0x05);
    n = serve(bad4, sizeof bad4, out, 504);
    assert_int_equal(out[2], 0x05);
    (void)n;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
