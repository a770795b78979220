/* Fuzz target for what snmpclient decodes itself: OID text
 * (ms_snmp_oid_parse, checked by a format/parse round trip) and varbind
 * values from the network to tag values (ms_snmp_vb_to_value).
 *
 * Input: byte 0 the SNMP type, byte 1 the tag type (mod 6), the rest the
 * value's bytes (also read as an OID text and, 8 at a time, as numbers).
 * Invariants are checked with abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snmp/snmp_oid.h"
#include "snmp/snmp_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t type = data[0];
    ms_type want = (ms_type)(data[1] % 6);
    const uint8_t *p = data + 2;
    size_t n = size - 2;

    ms_snmp_oid o, back;
    if (ms_snmp_oid_parse((const char *)p, n, &o) == 0) {
        char text[MS_SNMP_OID_TEXT];
        size_t len = ms_snmp_oid_format(&o, text, sizeof text);
        if (len >= sizeof text ||
            ms_snmp_oid_parse(text, len, &back) != 0 ||
            ms_snmp_oid_cmp(&o, &back) != 0)
            abort();
    }

    ms_snmp_vb vb;
    memset(&vb, 0, sizeof vb);
    vb.type = type;
    vb.p = p;
    vb.len = n;
    for (size_t i = 0; i < n && i < 8; i++)
        vb.u = vb.u << 8 | p[i];
    vb.i = (int64_t)vb.u;
    vb.oid.n = n / 4 < MS_SNMP_OID_MAX ? n / 4 : MS_SNMP_OID_MAX;
    for (size_t i = 0; i < vb.oid.n; i++)
        memcpy(&vb.oid.sub[i], p + 4 * i, 4);
    char buf[256];
    ms_value v;
    if (ms_snmp_vb_to_value(&vb, want, buf, sizeof buf, &v) == 0) {
        if (v.type == MS_TYPE_STR &&
            !ms_utf8_valid(v.u.buf.ptr, v.u.buf.len))
            abort();
        if ((v.type == MS_TYPE_STR || v.type == MS_TYPE_BYTES) &&
            v.u.buf.len > (n > sizeof buf ? n : sizeof buf))
            abort();
    }
    ms_snmp_counter c = {0};
    int64_t d;
    double r;
    ms_snmp_counter_step(&c, &vb, 0, &d, &r);
    ms_snmp_counter_step(&c, &vb, 1000, &d, &r);
    if (d != 0)
        abort(); /* the same sample twice is no change */
    return 0;
}
