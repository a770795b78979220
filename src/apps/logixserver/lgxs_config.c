/* logixserver.yaml (docs/logix.md, "logixserver"): bus_ip, bus_port, ip,
 * port, max_conns, timeout; `udts:` structure types ({Name: {member: TYPE}});
 * `plc:` the Logix tags served ({type, dims}); `tags:`
 * bus tags tied to elements ({type, addr}); `test:` faults for tests
 * (no_msp, no_large_forward_open, no_forward_open, refuse_forward_open: N,
 * in_use_forward_open: N). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/logixserver/lgxs_app.h"
#include "mscada/error.h"

static int load_plc_tag(ms_lgxs_config *cfg, const ms_conf_node *key,
                        const ms_conf_node *n, ms_conf_error *err)
{
    static const char *const known[] = {"type", "dims", NULL};
    const char *ts;
    if (ms_conf_want(n, MS_CONF_MAP, "a plc tag", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(n, known, "a plc tag");
    const ms_conf_node *tn = ms_conf_get(n, "type");
    if (!tn)
        return ms_conf_fail(err, n, "plc tag %s has no type", key->text);
    if (ms_conf_str(tn, "type", &ts, err) < 0)
        return MS_ECONFIG;
    uint16_t type = ms_lgx_type_code(ts, strlen(ts));
    long udt = type ? -1 : ms_lgx_db_find_udt(&cfg->db, ts);
    if (!type && udt < 0)
        return ms_conf_fail(err, tn, "unknown Logix type '%s' (BOOL, SINT, "
                            "INT, DINT, LINT, USINT, UINT, UDINT, ULINT, "
                            "REAL, LREAL, DWORD, STRING, or a name under "
                            "udts:)", ts);
    uint32_t dims[MS_LGX_DIMS] = {0};
    int nd = 0;
    const ms_conf_node *dn = ms_conf_get(n, "dims");
    if (dn) {
        if (dn->kind == MS_CONF_SCALAR) {
            int64_t d;
            if (ms_conf_int(dn, "dims", 1, 1000000, &d, err) < 0)
                return MS_ECONFIG;
            dims[nd++] = (uint32_t)d;
        } else {
            if (ms_conf_want(dn, MS_CONF_SEQ, "dims", err) < 0)
                return MS_ECONFIG;
            if (dn->n < 1 || dn->n > MS_LGX_DIMS)
                return ms_conf_fail(err, dn, "dims: 1 to 3 numbers");
            for (size_t i = 0; i < dn->n; i++) {
                int64_t d;
                if (ms_conf_int(dn->items[i], "a dimension", 1, 1000000, &d,
                                err) < 0)
                    return MS_ECONFIG;
                dims[nd++] = (uint32_t)d;
            }
        }
    }
    if ((udt >= 0 ? ms_lgx_db_add_struct(&cfg->db, key->text, (size_t)udt,
                                         dims, nd)
                  : ms_lgx_db_add(&cfg->db, key->text, type, dims, nd)) < 0)
        return ms_conf_fail(err, key, "plc tag '%s': a bad or repeated name, "
                            "or more than 1,000,000 elements", key->text);
    return 0;
}

/* A UDT: {member: TYPE} in order, atomic scalars other than BOOL. */
static int load_udt(ms_lgxs_config *cfg, const ms_conf_node *key,
                    const ms_conf_node *n, ms_conf_error *err)
{
    ms_lgx_member m[MS_LGX_UDT_MEMBERS];
    memset(m, 0, sizeof m);
    if (ms_conf_want(n, MS_CONF_MAP, "a udt", err) < 0)
        return MS_ECONFIG;
    if (n->n < 1 || n->n > MS_LGX_UDT_MEMBERS)
        return ms_conf_fail(err, n, "udt %s: 1 to %d members", key->text,
                            MS_LGX_UDT_MEMBERS);
    for (size_t i = 0; i < n->n; i++) {
        const char *ts;
        if (ms_conf_str(n->items[i], "a member type", &ts, err) < 0)
            return MS_ECONFIG;
        uint16_t type = ms_lgx_type_code(ts, strlen(ts));
        if (!type || type == MS_LGX_BOOL || type == MS_LGX_TYPE_STRUCT)
            return ms_conf_fail(err, n->items[i], "udt %s member %s: type "
                                "'%s': want SINT, INT, DINT, LINT, USINT, "
                                "UINT, UDINT, ULINT, REAL, LREAL or DWORD "
                                "(no BOOL: use a bit of a DINT)", key->text,
                                n->keys[i]->text, ts);
        snprintf(m[i].name, sizeof m[i].name, "%s", n->keys[i]->text);
        m[i].type = type;
    }
    if (ms_lgx_db_add_udt(&cfg->db, key->text, m, (int)n->n) < 0)
        return ms_conf_fail(err, key, "udt '%s': a bad or repeated name "
                            "(of the type or of a member)", key->text);
    return 0;
}

static int load_map(ms_lgxs_config *cfg, const ms_conf_node *key,
                    const ms_conf_node *n, ms_conf_error *err)
{
    static const char *const known[] = {"type", "addr", NULL};
    ms_lgxs_map *m = &cfg->maps[cfg->nmaps];
    const char *addr = NULL, *ts = "";
    if (ms_conf_want(n, MS_CONF_MAP, "a tag", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(n, known, "a tag");
    const ms_conf_node *an = ms_conf_get(n, "addr"), *tn = ms_conf_get(n,
                                                                    "type");
    if (!an)
        return ms_conf_fail(err, n, "tag %s has no addr", key->text);
    if (ms_conf_str(an, "addr", &addr, err) < 0 ||
        (tn && ms_conf_str(tn, "type", &ts, err) < 0))
        return MS_ECONFIG;
    ms_lgx_addr a;
    if (ms_lgx_addr_parse(addr, &a) < 0 || strchr(a.tag, '.') ||
        strchr(a.tag, '['))
        return ms_conf_fail(err, an, "addr '%s': want NAME, NAME[i], "
                            "NAME[i,j], NAME.bit or NAME[i].bit", addr);
    long t = ms_lgx_db_find(&cfg->db, a.tag, strlen(a.tag));
    if (t < 0)
        return ms_conf_fail(err, an, "addr '%s': no plc tag %s", addr, a.tag);
    const ms_lgx_dbtag *dt = &cfg->db.tags[t];
    if (dt->udt >= 0)
        return ms_conf_fail(err, an, "addr '%s': %s is a UDT; bus tags map "
                            "to atomic and STRING tags only", addr, a.tag);
    if (a.ndim != dt->ndim)
        return ms_conf_fail(err, an, "addr '%s': %s has %d dimension(s)",
                            addr, a.tag, dt->ndim);
    size_t flat = 0;
    for (int i = 0; i < a.ndim; i++) {
        if (a.idx[i] >= dt->dims[i])
            return ms_conf_fail(err, an, "addr '%s': index past the end",
                                addr);
        flat = flat * dt->dims[i] + a.idx[i];
    }
    if (a.bit >= 0 && (dt->type == MS_LGX_REAL || dt->type == MS_LGX_LREAL ||
                       dt->type == MS_LGX_TYPE_STRUCT ||
                       a.bit >= (int)dt->esize * 8))
        return ms_conf_fail(err, an, "addr '%s': no such bit", addr);
    m->name = strdup(key->text);
    if (!m->name)
        return ms_conf_fail(err, key, "out of memory");
    m->t = (size_t)t;
    m->elem = flat;
    m->bit = a.bit;
    if (dt->type == MS_LGX_TYPE_STRUCT)
        m->type = MS_TYPE_STR;
    else if (a.bit < 0 && (dt->type == MS_LGX_REAL ||
                           dt->type == MS_LGX_LREAL))
        m->type = MS_TYPE_FLOAT;
    else
        m->type = MS_TYPE_INT;
    (void)ts; /* the element's Logix type decides; type is for tags.yaml */
    cfg->nmaps++;
    return 0;
}

int ms_lgxs_config_from_conf(const ms_conf_node *root, ms_lgxs_config *cfg,
                             ms_conf_error *err)
{
    static const char *const known[] = {"bus_ip", "bus_port", "ip", "port",
                                        "max_conns", "timeout", "udts", "plc", "tags",
                                        "test",
                                        NULL};
    memset(cfg, 0, sizeof *cfg);
    ms_client_config_init(&cfg->bus);
    snprintf(cfg->bus.name, sizeof cfg->bus.name, "logixserver");
    snprintf(cfg->ip, sizeof cfg->ip, "0.0.0.0");
    cfg->port = MS_LGX_PORT;
    cfg->max_conns = 64;
    cfg->timeout = 30;
    if (ms_conf_want(root, MS_CONF_MAP, "the config", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(root, known, "logixserver config");
    const ms_conf_node *ip = ms_conf_get(root, "bus_ip");
    cfg->no_bus = ip && ip->kind == MS_CONF_SCALAR &&
                  (ip->null || (ip->quoted && ip->len == 0));
    if (!cfg->no_bus && ms_client_config_from_conf(&cfg->bus, root, err) < 0)
        return MS_ECONFIG;
    const ms_conf_node *n;
    const char *s;
    int64_t v;
    if ((n = ms_conf_get(root, "ip"))) {
        if (ms_conf_str(n, "ip", &s, err) < 0)
            return MS_ECONFIG;
        snprintf(cfg->ip, sizeof cfg->ip, "%s", s);
    }
    if ((n = ms_conf_get(root, "port"))) {
        if (ms_conf_int(n, "port", 0, 65535, &v, err) < 0)
            return MS_ECONFIG;
        cfg->port = (int)v;
    }
    if ((n = ms_conf_get(root, "max_conns"))) {
        if (ms_conf_int(n, "max_conns", 1, 100000, &v, err) < 0)
            return MS_ECONFIG;
        cfg->max_conns = (unsigned)v;
    }
    if ((n = ms_conf_get(root, "timeout"))) {
        if (ms_conf_double(n, "timeout", &cfg->timeout, err) < 0)
            return MS_ECONFIG;
        if (!(cfg->timeout >= 0.1 && cfg->timeout <= 86400))
            return ms_conf_fail(err, n, "timeout: seconds from 0.1 to 86400");
    }
    if ((n = ms_conf_get(root, "test"))) {
        const ms_conf_node *k;
        bool b;
        if (ms_conf_want(n, MS_CONF_MAP, "test", err) < 0)
            return MS_ECONFIG;
        if ((k = ms_conf_get(n, "no_msp"))) {
            if (ms_conf_bool(k, "no_msp", &b, err) < 0)
                return MS_ECONFIG;
            cfg->db.no_msp = b;
        }
        if ((k = ms_conf_get(n, "no_large_forward_open"))) {
            if (ms_conf_bool(k, "no_large_forward_open", &b, err) < 0)
                return MS_ECONFIG;
            cfg->db.no_large_fo = b;
        }
        if ((k = ms_conf_get(n, "no_forward_open"))) {
            if (ms_conf_bool(k, "no_forward_open", &b, err) < 0)
                return MS_ECONFIG;
            cfg->db.no_fo = b;
        }
        if ((k = ms_conf_get(n, "refuse_forward_open"))) {
            if (ms_conf_int(k, "refuse_forward_open", 0, 1000, &v, err) < 0)
                return MS_ECONFIG;
            cfg->db.refuse_fo = (unsigned)v;
        }
        if ((k = ms_conf_get(n, "in_use_forward_open"))) {
            if (ms_conf_int(k, "in_use_forward_open", 0, 3, &v, err) < 0)
                return MS_ECONFIG;
            cfg->db.in_use_fo = (unsigned)v;
        }
    }
    const ms_conf_node *udts = ms_conf_get(root, "udts");
    if (udts && !udts->null) {
        if (ms_conf_want(udts, MS_CONF_MAP, "udts", err) < 0)
            return MS_ECONFIG;
        for (size_t i = 0; i < udts->n; i++)
            if (load_udt(cfg, udts->keys[i], udts->items[i], err) < 0)
                return MS_ECONFIG;
    }
    const ms_conf_node *plc = ms_conf_get(root, "plc");
    if (!plc || ms_conf_want(plc, MS_CONF_MAP, "plc", err) < 0)
        return plc ? MS_ECONFIG
                   : ms_conf_fail(err, root, "no 'plc' tags to serve");
    for (size_t i = 0; i < plc->n; i++)
        if (load_plc_tag(cfg, plc->keys[i], plc->items[i], err) < 0)
            return MS_ECONFIG;
    const ms_conf_node *tags = ms_conf_get(root, "tags");
    if (!tags || tags->null)
        return 0;
    if (ms_conf_want(tags, MS_CONF_MAP, "tags", err) < 0)
        return MS_ECONFIG;
    cfg->maps = calloc(tags->n + 1, sizeof *cfg->maps);
    if (!cfg->maps)
        return ms_conf_fail(err, tags, "out of memory");
    for (size_t i = 0; i < tags->n; i++)
        if (load_map(cfg, tags->keys[i], tags->items[i], err) < 0)
            return MS_ECONFIG;
    return 0;
}

void ms_lgxs_config_free(ms_lgxs_config *cfg)
{
    for (size_t i = 0; i < cfg->nmaps; i++)
        free(cfg->maps[i].name);
    free(cfg->maps);
    ms_lgx_db_free(&cfg->db);
    memset(cfg, 0, sizeof *cfg);
}
