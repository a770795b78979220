/* One SNMP varbind's value as mscada holds it (pure, no net-snmp), its
 * conversion to a tag value, and counters turned into deltas and rates
 * (docs/snmp.md, "Types" and "Counters"). */
#ifndef MS_SNMP_VALUE_H
#define MS_SNMP_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/value.h"
#include "snmp/snmp_oid.h"

/* ASN.1 / SMI type tags, as on the wire (and as net-snmp's ASN_*). */
enum {
    MS_SNMP_INTEGER = 0x02,
    MS_SNMP_OCTETS = 0x04,
    MS_SNMP_NULL = 0x05,
    MS_SNMP_OBJID = 0x06,
    MS_SNMP_IPADDR = 0x40,
    MS_SNMP_COUNTER32 = 0x41,
    MS_SNMP_GAUGE32 = 0x42, /* also Unsigned32 */
    MS_SNMP_TIMETICKS = 0x43,
    MS_SNMP_OPAQUE = 0x44,
    MS_SNMP_COUNTER64 = 0x46,
    MS_SNMP_NOSUCHOBJECT = 0x80,
    MS_SNMP_NOSUCHINSTANCE = 0x81,
    MS_SNMP_ENDOFMIBVIEW = 0x82
};

/* A varbind: the OID and its value. INTEGER is in i; the unsigned types
 * (Counter32, Gauge32, TimeTicks, Counter64) in u; OCTETS, IPADDR and
 * OPAQUE in p/len (borrowed); OBJID in oid. */
typedef struct {
    ms_snmp_oid name;
    uint8_t type;
    int64_t i;
    uint64_t u;
    const uint8_t *p;
    size_t len;
    ms_snmp_oid oid;
} ms_snmp_vb;

/* The type's name as RFC 2578 spells it ("Counter64", "noSuchObject"). */
const char *ms_snmp_type_name(uint8_t type);
/* noSuchObject, noSuchInstance or endOfMibView. */
bool ms_snmp_is_exception(uint8_t type);
/* Counter32 or Counter64. */
bool ms_snmp_is_counter(uint8_t type);

/* Converts vb to the value a tag of bus type want holds: numbers to INT
 * or FLOAT (Counter64 above 2^63-1: MS_ERANGE); OCTETS to STR when it is
 * UTF-8 without control characters (tab, CR, LF allowed), else BYTES
 * (or STR in hex "0a:1b" when want is STR); IPADDR dotted, OBJID dotted,
 * both STR. Text goes to buf (cap bytes) and out points into it.
 * Returns 0, MS_ETYPE (a string to a number tag, an exception, NULL) or
 * MS_ERANGE. */
int ms_snmp_vb_to_value(const ms_snmp_vb *vb, ms_type want, char *buf,
                        size_t cap, ms_value *out);

/* A tag value to a varbind of type (for SET): INT or FLOAT (rounded) to
 * Integer32 (range-checked), Gauge32, TimeTicks, Counter32, Counter64;
 * STR or BYTES to OctetString; STR "a.b.c.d" to IpAddress (4 bytes into
 * buf) and STR "1.3.6..." to ObjectIdentifier. 0, MS_ETYPE or MS_ERANGE. */
int ms_snmp_vb_from_value(const ms_value *v, uint8_t type, uint8_t *buf,
                          ms_snmp_vb *out);
/* "Integer32", "Gauge32"... (also INTEGER, Unsigned32, OCTET STRING,
 * OctetString, IpAddress, OID) to the type tag; 0 when unknown. */
uint8_t ms_snmp_type_parse(const char *s);
/* The name of an error-status (RFC 3416): "tooBig", "noSuchName"... */
const char *ms_snmp_errstat_name(long errstat);

/* Counter state of one tag: int_roc (delta per poll, as pymscada) and
 * rate (per second). A wrap (Counter32 at 2^32, Counter64 at 2^64) is a
 * delta; an apparent step back of more than half the range, an agent
 * restart (sysUpTime going back) or a new type re-primes. */
typedef struct {
    bool primed;
    uint8_t type;
    uint64_t last;
    uint64_t last_us; /* monotonic time of the sample */
} ms_snmp_counter;

typedef enum {
    MS_SNMP_STEP_PRIMED = 0, /* first sample (or after a reset): nothing */
    MS_SNMP_STEP_DELTA = 1,  /* *delta and *rate hold a value */
    MS_SNMP_STEP_RESET = 2   /* a restart or impossible delta: re-primed */
} ms_snmp_step;

/* Feeds one sample of a numeric varbind (vb->type any number) taken at
 * mono_us. Counter32/Counter64 deltas are modular; other types' deltas
 * are plain differences. *rate is delta per second of mono time (0 when
 * no time passed). */
ms_snmp_step ms_snmp_counter_step(ms_snmp_counter *c, const ms_snmp_vb *vb,
                                  uint64_t mono_us, int64_t *delta,
                                  double *rate);
/* Forgets the last sample (the agent restarted). */
void ms_snmp_counter_reset(ms_snmp_counter *c);

#endif
