/* The Logix CIP codec against the bytes captured between libplctag and a
 * ControlLogix simulator (docs/logix.md): RegisterSession, Large Forward
 * Open, Read Tag Fragmented, Write Tag, element paths; and round trips of
 * what the captures don't hold (MSP, RMW masks, routes, status texts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "logix/codec/lgx_codec.h"

/* "65 00 04 ..." -> bytes; returns the count. */
static size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        while (*s == ' ' || *s == '|' || *s == '\n')
            s++;
        if (!*s)
            break;
        unsigned v;
        assert_int_equal(sscanf(s, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void test_register(void **st)
{
    (void)st;
    uint8_t want[64], got[64];
    size_t n = hex("65 00 04 00 00000000 00000000 0000000000000000 00000000"
                   " | 01 00 00 00", want);
    assert_int_equal(ms_lgx_frame_register(got, sizeof got, 0), n);
    assert_memory_equal(got, want, n);
    assert_int_equal(ms_lgx_frame_len(got, n), (long)n);
    assert_int_equal(ms_lgx_frame_len(got, n - 1), 0);
    assert_int_equal(ms_lgx_frame_register(got, n - 1, 0), 0);
}

static void test_large_forward_open(void **st)
{
    (void)st;
    uint8_t want[128], got[128], route[8];
    size_t n = hex("5b 02 20 06 24 01 0a 05 00000000 43ef0f5d"
                   "88d8 3df3 45435021 01 000000"
                   "40420f00 a20f0042 40420f00 a20f0042 a3"
                   "03 01 00 20 02 24 01", want);
    assert_int_equal(ms_lgx_route_encode("1,0", route, sizeof route), 2);
    ms_lgx_fo fo = {.large = true, .to_id = 0x5d0fef43, .serial = 0xd888,
                    .vendor = 0xf33d, .orig_serial = 0x21504345,
                    .rpi_us = 1000000, .size = 4002, .route = route,
                    .route_len = 2};
    ms_lgx_w w;
    ms_lgx_w_init(&w, got, sizeof got);
    ms_lgx_fo_put(&w, &fo);
    assert_false(w.err);
    assert_int_equal(w.len, n);
    assert_memory_equal(got, want, n);
    /* and the server's decode of it */
    ms_lgx_req r;
    ms_lgx_fo back;
    assert_int_equal(ms_lgx_req_get(want, n, &r), 0);
    assert_int_equal(r.service, MS_LGX_SVC_LARGE_FWD_OPEN);
    assert_int_equal(ms_lgx_fo_get(&r, &back), 0);
    assert_true(back.large);
    assert_int_equal(back.size, 4002);
    assert_int_equal(back.serial, 0xd888);
    assert_int_equal(back.to_id, 0x5d0fef43);
    assert_int_equal(back.route_len, 6);
    /* plain: u16 params 0x43F8 for 504 bytes */
    fo.large = false;
    fo.size = 504;
    ms_lgx_w_init(&w, got, sizeof got);
    ms_lgx_fo_put(&w, &fo);
    assert_int_equal(got[0], 0x54);
    assert_int_equal(ms_lgx_u16(got + 6 + 22 + 4), 0x43F8);
    assert_int_equal(ms_lgx_req_get(got, w.len, &r), 0);
    assert_int_equal(ms_lgx_fo_get(&r, &back), 0);
    assert_int_equal(back.size, 504);
}

static void test_paths(void **st)
{
    (void)st;
    uint8_t want[64], got[64];
    size_t n = hex("91 04 49 6f 75 74 28 05", want);
    assert_int_equal(ms_lgx_path_tag("Iout[5]", got, sizeof got), (int)n);
    assert_memory_equal(got, want, n);
    n = hex("91 03 42 69 67 00", want);
    assert_int_equal(ms_lgx_path_tag("Big", got, sizeof got), (int)n);
    assert_memory_equal(got, want, n);
    /* multi-dim and wide indexes, members, Program: */
    n = hex("91 01 4d 00 28 01 29 00 2c 01 2a 00 a0 86 01 00", want);
    assert_int_equal(ms_lgx_path_tag("M[1,300,100000]", got, sizeof got),
                     (int)n);
    assert_memory_equal(got, want, n);
    n = hex("91 01 61 00 91 01 62 00 28 03 91 01 63 00", want);
    assert_int_equal(ms_lgx_path_tag("a.b[3].c", got, sizeof got), (int)n);
    assert_memory_equal(got, want, n);
    int len = ms_lgx_path_tag("Program:Main.x", got, sizeof got);
    assert_int_equal(len, 2 + 12 + 4);
    assert_int_equal(got[1], 12);
    assert_memory_equal(got + 2, "Program:Main", 12);
    const char *bad[] = {"", "1a", "a..b", "a[", "a[]", "a[1,2,3,4]", "a b",
                         "a.", "a[x]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(ms_lgx_path_tag(bad[i], got, sizeof got), -1);
    /* split back */
    ms_lgx_seg seg[8];
    len = ms_lgx_path_tag("a.b[3].c", got, sizeof got);
    assert_int_equal(ms_lgx_path_split(got, (size_t)len, seg, 8), 4);
    assert_int_equal(seg[2].kind, MS_LGX_SEG_INDEX);
    assert_int_equal(seg[2].value, 3);
    assert_int_equal(seg[3].kind, MS_LGX_SEG_NAME);
    assert_int_equal(seg[3].len, 1);
    len = ms_lgx_path_logical(0x6B, 0x1234, got, sizeof got);
    assert_int_equal(ms_lgx_path_split(got, (size_t)len, seg, 8), 2);
    assert_int_equal(seg[0].kind, MS_LGX_SEG_CLASS);
    assert_int_equal(seg[1].value, 0x1234);
}

static void test_addr(void **st)
{
    (void)st;
    ms_lgx_addr a;
    assert_int_equal(ms_lgx_addr_parse("Iout[21].0", &a), 0);
    assert_string_equal(a.tag, "Iout");
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.idx[0], 21);
    assert_int_equal(a.bit, 0);
    assert_int_equal(ms_lgx_addr_parse("OutVar", &a), 0);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.bit, -1);
    assert_int_equal(ms_lgx_addr_parse("a.b[2].c.31", &a), 0);
    assert_string_equal(a.tag, "a.b[2].c");
    assert_int_equal(a.bit, 31);
    assert_int_equal(ms_lgx_addr_parse("M[1,2]", &a), 0);
    assert_string_equal(a.tag, "M");
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.idx[1], 2);
    assert_int_equal(ms_lgx_addr_parse("Program:P.x.3", &a), 0);
    assert_string_equal(a.tag, "Program:P.x");
    assert_int_equal(ms_lgx_addr_parse("x.64", &a), -1);
    assert_int_equal(ms_lgx_addr_parse("", &a), -1);
    assert_int_equal(ms_lgx_addr_parse("x[1", &a), -1);
}

static void test_route(void **st)
{
    (void)st;
    uint8_t got[32], want[32];
    assert_int_equal(ms_lgx_route_encode("", got, sizeof got), 0);
    assert_int_equal(ms_lgx_route_encode("1,2", got, sizeof got), 2);
    assert_int_equal(got[1], 2);
    assert_int_equal(ms_lgx_route_encode("bp/3", got, sizeof got), 2);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 3);
    size_t n = hex("01 01 12 08 31 30 2e 30 2e 30 2e 32 01 02", want);
    assert_int_equal(
        ms_lgx_route_encode("bp/1/enet/10.0.0.2/bp/2", got, sizeof got),
        (int)n);
    assert_memory_equal(got, want, n);
    assert_int_equal(ms_lgx_route_encode("1", got, sizeof got), -1);
    assert_int_equal(ms_lgx_route_encode("x,0", got, sizeof got), -1);
    assert_int_equal(ms_lgx_route_encode("1,256", got, sizeof got), -1);
}

static void test_read_write(void **st)
{
    (void)st;
    uint8_t want[64], got[64], path[32];
    int pl = ms_lgx_path_tag("Big", path, sizeof path);
    size_t n = hex("52 03 91 03 42 69 67 00 d0 07 6c 0f 00 00", want);
    ms_lgx_w w;
    ms_lgx_w_init(&w, got, sizeof got);
    ms_lgx_read_put(&w, path, (size_t)pl, 2000, 3948);
    assert_int_equal(w.len, n);
    assert_memory_equal(got, want, n);
    /* a fragment reply: 0x06, more follows */
    n = hex("d2 00 06 00 c4 00 01 00 00 00", want);
    ms_lgx_rsp r;
    assert_int_equal(ms_lgx_rsp_get(want, n, &r), 0);
    assert_int_equal(r.service, 0x52);
    assert_int_equal(r.status, 0x06);
    ms_lgx_value v;
    assert_int_equal(ms_lgx_value_get(r.data, r.data_len, &v), 0);
    assert_int_equal(v.type, MS_LGX_DINT);
    assert_int_equal(v.len, 4);
    /* Write Iout[5] = 7 and its reply */
    pl = ms_lgx_path_tag("Iout[5]", path, sizeof path);
    n = hex("4d 04 91 04 49 6f 75 74 28 05 c4 00 01 00 07 00 00 00", want);
    uint8_t seven[4] = {7, 0, 0, 0};
    ms_lgx_w_init(&w, got, sizeof got);
    ms_lgx_write_put(&w, path, (size_t)pl, MS_LGX_DINT, 0, 1, -1, seven, 4);
    assert_int_equal(w.len, n);
    assert_memory_equal(got, want, n);
    n = hex("cd 00 00 00", want);
    assert_int_equal(ms_lgx_rsp_get(want, n, &r), 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.data_len, 0);
    /* an error with its extended status */
    n = hex("cc 00 ff 01 05 21", want);
    assert_int_equal(ms_lgx_rsp_get(want, n, &r), 0);
    assert_int_equal(r.status, 0xFF);
    assert_int_equal(r.ext, 0x2105);
    char text[128];
    assert_string_equal(ms_lgx_status_text(r.status, r.ext, text, sizeof text),
                        "0xFF/0x2105 access beyond end of object");
    assert_string_equal(ms_lgx_status_text(0x04, 0, text, sizeof text),
                        "0x04 path segment error (the tag does not exist)");
}

static void test_rmw(void **st)
{
    (void)st;
    uint8_t got[64], path[16];
    int pl = ms_lgx_path_tag("W", path, sizeof path);
    ms_lgx_w w;
    /* DINT word, set bit 9: OR 00 02 00 00, AND ff ff ff ff */
    ms_lgx_w_init(&w, got, sizeof got);
    assert_int_equal(ms_lgx_rmw_put(&w, path, (size_t)pl, 4, 9, true), 0);
    const uint8_t set[] = {0x4e, 0x02, 0x91, 0x01, 'W', 0, 4, 0,
                           0, 2, 0, 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(w.len, sizeof set);
    assert_memory_equal(got, set, sizeof set);
    /* INT word, clear bit 15: masks of exactly two bytes */
    ms_lgx_w_init(&w, got, sizeof got);
    assert_int_equal(ms_lgx_rmw_put(&w, path, (size_t)pl, 2, 15, false), 0);
    const uint8_t clr[] = {0x4e, 0x02, 0x91, 0x01, 'W', 0, 2, 0,
                           0, 0, 0xff, 0x7f};
    assert_int_equal(w.len, sizeof clr);
    assert_memory_equal(got, clr, sizeof clr);
    ms_lgx_w_init(&w, got, sizeof got);
    assert_int_equal(ms_lgx_rmw_put(&w, path, (size_t)pl, 2, 16, false), -1);
    assert_int_equal(ms_lgx_rmw_put(&w, path, (size_t)pl, 3, 1, false), -1);
}

static void test_msp_and_frames(void **st)
{
    (void)st;
    uint8_t a[32], b[32], msp[128], frame[256];
    uint8_t path[32];
    ms_lgx_w w;
    int pl = ms_lgx_path_tag("Fout[0]", path, sizeof path);
    ms_lgx_w_init(&w, a, sizeof a);
    ms_lgx_read_put(&w, path, (size_t)pl, 100, -1);
    size_t an = w.len;
    pl = ms_lgx_path_tag("OutVar", path, sizeof path);
    ms_lgx_w_init(&w, b, sizeof b);
    ms_lgx_read_put(&w, path, (size_t)pl, 1, -1);
    size_t bn = w.len;
    ms_lgx_slice s[2] = {{a, an}, {b, bn}}, back[4];
    ms_lgx_w_init(&w, msp, sizeof msp);
    ms_lgx_msp_put(&w, s, 2);
    assert_false(w.err);
    assert_int_equal(w.len, ms_lgx_msp_size(2, an + bn));
    const uint8_t head[] = {0x0a, 0x02, 0x20, 0x02, 0x24, 0x01, 2, 0, 6, 0};
    assert_memory_equal(msp, head, sizeof head);
    ms_lgx_req r;
    assert_int_equal(ms_lgx_req_get(msp, w.len, &r), 0);
    assert_int_equal(ms_lgx_msp_split(r.data, r.data_len, back, 4), 2);
    assert_int_equal(back[1].n, bn);
    assert_memory_equal(back[1].p, b, bn);
    assert_int_equal(ms_lgx_msp_split(r.data, r.data_len, back, 1), -1);
    /* connected frame: sequence and connection id come back out */
    size_t fl = ms_lgx_frame_unit(frame, sizeof frame, 0x11223344,
                                  0xdeadbeef, 7, msp, w.len);
    assert_int_equal(fl, 24 + 8 + 8 + 4 + 2 + w.len);
    ms_lgx_encap h;
    ms_lgx_encap_get(frame, &h);
    assert_int_equal(h.command, MS_LGX_SEND_UNIT);
    assert_int_equal(h.session, 0x11223344);
    ms_lgx_cpf c;
    assert_int_equal(ms_lgx_cpf_get(frame + 24, fl - 24, &c), 0);
    assert_int_equal(c.conn_id, 0xdeadbeef);
    assert_int_equal(c.seq, 7);
    assert_int_equal(c.cip_len, w.len);
    fl = ms_lgx_frame_rr(frame, sizeof frame, 5, NULL, msp, w.len);
    assert_int_equal(ms_lgx_cpf_get(frame + 24, fl - 24, &c), 0);
    assert_int_equal(c.data_type, MS_LGX_ITEM_UNCONN_DATA);
    assert_int_equal(ms_lgx_cpf_get(frame + 24, 9, &c), -1);
}

static void test_types(void **st)
{
    (void)st;
    assert_int_equal(ms_lgx_type_code("REAL", 4), MS_LGX_REAL);
    assert_int_equal(ms_lgx_type_code("dint", 4), MS_LGX_DINT);
    assert_int_equal(ms_lgx_type_code("STRING", 6), MS_LGX_TYPE_STRUCT);
    assert_int_equal(ms_lgx_type_code("FOO", 3), 0);
    assert_int_equal(ms_lgx_type_size(MS_LGX_LINT), 8);
    assert_string_equal(ms_lgx_type_name(MS_LGX_UDINT), "UDINT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_large_forward_open),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_read_write),
        cmocka_unit_test(test_rmw),
        cmocka_unit_test(test_msp_and_frames),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
