/* Logix element bytes <-> bus values, for the client (polled values,
 * writes) and the server (mapped tags) alike. */
#include <math.h>
#include <string.h>

#include "logix/codec/lgx_codec.h"

int ms_lgx_to_value(uint16_t type, const uint8_t *p, size_t len, int bit,
                    ms_value *v)
{
    if (type == MS_LGX_TYPE_STRUCT) {
        if (len < 4 || bit >= 0)
            return -1;
        uint32_t n = ms_lgx_u32(p);
        if (n > len - 4)
            n = (uint32_t)(len - 4);
        *v = ms_value_buf(MS_TYPE_STR, p + 4, n);
        return 0;
    }
    unsigned size = ms_lgx_type_size(type);
    if (!size || len < size || bit >= (int)(size * 8))
        return -1;
    uint64_t u = size == 1 ? p[0] : size == 2 ? ms_lgx_u16(p)
             : size == 4 ? ms_lgx_u32(p) : ms_lgx_u64(p);
    if (bit >= 0) {
        *v = ms_value_int((int64_t)((u >> bit) & 1));
        return 0;
    }
    switch (type) {
    case MS_LGX_REAL: {
        float f;
        uint32_t w = (uint32_t)u;
        memcpy(&f, &w, 4);
        *v = ms_value_float(f);
        return 0;
    }
    case MS_LGX_LREAL: {
        double d;
        memcpy(&d, &u, 8);
        *v = ms_value_float(d);
        return 0;
    }
    case MS_LGX_BOOL: *v = ms_value_int(u ? 1 : 0); return 0;
    case MS_LGX_SINT: *v = ms_value_int((int8_t)u); return 0;
    case MS_LGX_INT: *v = ms_value_int((int16_t)u); return 0;
    case MS_LGX_DINT: *v = ms_value_int((int32_t)u); return 0;
    case MS_LGX_LINT:
    case MS_LGX_ULINT: /* past INT64_MAX: shown as negative (the bits) */
        *v = ms_value_int((int64_t)u);
        return 0;
    default: *v = ms_value_int((int64_t)u); return 0; /* unsigned */
    }
}

static int64_t clamp(int64_t x, int64_t lo, int64_t hi, bool *c)
{
    if (x < lo || x > hi)
        *c = true;
    return x < lo ? lo : x > hi ? hi : x;
}

int ms_lgx_from_value(uint16_t type, unsigned esize, const ms_value *v,
                      uint8_t *out, size_t cap, bool *clamped)
{
    *clamped = false;
    if (type == MS_LGX_TYPE_STRUCT) {
        if (esize < 4 || cap < esize ||
            (v->type != MS_TYPE_STR && v->type != MS_TYPE_BYTES))
            return -1;
        size_t n = v->u.buf.len;
        if (n > esize - 4) {
            n = esize - 4;
            *clamped = true;
        }
        memset(out, 0, esize);
        out[0] = (uint8_t)n;
        out[1] = (uint8_t)(n >> 8);
        memcpy(out + 4, v->u.buf.ptr, n);
        return (int)esize;
    }
    unsigned size = ms_lgx_type_size(type);
    if (!size || cap < size ||
        (v->type != MS_TYPE_INT && v->type != MS_TYPE_FLOAT))
        return -1;
    ms_lgx_w w;
    ms_lgx_w_init(&w, out, cap);
    if (type == MS_LGX_REAL || type == MS_LGX_LREAL) {
        double d = v->type == MS_TYPE_INT ? (double)v->u.i : v->u.f;
        if (type == MS_LGX_REAL) {
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            ms_lgx_put32(&w, u);
        } else {
            uint64_t u;
            memcpy(&u, &d, 8);
            ms_lgx_put64(&w, u);
        }
        return (int)size;
    }
    int64_t x;
    if (v->type == MS_TYPE_INT) {
        x = v->u.i;
    } else {
        double f = round(v->u.f);
        if (isnan(f))
            return -1;
        x = f >= 9.2e18 ? INT64_MAX : f <= -9.2e18 ? INT64_MIN : (int64_t)f;
    }
    switch (type) {
    case MS_LGX_BOOL: x = x ? 1 : 0; break;
    case MS_LGX_SINT: x = clamp(x, INT8_MIN, INT8_MAX, clamped); break;
    case MS_LGX_INT: x = clamp(x, INT16_MIN, INT16_MAX, clamped); break;
    case MS_LGX_DINT: x = clamp(x, INT32_MIN, INT32_MAX, clamped); break;
    case MS_LGX_USINT: x = clamp(x, 0, UINT8_MAX, clamped); break;
    case MS_LGX_UINT: x = clamp(x, 0, UINT16_MAX, clamped); break;
    case MS_LGX_UDINT:
    case MS_LGX_DWORD: x = clamp(x, 0, UINT32_MAX, clamped); break;
    default: break; /* LINT, ULINT: the 64 bits as they are */
    }
    uint64_t u = (uint64_t)x;
    for (unsigned i = 0; i < size; i++)
        ms_lgx_put8(&w, (uint8_t)(u >> (8 * i)));
    return (int)size;
}
