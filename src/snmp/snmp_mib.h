/* MIBs for OIDs by name: which modules net-snmp loads and from which
 * folders (set up before init_snmp by ms_snmp_lib_init), and names turned
 * into numeric OIDs. Names are resolved while a config is read, never on
 * the loop: the MIB tree is not touched once sessions run. */
#ifndef MS_SNMP_MIB_H
#define MS_SNMP_MIB_H

#include <stdbool.h>
#include <stddef.h>

#include "snmp/snmp_oid.h"

/* A numeric OID, or a name from the MIBs loaded by ms_snmp_lib_init:
 * "UCD-SNMP-MIB::memTotalReal.0", or without the module ("memTotalReal.0",
 * searched in every MIB loaded). Returns 0, or MS_EINVAL with why (cap
 * bytes) saying what was searched: the MIBs loaded, the folders, and a
 * module named that none of them holds. */
int ms_snmp_oid_resolve(const char *text, ms_snmp_oid *out, char *why,
                        size_t cap);

/* For ms_snmp_lib_init / ms_snmp_lib_shutdown (snmp_session.c) only. */
bool ms_snmp_mib_ready(void);
void ms_snmp_mib_setup(const char *mibs, const char *mib_dirs);
void ms_snmp_mib_teardown(void);

#endif
