/* Varbind values to tag values, and counter deltas and rates
 * (snmp_value.h). */
#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "snmp/snmp_value.h"

const char *ms_snmp_type_name(uint8_t type)
{
    switch (type) {
    case MS_SNMP_INTEGER: return "Integer32";
    case MS_SNMP_OCTETS: return "OctetString";
    case MS_SNMP_NULL: return "Null";
    case MS_SNMP_OBJID: return "ObjectIdentifier";
    case MS_SNMP_IPADDR: return "IpAddress";
    case MS_SNMP_COUNTER32: return "Counter32";
    case MS_SNMP_GAUGE32: return "Gauge32";
    case MS_SNMP_TIMETICKS: return "TimeTicks";
    case MS_SNMP_OPAQUE: return "Opaque";
    case MS_SNMP_COUNTER64: return "Counter64";
    case MS_SNMP_NOSUCHOBJECT: return "noSuchObject";
    case MS_SNMP_NOSUCHINSTANCE: return "noSuchInstance";
    case MS_SNMP_ENDOFMIBVIEW: return "endOfMibView";
    default: return "unknown type";
    }
}

bool ms_snmp_is_exception(uint8_t type)
{
    return type == MS_SNMP_NOSUCHOBJECT || type == MS_SNMP_NOSUCHINSTANCE ||
           type == MS_SNMP_ENDOFMIBVIEW;
}

bool ms_snmp_is_counter(uint8_t type)
{
    return type == MS_SNMP_COUNTER32 || type == MS_SNMP_COUNTER64;
}

static bool is_unsigned(uint8_t t)
{
    return t == MS_SNMP_COUNTER32 || t == MS_SNMP_GAUGE32 ||
           t == MS_SNMP_TIMETICKS || t == MS_SNMP_COUNTER64;
}

/* Text a person would read: UTF-8, no control characters but tab/CR/LF.
 * An agent pads many strings with a trailing NUL: that is text too. */
static bool is_text(const uint8_t *p, size_t len)
{
    if (len && p[len - 1] == 0)
        len--;
    if (!ms_utf8_valid(p, len))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') ||
            p[i] == 0x7f)
            return false;
    return true;
}

static int text_value(const char *buf, size_t n, size_t cap, ms_value *out)
{
    if (n >= cap)
        return MS_ETOOBIG;
    *out = ms_value_buf(MS_TYPE_STR, buf, n);
    return 0;
}

int ms_snmp_vb_to_value(const ms_snmp_vb *vb, ms_type want, char *buf,
                        size_t cap, ms_value *out)
{
    bool num = want == MS_TYPE_INT || want == MS_TYPE_FLOAT;
    if (vb->type == MS_SNMP_INTEGER || is_unsigned(vb->type)) {
        if (vb->type == MS_SNMP_INTEGER) {
            *out = want == MS_TYPE_FLOAT ? ms_value_float((double)vb->i)
                                         : ms_value_int(vb->i);
        } else if (want == MS_TYPE_FLOAT) {
            *out = ms_value_float((double)vb->u);
        } else {
            if (vb->u > (uint64_t)INT64_MAX)
                return MS_ERANGE;
            *out = ms_value_int((int64_t)vb->u);
        }
        if (num)
            return 0;
        if (want != MS_TYPE_STR)
            return MS_ETYPE;
        int k = vb->type == MS_SNMP_INTEGER
                    ? snprintf(buf, cap, "%lld", (long long)vb->i)
                    : snprintf(buf, cap, "%llu", (unsigned long long)vb->u);
        return text_value(buf, (size_t)k, cap, out);
    }
    if (num || want == MS_TYPE_JSON)
        return MS_ETYPE;
    switch (vb->type) {
    case MS_SNMP_OCTETS:
    case MS_SNMP_OPAQUE: {
        size_t len = vb->len;
        if (vb->type == MS_SNMP_OCTETS && is_text(vb->p, len)) {
            if (len && vb->p[len - 1] == 0)
                len--;
            *out = ms_value_buf(MS_TYPE_STR, vb->p, len);
            return 0;
        }
        if (want == MS_TYPE_BYTES || want == MS_TYPE_NONE) {
            *out = ms_value_buf(MS_TYPE_BYTES, vb->p, len);
            return 0;
        }
        /* A STR tag gets binary (a MAC address) as hex "00:1a:2b". */
        if (len * 3 > cap)
            return MS_ETOOBIG;
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
            n += (size_t)snprintf(buf + n, cap - n, i ? ":%02x" : "%02x",
                                  vb->p[i]);
        return text_value(buf, n, cap, out);
    }
    case MS_SNMP_IPADDR: {
        if (vb->len != 4)
            return MS_ETYPE;
        int k = snprintf(buf, cap, "%u.%u.%u.%u", vb->p[0], vb->p[1],
                         vb->p[2], vb->p[3]);
        return text_value(buf, (size_t)k, cap, out);
    }
    case MS_SNMP_OBJID:
        return text_value(buf, ms_snmp_oid_format(&vb->oid, buf, cap), cap,
                          out);
    default:
        return MS_ETYPE;
    }
}

void ms_snmp_counter_reset(ms_snmp_counter *c)
{
    c->primed = false;
}

ms_snmp_step ms_snmp_counter_step(ms_snmp_counter *c, const ms_snmp_vb *vb,
                                  uint64_t mono_us, int64_t *delta,
                                  double *rate)
{
    uint64_t v = vb->type == MS_SNMP_INTEGER ? (uint64_t)vb->i : vb->u;
    bool was = c->primed && c->type == vb->type;
    uint64_t last = c->last, last_us = c->last_us;
    c->primed = true;
    c->type = vb->type;
    c->last = v;
    c->last_us = mono_us;
    *delta = 0;
    *rate = 0;
    if (!was)
        return MS_SNMP_STEP_PRIMED;
    int64_t d;
    if (vb->type == MS_SNMP_COUNTER32) {
        uint32_t m = (uint32_t)v - (uint32_t)last; /* modular: wraps */
        if (m > UINT32_MAX / 2)
            return MS_SNMP_STEP_RESET;
        d = m;
    } else if (vb->type == MS_SNMP_COUNTER64) {
        uint64_t m = v - last;
        if (m > UINT64_MAX / 2)
            return MS_SNMP_STEP_RESET;
        d = (int64_t)m;
    } else if (vb->type == MS_SNMP_INTEGER) {
        d = (int64_t)v - (int64_t)last; /* both fit in 32 bits */
    } else {
        d = (int64_t)(v - last); /* gauges may fall */
    }
    *delta = d;
    if (mono_us > last_us)
        *rate = (double)d * 1e6 / (double)(mono_us - last_us);
    return MS_SNMP_STEP_DELTA;
}

int ms_snmp_vb_from_value(const ms_value *v, uint8_t type, uint8_t *buf,
                          ms_snmp_vb *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    bool num = v->type == MS_TYPE_INT || v->type == MS_TYPE_FLOAT;
    double f = v->type == MS_TYPE_FLOAT ? v->u.f : (double)v->u.i;
    switch (type) {
    case MS_SNMP_INTEGER:
        if (!num)
            return MS_ETYPE;
        if (v->type == MS_TYPE_FLOAT) {
            if (!(f >= INT32_MIN && f <= INT32_MAX))
                return MS_ERANGE;
            out->i = (int64_t)(f < 0 ? f - 0.5 : f + 0.5);
        } else {
            out->i = v->u.i;
        }
        return out->i < INT32_MIN || out->i > INT32_MAX ? MS_ERANGE : 0;
    case MS_SNMP_GAUGE32:
    case MS_SNMP_TIMETICKS:
    case MS_SNMP_COUNTER32:
    case MS_SNMP_COUNTER64: {
        if (!num)
            return MS_ETYPE;
        double max = type == MS_SNMP_COUNTER64 ? 18446744073709551615.0
                                               : 4294967295.0;
        if (v->type == MS_TYPE_FLOAT) {
            if (!(f >= 0 && f <= max))
                return MS_ERANGE;
            out->u = (uint64_t)(f + 0.5);
        } else {
            if (v->u.i < 0 || (type != MS_SNMP_COUNTER64 &&
                               v->u.i > (int64_t)UINT32_MAX))
                return MS_ERANGE;
            out->u = (uint64_t)v->u.i;
        }
        return 0;
    }
    case MS_SNMP_OCTETS:
        if (v->type != MS_TYPE_STR && v->type != MS_TYPE_BYTES)
            return MS_ETYPE;
        out->p = v->u.buf.ptr;
        out->len = v->u.buf.len;
        return 0;
    case MS_SNMP_IPADDR: {
        unsigned a[4];
        char text[20], end;
        if (v->type != MS_TYPE_STR || v->u.buf.len >= sizeof text)
            return MS_ETYPE;
        memcpy(text, v->u.buf.ptr, v->u.buf.len);
        text[v->u.buf.len] = 0;
        if (sscanf(text, "%u.%u.%u.%u%c", &a[0], &a[1], &a[2], &a[3],
                   &end) != 4 || a[0] > 255 || a[1] > 255 || a[2] > 255 ||
            a[3] > 255)
            return MS_ERANGE;
        for (int i = 0; i < 4; i++)
            buf[i] = (uint8_t)a[i];
        out->p = buf;
        out->len = 4;
        return 0;
    }
    case MS_SNMP_OBJID:
        if (v->type != MS_TYPE_STR)
            return MS_ETYPE;
        return ms_snmp_oid_parse((const char *)v->u.buf.ptr, v->u.buf.len,
                                 &out->oid) == 0 ? 0 : MS_ERANGE;
    default:
        return MS_ETYPE;
    }
}

uint8_t ms_snmp_type_parse(const char *s)
{
    static const struct {
        const char *name;
        uint8_t type;
    } names[] = {
        {"Integer32", MS_SNMP_INTEGER}, {"INTEGER", MS_SNMP_INTEGER},
        {"Unsigned32", MS_SNMP_GAUGE32}, {"Gauge32", MS_SNMP_GAUGE32},
        {"TimeTicks", MS_SNMP_TIMETICKS}, {"Counter32", MS_SNMP_COUNTER32},
        {"Counter64", MS_SNMP_COUNTER64}, {"OctetString", MS_SNMP_OCTETS},
        {"OCTET STRING", MS_SNMP_OCTETS}, {"IpAddress", MS_SNMP_IPADDR},
        {"OID", MS_SNMP_OBJID}, {"ObjectIdentifier", MS_SNMP_OBJID},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name))
            return names[i].type;
    return 0;
}

const char *ms_snmp_errstat_name(long e)
{
    static const char *const names[] = {
        "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr",
        "noAccess", "wrongType", "wrongLength", "wrongEncoding",
        "wrongValue", "noCreation", "inconsistentValue",
        "resourceUnavailable", "commitFailed", "undoFailed",
        "authorizationError", "notWritable", "inconsistentName"};
    if (e >= 0 && e < (long)(sizeof names / sizeof names[0]))
        return names[e];
    return "unknown error-status";
}
