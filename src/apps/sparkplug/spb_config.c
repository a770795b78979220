/* sparkplug.yaml (docs/sparkplug.md); the top map and bounded strings
 * as the other drivers read them (drv_conf.h). Every error names
 * file:line:column. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv_conf.h"
#include "apps/sparkplug/spb_config.h"
#include "mscada/error.h"

static int get_id(const ms_conf_node *m, const char *key, char *out,
                  ms_conf_error *err)
{
    MS_TRY(ms_drv_conf_str(m, key, out, MS_SPB_ID_MAX + 1, err));
    if (out[0] && !ms_spb_id_valid(out, strlen(out)))
        return ms_conf_fail(err, ms_conf_get(m, key), "%s: a Sparkplug id "
                            "may not hold '/', '+', '#' or control "
                            "characters", key);
    return 0;
}

/* A pattern list: one string or a sequence of them. */
static int get_patterns(const ms_conf_node *n, const char *what,
                        ms_spb_patterns *p, ms_conf_error *err)
{
    const char *s;
    if (n->kind != MS_CONF_SEQ) {
        MS_TRY(ms_conf_str(n, what, &s, err));
        p->pat = calloc(1, sizeof *p->pat);
        if (!p->pat || !(p->pat[0] = strdup(s)))
            return MS_ENOMEM;
        p->n = 1;
        return 0;
    }
    p->pat = calloc(n->n + 1, sizeof *p->pat);
    if (!p->pat)
        return MS_ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        MS_TRY(ms_conf_str(n->items[i], what, &s, err));
        if (!(p->pat[p->n] = strdup(s)))
            return MS_ENOMEM;
        p->n++;
    }
    return 0;
}

static void patterns_free(ms_spb_patterns *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->pat[i]);
    free(p->pat);
    memset(p, 0, sizeof *p);
}

bool ms_spb_patterns_match(const ms_spb_patterns *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!fnmatch(p->pat[i], name, 0))
            return true;
    return false;
}

static int parse_mqtt(const ms_conf_node *root, ms_spb_link_config *c,
                      ms_conf_error *err)
{
    const ms_conf_node *n;
    int64_t v;
    MS_TRY(ms_drv_conf_str(root, "broker", c->host, sizeof c->host, err));
    if ((n = ms_conf_get(root, "port"))) {
        MS_TRY(ms_conf_int(n, "port", 1, 65535, &v, err));
        c->port = (int)v;
    }
    if ((n = ms_conf_get(root, "keepalive"))) {
        MS_TRY(ms_conf_int(n, "keepalive", 5, 65535, &v, err));
        c->keepalive = (int)v;
    }
    if ((n = ms_conf_get(root, "mqtt"))) {
        const char *s;
        MS_TRY(ms_conf_str(n, "mqtt", &s, err));
        if (!strcmp(s, "3.1.1") || !strcmp(s, "4"))
            c->protocol = 4;
        else if (!strcmp(s, "5") || !strcmp(s, "5.0"))
            c->protocol = 5;
        else
            return ms_conf_fail(err, n, "mqtt must be 3.1.1 or 5");
    }
    MS_TRY(ms_drv_conf_str(root, "client_id", c->client_id,
                           sizeof c->client_id, err));
    MS_TRY(ms_drv_conf_str(root, "username", c->username,
                           sizeof c->username, err));
    MS_TRY(ms_drv_conf_str(root, "password", c->password,
                           sizeof c->password, err));
    MS_TRY(ms_drv_conf_str(root, "ca_file", c->ca_file,
                           sizeof c->ca_file, err));
    MS_TRY(ms_drv_conf_str(root, "cert_file", c->cert_file,
                           sizeof c->cert_file, err));
    MS_TRY(ms_drv_conf_str(root, "key_file", c->key_file,
                           sizeof c->key_file, err));
    if ((c->cert_file[0] || c->key_file[0]) && !c->ca_file[0])
        return ms_conf_fail(err, root, "cert_file and key_file need "
                            "ca_file (TLS)");
    if (!!c->cert_file[0] != !!c->key_file[0])
        return ms_conf_fail(err, root, "cert_file and key_file go "
                            "together");
    return 0;
}

static int parse_devices(const ms_conf_node *n, ms_spb_config *cfg,
                         ms_conf_error *err)
{
    static const char *const known[] = {"tags", "status", NULL};
    MS_TRY(ms_conf_want(n, MS_CONF_MAP, "devices", err));
    cfg->devices = calloc(n->n + 1, sizeof *cfg->devices);
    if (!cfg->devices)
        return MS_ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        ms_spb_device *d = &cfg->devices[i];
        cfg->ndevices++;
        const char *name = n->keys[i]->text;
        if (!ms_spb_id_valid(name, strlen(name)))
            return ms_conf_fail(err, n->keys[i], "device '%s': a Sparkplug "
                                "id may not hold '/', '+', '#'", name);
        snprintf(d->name, sizeof d->name, "%s", name);
        const ms_conf_node *m = n->items[i], *t;
        MS_TRY(ms_conf_want(m, MS_CONF_MAP, "a device", err));
        ms_conf_warn_unknown(m, known, "a device");
        if (!(t = ms_conf_get(m, "tags")))
            return ms_conf_fail(err, m, "device %s needs tags (names or "
                                "patterns)", name);
        MS_TRY(get_patterns(t, "tags", &d->tags, err));
        if ((t = ms_conf_get(m, "status"))) {
            const char *s;
            MS_TRY(ms_conf_str(t, "status", &s, err));
            if (!(d->status = strdup(s)))
                return MS_ENOMEM;
        }
    }
    return 0;
}

static int parse_names(const ms_conf_node *n, ms_spb_config *cfg,
                       ms_conf_error *err)
{
    MS_TRY(ms_conf_want(n, MS_CONF_MAP, "names", err));
    cfg->names = calloc(n->n + 1, sizeof *cfg->names);
    if (!cfg->names)
        return MS_ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        const char *s;
        MS_TRY(ms_conf_str(n->items[i], "a tag name", &s, err));
        if (!*s || strlen(s) > 255 || strpbrk(s, " \t\r\n"))
            return ms_conf_fail(err, n->items[i], "a tag name must be "
                                "1-255 bytes without spaces");
        ms_spb_name *e = &cfg->names[cfg->nnames++];
        if (!(e->metric = strdup(n->keys[i]->text)) || !(e->tag = strdup(s)))
            return MS_ENOMEM;
    }
    return 0;
}

int ms_spb_config_from_conf(const ms_conf_node *root, ms_spb_config *cfg,
                            ms_conf_error *err)
{
    static const char *const known[] = {
        "bus_ip", "bus_port", "broker", "port", "keepalive", "mqtt",
        "client_id", "username", "password", "ca_file", "cert_file",
        "key_file", "group", "node", "mode", "tags", "devices", "writable",
        "primary_host", "queue", "host_id", "groups", "prefix", "names",
        "write", NULL};
    memset(cfg, 0, sizeof *cfg);
    ms_spb_link_config_init(&cfg->mqtt);
    cfg->queue = 10000;
    MS_TRY(ms_drv_conf_open(root, known, "sparkplug", &cfg->bus, err));
    MS_TRY(parse_mqtt(root, &cfg->mqtt, err));
    const ms_conf_node *n;
    const char *s;
    int64_t v;
    if ((n = ms_conf_get(root, "mode"))) {
        MS_TRY(ms_conf_str(n, "mode", &s, err));
        if (!strcmp(s, "host"))
            cfg->host = true;
        else if (strcmp(s, "edge"))
            return ms_conf_fail(err, n, "mode must be edge or host");
    }
    snprintf(cfg->bus.name, sizeof cfg->bus.name, "sparkplug %s",
             cfg->host ? "host" : "edge");
    MS_TRY(get_id(root, "group", cfg->group, err));
    MS_TRY(get_id(root, "node", cfg->node, err));
    MS_TRY(get_id(root, "primary_host", cfg->primary_host, err));
    MS_TRY(get_id(root, "host_id", cfg->host_id, err));
    if ((n = ms_conf_get(root, "writable")))
        MS_TRY(get_patterns(n, "writable", &cfg->writable, err));
    if (!cfg->host) {
        if (!cfg->group[0] || !cfg->node[0])
            return ms_conf_fail(err, root, "an edge node needs group and "
                                "node (its Sparkplug ids)");
        if ((n = ms_conf_get(root, "tags")))
            MS_TRY(get_patterns(n, "tags", &cfg->tags, err));
        if ((n = ms_conf_get(root, "devices")))
            MS_TRY(parse_devices(n, cfg, err));
        if ((n = ms_conf_get(root, "queue"))) {
            MS_TRY(ms_conf_int(n, "queue", 0, 100000000, &v, err));
            cfg->queue = (size_t)v;
        }
        return 0;
    }
    if (!cfg->host_id[0])
        snprintf(cfg->host_id, sizeof cfg->host_id, "mscada");
    if ((n = ms_conf_get(root, "groups")))
        MS_TRY(get_patterns(n, "groups", &cfg->groups, err));
    else if (cfg->group[0]) {
        cfg->groups.pat = calloc(1, sizeof *cfg->groups.pat);
        if (!cfg->groups.pat || !(cfg->groups.pat[0] = strdup(cfg->group)))
            return MS_ENOMEM;
        cfg->groups.n = 1;
    }
    for (size_t i = 0; i < cfg->groups.n; i++)
        if (!ms_spb_id_valid(cfg->groups.pat[i], strlen(cfg->groups.pat[i])))
            return ms_conf_fail(err, ms_conf_get(root, "groups"),
                                "groups: '%s' is not a Sparkplug id",
                                cfg->groups.pat[i]);
    if ((n = ms_conf_get(root, "prefix"))) {
        MS_TRY(ms_conf_str(n, "prefix", &s, err));
        if (strpbrk(s, " \t\r\n"))
            return ms_conf_fail(err, n, "prefix may not hold spaces");
        if (!(cfg->prefix = strdup(s)))
            return MS_ENOMEM;
    }
    if ((n = ms_conf_get(root, "names")))
        MS_TRY(parse_names(n, cfg, err));
    if ((n = ms_conf_get(root, "write")))
        MS_TRY(ms_conf_bool(n, "write", &cfg->write, err));
    return 0;
}

void ms_spb_config_free(ms_spb_config *cfg)
{
    patterns_free(&cfg->tags);
    patterns_free(&cfg->writable);
    patterns_free(&cfg->groups);
    for (size_t i = 0; i < cfg->ndevices; i++) {
        patterns_free(&cfg->devices[i].tags);
        free(cfg->devices[i].status);
    }
    free(cfg->devices);
    for (size_t i = 0; i < cfg->nnames; i++) {
        free(cfg->names[i].metric);
        free(cfg->names[i].tag);
    }
    free(cfg->names);
    free(cfg->prefix);
    memset(cfg, 0, sizeof *cfg);
}

int ms_spb_tag_name(const ms_spb_config *cfg, const char *group,
                    const char *node, const char *device, const char *metric,
                    size_t metric_len, char *out, size_t cap)
{
    char path[4 * MS_SPB_ID_MAX + 600];
    int k = snprintf(path, sizeof path, "%s/%s/%s%s%.*s", group, node,
                     device ? device : "", device ? "/" : "",
                     (int)metric_len, metric);
    if (k < 0 || (size_t)k >= sizeof path)
        return MS_ETOOBIG;
    for (size_t i = 0; i < cfg->nnames; i++)
        if (!strcmp(cfg->names[i].metric, path)) {
            k = snprintf(out, cap, "%s", cfg->names[i].tag);
            return k >= 0 && (size_t)k < cap ? 0 : MS_ETOOBIG;
        }
    k = snprintf(out, cap, "%s%s", cfg->prefix ? cfg->prefix : "", path);
    if (k < 0 || (size_t)k >= cap || k > 255)
        return MS_ETOOBIG;
    for (char *p = out; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            *p = '_';
    return 0;
}
