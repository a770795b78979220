/* logixclient.yaml (docs/logix.md): pymscada's keys unchanged (rtus with
 * name, ip (also ip/slot and ip/route), rate, poll; tags with type and
 * read/write `PLC:address`), and port, path, timeout, connection_size,
 * write_on_reconnect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/logixclient/lgxc_app.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define TRY(x) do { if ((x) < 0) return MS_ECONFIG; } while (0)

static const struct {
    const char *name;
    uint16_t code;
    ms_type bus;
} TAG_TYPES[] = {
    {"int8", MS_LGX_SINT, MS_TYPE_INT},    {"int16", MS_LGX_INT, MS_TYPE_INT},
    {"int32", MS_LGX_DINT, MS_TYPE_INT},   {"int64", MS_LGX_LINT, MS_TYPE_INT},
    {"uint8", MS_LGX_USINT, MS_TYPE_INT},  {"uint16", MS_LGX_UINT, MS_TYPE_INT},
    {"uint32", MS_LGX_UDINT, MS_TYPE_INT}, {"uint64", MS_LGX_ULINT, MS_TYPE_INT},
    {"float32", MS_LGX_REAL, MS_TYPE_FLOAT},
    {"float64", MS_LGX_LREAL, MS_TYPE_FLOAT},
    {"bool", MS_LGX_BOOL, MS_TYPE_INT},
    {"string", MS_LGX_TYPE_STRUCT, MS_TYPE_STR},
};

static int load_poll(ms_lgxc_poll *p, const ms_conf_node *n,
                     ms_conf_error *err)
{
    static const char *const known[] = {"addr", "type", "start", "end", NULL};
    const char *addr, *ts;
    TRY(ms_conf_want(n, MS_CONF_MAP, "a poll entry", err));
    ms_conf_warn_unknown(n, known, "a poll entry");
    const ms_conf_node *an = ms_conf_get(n, "addr"), *tn = ms_conf_get(n,
                                                                    "type");
    if (!an || !tn)
        return ms_conf_fail(err, n, "a poll entry needs addr and type");
    TRY(ms_conf_str(an, "addr", &addr, err));
    TRY(ms_conf_str(tn, "type", &ts, err));
    size_t tl = strlen(ts);
    p->array = tl > 2 && !strcmp(ts + tl - 2, "[]");
    if (p->array)
        tl -= 2;
    p->type = ms_lgx_type_code(ts, tl);
    if (!p->type)
        return ms_conf_fail(err, tn, "unknown Logix type '%s' (REAL, DINT, "
                            "INT, SINT, LINT, BOOL, USINT, UINT, UDINT, "
                            "ULINT, LREAL, DWORD, STRING; an array: "
                            "'REAL[]')", ts);
    p->esize = p->type == MS_LGX_TYPE_STRUCT ? 88 : ms_lgx_type_size(p->type);
    p->addr = strdup(addr);
    if (!p->addr)
        return ms_conf_fail(err, an, "out of memory");
    int64_t s = 0, e = 0;
    if (p->array) {
        const ms_conf_node *sn = ms_conf_get(n, "start"),
                           *en = ms_conf_get(n, "end");
        if (!sn || !en)
            return ms_conf_fail(err, n, "an array poll entry needs start "
                                "and end");
        TRY(ms_conf_int(sn, "start", 0, 0xFFFFFFFF, &s, err));
        TRY(ms_conf_int(en, "end", s, s + 65534, &e, err));
    }
    p->start = (uint32_t)s;
    p->end = (uint32_t)e;
    p->count = (uint16_t)(e - s + 1);
    uint32_t idx = p->start;
    int pl = ms_lgx_path_tag_at(addr, &idx, p->array ? 1 : 0, p->path,
                                sizeof p->path);
    if (pl < 0)
        return ms_conf_fail(err, an, "addr '%s' is no Logix tag address "
                            "(name, name[i,j], a.b[2].c, Program:P.x)", addr);
    p->path_len = (size_t)pl;
    p->vals = calloc(p->count, p->esize);
    if (!p->vals)
        return ms_conf_fail(err, n, "out of memory");
    return 0;
}

static int load_rtu(ms_lgxc_rtu *r, const ms_conf_node *n,
                    ms_conf_error *err)
{
    static const char *const known[] = {
        "name", "ip", "port", "path", "rate", "timeout", "connection_size",
        "write_on_reconnect", "poll", NULL};
    const char *s;
    int64_t v;
    const ms_conf_node *k;
    TRY(ms_conf_want(n, MS_CONF_MAP, "an rtu", err));
    ms_conf_warn_unknown(n, known, "an rtu");
    if (!(k = ms_conf_get(n, "name")))
        return ms_conf_fail(err, n, "an rtu needs a name");
    TRY(ms_conf_str(k, "name", &s, err));
    if (!*s || strlen(s) >= sizeof r->name || strchr(s, ':'))
        return ms_conf_fail(err, k, "rtu name '%s': 1 to 63 characters, "
                            "no ':'", s);
    snprintf(r->name, sizeof r->name, "%s", s);
    if (!(k = ms_conf_get(n, "ip")))
        return ms_conf_fail(err, n, "rtu %s needs an ip", r->name);
    TRY(ms_conf_str(k, "ip", &s, err));
    /* ip, ip/slot or ip/route (pycomm3's forms) */
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (!hl || hl >= sizeof r->host)
        return ms_conf_fail(err, k, "ip '%s': no host", s);
    memcpy(r->host, s, hl);
    r->host[hl] = 0;
    char route[128] = "1,0";
    if (slash) {
        const char *rest = slash + 1;
        if (!strchr(rest, '/') && !strchr(rest, ','))
            snprintf(route, sizeof route, "1,%s", rest); /* ip/slot */
        else
            snprintf(route, sizeof route, "%s", rest);
    }
    if ((k = ms_conf_get(n, "path"))) {
        TRY(ms_conf_str(k, "path", &s, err));
        snprintf(route, sizeof route, "%s", s);
    }
    int rl = ms_lgx_route_encode(route, r->route, sizeof r->route);
    if (rl < 0)
        return ms_conf_fail(err, k ? k : n, "route '%s': want pairs of port "
                            "and link address, e.g. '1,0' (backplane, slot "
                            "0), 'bp/2/enet/10.0.0.9/bp/0', or '' (Micro800)",
                            route);
    r->route_len = (size_t)rl;
    r->port = MS_LGX_PORT;
    if ((k = ms_conf_get(n, "port"))) {
        TRY(ms_conf_int(k, "port", 1, 65535, &v, err));
        r->port = (int)v;
    }
    r->rate = 1;
    if ((k = ms_conf_get(n, "rate"))) {
        TRY(ms_conf_double(k, "rate", &r->rate, err));
        if (!(r->rate >= 0.001 && r->rate <= 86400))
            return ms_conf_fail(err, k, "rate: seconds from 0.001 to 86400");
    }
    r->timeout = 2;
    if ((k = ms_conf_get(n, "timeout"))) {
        TRY(ms_conf_double(k, "timeout", &r->timeout, err));
        if (!(r->timeout >= 0.01 && r->timeout <= 600))
            return ms_conf_fail(err, k, "timeout: seconds from 0.01 to 600");
    }
    if ((k = ms_conf_get(n, "connection_size"))) {
        TRY(ms_conf_int(k, "connection_size", 0, 4002, &v, err));
        if (v && v < 100)
            return ms_conf_fail(err, k, "connection_size: 0 (auto) or 100 "
                                "to 4002 bytes");
        r->conn_size = (unsigned)v;
    }
    if ((k = ms_conf_get(n, "write_on_reconnect")))
        TRY(ms_conf_bool(k, "write_on_reconnect", &r->write_on_reconnect,
                         err));
    const ms_conf_node *poll = ms_conf_get(n, "poll");
    if (!poll || poll->null)
        return 0;
    TRY(ms_conf_want(poll, MS_CONF_SEQ, "poll", err));
    r->poll = calloc(poll->n + 1, sizeof *r->poll);
    if (!r->poll)
        return ms_conf_fail(err, poll, "out of memory");
    for (size_t i = 0; i < poll->n; i++) {
        r->npoll = i + 1;
        TRY(load_poll(&r->poll[i], poll->items[i], err));
    }
    return 0;
}

/* The poll entry holding a (and its element offset), or -1. */
static long find_poll(const ms_lgxc_rtu *r, const ms_lgx_addr *a,
                      const char *whole, size_t *off)
{
    for (size_t i = 0; i < r->npoll; i++) {
        const ms_lgxc_poll *p = &r->poll[i];
        if (p->array) {
            if (a->ndim == 1 && !strcasecmp(p->addr, a->tag) &&
                a->idx[0] >= p->start && a->idx[0] <= p->end) {
                *off = a->idx[0] - p->start;
                return (long)i;
            }
        } else if (!strcasecmp(p->addr, whole)) {
            *off = 0;
            return (long)i;
        }
    }
    return -1;
}

/* "PLC:address" -> rtu index, parsed address, the address without bit. */
static int split_addr(const ms_lgxc_config *cfg, const ms_conf_node *n,
                      const char *what, size_t *rtu, ms_lgx_addr *a,
                      char *whole, size_t cap, ms_conf_error *err)
{
    const char *s;
    TRY(ms_conf_str(n, what, &s, err));
    const char *colon = strchr(s, ':');
    if (!colon)
        return ms_conf_fail(err, n, "%s '%s': want PLC:address", what, s);
    size_t nl = (size_t)(colon - s);
    size_t i;
    for (i = 0; i < cfg->nrtus; i++)
        if (strlen(cfg->rtus[i].name) == nl &&
            !strncmp(cfg->rtus[i].name, s, nl))
            break;
    if (i == cfg->nrtus)
        return ms_conf_fail(err, n, "%s '%s': no rtu named '%.*s'", what, s,
                            (int)nl, s);
    *rtu = i;
    if (ms_lgx_addr_parse(colon + 1, a) < 0)
        return ms_conf_fail(err, n, "%s '%s': not a Logix address (var, "
                            "var[i], var[i,j], var.bit, a.b[2].c, "
                            "Program:P.x)", what, s);
    snprintf(whole, cap, "%s", colon + 1);
    if (a->bit >= 0)
        *strrchr(whole, '.') = 0;
    return 0;
}

static int load_tag(ms_lgxc_config *cfg, ms_lgxc_tag *t,
                    const ms_conf_node *key, const ms_conf_node *n,
                    ms_conf_error *err)
{
    static const char *const known[] = {"type", "read", "write", NULL};
    const char *ts = "float32";
    TRY(ms_conf_want(n, MS_CONF_MAP, "a tag", err));
    ms_conf_warn_unknown(n, known, "a tag");
    const ms_conf_node *k;
    if ((k = ms_conf_get(n, "type")))
        TRY(ms_conf_str(k, "type", &ts, err));
    size_t ti;
    for (ti = 0; ti < sizeof TAG_TYPES / sizeof *TAG_TYPES; ti++)
        if (!strcmp(TAG_TYPES[ti].name, ts))
            break;
    if (ti == sizeof TAG_TYPES / sizeof *TAG_TYPES)
        return ms_conf_fail(err, k, "tag type '%s': int8, int16, int32, "
                            "int64, uint8, uint16, uint32, uint64, float32, "
                            "float64, bool or string", ts);
    t->name = strdup(key->text);
    if (!t->name)
        return ms_conf_fail(err, key, "out of memory");
    t->bus = TAG_TYPES[ti].bus;
    t->poll = -1;
    t->bit = t->wbit = -1;
    ms_lgx_addr a;
    char whole[128];
    if ((k = ms_conf_get(n, "read"))) {
        t->has_read = true;
        TRY(split_addr(cfg, k, "read", &t->rtu_r, &a, whole, sizeof whole,
                       err));
        t->poll = find_poll(&cfg->rtus[t->rtu_r], &a, whole, &t->off);
        t->bit = a.bit;
        if (t->poll < 0)
            ms_log_warn("%s:%d:%d: tag %s: read '%s' is in no poll entry of "
                        "%s; it is not read", k->file, k->line, k->col,
                        t->name, k->text, cfg->rtus[t->rtu_r].name);
        else if (cfg->rtus[t->rtu_r].poll[t->poll].type ==
                     MS_LGX_TYPE_STRUCT && t->bus != MS_TYPE_STR)
            return ms_conf_fail(err, k, "tag %s reads a STRING: give it "
                                "type string", t->name);
    }
    if ((k = ms_conf_get(n, "write"))) {
        t->has_write = true;
        TRY(split_addr(cfg, k, "write", &t->rtu_w, &a, whole, sizeof whole,
                       err));
        size_t off;
        long p = find_poll(&cfg->rtus[t->rtu_w], &a, whole, &off);
        t->wbit = a.bit;
        /* the element's type: its poll entry's, else the tag's (a bit
         * of a word not polled: DINT, as pymscada's PLCs have) */
        t->wtype = p >= 0 ? cfg->rtus[t->rtu_w].poll[p].type
                   : a.bit >= 0 ? MS_LGX_DINT : TAG_TYPES[ti].code;
        t->wsize = t->wtype == MS_LGX_TYPE_STRUCT ? 88
                                                  : ms_lgx_type_size(t->wtype);
        if (a.bit >= 0 && (t->wtype == MS_LGX_REAL ||
                           t->wtype == MS_LGX_LREAL ||
                           t->wtype == MS_LGX_TYPE_STRUCT ||
                           a.bit >= (int)t->wsize * 8))
            return ms_conf_fail(err, k, "write '%s': no bit %d in a %s",
                                k->text, a.bit,
                                ms_lgx_type_name(t->wtype));
        int pl = ms_lgx_path_tag_at(a.tag, a.idx, a.ndim, t->wpath,
                                    sizeof t->wpath);
        if (pl < 0)
            return ms_conf_fail(err, k, "write '%s': path too long",
                                k->text);
        t->wpath_len = (size_t)pl;
    }
    return 0;
}

int ms_lgxc_config_from_conf(const ms_conf_node *root, ms_lgxc_config *cfg,
                             ms_conf_error *err)
{
    static const char *const known[] = {"bus_ip", "bus_port", "rtus", "tags",
                                        NULL};
    memset(cfg, 0, sizeof *cfg);
    ms_client_config_init(&cfg->bus);
    snprintf(cfg->bus.name, sizeof cfg->bus.name, "logixclient");
    TRY(ms_conf_want(root, MS_CONF_MAP, "the config", err));
    ms_conf_warn_unknown(root, known, "logixclient config");
    TRY(ms_client_config_from_conf(&cfg->bus, root, err));
    const ms_conf_node *rtus = ms_conf_get(root, "rtus");
    if (!rtus)
        return ms_conf_fail(err, root, "no 'rtus' to poll");
    TRY(ms_conf_want(rtus, MS_CONF_SEQ, "rtus", err));
    cfg->rtus = calloc(rtus->n + 1, sizeof *cfg->rtus);
    if (!cfg->rtus)
        return ms_conf_fail(err, rtus, "out of memory");
    for (size_t i = 0; i < rtus->n; i++) {
        cfg->nrtus = i + 1;
        TRY(load_rtu(&cfg->rtus[i], rtus->items[i], err));
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->rtus[j].name, cfg->rtus[i].name))
                return ms_conf_fail(err, rtus->items[i], "two rtus named "
                                    "'%s'", cfg->rtus[i].name);
    }
    const ms_conf_node *tags = ms_conf_get(root, "tags");
    if (!tags || tags->null)
        return 0;
    TRY(ms_conf_want(tags, MS_CONF_MAP, "tags", err));
    cfg->tags = calloc(tags->n + 1, sizeof *cfg->tags);
    if (!cfg->tags)
        return ms_conf_fail(err, tags, "out of memory");
    for (size_t i = 0; i < tags->n; i++) {
        cfg->ntags = i + 1;
        TRY(load_tag(cfg, &cfg->tags[i], tags->keys[i], tags->items[i],
                     err));
    }
    return 0;
}

void ms_lgxc_config_free(ms_lgxc_config *cfg)
{
    for (size_t i = 0; i < cfg->nrtus; i++) {
        for (size_t j = 0; j < cfg->rtus[i].npoll; j++) {
            free(cfg->rtus[i].poll[j].addr);
            free(cfg->rtus[i].poll[j].vals);
        }
        free(cfg->rtus[i].poll);
    }
    free(cfg->rtus);
    for (size_t i = 0; i < cfg->ntags; i++)
        free(cfg->tags[i].name);
    free(cfg->tags);
    memset(cfg, 0, sizeof *cfg);
}

size_t ms_lgxc_plan(const ms_lgxc_rtu *r, size_t room, bool msp,
                    ms_lgxc_group *out, size_t cap)
{
    size_t ng = 0;
    size_t i = 0;
    while (i < r->npoll) {
        const ms_lgxc_poll *p = &r->poll[i];
        size_t req = 2 + p->path_len + 2;
        size_t rep = ms_lgx_read_reply_size(p->type,
                                            (size_t)p->count * p->esize);
        ms_lgxc_group g = {.first = i, .n = 1, .frag = rep > room};
        i++;
        if (!g.frag && msp) {
            size_t tq = req, tr = rep;
            while (i < r->npoll && g.n < MS_LGX_MSP_MAX) {
                const ms_lgxc_poll *q = &r->poll[i];
                size_t rq = 2 + q->path_len + 2;
                size_t rp = ms_lgx_read_reply_size(
                    q->type, (size_t)q->count * q->esize);
                if (ms_lgx_msp_size(g.n + 1, tq + rq) > room ||
                    ms_lgx_msp_reply_size(g.n + 1, tr + rp) > room)
                    break;
                tq += rq;
                tr += rp;
                g.n++;
                i++;
            }
        }
        if (ng < cap)
            out[ng] = g;
        ng++;
    }
    return ng;
}
