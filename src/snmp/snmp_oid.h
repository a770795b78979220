/* SNMP object identifiers as mscada holds them (pure, no net-snmp):
 * numeric text <-> sub-identifiers, ordering and subtree tests, and OIDs
 * kept at their own size. */
#ifndef MS_SNMP_OID_H
#define MS_SNMP_OID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_SNMP_OID_MAX 128 /* sub-identifiers, as net-snmp's MAX_OID_LEN */
/* Longest text form: 128 sub-ids of up to 10 digits and a dot each. */
#define MS_SNMP_OID_TEXT (MS_SNMP_OID_MAX * 11 + 1)

/* Room for the longest OID (520 bytes whatever its length): for one on
 * the stack or decoded from a PDU, not for thousands kept. */
typedef struct {
    uint32_t sub[MS_SNMP_OID_MAX];
    size_t n;
} ms_snmp_oid;

/* An OID by reference, n sub-ids at sub: what long-lived lists keep (an
 * ms_snmp_oidref_dup, sized to the OID: 16 bytes and ~64 for a 13-part
 * OID, against 520 for an ms_snmp_oid) and what requests take. */
typedef struct {
    const uint32_t *sub;
    size_t n;
} ms_snmp_oidref;

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

/* A view of o, valid while o is. */
ms_snmp_oidref ms_snmp_oid_ref(const ms_snmp_oid *o);
/* A copy of o's sub-ids in an allocation of their size (n 0: none), for
 * ms_snmp_oidref_free. 0 or MS_ENOMEM. */
int ms_snmp_oidref_dup(ms_snmp_oidref o, ms_snmp_oidref *out);
/* Frees a dup and empties o. NULL-safe. */
void ms_snmp_oidref_free(ms_snmp_oidref *o);
/* As ms_snmp_oid_cmp, ms_snmp_oid_format and ms_snmp_oid_under. */
int ms_snmp_oidref_cmp(ms_snmp_oidref a, ms_snmp_oidref b);
size_t ms_snmp_oidref_format(ms_snmp_oidref o, char *out, size_t cap);
bool ms_snmp_oidref_under(ms_snmp_oidref o, ms_snmp_oidref root);

#endif
