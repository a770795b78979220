/* history.yaml: the history module's settings (docs/history.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/history_server.h"

void ms_hist_config_init(ms_hist_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ms_client_config_init(&cfg->client);
    cfg->flush_interval = MS_HIST_FLUSH_INTERVAL;
    cfg->file_records = MS_HIST_FILE_RECORDS;
    cfg->mem_cap = MS_HIST_MEM_CAP;
    /* The bus's default max_payload. */
    cfg->max_reply = MS_FRAME_DEFAULT_CAP;
}

void ms_hist_config_free(ms_hist_config *cfg)
{
    free(cfg->path);
    free(cfg->rta_tag);
    cfg->path = cfg->rta_tag = NULL;
}

static int conf_bytes(const ms_conf_node *n, const char *what, size_t min,
                      size_t *out, ms_conf_error *err)
{
    const char *s;
    if (ms_conf_str(n, what, &s, err) < 0)
        return MS_ECONFIG;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    switch (end != s ? *end : 0) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    }
    if (end == s || *end || s[0] == '-' || errno ||
        v > ((unsigned long long)1 << 40) >> shift || (v << shift) < min)
        return ms_conf_fail(err, n,
                            "%s must be a byte count of at least %zu (a whole "
                            "number, optionally with K, M or G)",
                            what, min);
    *out = (size_t)(v << shift);
    return 0;
}

static int dup_str(const ms_conf_node *n, const char *what, char **out,
                   ms_conf_error *err)
{
    const char *s;
    if (ms_conf_str(n, what, &s, err) < 0)
        return MS_ECONFIG;
    if (!*s)
        return ms_conf_fail(err, n, "%s must not be empty", what);
    char *d = strdup(s);
    if (!d)
        return ms_conf_fail(err, n, "out of memory");
    free(*out);
    *out = d;
    return 0;
}

/* mkdir -p, leaving errno set on failure. */
static int make_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* The folder must exist (or be made) and take a new file. */
static int check_dir(const ms_conf_node *at, const char *dir,
                     ms_conf_error *err)
{
    struct stat st;
    if (stat(dir, &st) < 0 && make_dirs(dir) < 0)
        return ms_conf_fail(err, at, "path '%s': can't create the folder: %s",
                            dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return ms_conf_fail(err, at, "path '%s' is not a folder", dir);
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/.mscada-write-test-%ld", dir,
             (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ms_conf_fail(err, at, "path '%s' is not writable: %s", dir,
                            strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

static int from_conf(const ms_conf_node *root, bool make_dir,
                     ms_hist_config *cfg, ms_conf_error *err)
{
    static const char *const known[] = {
        "bus_ip", "bus_port", "path", "rta_tag", "flush_interval",
        "file_records", "retain_days", "mem_cap", "max_reply", NULL};
    if (ms_conf_want(root, MS_CONF_MAP, "history.yaml", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(root, known, "history config");
    if (ms_client_config_from_conf(&cfg->client, root, err) < 0)
        return MS_ECONFIG;
    const ms_conf_node *n;
    const ms_conf_node *path_node = ms_conf_get(root, "path");
    if (path_node && !path_node->null) {
        if (dup_str(path_node, "path", &cfg->path, err) < 0)
            return MS_ECONFIG;
    } else if (!(cfg->path = strdup("history"))) { /* pymscada's default */
        return ms_conf_fail(err, root, "out of memory");
    }
    if ((n = ms_conf_get(root, "rta_tag")) && !n->null) {
        if (dup_str(n, "rta_tag", &cfg->rta_tag, err) < 0)
            return MS_ECONFIG;
        if (!ms_tag_name_valid((const uint8_t *)cfg->rta_tag,
                               strlen(cfg->rta_tag)))
            return ms_conf_fail(err, n, "rta_tag must be a tag name (no "
                                        "spaces or control characters)");
    } else if (!(cfg->rta_tag = strdup(MS_HIST_RTA_TAG))) {
        return ms_conf_fail(err, root, "out of memory");
    }
    if ((n = ms_conf_get(root, "flush_interval")) && !n->null) {
        if (ms_conf_double(n, "flush_interval", &cfg->flush_interval, err) <
            0)
            return MS_ECONFIG;
        if (!(cfg->flush_interval >= 0.01 && cfg->flush_interval <= 86400))
            return ms_conf_fail(err, n, "flush_interval must be seconds "
                                        "from 0.01 to 86400");
    }
    if ((n = ms_conf_get(root, "file_records")) && !n->null) {
        int64_t v;
        if (ms_conf_int(n, "file_records", 1, (int64_t)1 << 40, &v, err) < 0)
            return MS_ECONFIG;
        cfg->file_records = (uint64_t)v;
    }
    if ((n = ms_conf_get(root, "retain_days")) && !n->null) {
        if (ms_conf_double(n, "retain_days", &cfg->retain_days, err) < 0)
            return MS_ECONFIG;
        if (!(cfg->retain_days > 0 && cfg->retain_days < 1e6))
            return ms_conf_fail(err, n, "retain_days must be a positive "
                                        "number of days (leave it out to "
                                        "keep everything)");
    }
    if ((n = ms_conf_get(root, "mem_cap")) && !n->null &&
        conf_bytes(n, "mem_cap", 1 << 16, &cfg->mem_cap, err) < 0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(root, "max_reply")) && !n->null &&
        conf_bytes(n, "max_reply", 1024, &cfg->max_reply, err) < 0)
        return MS_ECONFIG;
    if (make_dir &&
        check_dir(path_node ? path_node : root, cfg->path, err) < 0)
        return MS_ECONFIG;
    return 0;
}

int ms_hist_config_load(const char *path, bool make_dir, ms_hist_config *cfg,
                        ms_conf_error *err)
{
    ms_conf_doc *doc;
    int rc = ms_conf_load(path, &doc, err);
    if (rc < 0)
        return rc;
    rc = from_conf(ms_conf_root(doc), make_dir, cfg, err);
    ms_conf_free(doc);
    return rc;
}
