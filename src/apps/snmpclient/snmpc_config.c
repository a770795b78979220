/* snmpclient.yaml (docs/snmp.md): bus_ip, bus_port, mibs, mib_dirs, rtus
 * with their agent's address, version, community or SNMPv3 user, poll OIDs
 * and walks, and tags with read/write 'rtu:OID'. Every error names
 * file:line:column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv_conf.h"
#include "apps/snmpclient/snmpc_config.h"
#include "snmp/snmp_mib.h"
#include "mscada/error.h"
#include "mscada/log.h"

static int get_oid(const ms_conf_node *n, const char *what, const char *s,
                   ms_snmp_oid *o, ms_conf_error *err)
{
    char why[400];
    if (ms_snmp_oid_resolve(s, o, why, sizeof why) < 0)
        return ms_conf_fail(err, n, "%s: '%s' is %s", what, s, why);
    return 0;
}

/* get_oid, kept at its size. */
static int keep_oid(const ms_conf_node *n, const char *what, const char *s,
                    ms_snmp_oidref *o, ms_conf_error *err)
{
    ms_snmp_oid full;
    MS_TRY(get_oid(n, what, s, &full, err));
    return ms_snmp_oidref_dup(ms_snmp_oid_ref(&full), o);
}

/* A folder of mib_dirs: relative ones to the config file's folder. */
static int dir_path(const ms_conf_node *n, const char *s, char **out)
{
    const char *file = n->file ? n->file : "";
    const char *slash = strrchr(file, '/');
    int base = s[0] == '/' || !slash ? 0 : (int)(slash - file + 1);
    size_t len = (size_t)base + strlen(s) + 1;
    if (!(*out = malloc(len)))
        return MS_ENOMEM;
    snprintf(*out, len, "%.*s%s", base, file, s);
    return 0;
}

/* mibs: / mib_dirs: a text or a list of texts, joined by ':' as net-snmp's
 * MIBS and MIBDIRS are; '' for none. */
static int get_list(const ms_conf_node *n, const char *what, bool dirs,
                    char **out, ms_conf_error *err)
{
    const ms_conf_node *one = n;
    size_t count = n->kind == MS_CONF_SEQ ? n->n : 1;
    size_t len = 0, cap = 1;
    char *buf = calloc(1, cap);
    if (!buf)
        return MS_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        if (n->kind == MS_CONF_SEQ)
            one = n->items[i];
        const char *s;
        char *part = NULL;
        int rc = ms_conf_str(one, what, &s, err);
        /* One text for mibs: may be MIBS itself ("IF-MIB:UCD-SNMP-MIB",
         * "ALL"); a folder with ':' can't be told from two. */
        bool whole = !dirs && n->kind != MS_CONF_SEQ;
        if (rc == 0 && !whole && (strchr(s, ':') || (!*s && count > 1)))
            rc = ms_conf_fail(err, one, "%s: '%s' is not a %s; give several "
                              "as a list", what, s, dirs ? "folder"
                              : "MIB module name");
        if (rc == 0 && dirs && *s)
            rc = dir_path(one, s, &part);
        const char *add = part ? part : s;
        char *grown = rc == 0 ? realloc(buf, cap + strlen(add) + 1) : NULL;
        if (rc == 0 && !grown)
            rc = MS_ENOMEM;
        if (rc < 0) {
            free(part);
            free(buf);
            return rc;
        }
        buf = grown;
        cap += strlen(add) + 1;
        len += (size_t)sprintf(buf + len, "%s%s", len ? ":" : "", add);
        free(part);
    }
    *out = buf;
    return 0;
}

static int parse_kind(const ms_conf_node *n, ms_snmpc_kind *k,
                      ms_conf_error *err)
{
    static const char *const names[] = {"int", "float", "str", "bytes",
                                        "int_roc", "rate"};
    const char *s;
    MS_TRY(ms_conf_str(n, "type", &s, err));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i])) {
            *k = (ms_snmpc_kind)i;
            return 0;
        }
    return ms_conf_fail(err, n, "type must be int, float, str, bytes, "
                        "int_roc or rate (got '%s')", s);
}

static int parse_poll(const ms_conf_node *seq, ms_snmpc_rtu *r,
                      ms_conf_error *err)
{
    static const char *const known[] = {"walk", "tag", "type", NULL};
    MS_TRY(ms_conf_want(seq, MS_CONF_SEQ, "poll", err));
    size_t walks = 0;
    for (size_t i = 0; i < seq->n; i++)
        walks += seq->items[i]->kind == MS_CONF_MAP;
    r->get = calloc(seq->n - walks + 1, sizeof *r->get);
    r->walks = calloc(walks + 1, sizeof *r->walks);
    if (!r->get || !r->walks)
        return MS_ENOMEM;
    for (size_t i = 0; i < seq->n; i++) {
        const ms_conf_node *e = seq->items[i];
        const char *s;
        if (e->kind != MS_CONF_MAP) {
            MS_TRY(ms_conf_str(e, "a poll OID", &s, err));
            MS_TRY(keep_oid(e, "poll", s, &r->get[r->nget], err));
            r->nget++;
            continue;
        }
        ms_conf_warn_unknown(e, known, "a poll entry");
        const ms_conf_node *w = ms_conf_get(e, "walk");
        if (!w)
            return ms_conf_fail(err, e, "a poll entry is an OID or "
                                "{walk: OID, tag: NAME, type: TYPE}");
        ms_snmpc_walk *k = &r->walks[r->nwalks++];
        k->kind = MS_SNMPC_INT;
        MS_TRY(ms_conf_str(w, "walk", &s, err));
        MS_TRY(get_oid(w, "walk", s, &k->root, err));
        const ms_conf_node *n;
        if ((n = ms_conf_get(e, "tag"))) {
            MS_TRY(ms_conf_str(n, "tag", &s, err));
            if (!*s || strlen(s) > 200)
                return ms_conf_fail(err, n, "tag must be 1-200 bytes");
            if (!(k->tag = strdup(s)))
                return MS_ENOMEM;
        }
        if ((n = ms_conf_get(e, "type")))
            MS_TRY(parse_kind(n, &k->kind, err));
    }
    return 0;
}

static int parse_rtu(const ms_conf_node *m, ms_snmpc_rtu *r,
                     ms_conf_error *err)
{
    static const char *const known[] = {
        "name", "ip", "port", "community", "write_community", "rate",
        "poll", "version", "timeout", "retries", "max_oids_per_pdu",
        "max_repetitions", "user", "auth_protocol", "auth_password",
        "priv_protocol", "priv_password", "context", NULL};
    const ms_conf_node *n;
    const char *s;
    int64_t v;
    MS_TRY(ms_conf_want(m, MS_CONF_MAP, "an rtu", err));
    ms_conf_warn_unknown(m, known, "an rtu");
    ms_snmp_session_config_init(&r->net);
    r->rate = 1.0;
    r->max_oids = 32;
    r->max_rep = 20;
    MS_TRY(ms_drv_conf_rtu_name(m, MS_SNMP_NAME_MAX, &s, err));
    snprintf(r->name, sizeof r->name, "%s", s);
    snprintf(r->net.name, sizeof r->net.name, "%s", s);
    if (!(n = ms_conf_get(m, "ip")))
        return ms_conf_fail(err, m, "rtu %s needs an ip", r->name);
    MS_TRY(ms_drv_conf_str(m, "ip", r->net.host, sizeof r->net.host, err));
    if (!r->net.host[0])
        return ms_conf_fail(err, n, "ip must be an address or host name");
    if ((n = ms_conf_get(m, "port"))) {
        MS_TRY(ms_conf_int(n, "port", 1, 65535, &v, err));
        r->net.port = (int)v;
    }
    if ((n = ms_conf_get(m, "version"))) {
        /* 1, 2c or 3: YAML reads 1 and 3 as numbers, 2c as text. */
        MS_TRY(ms_conf_str(n, "version", &s, err));
        if (!strcmp(s, "1"))
            r->net.version = MS_SNMP_V1;
        else if (!strcmp(s, "2c") || !strcmp(s, "2"))
            r->net.version = MS_SNMP_V2C;
        else if (!strcmp(s, "3"))
            r->net.version = MS_SNMP_V3;
        else
            return ms_conf_fail(err, n, "version must be 1, 2c or 3");
    }
    MS_TRY(ms_drv_conf_str(m, "community", r->net.community,
                           sizeof r->net.community, err));
    MS_TRY(ms_drv_conf_str(m, "write_community", r->net.write_community,
                           sizeof r->net.write_community, err));
    if ((n = ms_conf_get(m, "rate"))) {
        MS_TRY(ms_conf_double(n, "rate", &r->rate, err));
        if (!(r->rate >= 0.01 && r->rate <= 86400))
            return ms_conf_fail(err, n, "rate must be from 0.01 to 86400 "
                                "seconds");
    }
    if ((n = ms_conf_get(m, "timeout"))) {
        MS_TRY(ms_conf_double(n, "timeout", &r->net.timeout, err));
        if (!(r->net.timeout >= 0.001 && r->net.timeout <= 3600))
            return ms_conf_fail(err, n, "timeout must be from 0.001 to "
                                "3600 seconds");
    }
    if ((n = ms_conf_get(m, "retries"))) {
        MS_TRY(ms_conf_int(n, "retries", 0, 100, &v, err));
        r->net.retries = (unsigned)v;
    }
    if ((n = ms_conf_get(m, "max_oids_per_pdu"))) {
        MS_TRY(ms_conf_int(n, "max_oids_per_pdu", 1, 1000, &v, err));
        r->max_oids = (unsigned)v;
    }
    if ((n = ms_conf_get(m, "max_repetitions"))) {
        MS_TRY(ms_conf_int(n, "max_repetitions", 1, 1000, &v, err));
        r->max_rep = (unsigned)v;
    }
    MS_TRY(ms_drv_conf_str(m, "user", r->net.user, sizeof r->net.user, err));
    MS_TRY(ms_drv_conf_str(m, "auth_password", r->net.auth_password,
                           sizeof r->net.auth_password, err));
    MS_TRY(ms_drv_conf_str(m, "priv_password", r->net.priv_password,
                           sizeof r->net.priv_password, err));
    MS_TRY(ms_drv_conf_str(m, "context", r->net.context,
                           sizeof r->net.context, err));
    if ((n = ms_conf_get(m, "auth_protocol"))) {
        MS_TRY(ms_conf_str(n, "auth_protocol", &s, err));
        if (ms_snmp_auth_parse(s, &r->net.auth) < 0)
            return ms_conf_fail(err, n, "auth_protocol must be MD5, SHA, "
                                "SHA-224, SHA-256, SHA-384 or SHA-512");
        if (strlen(r->net.auth_password) < 8)
            return ms_conf_fail(err, n, "auth_protocol needs an "
                                "auth_password of 8 characters or more");
    }
    if ((n = ms_conf_get(m, "priv_protocol"))) {
        MS_TRY(ms_conf_str(n, "priv_protocol", &s, err));
        if (ms_snmp_priv_parse(s, &r->net.priv) < 0)
            return ms_conf_fail(err, n, "priv_protocol must be AES or DES");
        if (r->net.auth == MS_SNMP_AUTH_NONE)
            return ms_conf_fail(err, n, "priv_protocol needs an "
                                "auth_protocol");
        if (strlen(r->net.priv_password) < 8)
            return ms_conf_fail(err, n, "priv_protocol needs a "
                                "priv_password of 8 characters or more");
    }
    if (r->net.version == MS_SNMP_V3 && !r->net.user[0])
        return ms_conf_fail(err, m, "version 3 needs a user");
    if ((n = ms_conf_get(m, "poll")))
        MS_TRY(parse_poll(n, r, err));
    return 0;
}

static int parse_addr(const ms_conf_node *rtus, const ms_conf_node *n,
                      const char *what, ms_snmp_oidref *o, size_t *rtu,
                      ms_conf_error *err)
{
    const char *s;
    MS_TRY(ms_conf_str(n, what, &s, err));
    const char *colon = strchr(s, ':');
    if (!colon)
        return ms_conf_fail(err, n, "%s must be 'rtu:OID'", what);
    MS_TRY(ms_drv_conf_rtu_find(rtus, n, what, s, (size_t)(colon - s), rtu,
                                err));
    return keep_oid(n, what, colon + 1, o, err);
}

static bool polled(const ms_snmpc_rtu *r, ms_snmp_oidref o)
{
    for (size_t i = 0; i < r->nget; i++)
        if (!ms_snmp_oidref_cmp(r->get[i], o))
            return true;
    for (size_t i = 0; i < r->nwalks; i++)
        if (ms_snmp_oidref_under(o, ms_snmp_oid_ref(&r->walks[i].root)))
            return true;
    return false;
}

static int parse_tag(ms_snmpc_config *cfg, const ms_conf_node *rtus,
                     const ms_conf_node *key, const ms_conf_node *m,
                     ms_snmpc_tag *t, ms_conf_error *err)
{
    static const char *const known[] = {"type", "read", "write",
                                        "snmp_type", "desc", NULL};
    const ms_conf_node *n;
    const char *s;
    MS_TRY(ms_conf_want(m, MS_CONF_MAP, "a tag", err));
    ms_conf_warn_unknown(m, known, "a tag");
    if (!(t->name = strdup(key->text)))
        return MS_ENOMEM;
    if (!*t->name || strlen(t->name) > 255)
        return ms_conf_fail(err, key, "a tag name must be 1-255 bytes");
    t->kind = MS_SNMPC_INT;
    if ((n = ms_conf_get(m, "type")))
        MS_TRY(parse_kind(n, &t->kind, err));
    const ms_conf_node *rd = ms_conf_get(m, "read");
    const ms_conf_node *wr = ms_conf_get(m, "write");
    if (!rd && !wr)
        return ms_conf_fail(err, m, "tag %s needs read, write or both",
                            t->name);
    if (rd) {
        MS_TRY(parse_addr(rtus, rd, "read", &t->read, &t->rtu_r, err));
        t->has_read = true;
        if (!polled(&cfg->rtus[t->rtu_r], t->read)) {
            char o[MS_SNMP_OID_TEXT];
            ms_snmp_oidref_format(t->read, o, sizeof o);
            ms_log_warn("%s:%d:%d: tag %s: %s is not in the poll list of "
                        "%s; it is not read", rd->file ? rd->file : "?",
                        rd->line, rd->col, t->name, o,
                        cfg->rtus[t->rtu_r].name);
        }
    }
    t->set_type = t->kind == MS_SNMPC_STR || t->kind == MS_SNMPC_BYTES
                      ? MS_SNMP_OCTETS : MS_SNMP_INTEGER;
    if ((n = ms_conf_get(m, "snmp_type"))) {
        MS_TRY(ms_conf_str(n, "snmp_type", &s, err));
        if (!(t->set_type = ms_snmp_type_parse(s)))
            return ms_conf_fail(err, n, "snmp_type must be Integer32, "
                                "Unsigned32, Gauge32, TimeTicks, Counter32, "
                                "Counter64, OctetString, IpAddress or OID");
    }
    if (wr) {
        if (t->kind == MS_SNMPC_INT_ROC || t->kind == MS_SNMPC_RATE)
            return ms_conf_fail(err, wr, "write: a %s tag can't be written",
                                t->kind == MS_SNMPC_RATE ? "rate"
                                                         : "int_roc");
        MS_TRY(parse_addr(rtus, wr, "write", &t->write, &t->rtu_w, err));
        t->has_write = true;
    }
    return 0;
}

int ms_snmpc_config_from_conf(const ms_conf_node *root, ms_snmpc_config *cfg,
                              ms_conf_error *err)
{
    static const char *const known[] = {"bus_ip", "bus_port", "rtus",
                                        "tags", "mibs", "mib_dirs", NULL};
    memset(cfg, 0, sizeof *cfg);
    MS_TRY(ms_drv_conf_open(root, known, "snmpclient", &cfg->bus, err));
    const ms_conf_node *n;
    if ((n = ms_conf_get(root, "mibs")))
        MS_TRY(get_list(n, "mibs", false, &cfg->mibs, err));
    if ((n = ms_conf_get(root, "mib_dirs")))
        MS_TRY(get_list(n, "mib_dirs", true, &cfg->mib_dirs, err));
    /* Names in OIDs resolve through these MIBs: loaded before the OIDs
     * are read, so that no name is looked up once the loop runs. */
    ms_snmp_lib_init(cfg->mibs, cfg->mib_dirs);
    const ms_conf_node *rtus, *tags;
    MS_TRY(ms_drv_conf_rtus(root, &rtus, err));
    cfg->rtus = calloc(rtus->n + 1, sizeof *cfg->rtus);
    if (!cfg->rtus)
        return MS_ENOMEM;
    for (size_t i = 0; i < rtus->n; i++) {
        cfg->nrtus++; /* counted first: a half-read rtu is freed too */
        MS_TRY(parse_rtu(rtus->items[i], &cfg->rtus[i], err));
        MS_TRY(ms_drv_conf_rtu_unique(rtus, i, err));
    }
    MS_TRY(ms_drv_conf_tags(root, &tags, err));
    if (tags) {
        cfg->tags = calloc(tags->n + 1, sizeof *cfg->tags);
        if (!cfg->tags)
            return MS_ENOMEM;
        for (size_t i = 0; i < tags->n; i++) {
            cfg->ntags++;
            MS_TRY(parse_tag(cfg, rtus, tags->keys[i], tags->items[i],
                             &cfg->tags[i], err));
        }
    }
    return 0;
}

void ms_snmpc_config_free(ms_snmpc_config *cfg)
{
    for (size_t i = 0; i < cfg->nrtus; i++) {
        ms_snmpc_rtu *r = &cfg->rtus[i];
        for (size_t k = 0; k < r->nwalks; k++)
            free(r->walks[k].tag);
        free(r->walks);
        for (size_t k = 0; k < r->nget; k++)
            ms_snmp_oidref_free(&r->get[k]);
        free(r->get);
    }
    free(cfg->rtus);
    for (size_t i = 0; i < cfg->ntags; i++) {
        free(cfg->tags[i].name);
        ms_snmp_oidref_free(&cfg->tags[i].read);
        ms_snmp_oidref_free(&cfg->tags[i].write);
    }
    free(cfg->tags);
    free(cfg->mibs);
    free(cfg->mib_dirs);
    memset(cfg, 0, sizeof *cfg);
}

ms_type ms_snmpc_kind_type(ms_snmpc_kind k)
{
    switch (k) {
    case MS_SNMPC_FLOAT:
    case MS_SNMPC_RATE: return MS_TYPE_FLOAT;
    case MS_SNMPC_STR: return MS_TYPE_STR;
    case MS_SNMPC_BYTES: return MS_TYPE_BYTES;
    default: return MS_TYPE_INT;
    }
}

int ms_snmpc_walk_tag_name(const ms_snmpc_walk *w, const ms_snmp_oid *oid,
                           char *out, size_t cap)
{
    if (!w->tag || !ms_snmp_oid_under(oid, &w->root))
        return MS_EINVAL;
    ms_snmp_oid idx;
    idx.n = oid->n - w->root.n;
    memcpy(idx.sub, oid->sub + w->root.n, idx.n * sizeof idx.sub[0]);
    char index[MS_SNMP_OID_TEXT];
    if (idx.n == 1)
        snprintf(index, sizeof index, "%u", (unsigned)idx.sub[0]);
    else
        ms_snmp_oid_format(&idx, index, sizeof index);
    const char *at = strstr(w->tag, "{index}");
    int k = at ? snprintf(out, cap, "%.*s%s%s", (int)(at - w->tag), w->tag,
                          index, at + 7)
               : snprintf(out, cap, "%s_%s", w->tag, index);
    return k > 0 && (size_t)k < cap && (size_t)k <= 255 ? 0 : MS_ETOOBIG;
}
