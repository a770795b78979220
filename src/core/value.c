/* Tag values <-> wire payloads (type byte + big-endian value). Pure. */
#include <string.h>

#include "mscada/error.h"
#include "mscada/value.h"

const char *ms_type_name(ms_type t)
{
    switch (t) {
    case MS_TYPE_NONE: return "none";
    case MS_TYPE_INT: return "int";
    case MS_TYPE_FLOAT: return "float";
    case MS_TYPE_STR: return "str";
    case MS_TYPE_BYTES: return "bytes";
    case MS_TYPE_JSON: return "json";
    }
    return NULL;
}

bool ms_type_fits(ms_type tag, ms_type v)
{
    return tag == MS_TYPE_NONE || v == MS_TYPE_NONE || v == tag ||
           (tag == MS_TYPE_FLOAT && v == MS_TYPE_INT);
}

size_t ms_value_wire_size(const ms_value *v)
{
    switch (v->type) {
    case MS_TYPE_NONE: return 0;
    case MS_TYPE_INT:
    case MS_TYPE_FLOAT: return 9;
    case MS_TYPE_STR:
    case MS_TYPE_BYTES:
    case MS_TYPE_JSON: return 1 + v->u.buf.len;
    }
    return 0;
}

long ms_value_encode(const ms_value *v, uint8_t *out, size_t cap)
{
    size_t n = ms_value_wire_size(v);
    if (ms_type_name(v->type) == NULL)
        return MS_ETYPE;
    if (n > cap)
        return MS_ETOOBIG;
    if (n == 0)
        return 0;
    out[0] = (uint8_t)v->type;
    switch (v->type) {
    case MS_TYPE_INT:
        ms_put_u64(out + 1, (uint64_t)v->u.i);
        break;
    case MS_TYPE_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->u.f, 8);
        ms_put_u64(out + 1, bits);
        break;
    }
    default:
        if (v->u.buf.len)
            memcpy(out + 1, v->u.buf.ptr, v->u.buf.len);
        break;
    }
    return (long)n;
}

int ms_value_decode(const uint8_t *buf, size_t len, ms_value *v)
{
    if (len == 0) {
        *v = ms_value_none();
        return 0;
    }
    ms_type t = (ms_type)buf[0];
    switch (t) {
    case MS_TYPE_INT:
    case MS_TYPE_FLOAT:
        if (len != 9)
            return MS_EPROTO;
        v->type = t;
        if (t == MS_TYPE_INT) {
            v->u.i = (int64_t)ms_get_u64(buf + 1);
        } else {
            uint64_t bits = ms_get_u64(buf + 1);
            memcpy(&v->u.f, &bits, 8);
        }
        return 0;
    case MS_TYPE_STR:
    case MS_TYPE_JSON:
        if (!ms_utf8_valid(buf + 1, len - 1))
            return MS_EPROTO;
        /* fall through */
    case MS_TYPE_BYTES:
        *v = ms_value_buf(t, buf + 1, len - 1);
        return 0;
    default:
        return MS_ETYPE;
    }
}

bool ms_value_same(const ms_value *a, const ms_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MS_TYPE_NONE: return true;
    case MS_TYPE_INT: return a->u.i == b->u.i;
    /* Bits, not ==: NaN != NaN and -0.0 == 0.0 under ==. */
    case MS_TYPE_FLOAT: return !memcmp(&a->u.f, &b->u.f, sizeof a->u.f);
    default:
        return a->u.buf.len == b->u.buf.len &&
               (!a->u.buf.len ||
                !memcmp(a->u.buf.ptr, b->u.buf.ptr, a->u.buf.len));
    }
}

bool ms_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Unicode white space and C1 controls: clients split LIST replies with
 * split() functions that treat these as separators. */
static bool cp_is_space(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0xA0) || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

bool ms_tag_name_valid(const uint8_t *name, size_t len)
{
    if (len == 0 || len > MS_TAG_NAME_MAX || !ms_utf8_valid(name, len))
        return false;
    for (size_t i = 0; i < len;) {
        uint8_t c = name[i];
        if (c < 0x80) {
            if (c <= 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        /* Valid UTF-8 (checked above): decode one code point. */
        size_t n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
        uint32_t cp = c & (0x3F >> n);
        for (size_t k = 1; k <= n; k++)
            cp = (cp << 6) | (name[i + k] & 0x3F);
        if (cp_is_space(cp))
            return false;
        i += n + 1;
    }
    return true;
}
