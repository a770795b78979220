/* The Sparkplug B payload codec: protobuf varints and length-delimited
 * fields by hand, for the subset spb_payload.h names. Nested messages are
 * written in place: 5 bytes are kept for the length, the body written,
 * then moved down behind its real varint length. */
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "mscada/error.h"
#include "sparkplug/codec/spb_payload.h"

/* Payload fields */
#define P_TIMESTAMP 1
#define P_METRICS 2
#define P_SEQ 3
/* Metric fields */
#define M_NAME 1
#define M_ALIAS 2
#define M_TIMESTAMP 3
#define M_DATATYPE 4
#define M_HISTORICAL 5
#define M_TRANSIENT 6
#define M_NULL 7
#define M_PROPERTIES 9
#define M_INT 10
#define M_LONG 11
#define M_FLOAT 12
#define M_DOUBLE 13
#define M_BOOL 14
#define M_STRING 15
#define M_BYTES 16
/* PropertySet / PropertyValue fields */
#define PS_KEYS 1
#define PS_VALUES 2
#define PV_TYPE 1
#define PV_NULL 2
#define PV_INT 3
#define PV_LONG 4
#define PV_FLOAT 5
#define PV_DOUBLE 6
#define PV_BOOL 7
#define PV_STRING 8

enum { WT_VARINT = 0, WT_64 = 1, WT_LEN = 2, WT_32 = 5 };

/* ---- writing ---------------------------------------------------------------- */

void ms_spb_buf_free(ms_spb_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static bool buf_room(ms_spb_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static size_t varint_put(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

static void put_varint(ms_spb_buf *b, uint64_t v)
{
    if (buf_room(b, 10))
        b->len += varint_put(b->p + b->len, v);
}

static void put_key(ms_spb_buf *b, unsigned field, unsigned wt)
{
    put_varint(b, (uint64_t)field << 3 | wt);
}

static void put_uint(ms_spb_buf *b, unsigned field, uint64_t v)
{
    put_key(b, field, WT_VARINT);
    put_varint(b, v);
}

static void put_fixed(ms_spb_buf *b, unsigned field, uint64_t v, int bytes)
{
    put_key(b, field, bytes == 8 ? WT_64 : WT_32);
    if (!buf_room(b, 8))
        return;
    for (int i = 0; i < bytes; i++)
        b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_double(ms_spb_buf *b, unsigned field, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_fixed(b, field, u, 8);
}

static void put_bytes(ms_spb_buf *b, unsigned field, const void *p,
                      size_t len)
{
    put_key(b, field, WT_LEN);
    put_varint(b, len);
    if (len && buf_room(b, len)) {
        memcpy(b->p + b->len, p, len);
        b->len += len;
    }
}

/* Starts a nested message: returns where its body begins. */
static size_t nest_open(ms_spb_buf *b, unsigned field)
{
    put_key(b, field, WT_LEN);
    if (!buf_room(b, 5))
        return b->len;
    b->len += 5;
    return b->len;
}

static void nest_close(ms_spb_buf *b, size_t body)
{
    if (b->failed)
        return;
    size_t n = b->len - body;
    uint8_t v[10];
    size_t k = varint_put(v, n);
    memmove(b->p + body - 5 + k, b->p + body, n);
    memcpy(b->p + body - 5, v, k);
    b->len = body - 5 + k + n;
}

static void put_prop_key(ms_spb_buf *b, const char *k)
{
    put_bytes(b, PS_KEYS, k, strlen(k));
}

static void put_properties(ms_spb_buf *b, const ms_spb_metric *m)
{
    if (!m->unit && !m->has_low && !m->has_high && !m->has_readonly)
        return;
    size_t ps = nest_open(b, M_PROPERTIES);
    if (m->unit)
        put_prop_key(b, "engUnit");
    if (m->has_low)
        put_prop_key(b, "engLow");
    if (m->has_high)
        put_prop_key(b, "engHigh");
    if (m->has_readonly)
        put_prop_key(b, "readOnly");
    size_t pv;
    if (m->unit) {
        pv = nest_open(b, PS_VALUES);
        put_uint(b, PV_TYPE, MS_SPB_STRING);
        put_bytes(b, PV_STRING, m->unit, m->unit_len);
        nest_close(b, pv);
    }
    if (m->has_low) {
        pv = nest_open(b, PS_VALUES);
        put_uint(b, PV_TYPE, MS_SPB_DOUBLE);
        put_double(b, PV_DOUBLE, m->low);
        nest_close(b, pv);
    }
    if (m->has_high) {
        pv = nest_open(b, PS_VALUES);
        put_uint(b, PV_TYPE, MS_SPB_DOUBLE);
        put_double(b, PV_DOUBLE, m->high);
        nest_close(b, pv);
    }
    if (m->has_readonly) {
        pv = nest_open(b, PS_VALUES);
        put_uint(b, PV_TYPE, MS_SPB_BOOLEAN);
        put_uint(b, PV_BOOL, m->readonly);
        nest_close(b, pv);
    }
    nest_close(b, ps);
}

static void put_metric(ms_spb_buf *b, const ms_spb_metric *m)
{
    size_t body = nest_open(b, P_METRICS);
    if (m->name)
        put_bytes(b, M_NAME, m->name, m->name_len);
    if (m->has_alias)
        put_uint(b, M_ALIAS, m->alias);
    if (m->has_time)
        put_uint(b, M_TIMESTAMP, m->time_ms);
    put_uint(b, M_DATATYPE, m->datatype);
    if (m->historical)
        put_uint(b, M_HISTORICAL, 1);
    if (m->transient)
        put_uint(b, M_TRANSIENT, 1);
    if (m->is_null)
        put_uint(b, M_NULL, 1);
    put_properties(b, m);
    if (!m->is_null) {
        switch (m->kind) {
        case MS_SPB_V_INT: put_uint(b, M_INT, (uint32_t)m->v.u); break;
        case MS_SPB_V_LONG: put_uint(b, M_LONG, m->v.u); break;
        case MS_SPB_V_FLOAT: {
            uint32_t u;
            memcpy(&u, &m->v.f, 4);
            put_fixed(b, M_FLOAT, u, 4);
            break;
        }
        case MS_SPB_V_DOUBLE: put_double(b, M_DOUBLE, m->v.d); break;
        case MS_SPB_V_BOOL: put_uint(b, M_BOOL, m->v.b); break;
        case MS_SPB_V_STRING:
            put_bytes(b, M_STRING, m->v.s.p, m->v.s.len);
            break;
        case MS_SPB_V_BYTES:
            put_bytes(b, M_BYTES, m->v.s.p, m->v.s.len);
            break;
        default: break;
        }
    }
    nest_close(b, body);
}

int ms_spb_encode(const ms_spb_payload *pl, ms_spb_buf *b)
{
    if (pl->has_time)
        put_uint(b, P_TIMESTAMP, pl->time_ms);
    for (size_t i = 0; i < pl->n; i++)
        put_metric(b, &pl->metrics[i]);
    if (pl->has_seq)
        put_uint(b, P_SEQ, pl->seq);
    return b->failed ? MS_ENOMEM : 0;
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} rd;

/* One field: its number, wire type and value (varint / fixed in u, a
 * length-delimited field's bytes in s/slen). */
typedef struct {
    unsigned field, wt;
    uint64_t u;
    const uint8_t *s;
    size_t slen;
} fld;

static int get_varint(rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end)
            return MS_EPROTO;
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1)
            return MS_EPROTO; /* past 64 bits */
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return MS_EPROTO;
}

/* The next field, or 1 at the end. */
static int get_field(rd *r, fld *f)
{
    if (r->p == r->end)
        return 1;
    uint64_t key;
    if (get_varint(r, &key) < 0 || key >> 32 || (key >> 3) == 0)
        return MS_EPROTO;
    f->field = (unsigned)(key >> 3);
    f->wt = (unsigned)(key & 7);
    f->u = 0;
    switch (f->wt) {
    case WT_VARINT: return get_varint(r, &f->u);
    case WT_64:
    case WT_32: {
        size_t n = f->wt == WT_64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return MS_EPROTO;
        for (size_t i = 0; i < n; i++)
            f->u |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 0;
    }
    case WT_LEN: {
        uint64_t n;
        if (get_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return MS_EPROTO;
        f->s = r->p;
        f->slen = (size_t)n;
        r->p += n;
        return 0;
    }
    default: return MS_EPROTO; /* groups (3, 4) and 6, 7 */
    }
}

/* A field of the expected wire type, or MS_EPROTO. */
#define WANT(f, w)                                                           \
    do {                                                                     \
        if ((f).wt != (w))                                                   \
            return MS_EPROTO;                                                \
    } while (0)

#define PROPS_MAX 32

typedef struct {
    const uint8_t *s;
    size_t len;
} span;

static int read_propvalue(span pv, ms_spb_metric *m, span key)
{
    rd r = {pv.s, pv.s + pv.len};
    fld f;
    int rc;
    bool has_d = false, has_b = false, has_s = false;
    double d = 0;
    bool b = false;
    span s = {0, 0};
    while ((rc = get_field(&r, &f)) == 0) {
        switch (f.field) {
        case PV_DOUBLE: WANT(f, WT_64); memcpy(&d, &f.u, 8); has_d = true;
            break;
        case PV_FLOAT: {
            WANT(f, WT_32);
            uint32_t u = (uint32_t)f.u;
            float x;
            memcpy(&x, &u, 4);
            d = x;
            has_d = true;
            break;
        }
        case PV_INT: WANT(f, WT_VARINT); d = (int32_t)(uint32_t)f.u;
            has_d = true; break;
        case PV_LONG: WANT(f, WT_VARINT); d = (double)(int64_t)f.u;
            has_d = true; break;
        case PV_BOOL: WANT(f, WT_VARINT); b = f.u != 0; has_b = true; break;
        case PV_STRING: WANT(f, WT_LEN); s.s = f.s; s.len = f.slen;
            has_s = true; break;
        default: break;
        }
    }
    if (rc < 0)
        return rc;
#define IS(k) (key.len == sizeof(k) - 1 && !memcmp(key.s, k, key.len))
    if (IS("engUnit") && has_s) {
        m->unit = (const char *)s.s;
        m->unit_len = s.len;
    } else if (IS("engLow") && has_d) {
        m->has_low = true;
        m->low = d;
    } else if (IS("engHigh") && has_d) {
        m->has_high = true;
        m->high = d;
    } else if (IS("readOnly") && has_b) {
        m->has_readonly = true;
        m->readonly = b;
    }
#undef IS
    return 0;
}

static int read_properties(const uint8_t *p, size_t len, ms_spb_metric *m)
{
    span keys[PROPS_MAX], vals[PROPS_MAX];
    size_t nk = 0, nv = 0;
    rd r = {p, p + len};
    fld f;
    int rc;
    while ((rc = get_field(&r, &f)) == 0) {
        if (f.field == PS_KEYS) {
            WANT(f, WT_LEN);
            if (nk < PROPS_MAX)
                keys[nk++] = (span){f.s, f.slen};
        } else if (f.field == PS_VALUES) {
            WANT(f, WT_LEN);
            if (nv < PROPS_MAX)
                vals[nv++] = (span){f.s, f.slen};
        }
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nk && i < nv; i++)
        if ((rc = read_propvalue(vals[i], m, keys[i])) < 0)
            return rc;
    return 0;
}

static int read_metric(const uint8_t *p, size_t len, ms_spb_metric *m)
{
    memset(m, 0, sizeof *m);
    rd r = {p, p + len};
    fld f;
    int rc;
    while ((rc = get_field(&r, &f)) == 0) {
        switch (f.field) {
        case M_NAME: WANT(f, WT_LEN);
            m->name = (const char *)f.s;
            m->name_len = f.slen;
            break;
        case M_ALIAS: WANT(f, WT_VARINT); m->has_alias = true;
            m->alias = f.u; break;
        case M_TIMESTAMP: WANT(f, WT_VARINT); m->has_time = true;
            m->time_ms = f.u; break;
        case M_DATATYPE: WANT(f, WT_VARINT);
            m->datatype = (uint32_t)f.u; break;
        case M_HISTORICAL: WANT(f, WT_VARINT); m->historical = f.u != 0;
            break;
        case M_TRANSIENT: WANT(f, WT_VARINT); m->transient = f.u != 0;
            break;
        case M_NULL: WANT(f, WT_VARINT); m->is_null = f.u != 0; break;
        case M_PROPERTIES: WANT(f, WT_LEN);
            if ((rc = read_properties(f.s, f.slen, m)) < 0)
                return rc;
            break;
        case M_INT: WANT(f, WT_VARINT); m->kind = MS_SPB_V_INT;
            m->v.u = (uint32_t)f.u; break;
        case M_LONG: WANT(f, WT_VARINT); m->kind = MS_SPB_V_LONG;
            m->v.u = f.u; break;
        case M_FLOAT: {
            WANT(f, WT_32);
            uint32_t u = (uint32_t)f.u;
            m->kind = MS_SPB_V_FLOAT;
            memcpy(&m->v.f, &u, 4);
            break;
        }
        case M_DOUBLE: WANT(f, WT_64); m->kind = MS_SPB_V_DOUBLE;
            memcpy(&m->v.d, &f.u, 8); break;
        case M_BOOL: WANT(f, WT_VARINT); m->kind = MS_SPB_V_BOOL;
            m->v.b = f.u != 0; break;
        case M_STRING:
        case M_BYTES: WANT(f, WT_LEN);
            m->kind = f.field == M_STRING ? MS_SPB_V_STRING : MS_SPB_V_BYTES;
            m->v.s.p = f.s;
            m->v.s.len = f.slen;
            break;
        case 17: case 18: case 19: /* DataSet, Template, extension */
            m->kind = MS_SPB_V_OTHER;
            break;
        default: break; /* metadata and unknown fields */
        }
    }
    return rc < 0 ? rc : 0;
}

void ms_spb_payload_free(ms_spb_payload *pl)
{
    free(pl->metrics);
    memset(pl, 0, sizeof *pl);
}

int ms_spb_decode(const uint8_t *p, size_t len, ms_spb_payload *out)
{
    memset(out, 0, sizeof *out);
    rd r = {p, p + len};
    fld f;
    size_t cap = 0;
    int rc;
    while ((rc = get_field(&r, &f)) == 0) {
        if (f.field == P_TIMESTAMP) {
            if (f.wt != WT_VARINT)
                goto bad;
            out->has_time = true;
            out->time_ms = f.u;
        } else if (f.field == P_SEQ) {
            if (f.wt != WT_VARINT)
                goto bad;
            out->has_seq = true;
            out->seq = f.u;
        } else if (f.field == P_METRICS) {
            if (f.wt != WT_LEN)
                goto bad;
            ms_spb_metric *m =
                ms_grow(out->metrics, out->n, &cap, sizeof *m, 16);
            if (!m) {
                ms_spb_payload_free(out);
                return MS_ENOMEM;
            }
            out->metrics = m;
            if (read_metric(f.s, f.slen, &out->metrics[out->n]) < 0)
                goto bad;
            out->n++;
        }
    }
    if (rc < 0)
        goto bad;
    return 0;
bad:
    ms_spb_payload_free(out);
    return MS_EPROTO;
}

/* ---- values ----------------------------------------------------------------- */

int ms_spb_metric_set_value(ms_spb_metric *m, const ms_value *v)
{
    m->is_null = false;
    switch (v->type) {
    case MS_TYPE_INT:
        m->datatype = MS_SPB_INT64;
        m->kind = MS_SPB_V_LONG;
        m->v.u = (uint64_t)v->u.i;
        return 0;
    case MS_TYPE_FLOAT:
        m->datatype = MS_SPB_DOUBLE;
        m->kind = MS_SPB_V_DOUBLE;
        m->v.d = v->u.f;
        return 0;
    case MS_TYPE_STR:
    case MS_TYPE_JSON:
    case MS_TYPE_BYTES:
        m->datatype = v->type == MS_TYPE_BYTES ? MS_SPB_BYTES : MS_SPB_STRING;
        m->kind = v->type == MS_TYPE_BYTES ? MS_SPB_V_BYTES : MS_SPB_V_STRING;
        m->v.s.p = v->u.buf.ptr;
        m->v.s.len = v->u.buf.len;
        return 0;
    default: return MS_ETYPE;
    }
}

int ms_spb_metric_set_as(ms_spb_metric *m, const ms_value *v,
                         uint32_t dt)
{
    ms_type want = ms_spb_datatype_bus_type(dt);
    m->is_null = false;
    if (want == MS_TYPE_STR || want == MS_TYPE_BYTES) {
        bool text = v->type == MS_TYPE_STR || v->type == MS_TYPE_JSON;
        if (want == MS_TYPE_STR ? !text : v->type != MS_TYPE_BYTES)
            return MS_ETYPE;
        m->datatype = dt;
        m->kind = want == MS_TYPE_STR ? MS_SPB_V_STRING : MS_SPB_V_BYTES;
        m->v.s.p = v->u.buf.ptr;
        m->v.s.len = v->u.buf.len;
        return 0;
    }
    if (v->type != MS_TYPE_INT && v->type != MS_TYPE_FLOAT)
        return MS_ETYPE;
    double d = v->type == MS_TYPE_INT ? (double)v->u.i : v->u.f;
    m->datatype = dt;
    if (want == MS_TYPE_FLOAT) {
        if (dt == MS_SPB_FLOAT) {
            m->kind = MS_SPB_V_FLOAT;
            m->v.f = (float)d;
        } else {
            m->kind = MS_SPB_V_DOUBLE;
            m->v.d = d;
        }
        return 0;
    }
    if (want != MS_TYPE_INT)
        return MS_ETYPE;
    if (v->type == MS_TYPE_FLOAT && d != (double)(int64_t)d)
        return MS_ETYPE; /* a fraction for an integer */
    int64_t i = v->type == MS_TYPE_INT ? v->u.i : (int64_t)d;
    static const int64_t lo[] = {0, INT8_MIN, INT16_MIN, INT32_MIN,
                                 INT64_MIN, 0, 0, 0, 0};
    static const int64_t hi[] = {0, INT8_MAX, INT16_MAX, INT32_MAX,
                                 INT64_MAX, UINT8_MAX, UINT16_MAX,
                                 UINT32_MAX, INT64_MAX};
    if (dt == MS_SPB_BOOLEAN) {
        m->kind = MS_SPB_V_BOOL;
        m->v.b = i != 0;
        return 0;
    }
    if (dt <= MS_SPB_UINT64 && (i < lo[dt] || i > hi[dt]))
        return MS_ERANGE;
    if (dt == MS_SPB_DATETIME && i < 0)
        return MS_ERANGE;
    bool wide = dt == MS_SPB_INT64 || dt == MS_SPB_UINT64 ||
                dt == MS_SPB_DATETIME;
    m->kind = wide ? MS_SPB_V_LONG : MS_SPB_V_INT;
    m->v.u = wide ? (uint64_t)i : (uint32_t)i;
    return 0;
}

ms_type ms_spb_datatype_bus_type(uint32_t dt)
{
    switch (dt) {
    case MS_SPB_INT8: case MS_SPB_INT16: case MS_SPB_INT32:
    case MS_SPB_INT64: case MS_SPB_UINT8: case MS_SPB_UINT16:
    case MS_SPB_UINT32: case MS_SPB_UINT64: case MS_SPB_BOOLEAN:
    case MS_SPB_DATETIME: return MS_TYPE_INT;
    case MS_SPB_FLOAT: case MS_SPB_DOUBLE: return MS_TYPE_FLOAT;
    case MS_SPB_STRING: case MS_SPB_TEXT: case MS_SPB_UUID:
        return MS_TYPE_STR;
    case MS_SPB_BYTES: case MS_SPB_FILE: return MS_TYPE_BYTES;
    default: return MS_TYPE_NONE;
    }
}

int ms_spb_metric_get_value(const ms_spb_metric *m, ms_value *out)
{
    if (m->is_null || m->kind == MS_SPB_V_NONE)
        return MS_ENOENT;
    ms_type t = ms_spb_datatype_bus_type(m->datatype);
    uint64_t u = m->v.u;
    switch (t) {
    case MS_TYPE_INT:
        if (m->datatype == MS_SPB_BOOLEAN) {
            if (m->kind != MS_SPB_V_BOOL)
                return MS_ETYPE;
            *out = ms_value_int(m->v.b);
            return 0;
        }
        if (m->kind != MS_SPB_V_INT && m->kind != MS_SPB_V_LONG)
            return MS_ETYPE;
        switch (m->datatype) {
        case MS_SPB_INT8: *out = ms_value_int((int8_t)(uint8_t)u); break;
        case MS_SPB_INT16: *out = ms_value_int((int16_t)(uint16_t)u); break;
        case MS_SPB_INT32: *out = ms_value_int((int32_t)(uint32_t)u); break;
        case MS_SPB_UINT8: *out = ms_value_int((uint8_t)u); break;
        case MS_SPB_UINT16: *out = ms_value_int((uint16_t)u); break;
        case MS_SPB_UINT32: *out = ms_value_int((uint32_t)u); break;
        case MS_SPB_INT64: *out = ms_value_int((int64_t)u); break;
        default: /* UInt64, DateTime */
            if (u > INT64_MAX)
                return MS_ERANGE;
            *out = ms_value_int((int64_t)u);
        }
        return 0;
    case MS_TYPE_FLOAT:
        if (m->kind == MS_SPB_V_FLOAT)
            *out = ms_value_float(m->v.f);
        else if (m->kind == MS_SPB_V_DOUBLE)
            *out = ms_value_float(m->v.d);
        else
            return MS_ETYPE;
        return 0;
    case MS_TYPE_STR:
    case MS_TYPE_BYTES:
        if (m->kind != (t == MS_TYPE_STR ? MS_SPB_V_STRING : MS_SPB_V_BYTES))
            return MS_ETYPE;
        *out = ms_value_buf(t, m->v.s.p, m->v.s.len);
        return 0;
    default: return MS_ETYPE;
    }
}

const char *ms_spb_datatype_name(uint32_t dt)
{
    static const char *const names[] = {
        "Unknown", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
        "UInt32", "UInt64", "Float", "Double", "Boolean", "String",
        "DateTime", "Text", "UUID", "DataSet", "Bytes", "File", "Template"};
    return dt < sizeof names / sizeof names[0] ? names[dt] : "Unknown";
}
