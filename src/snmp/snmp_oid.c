/* Numeric OID text, ordering and subtrees, OIDs kept at their size
 * (snmp_oid.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "snmp/snmp_oid.h"

int ms_snmp_oid_parse(const char *s, size_t len, ms_snmp_oid *out)
{
    size_t i = 0;
    out->n = 0;
    if (len > 0 && s[0] == '.')
        i = 1;
    if (i == len)
        return MS_EINVAL;
    while (i < len) {
        uint64_t v = 0;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (uint64_t)(s[i] - '0');
            if (v > UINT32_MAX)
                return MS_EINVAL;
            i++;
        }
        if (i == start || out->n == MS_SNMP_OID_MAX)
            return MS_EINVAL;
        out->sub[out->n++] = (uint32_t)v;
        if (i < len) {
            if (s[i] != '.' || i + 1 == len)
                return MS_EINVAL;
            i++;
        }
    }
    return out->n >= 2 ? 0 : MS_EINVAL;
}

ms_snmp_oidref ms_snmp_oid_ref(const ms_snmp_oid *o)
{
    return (ms_snmp_oidref){o->sub, o->n};
}

int ms_snmp_oidref_dup(ms_snmp_oidref o, ms_snmp_oidref *out)
{
    *out = (ms_snmp_oidref){NULL, 0};
    if (!o.n)
        return 0;
    uint32_t *sub = malloc(o.n * sizeof *sub);
    if (!sub)
        return MS_ENOMEM;
    memcpy(sub, o.sub, o.n * sizeof *sub);
    *out = (ms_snmp_oidref){sub, o.n};
    return 0;
}

void ms_snmp_oidref_free(ms_snmp_oidref *o)
{
    if (!o)
        return;
    free((void *)o->sub); /* a dup's: allocated here */
    *o = (ms_snmp_oidref){NULL, 0};
}

size_t ms_snmp_oidref_format(ms_snmp_oidref o, char *out, size_t cap)
{
    size_t pos = 0;
    if (cap)
        out[0] = 0;
    for (size_t i = 0; i < o.n; i++) {
        char part[16];
        int k = snprintf(part, sizeof part, i ? ".%u" : "%u",
                         (unsigned)o.sub[i]);
        if (cap && pos + 1 < cap) {
            size_t room = cap - 1 - pos;
            size_t c = (size_t)k < room ? (size_t)k : room;
            memcpy(out + pos, part, c);
            out[pos + c] = 0;
        }
        pos += (size_t)k;
    }
    return pos;
}

int ms_snmp_oidref_cmp(ms_snmp_oidref a, ms_snmp_oidref b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    for (size_t i = 0; i < n; i++)
        if (a.sub[i] != b.sub[i])
            return a.sub[i] < b.sub[i] ? -1 : 1;
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

bool ms_snmp_oidref_under(ms_snmp_oidref o, ms_snmp_oidref root)
{
    if (o.n <= root.n)
        return false;
    return !root.n || memcmp(o.sub, root.sub, root.n * sizeof o.sub[0]) == 0;
}

size_t ms_snmp_oid_format(const ms_snmp_oid *o, char *out, size_t cap)
{
    return ms_snmp_oidref_format(ms_snmp_oid_ref(o), out, cap);
}

int ms_snmp_oid_cmp(const ms_snmp_oid *a, const ms_snmp_oid *b)
{
    return ms_snmp_oidref_cmp(ms_snmp_oid_ref(a), ms_snmp_oid_ref(b));
}

bool ms_snmp_oid_under(const ms_snmp_oid *o, const ms_snmp_oid *root)
{
    return ms_snmp_oidref_under(ms_snmp_oid_ref(o), ms_snmp_oid_ref(root));
}
