/* Fuzz target for the Logix CIP codec (src/logix/codec): every decoder a
 * peer's bytes reach (encapsulation, CPF items, Message Router requests
 * and replies, EPATH segments, MSP offsets, Forward Open/Close, Unconnected
 * Send, read reply values), and the address and route parsers on the same
 * bytes as text. An address that parses must encode to a path that splits
 * back into names and indexes only. The same bytes are also served as a
 * request by logixserver's memory (tags, a UDT, STRING, templates), with
 * three connection sizes. Invariants are checked with abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logix/codec/lgx_codec.h"
#include "logix/server/lgx_db.h"

static ms_lgx_db *db_once(void)
{
    static ms_lgx_db db;
    static int made;
    if (!made) {
        made = 1;
        ms_lgx_member m[3] = {{.name = "A", .type = MS_LGX_REAL},
                              {.name = "B", .type = MS_LGX_SINT},
                              {.name = "C", .type = MS_LGX_LINT}};
        uint32_t d[2] = {3, 4};
        if (ms_lgx_db_add_udt(&db, "U", m, 3) != 0 ||
            ms_lgx_db_add_struct(&db, "X", 0, NULL, 0) < 0 ||
            ms_lgx_db_add_struct(&db, "Y", 0, d, 1) < 0 ||
            ms_lgx_db_add(&db, "S", MS_LGX_TYPE_STRUCT, NULL, 0) < 0 ||
            ms_lgx_db_add(&db, "D", MS_LGX_DINT, d, 2) < 0)
            abort();
    }
    return &db;
}

static void serve(const uint8_t *p, size_t n)
{
    static uint8_t out[MS_LGX_FRAME_MAX];
    static const size_t rooms[] = {16, 504, 4002};
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        size_t r = ms_lgx_db_serve(db_once(), p, n, out, sizeof out,
                                   rooms[i]);
        if (r > sizeof out)
            abort();
    }
}

static void cip(const uint8_t *p, size_t n)
{
    ms_lgx_req r;
    ms_lgx_rsp s;
    ms_lgx_seg seg[16];
    ms_lgx_slice sl[MS_LGX_MSP_MAX];
    ms_lgx_fo fo;
    ms_lgx_value v;
    if (ms_lgx_req_get(p, n, &r) == 0) {
        if (r.path + r.path_len != r.data || r.data + r.data_len != p + n)
            abort();
        ms_lgx_path_split(r.path, r.path_len, seg, 16);
        int k = ms_lgx_msp_split(r.data, r.data_len, sl, MS_LGX_MSP_MAX);
        for (int i = 0; i < k; i++)
            if (sl[i].p < r.data || sl[i].p + sl[i].n > r.data + r.data_len)
                abort();
        if (ms_lgx_fo_get(&r, &fo) == 0 &&
            fo.route + fo.route_len > r.data + r.data_len)
            abort();
        ms_lgx_fc_get(&r, &fo);
        ms_lgx_slice m;
        if (ms_lgx_ucmm_get(&r, &m) == 0 && m.p + m.n > p + n)
            abort();
    }
    if (ms_lgx_rsp_get(p, n, &s) == 0) {
        if (s.data + s.data_len != p + n)
            abort();
        if (ms_lgx_value_get(s.data, s.data_len, &v) == 0 &&
            v.data + v.len != p + n)
            abort();
        ms_lgx_fo_reply_get(s.data, s.data_len, &fo);
        int k = ms_lgx_msp_split(s.data, s.data_len, sl, MS_LGX_MSP_MAX);
        for (int i = 0; i < k; i++)
            ms_lgx_rsp_get(sl[i].p, sl[i].n, &s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long fl = ms_lgx_frame_len(data, size);
    if (fl > 0) {
        ms_lgx_encap h;
        ms_lgx_cpf c;
        ms_lgx_encap_get(data, &h);
        if (ms_lgx_cpf_get(data + MS_LGX_HDR, (size_t)fl - MS_LGX_HDR,
                           &c) == 0)
            cip(c.cip, c.cip_len);
    }
    cip(data, size);
    serve(data, size);

    char text[160];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = 0;
    ms_lgx_addr a;
    uint8_t path[MS_LGX_PATH_MAX];
    if (ms_lgx_addr_parse(text, &a) == 0) {
        int pl = ms_lgx_path_tag_at(a.tag, a.idx, a.ndim, path, sizeof path);
        ms_lgx_seg seg[64];
        if (pl < 0 || (pl & 1))
            abort();
        int k = ms_lgx_path_split(path, (size_t)pl, seg, 64);
        if (k <= 0 || seg[0].kind != MS_LGX_SEG_NAME)
            abort();
        for (int i = 0; i < k; i++)
            if (seg[i].kind != MS_LGX_SEG_NAME &&
                seg[i].kind != MS_LGX_SEG_INDEX)
                abort();
    }
    ms_lgx_route_encode(text, path, sizeof path);
    return 0;
}
