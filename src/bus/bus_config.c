/* bus.yaml: the bus server's settings. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mscada/bus.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/tagdesc.h"

void ms_bus_config_init(ms_bus_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->ip, "127.0.0.1");
    cfg->port = 1324;
    cfg->text_port = -1;
    cfg->snapshot_interval = 5;
    cfg->stats_interval = 5;
    cfg->max_payload = MS_FRAME_DEFAULT_CAP;
    cfg->queue_high_water = 1u << 20;
    cfg->queue_hard_cap = 128u << 20;
}

void ms_bus_config_free(ms_bus_config *cfg)
{
    free(cfg->snapshot);
    free(cfg->allow);
    free(cfg->tags);
    cfg->snapshot = NULL;
    cfg->allow = NULL;
    cfg->tags = NULL;
    cfg->nallow = 0;
}

/* A byte count: a whole number, optionally with K, M or G (x1024^n). */
static int conf_size(const ms_conf_node *n, const char *what, size_t min,
                     size_t *out, ms_conf_error *err)
{
    const char *s;
    if (ms_conf_str(n, what, &s, err) < 0)
        return MS_ECONFIG;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    if (end != s && (*end == 'K' || *end == 'k'))
        shift = 10, end++;
    else if (end != s && *end == 'M')
        shift = 20, end++;
    else if (end != s && *end == 'G')
        shift = 30, end++;
    if (end == s || *end || s[0] == '-' || v > (1ull << 40) >> shift ||
        (v << shift) < min)
        return ms_conf_fail(err, n,
                            "%s must be a byte count of at least %zu (a whole "
                            "number, optionally with K, M or G)",
                            what, min);
    *out = (size_t)(v << shift);
    return 0;
}

static int conf_seconds(const ms_conf_node *n, const char *what, double *out,
                        ms_conf_error *err)
{
    double v;
    if (ms_conf_double(n, what, &v, err) < 0)
        return MS_ECONFIG;
    if (!(v >= 0.01 && v <= 86400))
        return ms_conf_fail(err, n,
                            "%s must be a number of seconds from 0.01 to 86400",
                            what);
    *out = v;
    return 0;
}

int ms_bus_config_from_conf(const ms_conf_node *root, ms_bus_config *cfg,
                            ms_conf_error *err)
{
    static const char *const known[] = {
        "ip", "port", "text_port", "snapshot", "snapshot_interval", "stats_interval",
        "allow", "max_payload", "queue_high_water", "queue_hard_cap", "tags",
        NULL};
    const ms_conf_node *n;
    if (ms_conf_want(root, MS_CONF_MAP, "bus.yaml", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(root, known, "bus config");
    if ((n = ms_conf_get(root, "ip"))) {
        const char *ip;
        ms_bus_allow probe;
        if (ms_conf_str(n, "ip", &ip, err) < 0)
            return MS_ECONFIG;
        if (strchr(ip, '/') || ms_bus_allow_parse(ip, &probe) < 0)
            return ms_conf_fail(err, n,
                                "ip must be an IPv4 or IPv6 address, e.g. "
                                "127.0.0.1 or 0.0.0.0");
        snprintf(cfg->ip, sizeof cfg->ip, "%s", ip);
    }
    if ((n = ms_conf_get(root, "port"))) {
        int64_t port;
        if (ms_conf_int(n, "port", 0, 65535, &port, err) < 0)
            return MS_ECONFIG;
        cfg->port = (int)port;
    }
    if ((n = ms_conf_get(root, "text_port")) && !n->null) {
        int64_t port;
        if (ms_conf_int(n, "text_port", 0, 65535, &port, err) < 0)
            return MS_ECONFIG;
        cfg->text_port = (int)port;
    }
    if ((n = ms_conf_get(root, "snapshot")) && !n->null) {
        const char *path;
        if (ms_conf_str(n, "snapshot", &path, err) < 0)
            return MS_ECONFIG;
        if (!*path)
            return ms_conf_fail(err, n, "snapshot must be a file path");
        free(cfg->snapshot);
        cfg->snapshot = strdup(path);
        if (!cfg->snapshot)
            return ms_conf_fail(err, n, "out of memory");
    }
    if ((n = ms_conf_get(root, "tags")) && !n->null) {
        /* As written: ms_bus_config_load resolves it and checks the file. */
        const char *path;
        if (ms_conf_str(n, "tags", &path, err) < 0)
            return MS_ECONFIG;
        if (!*path)
            return ms_conf_fail(err, n, "tags must be a file path (tags.yaml)");
        free(cfg->tags);
        cfg->tags = strdup(path);
        if (!cfg->tags)
            return ms_conf_fail(err, n, "out of memory");
    }
    if ((n = ms_conf_get(root, "snapshot_interval")) &&
        conf_seconds(n, "snapshot_interval", &cfg->snapshot_interval, err) < 0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(root, "stats_interval")) &&
        conf_seconds(n, "stats_interval", &cfg->stats_interval, err) < 0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(root, "max_payload")) &&
        conf_size(n, "max_payload", MS_FRAME_MAX_LEN, &cfg->max_payload,
                  err) < 0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(root, "queue_high_water")) &&
        conf_size(n, "queue_high_water", 4096, &cfg->queue_high_water, err) <
            0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(root, "queue_hard_cap")) &&
        conf_size(n, "queue_hard_cap", 4096, &cfg->queue_hard_cap, err) < 0)
        return MS_ECONFIG;
    /* The largest value must fit in a queue, or it could never be sent. */
    size_t need = ms_frame_wire_size(cfg->max_payload) + cfg->queue_high_water;
    if (cfg->queue_hard_cap < need) {
        n = ms_conf_get(root, "queue_hard_cap");
        if (!n)
            n = ms_conf_get(root, "max_payload");
        if (!n)
            n = ms_conf_get(root, "queue_high_water");
        return ms_conf_fail(err, n ? n : root,
                            "queue_hard_cap (%zu) must be at least "
                            "max_payload plus headers plus queue_high_water "
                            "(%zu), or the largest value could never be sent",
                            cfg->queue_hard_cap, need);
    }
    if ((n = ms_conf_get(root, "allow")) && !n->null) {
        if (ms_conf_want(n, MS_CONF_SEQ, "allow", err) < 0)
            return MS_ECONFIG;
        free(cfg->allow);
        cfg->allow = calloc(n->n ? n->n : 1, sizeof *cfg->allow);
        cfg->nallow = 0;
        if (!cfg->allow)
            return ms_conf_fail(err, n, "out of memory");
        for (size_t i = 0; i < n->n; i++) {
            const char *text;
            if (ms_conf_str(n->items[i], "allow entry", &text, err) < 0)
                return MS_ECONFIG;
            if (ms_bus_allow_parse(text, &cfg->allow[i]) < 0)
                return ms_conf_fail(err, n->items[i],
                                    "allow entry '%s' is not an address or "
                                    "network (e.g. 10.0.0.5, 10.0.0.0/8, ::1)",
                                    text);
            cfg->nallow++;
        }
    }
    return 0;
}

int ms_bus_config_set_tags(ms_bus_config *cfg, const char *path,
                           ms_conf_error *err)
{
    ms_tagdescs descs;
    int rc = ms_tagdesc_load(path, false, &descs, err);
    if (rc < 0)
        return rc == MS_ENOMEM ? rc : MS_ECONFIG;
    ms_tagdescs_free(&descs);
    char *copy = strdup(path);
    if (!copy) {
        snprintf(err->text, sizeof err->text, "%s: out of memory", path);
        return MS_ENOMEM;
    }
    free(cfg->tags);
    cfg->tags = copy;
    return 0;
}

/* bus.yaml's `tags:`, relative to bus.yaml's folder, made a path the bus
 * can open from anywhere, and checked. */
static int load_tags(const char *conf_path, const ms_conf_node *n,
                     ms_bus_config *cfg, ms_conf_error *err)
{
    char *dir_copy = strdup(conf_path);
    char *path = NULL;
    if (dir_copy) {
        const char *dir = dirname(dir_copy);
        size_t need = strlen(dir) + strlen(cfg->tags) + 2;
        if (cfg->tags[0] != '/' && (path = malloc(need)))
            snprintf(path, need, "%s/%s", dir, cfg->tags);
        else if (cfg->tags[0] == '/')
            path = strdup(cfg->tags);
    }
    free(dir_copy);
    if (!path)
        return ms_conf_fail(err, n, "out of memory");
    ms_conf_error inner;
    int rc = ms_bus_config_set_tags(cfg, path, &inner);
    if (rc < 0 && access(path, R_OK) != 0)
        ms_conf_fail(err, n, "tags: %s (the path is relative to bus.yaml's "
                     "folder, or absolute)", inner.text);
    else if (rc < 0)
        *err = inner; /* tags.yaml:line:column: what is wrong */
    free(path);
    return rc;
}

int ms_bus_config_load(const char *path, ms_bus_config *cfg,
                       ms_conf_error *err)
{
    ms_conf_doc *doc;
    int rc = ms_conf_load(path, &doc, err);
    if (rc < 0)
        return rc;
    const ms_conf_node *root = ms_conf_root(doc);
    rc = ms_bus_config_from_conf(root, cfg, err);
    const ms_conf_node *n = ms_conf_get(root, "tags");
    if (rc == 0 && n && !n->null)
        rc = load_tags(path, n, cfg, err);
    ms_conf_free(doc);
    return rc;
}
