/* snmpclient's model (internal to libmscada): snmpclient.yaml read into
 * agents ("rtus", as pymscada calls them), their polled OIDs and walks,
 * and tags with read/write OIDs (docs/snmp.md). Pure: no I/O. */
#ifndef MS_APPS_SNMPC_CONFIG_H
#define MS_APPS_SNMPC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/client.h"
#include "mscada/conf.h"
#include "snmp/snmp_session.h"

/* What a tag publishes. */
typedef enum {
    MS_SNMPC_INT,     /* the value as an int */
    MS_SNMPC_FLOAT,
    MS_SNMPC_STR,
    MS_SNMPC_BYTES,
    MS_SNMPC_INT_ROC, /* pymscada's: delta per poll, first poll primes */
    MS_SNMPC_RATE     /* delta per second (FLOAT) */
} ms_snmpc_kind;

/* A `walk:` poll entry: every OID under root, each fed to the tag that
 * reads it or, with a tag template, to a tag made per index. */
typedef struct {
    ms_snmp_oid root;
    char *tag;            /* NULL, or a name with {index} (else _index) */
    ms_snmpc_kind kind;
} ms_snmpc_walk;

typedef struct {
    char name[MS_SNMP_NAME_MAX + 1];
    ms_snmp_session_config net;
    double rate;          /* poll period, seconds */
    unsigned max_oids;    /* varbinds per PDU */
    unsigned max_rep;     /* GETBULK max-repetitions of a walk */
    ms_snmp_oidref *get;  /* the polled OIDs, in config order (dups) */
    size_t nget;
    ms_snmpc_walk *walks;
    size_t nwalks;
} ms_snmpc_rtu;

typedef struct {
    char *name;
    ms_snmpc_kind kind;
    bool has_read, has_write;
    size_t rtu_r, rtu_w;
    ms_snmp_oidref read, write; /* dups; empty without has_* */
    uint8_t set_type;     /* the SNMP type a write is sent as */
} ms_snmpc_tag;

typedef struct {
    ms_client_config bus;
    char *mibs;           /* MIBS: modules joined by ':'; NULL: numeric
                           * OIDs only */
    char *mib_dirs;       /* folders joined by ':', searched first; NULL */
    ms_snmpc_rtu *rtus;
    size_t nrtus;
    ms_snmpc_tag *tags;
    size_t ntags;
} ms_snmpc_config;

/* Reads snmpclient.yaml's tree (pymscada's keys, and the new ones).
 * OIDs by name need the MIBs of `mibs:` (from `mib_dirs:`), loaded here
 * and resolved here: nothing is looked up once the loop runs. Returns 0,
 * MS_ECONFIG (err: file:line:col) or MS_ENOMEM. */
int ms_snmpc_config_from_conf(const ms_conf_node *root, ms_snmpc_config *cfg,
                              ms_conf_error *err);
void ms_snmpc_config_free(ms_snmpc_config *cfg);

/* The bus type a kind publishes. */
ms_type ms_snmpc_kind_type(ms_snmpc_kind k);
/* A walk's tag name for the index (the OID's part under its root). */
int ms_snmpc_walk_tag_name(const ms_snmpc_walk *w, const ms_snmp_oid *oid,
                           char *out, size_t cap);

#endif
