/* CIP messages: Message Router requests and replies, the tag services
 * (0x4C/0x52 reads, 0x4D/0x53 writes, 0x4E Read-Modify-Write), Multiple
 * Service Packet, and the Connection Manager's Forward Open (0x5B large,
 * 0x54 plain), Forward Close and Unconnected Send. */
#include <string.h>

#include "logix/codec/lgx_codec.h"

static const uint8_t PATH_MR[] = {0x20, 0x02, 0x24, 0x01};
static const uint8_t PATH_CM[] = {0x20, 0x06, 0x24, 0x01};

int ms_lgx_req_get(const uint8_t *p, size_t n, ms_lgx_req *r)
{
    if (n < 2 || (p[0] & 0x80))
        return -1;
    size_t plen = (size_t)p[1] * 2;
    if (plen > n - 2)
        return -1;
    r->service = p[0];
    r->path = p + 2;
    r->path_len = plen;
    r->data = p + 2 + plen;
    r->data_len = n - 2 - plen;
    return 0;
}

int ms_lgx_rsp_get(const uint8_t *p, size_t n, ms_lgx_rsp *r)
{
    if (n < 4 || !(p[0] & 0x80))
        return -1;
    size_t ext = (size_t)p[3] * 2;
    if (ext > n - 4)
        return -1;
    r->service = p[0] & 0x7F;
    r->status = p[2];
    r->ext = ext ? ms_lgx_u16(p + 4) : 0;
    r->data = p + 4 + ext;
    r->data_len = n - 4 - ext;
    return 0;
}

void ms_lgx_req_put(ms_lgx_w *w, uint8_t service, const uint8_t *path,
                    size_t path_len, const uint8_t *data, size_t data_len)
{
    if (path_len & 1 || path_len > 510) {
        w->err = true;
        return;
    }
    ms_lgx_put8(w, service);
    ms_lgx_put8(w, (uint8_t)(path_len / 2));
    ms_lgx_put(w, path, path_len);
    ms_lgx_put(w, data, data_len);
}

void ms_lgx_rsp_put(ms_lgx_w *w, uint8_t service, uint8_t status,
                    uint16_t ext, const uint8_t *data, size_t data_len)
{
    ms_lgx_put8(w, (uint8_t)(service | 0x80));
    ms_lgx_put8(w, 0);
    ms_lgx_put8(w, status);
    /* an extended word only with 0x01 and 0xFF, where Logix sends one */
    bool has_ext = ext != 0 || status == 0xFF;
    ms_lgx_put8(w, has_ext ? 1 : 0);
    if (has_ext)
        ms_lgx_put16(w, ext);
    ms_lgx_put(w, data, data_len);
}

void ms_lgx_read_put(ms_lgx_w *w, const uint8_t *path, size_t path_len,
                     uint16_t elements, long offset)
{
    ms_lgx_req_put(w, offset < 0 ? MS_LGX_SVC_READ : MS_LGX_SVC_READ_FRAG,
                   path, path_len, NULL, 0);
    ms_lgx_put16(w, elements);
    if (offset >= 0)
        ms_lgx_put32(w, (uint32_t)offset);
}

void ms_lgx_write_put(ms_lgx_w *w, const uint8_t *path, size_t path_len,
                      uint16_t type, uint16_t handle, uint16_t elements,
                      long offset, const uint8_t *data, size_t len)
{
    ms_lgx_req_put(w, offset < 0 ? MS_LGX_SVC_WRITE : MS_LGX_SVC_WRITE_FRAG,
                   path, path_len, NULL, 0);
    ms_lgx_put16(w, type);
    if (type == MS_LGX_TYPE_STRUCT)
        ms_lgx_put16(w, handle);
    ms_lgx_put16(w, elements);
    if (offset >= 0)
        ms_lgx_put32(w, (uint32_t)offset);
    ms_lgx_put(w, data, len);
}

int ms_lgx_rmw_put(ms_lgx_w *w, const uint8_t *path, size_t path_len,
                   unsigned size, unsigned bit, bool value)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) ||
        bit >= size * 8)
        return -1;
    uint8_t or_m[8] = {0}, and_m[8];
    memset(and_m, 0xFF, sizeof and_m);
    if (value)
        or_m[bit / 8] = (uint8_t)(1u << (bit % 8));
    else
        and_m[bit / 8] = (uint8_t)~(1u << (bit % 8));
    ms_lgx_req_put(w, MS_LGX_SVC_RMW, path, path_len, NULL, 0);
    ms_lgx_put16(w, (uint16_t)size);
    ms_lgx_put(w, or_m, size);
    ms_lgx_put(w, and_m, size);
    return w->err ? -1 : 0;
}

int ms_lgx_value_get(const uint8_t *p, size_t n, ms_lgx_value *v)
{
    if (n < 2)
        return -1;
    v->type = ms_lgx_u16(p);
    v->handle = 0;
    size_t off = 2;
    if (v->type == MS_LGX_TYPE_STRUCT) {
        if (n < 4)
            return -1;
        v->handle = ms_lgx_u16(p + 2);
        off = 4;
    }
    v->data = p + off;
    v->len = n - off;
    return 0;
}

size_t ms_lgx_read_reply_size(uint16_t type, size_t len)
{
    return 4 + 2 + (type == MS_LGX_TYPE_STRUCT ? 2 : 0) + len;
}

void ms_lgx_msp_put(ms_lgx_w *w, const ms_lgx_slice *reqs, size_t n)
{
    if (n == 0 || n > MS_LGX_MSP_MAX) {
        w->err = true;
        return;
    }
    ms_lgx_req_put(w, MS_LGX_SVC_MSP, PATH_MR, sizeof PATH_MR, NULL, 0);
    ms_lgx_put16(w, (uint16_t)n);
    size_t off = 2 + 2 * n;
    for (size_t i = 0; i < n; i++) {
        if (off > 0xFFFF) {
            w->err = true;
            return;
        }
        ms_lgx_put16(w, (uint16_t)off);
        off += reqs[i].n;
    }
    for (size_t i = 0; i < n; i++)
        ms_lgx_put(w, reqs[i].p, reqs[i].n);
}

int ms_lgx_msp_split(const uint8_t *data, size_t n, ms_lgx_slice *out,
                     size_t cap)
{
    if (n < 2)
        return -1;
    size_t count = ms_lgx_u16(data);
    if (count > cap || count == 0 || 2 + 2 * count > n)
        return -1;
    for (size_t i = 0; i < count; i++) {
        size_t b = ms_lgx_u16(data + 2 + 2 * i);
        size_t e = i + 1 < count ? ms_lgx_u16(data + 4 + 2 * i) : n;
        if (b < 2 + 2 * count || e < b || e > n)
            return -1;
        out[i].p = data + b;
        out[i].n = e - b;
    }
    return (int)count;
}

/* ---- Connection Manager ---------------------------------------------------- */

void ms_lgx_fo_put(ms_lgx_w *w, const ms_lgx_fo *fo)
{
    ms_lgx_req_put(w, fo->large ? MS_LGX_SVC_LARGE_FWD_OPEN
                                : MS_LGX_SVC_FWD_OPEN,
                   PATH_CM, sizeof PATH_CM, NULL, 0);
    ms_lgx_put8(w, 0x0A); /* priority/tick time */
    ms_lgx_put8(w, 0x05); /* timeout ticks */
    ms_lgx_put32(w, fo->ot_id);
    ms_lgx_put32(w, fo->to_id);
    ms_lgx_put16(w, fo->serial);
    ms_lgx_put16(w, fo->vendor);
    ms_lgx_put32(w, fo->orig_serial);
    ms_lgx_put32(w, 1); /* timeout multiplier x8, 3 reserved */
    for (int dir = 0; dir < 2; dir++) {
        ms_lgx_put32(w, fo->rpi_us);
        /* point to point, low priority, variable size */
        if (fo->large)
            ms_lgx_put32(w, 0x42000000u | fo->size);
        else
            ms_lgx_put16(w, (uint16_t)(0x4200u | (fo->size & 0x1FFu)));
    }
    ms_lgx_put8(w, 0xA3); /* class 3, application trigger, server */
    size_t plen = fo->route_len + sizeof PATH_MR;
    ms_lgx_put8(w, (uint8_t)(plen / 2));
    ms_lgx_put(w, fo->route, fo->route_len);
    ms_lgx_put(w, PATH_MR, sizeof PATH_MR);
}

int ms_lgx_fo_get(const ms_lgx_req *r, ms_lgx_fo *fo)
{
    memset(fo, 0, sizeof *fo);
    fo->large = r->service == MS_LGX_SVC_LARGE_FWD_OPEN;
    size_t ps = fo->large ? 4 : 2;
    const uint8_t *p = r->data;
    size_t need = 2 + 8 + 8 + 4 + 2 * (4 + ps) + 1 + 1;
    if (r->data_len < need)
        return -1;
    fo->ot_id = ms_lgx_u32(p + 2);
    fo->to_id = ms_lgx_u32(p + 6);
    fo->serial = ms_lgx_u16(p + 10);
    fo->vendor = ms_lgx_u16(p + 12);
    fo->orig_serial = ms_lgx_u32(p + 14);
    size_t off = 22;
    fo->rpi_us = ms_lgx_u32(p + off);
    uint32_t params = fo->large ? ms_lgx_u32(p + off + 4)
                                : ms_lgx_u16(p + off + 4);
    fo->size = (uint16_t)(fo->large ? params & 0xFFFF : params & 0x1FF);
    off += 2 * (4 + ps) + 1;
    size_t plen = (size_t)p[off] * 2;
    if (plen > r->data_len - off - 1)
        return -1;
    fo->route = p + off + 1;
    fo->route_len = plen;
    return 0;
}

void ms_lgx_fo_reply_put(ms_lgx_w *w, const ms_lgx_fo *fo)
{
    ms_lgx_put32(w, fo->ot_id);
    ms_lgx_put32(w, fo->to_id);
    ms_lgx_put16(w, fo->serial);
    ms_lgx_put16(w, fo->vendor);
    ms_lgx_put32(w, fo->orig_serial);
    ms_lgx_put32(w, fo->rpi_us); /* actual packet intervals */
    ms_lgx_put32(w, fo->rpi_us);
    ms_lgx_put8(w, 0);
    ms_lgx_put8(w, 0);
}

int ms_lgx_fo_reply_get(const uint8_t *p, size_t n, ms_lgx_fo *fo)
{
    if (n < 26)
        return -1;
    fo->ot_id = ms_lgx_u32(p);
    fo->to_id = ms_lgx_u32(p + 4);
    fo->serial = ms_lgx_u16(p + 8);
    fo->vendor = ms_lgx_u16(p + 10);
    fo->orig_serial = ms_lgx_u32(p + 12);
    return 0;
}

void ms_lgx_fc_put(ms_lgx_w *w, const ms_lgx_fo *fo)
{
    ms_lgx_req_put(w, MS_LGX_SVC_FWD_CLOSE, PATH_CM, sizeof PATH_CM, NULL,
                   0);
    ms_lgx_put8(w, 0x0A);
    ms_lgx_put8(w, 0x05);
    ms_lgx_put16(w, fo->serial);
    ms_lgx_put16(w, fo->vendor);
    ms_lgx_put32(w, fo->orig_serial);
    size_t plen = fo->route_len + sizeof PATH_MR;
    ms_lgx_put8(w, (uint8_t)(plen / 2));
    ms_lgx_put8(w, 0);
    ms_lgx_put(w, fo->route, fo->route_len);
    ms_lgx_put(w, PATH_MR, sizeof PATH_MR);
}

int ms_lgx_fc_get(const ms_lgx_req *r, ms_lgx_fo *fo)
{
    memset(fo, 0, sizeof *fo);
    if (r->data_len < 10)
        return -1;
    fo->serial = ms_lgx_u16(r->data + 2);
    fo->vendor = ms_lgx_u16(r->data + 4);
    fo->orig_serial = ms_lgx_u32(r->data + 6);
    return 0;
}

void ms_lgx_ucmm_put(ms_lgx_w *w, const uint8_t *msg, size_t len,
                     const uint8_t *route, size_t route_len)
{
    ms_lgx_req_put(w, MS_LGX_SVC_READ_FRAG, PATH_CM, sizeof PATH_CM, NULL,
                   0);
    ms_lgx_put8(w, 0x0A);
    ms_lgx_put8(w, 0x05);
    ms_lgx_put16(w, (uint16_t)len);
    ms_lgx_put(w, msg, len);
    if (len & 1)
        ms_lgx_put8(w, 0);
    ms_lgx_put8(w, (uint8_t)(route_len / 2));
    ms_lgx_put8(w, 0);
    ms_lgx_put(w, route, route_len);
}

int ms_lgx_ucmm_get(const ms_lgx_req *r, ms_lgx_slice *msg)
{
    if (r->data_len < 4)
        return -1;
    size_t len = ms_lgx_u16(r->data + 2);
    if (len > r->data_len - 4)
        return -1;
    msg->p = r->data + 4;
    msg->n = len;
    return 0;
}
