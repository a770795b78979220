/* SNMP object identifiers as mscada holds them (pure, no net-snmp):
 * numeric text <-> sub-identifiers, ordering and subtree tests. */
#ifndef MS_SNMP_OID_H
#define MS_SNMP_OID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_SNMP_OID_MAX 128 /* sub-identifiers, as net-snmp's MAX_OID_LEN */
/* Longest text form: 128 sub-ids of up to 10 digits and a dot each. */
#define MS_SNMP_OID_TEXT (MS_SNMP_OID_MAX * 11 + 1)

typedef struct {
    uint32_t sub[MS_SNMP_OID_MAX];
    size_t n;
} ms_snmp_oid;

/* Parses "1.3.6.1.2.1.1.3.0" (a leading dot allowed) of len bytes. At
 * least two sub-ids, each 0..4294967295. Returns 0 or MS_EINVAL. */
int ms_snmp_oid_parse(const char *s, size_t len, ms_snmp_oid *out);
/* Writes the dotted form without a leading dot; returns its length (cut
 * to cap-1 when cap is short, as snprintf). */
size_t ms_snmp_oid_format(const ms_snmp_oid *o, char *out, size_t cap);
/* <0, 0, >0 in lexicographic order (SNMP's order of a walk). */
int ms_snmp_oid_cmp(const ms_snmp_oid *a, const ms_snmp_oid *b);
/* o is below root (and longer than it). */
bool ms_snmp_oid_under(const ms_snmp_oid *o, const ms_snmp_oid *root);

#endif
