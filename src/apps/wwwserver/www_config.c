/* wwwserver.yaml (www_app.h, docs/www.md "Config"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apps/wwwserver/www_app.h"
#include "mscada/error.h"

void ms_www_app_config_init(ms_www_app_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ms_client_config_init(&cfg->client);
    snprintf(cfg->client.name, sizeof cfg->client.name, "wwwserver");
    cfg->port = 8324;
    cfg->queue_max = 16u << 20;
    cfg->max_message = 1u << 20;
    cfg->history_max_points = 100000;
    cfg->status_interval = 10;
    cfg->batch_ms = 2;
    cfg->session_idle = 1800;
    cfg->session_max = 43200;
    cfg->audit_max = 10u << 20;
}

void ms_www_app_config_free(ms_www_app_config *cfg)
{
    free(cfg->ip);
    free(cfg->get_path);
    free(cfg->serve_path);
    free(cfg->www_tag);
    for (size_t i = 0; i < cfg->npaths; i++)
        free(cfg->paths[i]);
    free(cfg->paths);
    ms_conf_free(cfg->doc);
    free(cfg->users);
    ms_www_users_free(&cfg->users_list);
    free(cfg->session_key);
    for (size_t i = 0; i < cfg->norigins; i++)
        free(cfg->origins[i]);
    free(cfg->origins);
    free(cfg->audit);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    memset(cfg, 0, sizeof *cfg);
}

/* A string key; an empty or null value leaves *out NULL (pymscada's
 * "get_path:" with nothing after it). */
static int opt_str(const ms_conf_node *root, const char *key, char **out,
                   ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(root, key);
    const char *s;
    if (!n || n->null)
        return 0;
    if (ms_conf_str(n, key, &s, err) < 0)
        return MS_ECONFIG;
    free(*out);
    *out = *s ? strdup(s) : NULL;
    return 0;
}

static int folder(const ms_conf_node *root, const char *key, const char *p,
                  ms_conf_error *err)
{
    struct stat st;
    if (p && (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)))
        return ms_conf_fail(err, ms_conf_get(root, key),
                            "%s: %s is not a folder (give an existing "
                            "folder, relative to where the wwwserver runs)",
                            key, p);
    return 0;
}

static int size_key(const ms_conf_node *root, const char *key, size_t min,
                    size_t *out, ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(root, key);
    if (!n)
        return 0;
    int64_t v;
    const char *s = n->kind == MS_CONF_SCALAR ? n->text : "";
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : 0;
    if (shift && !end[1] && end != s && s[0] != '-' && x < (1ull << 30)) {
        *out = (size_t)(x << shift);
    } else {
        if (ms_conf_int(n, key, (int64_t)min, (int64_t)1 << 40, &v, err) < 0)
            return ms_conf_fail(err, n, "%s must be a byte count of at least "
                                "%zu (a whole number, optionally with K or "
                                "M)", key, min);
        *out = (size_t)v;
    }
    if (*out < min)
        return ms_conf_fail(err, n, "%s must be at least %zu", key, min);
    return 0;
}

static int seconds(const ms_conf_node *root, const char *key, double *out,
                   ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(root, key);
    if (!n)
        return 0;
    if (ms_conf_double(n, key, out, err) < 0)
        return MS_ECONFIG;
    if (!(*out >= 1 && *out <= 366 * 86400.0))
        return ms_conf_fail(err, n, "%s must be seconds from 1 to a year",
                            key);
    return 0;
}

static int readable(const ms_conf_node *root, const char *key, const char *p,
                    ms_conf_error *err)
{
    FILE *f = p ? fopen(p, "r") : NULL;
    if (p && !f)
        return ms_conf_fail(err, ms_conf_get(root, key), "%s: cannot read "
                            "%s (give a PEM file, relative to where the "
                            "wwwserver runs)", key, p);
    if (f)
        fclose(f);
    return 0;
}

/* users:, sessions, audit, TLS (docs/security.md). */
static int security_keys(const ms_conf_node *root, ms_www_app_config *cfg,
                         ms_conf_error *err)
{
    if (opt_str(root, "users", &cfg->users, err) < 0 ||
        opt_str(root, "session_key", &cfg->session_key, err) < 0 ||
        opt_str(root, "audit", &cfg->audit, err) < 0 ||
        opt_str(root, "tls_cert", &cfg->tls_cert, err) < 0 ||
        opt_str(root, "tls_key", &cfg->tls_key, err) < 0 ||
        seconds(root, "session_idle", &cfg->session_idle, err) < 0 ||
        seconds(root, "session_max", &cfg->session_max, err) < 0 ||
        size_key(root, "audit_max", 4096, &cfg->audit_max, err) < 0 ||
        readable(root, "tls_cert", cfg->tls_cert, err) < 0 ||
        readable(root, "tls_key", cfg->tls_key, err) < 0)
        return MS_ECONFIG;
    if (!cfg->tls_cert != !cfg->tls_key)
        return ms_conf_fail(err, ms_conf_get(root, cfg->tls_cert ? "tls_cert"
                                                               : "tls_key"),
                            "tls_cert and tls_key go together (the "
                            "certificate and its private key, PEM)");
    const ms_conf_node *n = ms_conf_get(root, "hsts");
    if (n && ms_conf_bool(n, "hsts", &cfg->hsts, err) < 0)
        return MS_ECONFIG;
    n = ms_conf_get(root, "origins");
    if (n && !n->null) {
        if (ms_conf_want(n, MS_CONF_SEQ, "origins", err) < 0)
            return MS_ECONFIG;
        cfg->origins = calloc(n->n + 1, sizeof *cfg->origins);
        for (size_t i = 0; cfg->origins && i < n->n; i++) {
            const char *s;
            if (ms_conf_str(n->items[i], "an origins entry", &s, err) < 0)
                return MS_ECONFIG;
            cfg->origins[cfg->norigins++] = strdup(s);
        }
    }
    if (!cfg->users)
        return 0;
    ms_conf_doc *doc;
    int rc = ms_conf_load(cfg->users, &doc, err);
    if (rc == MS_ENOENT)
        return ms_conf_fail(err, ms_conf_get(root, "users"), "users: %s does "
                            "not exist (make it with `mscada passwd %s "
                            "NAME`)", cfg->users, cfg->users);
    if (rc < 0)
        return MS_ECONFIG;
    rc = ms_www_users_parse(ms_conf_root(doc), &cfg->users_list, err);
    ms_conf_free(doc);
    if (rc < 0)
        return MS_ECONFIG;
    if (!cfg->audit)
        cfg->audit = strdup("audit.jsonl");
    return 0;
}

int ms_www_app_config_load(const char *path, ms_www_app_config *cfg,
                           ms_conf_error *err)
{
    int rc = ms_conf_load(path, &cfg->doc, err);
    if (rc < 0)
        return rc;
    const ms_conf_node *root = ms_conf_root(cfg->doc);
    if (ms_conf_want(root, MS_CONF_MAP, "wwwserver.yaml", err) < 0)
        return MS_ECONFIG;
    static const char *const known[] = {
        "bus_ip", "bus_port", "ip", "port", "get_path", "serve_path", "paths",
        "www_tag", "config", "pages", "queue_max", "max_message",
        "history_max_points", "status_interval", "batch_ms", "users",
        "session_idle", "session_max", "session_key", "origins", "audit",
        "audit_max", "tls_cert", "tls_key", "hsts", NULL};
    ms_conf_warn_unknown(root, known, "wwwserver.yaml");
    if (ms_client_config_from_conf(&cfg->client, root, err) < 0)
        return MS_ECONFIG;
    if (opt_str(root, "ip", &cfg->ip, err) < 0 ||
        opt_str(root, "get_path", &cfg->get_path, err) < 0 ||
        opt_str(root, "serve_path", &cfg->serve_path, err) < 0)
        return MS_ECONFIG;
    cfg->www_tag = strdup("__wwwserver__");
    if (ms_conf_get(root, "www_tag") &&
        opt_str(root, "www_tag", &cfg->www_tag, err) < 0)
        return MS_ECONFIG;
    const ms_conf_node *n = ms_conf_get(root, "port");
    int64_t v;
    if (n) {
        if (ms_conf_int(n, "port", 0, 65535, &v, err) < 0)
            return MS_ECONFIG;
        cfg->port = (int)v;
    }
    if (folder(root, "get_path", cfg->get_path, err) < 0 ||
        folder(root, "serve_path", cfg->serve_path, err) < 0)
        return MS_ECONFIG;
    n = ms_conf_get(root, "paths");
    if (n && !n->null) {
        if (ms_conf_want(n, MS_CONF_SEQ, "paths", err) < 0)
            return MS_ECONFIG;
        cfg->paths = calloc(n->n ? n->n : 1, sizeof *cfg->paths);
        for (size_t i = 0; cfg->paths && i < n->n; i++) {
            const char *s;
            if (ms_conf_str(n->items[i], "a paths entry", &s, err) < 0)
                return MS_ECONFIG;
            cfg->paths[cfg->npaths++] = strdup(s);
        }
    }
    n = ms_conf_get(root, "config");
    if (n && !n->null) {
        if (ms_conf_want(n, MS_CONF_MAP, "config", err) < 0)
            return MS_ECONFIG;
        cfg->config = n;
    }
    n = ms_conf_get(root, "pages");
    if (n && !n->null) {
        if (ms_conf_want(n, MS_CONF_SEQ, "pages", err) < 0)
            return MS_ECONFIG;
        cfg->pages = n;
    }
    if (size_key(root, "queue_max", 65536, &cfg->queue_max, err) < 0 ||
        size_key(root, "max_message", 1024, &cfg->max_message, err) < 0)
        return MS_ECONFIG;
    n = ms_conf_get(root, "history_max_points");
    if (n) {
        if (ms_conf_int(n, "history_max_points", 0, 100000000, &v, err) < 0)
            return MS_ECONFIG;
        cfg->history_max_points = (int)v;
    }
    n = ms_conf_get(root, "batch_ms");
    if (n) {
        if (ms_conf_int(n, "batch_ms", 0, 1000, &v, err) < 0)
            return MS_ECONFIG;
        cfg->batch_ms = (int)v;
    }
    n = ms_conf_get(root, "status_interval");
    if (n) {
        double d;
        if (ms_conf_double(n, "status_interval", &d, err) < 0)
            return MS_ECONFIG;
        if (!(d >= 0.1 && d <= 86400))
            return ms_conf_fail(err, n, "status_interval must be seconds "
                                "from 0.1 to 86400");
        cfg->status_interval = d;
    }
    return security_keys(root, cfg, err);
}
