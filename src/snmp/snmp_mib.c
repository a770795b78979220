/* MIB modules and folders for net-snmp, and OID names resolved through
 * them (snmp_mib.h). net-snmp reads its MIB search from the MIBS and
 * MIBDIRS variables in init_snmp: they are set here first, and put back
 * at teardown so that `mscada validate` can read another config's MIBs. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "snmp/snmp_mib.h"

static bool ready;
static bool saved;
static char *saved_mibs, *saved_dirs; /* the process's own, or NULL */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void env_put(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

bool ms_snmp_mib_ready(void)
{
    return ready;
}

void ms_snmp_mib_setup(const char *mibs, const char *mib_dirs)
{
    if (!saved) {
        saved_mibs = dup_or_null(getenv("MIBS"));
        saved_dirs = dup_or_null(getenv("MIBDIRS"));
        saved = true;
    }
    ready = true;
    /* No MIB unless asked: loading every MIB costs time and logs a
     * complaint for each missing one. */
    setenv("MIBS", mibs ? mibs : "", 1);
    if (mib_dirs && *mib_dirs) {
        /* The config's folders first, then where net-snmp would look. */
        const char *base = saved_dirs ? saved_dirs : NETSNMP_DEFAULT_MIBDIRS;
        const char *plus = "";
        if (*base == '+') { /* MIBDIRS=+DIR: DIR after the defaults */
            plus = base + 1;
            base = NETSNMP_DEFAULT_MIBDIRS;
        }
        size_t n = strlen(mib_dirs) + strlen(base) + strlen(plus) + 3;
        char *dirs = malloc(n);
        if (dirs)
            snprintf(dirs, n, "%s:%s%s%s", mib_dirs, base, *plus ? ":" : "",
                     plus);
        env_put("MIBDIRS", dirs ? dirs : mib_dirs);
        free(dirs);
    } else {
        env_put("MIBDIRS", saved_dirs);
    }
    /* "memTotalReal.0" without its module: searched in every MIB, as
     * snmpget -IR does. */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_RANDOM_ACCESS, 1);
}

void ms_snmp_mib_teardown(void)
{
    ready = false;
    env_put("MIBS", saved_mibs);
    env_put("MIBDIRS", saved_dirs);
}

/* The MIB modules read in (no_imports -1: known from a folder's index
 * but never read), each with the imports it could not find: a module whose
 * imports are missing (UCD-SNMP-MIB without SNMPv2-SMI) names nothing. */
static void loaded_modules(char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = 0;
    for (int i = 0; pos + 4 < cap; i++) {
        struct module *m = find_module(i);
        if (!m)
            break;
        if (m->no_imports < 0 || !m->name)
            continue;
        char lost[120] = "";
        size_t lp = 0;
        for (int k = 0, shown = 0; k < m->no_imports; k++) {
            const char *l = m->imports[k].label;
            /* The roots every module has without importing them. */
            if ((m->imports[k].modid >= 0 &&
                 find_module(m->imports[k].modid)) || !l ||
                !strcmp(l, "iso") || !strcmp(l, "ccitt") ||
                !strcmp(l, "joint-iso-ccitt"))
                continue;
            if (shown++ == 3) {
                lp += (size_t)snprintf(lost + lp, sizeof lost - lp, ", ...");
                break;
            }
            int k2 = snprintf(lost + lp, sizeof lost - lp, "%s%s",
                              lp ? ", " : "", l);
            lp = k2 < 0 ? lp : lp + (size_t)k2;
            if (lp >= sizeof lost)
                break;
        }
        int k = snprintf(out + pos, cap - pos, "%s%s%s%s%s", pos ? ", " : "",
                         m->name, *lost ? " (lacking its imports " : "",
                         lost, *lost ? ")" : "");
        if (k < 0 || (size_t)k >= cap - pos) {
            snprintf(out + cap - 4, 4, "...");
            return;
        }
        pos += (size_t)k;
    }
}

int ms_snmp_oid_resolve(const char *text, ms_snmp_oid *out, char *why,
                        size_t cap)
{
    if (ms_snmp_oid_parse(text, strlen(text), out) == 0)
        return 0;
    /* MODULE::name reads MODULE from the folders if mibs: didn't. */
    oid o[MAX_OID_LEN];
    size_t n = MAX_OID_LEN;
    if (ready && snmp_parse_oid(text, o, &n) && n >= 2 &&
        n <= MS_SNMP_OID_MAX) {
        for (size_t i = 0; i < n; i++)
            out->sub[i] = (uint32_t)o[i];
        out->n = n;
        return 0;
    }
    char mods[300], missing[200] = "";
    if (ready)
        loaded_modules(mods, sizeof mods);
    else
        mods[0] = 0;
    const char *sep = strstr(text, "::");
    if (ready && sep && sep > text) {
        char mod[128];
        snprintf(mod, sizeof mod, "%.*s", (int)(sep - text), text);
        if (which_module(mod) < 0)
            snprintf(missing, sizeof missing, "; no MIB module %s is in "
                     "those folders", mod);
    }
    if (!*mods)
        snprintf(why, cap, "not a numeric OID (like 1.3.6.1.2.1.1.3.0), "
                 "and no MIB is loaded to look names up (folders %s)%s: "
                 "name its module in mibs: and its folder in mib_dirs:",
                 ready ? netsnmp_get_mib_directory() : "none", missing);
    else
        snprintf(why, cap, "not a numeric OID, nor a name in the MIBs "
                 "loaded (%s; from %s)%s", mods,
                 netsnmp_get_mib_directory(), missing);
    return MS_EINVAL;
}
