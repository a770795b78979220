/* The byte level of EtherNet/IP: the bounded writer, the 24-byte
 * encapsulation header and the Common Packet Format items around CIP
 * messages (SendRRData unconnected, SendUnitData connected). */
#include <string.h>

#include "logix/codec/lgx_codec.h"

void ms_lgx_put(ms_lgx_w *w, const void *src, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

void ms_lgx_put8(ms_lgx_w *w, uint8_t v)
{
    ms_lgx_put(w, &v, 1);
}

void ms_lgx_put16(ms_lgx_w *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    ms_lgx_put(w, b, 2);
}

void ms_lgx_put32(ms_lgx_w *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    ms_lgx_put(w, b, 4);
}

void ms_lgx_put64(ms_lgx_w *w, uint64_t v)
{
    ms_lgx_put32(w, (uint32_t)v);
    ms_lgx_put32(w, (uint32_t)(v >> 32));
}

void ms_lgx_patch16(ms_lgx_w *w, size_t off, uint16_t v)
{
    if (w->err || off + 2 > w->len)
        return;
    w->p[off] = (uint8_t)v;
    w->p[off + 1] = (uint8_t)(v >> 8);
}

long ms_lgx_frame_len(const uint8_t *p, size_t n)
{
    if (n < MS_LGX_HDR)
        return 0;
    size_t len = MS_LGX_HDR + (size_t)ms_lgx_u16(p + 2);
    if (len > MS_LGX_FRAME_MAX)
        return -1;
    return n >= len ? (long)len : 0;
}

void ms_lgx_encap_get(const uint8_t *p, ms_lgx_encap *h)
{
    h->command = ms_lgx_u16(p);
    h->length = ms_lgx_u16(p + 2);
    h->session = ms_lgx_u32(p + 4);
    h->status = ms_lgx_u32(p + 8);
    memcpy(h->context, p + 12, 8);
    h->options = ms_lgx_u32(p + 20);
}

void ms_lgx_encap_put(ms_lgx_w *w, const ms_lgx_encap *h)
{
    ms_lgx_put16(w, h->command);
    ms_lgx_put16(w, h->length);
    ms_lgx_put32(w, h->session);
    ms_lgx_put32(w, h->status);
    ms_lgx_put(w, h->context, 8);
    ms_lgx_put32(w, h->options);
}

int ms_lgx_cpf_get(const uint8_t *body, size_t n, ms_lgx_cpf *out)
{
    memset(out, 0, sizeof *out);
    if (n < 8)
        return -1;
    out->timeout = ms_lgx_u16(body + 4);
    unsigned count = ms_lgx_u16(body + 6);
    size_t off = 8;
    bool have_data = false, have_addr = false;
    for (unsigned i = 0; i < count; i++) {
        if (n - off < 4)
            return -1;
        uint16_t type = ms_lgx_u16(body + off);
        size_t len = ms_lgx_u16(body + off + 2);
        off += 4;
        if (len > n - off)
            return -1;
        const uint8_t *p = body + off;
        off += len;
        if (!have_addr && (type == MS_LGX_ITEM_NULL ||
                           type == MS_LGX_ITEM_CONN_ADDR)) {
            have_addr = true;
            out->addr_type = type;
            if (type == MS_LGX_ITEM_CONN_ADDR) {
                if (len != 4)
                    return -1;
                out->conn_id = ms_lgx_u32(p);
            } else if (len != 0) {
                return -1;
            }
        } else if (!have_data && type == MS_LGX_ITEM_CONN_DATA) {
            if (len < 2)
                return -1;
            have_data = true;
            out->data_type = type;
            out->seq = ms_lgx_u16(p);
            out->cip = p + 2;
            out->cip_len = len - 2;
        } else if (!have_data && (type == MS_LGX_ITEM_UNCONN_DATA ||
                                  type == MS_LGX_ITEM_IDENTITY)) {
            have_data = true;
            out->data_type = type;
            out->cip = p;
            out->cip_len = len;
        }
        /* other items (sockaddr info) are skipped */
    }
    return have_data && have_addr ? 0 : -1;
}

static size_t frame_end(ms_lgx_w *w)
{
    if (w->err || w->len - MS_LGX_HDR > 0xFFFF)
        return 0;
    ms_lgx_patch16(w, 2, (uint16_t)(w->len - MS_LGX_HDR));
    return w->len;
}

size_t ms_lgx_frame_rr(uint8_t *out, size_t cap, uint32_t session,
                       const uint8_t context[8], const uint8_t *cip,
                       size_t cip_len)
{
    ms_lgx_w w;
    ms_lgx_encap h = {.command = MS_LGX_SEND_RR, .session = session};
    if (context)
        memcpy(h.context, context, 8);
    ms_lgx_w_init(&w, out, cap);
    ms_lgx_encap_put(&w, &h);
    ms_lgx_put32(&w, 0);  /* interface handle: CIP */
    ms_lgx_put16(&w, 0);  /* timeout: the CIP layer's own */
    ms_lgx_put16(&w, 2);
    ms_lgx_put16(&w, MS_LGX_ITEM_NULL);
    ms_lgx_put16(&w, 0);
    ms_lgx_put16(&w, MS_LGX_ITEM_UNCONN_DATA);
    ms_lgx_put16(&w, (uint16_t)cip_len);
    ms_lgx_put(&w, cip, cip_len);
    return cip_len > 0xFFFF ? 0 : frame_end(&w);
}

size_t ms_lgx_frame_unit(uint8_t *out, size_t cap, uint32_t session,
                         uint32_t conn_id, uint16_t seq, const uint8_t *cip,
                         size_t cip_len)
{
    ms_lgx_w w;
    ms_lgx_encap h = {.command = MS_LGX_SEND_UNIT, .session = session};
    ms_lgx_w_init(&w, out, cap);
    ms_lgx_encap_put(&w, &h);
    ms_lgx_put32(&w, 0);
    ms_lgx_put16(&w, 0);
    ms_lgx_put16(&w, 2);
    ms_lgx_put16(&w, MS_LGX_ITEM_CONN_ADDR);
    ms_lgx_put16(&w, 4);
    ms_lgx_put32(&w, conn_id);
    ms_lgx_put16(&w, MS_LGX_ITEM_CONN_DATA);
    ms_lgx_put16(&w, (uint16_t)(cip_len + 2));
    ms_lgx_put16(&w, seq);
    ms_lgx_put(&w, cip, cip_len);
    return cip_len + 2 > 0xFFFF ? 0 : frame_end(&w);
}

size_t ms_lgx_frame_register(uint8_t *out, size_t cap, uint32_t session)
{
    ms_lgx_w w;
    ms_lgx_encap h = {.command = MS_LGX_REGISTER, .session = session};
    ms_lgx_w_init(&w, out, cap);
    ms_lgx_encap_put(&w, &h);
    ms_lgx_put16(&w, 1); /* protocol version */
    ms_lgx_put16(&w, 0); /* option flags */
    return frame_end(&w);
}
