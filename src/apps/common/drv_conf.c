/* The shared parts of the driver apps' configs (drv_conf.h). */
#include <stdio.h>
#include <string.h>

#include "apps/common/drv_conf.h"

int ms_drv_conf_open(const ms_conf_node *root, const char *const *known,
                     const char *module, ms_client_config *bus,
                     ms_conf_error *err)
{
    ms_client_config_init(bus);
    snprintf(bus->name, sizeof bus->name, "%s", module);
    int rc = ms_conf_want(root, MS_CONF_MAP, "the config", err);
    if (rc < 0)
        return rc;
    ms_conf_warn_unknown(root, known, "the config");
    return ms_client_config_from_conf(bus, root, err);
}

int ms_drv_conf_str(const ms_conf_node *m, const char *key, char *out,
                    size_t cap, ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(m, key);
    const char *s;
    if (!n)
        return 0;
    MS_TRY(ms_conf_str(n, key, &s, err));
    if (strlen(s) >= cap)
        return ms_conf_fail(err, n, "%s is too long (%zu bytes at most)",
                            key, cap - 1);
    snprintf(out, cap, "%s", s);
    return 0;
}

int ms_drv_conf_rtus(const ms_conf_node *root, const ms_conf_node **rtus,
                     ms_conf_error *err)
{
    *rtus = ms_conf_get(root, "rtus");
    if (!*rtus)
        return ms_conf_fail(err, root, "no rtus");
    return ms_conf_want(*rtus, MS_CONF_SEQ, "rtus", err);
}

int ms_drv_conf_rtu_name(const ms_conf_node *rtu, int max, const char **name,
                         ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(rtu, "name");
    if (!n)
        return ms_conf_fail(err, rtu, "an rtu needs a name");
    int rc = ms_conf_str(n, "name", name, err);
    if (rc < 0)
        return rc;
    const char *s = *name;
    if (!*s || strlen(s) > (size_t)max || strchr(s, ':') || strchr(s, ' '))
        return ms_conf_fail(err, n, "name must be 1-%d characters, no ':' "
                                    "or spaces", max);
    return 0;
}

/* The index of the first of rtus' first n items called name (len bytes),
 * or -1. Their names were checked by ms_drv_conf_rtu_name. */
static long rtu_index(const ms_conf_node *rtus, size_t n, const char *name,
                      size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = ms_conf_get(rtus->items[i], "name")->text;
        if (strlen(s) == len && !memcmp(s, name, len))
            return (long)i;
    }
    return -1;
}

int ms_drv_conf_rtu_unique(const ms_conf_node *rtus, size_t i,
                           ms_conf_error *err)
{
    const char *name = ms_conf_get(rtus->items[i], "name")->text;
    if (rtu_index(rtus, i, name, strlen(name)) >= 0)
        return ms_conf_fail(err, rtus->items[i], "a second rtu called '%s'",
                            name);
    return 0;
}

int ms_drv_conf_rtu_find(const ms_conf_node *rtus, const ms_conf_node *n,
                         const char *what, const char *name, size_t len,
                         size_t *rtu, ms_conf_error *err)
{
    long k = rtu_index(rtus, rtus->n, name, len);
    if (k < 0)
        return ms_conf_fail(err, n, "%s: no rtu is called '%.*s'", what,
                            (int)len, name);
    *rtu = (size_t)k;
    return 0;
}

int ms_drv_conf_tags(const ms_conf_node *root, const ms_conf_node **tags,
                     ms_conf_error *err)
{
    *tags = ms_conf_get(root, "tags");
    return *tags ? ms_conf_want(*tags, MS_CONF_MAP, "tags", err) : 0;
}
