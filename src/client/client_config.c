/* ms_client_config: defaults, the check ms_client_new makes, "HOST:PORT"
 * and a module config's bus_ip / bus_port (pymscada's keys). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/client.h"
#include "mscada/error.h"

void ms_client_config_init(ms_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 1324;
    cfg->max_payload = 64u * 1024 * 1024;
    cfg->queue_high_water = 1u * 1024 * 1024;
    cfg->queue_hard_cap = 256u * 1024 * 1024;
    cfg->backoff_min = 0.1;
    cfg->backoff_max = 5.0;
    cfg->connect_timeout = 5.0;
    cfg->answer_timeout = 10.0;
}

#define BAD(...) (snprintf(why, cap, __VA_ARGS__), MS_EINVAL)

/* Seconds that a timer can hold in milliseconds: more than 0, at most a
 * day. */
static bool seconds_ok(double s)
{
    return s > 0 && s <= MS_CLIENT_SECONDS_MAX;
}

int ms_client_config_check(const ms_client_config *cfg, char *why,
                           size_t cap)
{
    char none[1];
    if (!why || !cap) {
        why = none;
        cap = sizeof none;
    }
    if (!cfg)
        return BAD("no config");
    if (!cfg->host[0])
        return BAD("host must be an address or a name");
    if (!memchr(cfg->host, 0, sizeof cfg->host))
        return BAD("host must be shorter than %zu bytes", sizeof cfg->host);
    if (cfg->port < 1 || cfg->port > 65535)
        return BAD("port must be from 1 to 65535 (is %d)", cfg->port);
    if (!memchr(cfg->name, 0, sizeof cfg->name))
        return BAD("name must be shorter than %zu bytes", sizeof cfg->name);
    if (cfg->max_payload < 1)
        return BAD("max_payload must be at least 1 byte (is 0)");
    if (cfg->queue_high_water < 1)
        return BAD("queue_high_water must be at least 1 byte (is 0)");
    if (cfg->queue_hard_cap < 1)
        return BAD("queue_hard_cap must be at least 1 byte (is 0)");
    if (!seconds_ok(cfg->backoff_min))
        return BAD("backoff_min must be more than 0 and at most %g seconds "
                   "(is %g)", MS_CLIENT_SECONDS_MAX, cfg->backoff_min);
    if (!(cfg->backoff_max >= cfg->backoff_min &&
          cfg->backoff_max <= MS_CLIENT_SECONDS_MAX))
        return BAD("backoff_max must be from backoff_min (%g) to %g seconds "
                   "(is %g)", cfg->backoff_min, MS_CLIENT_SECONDS_MAX,
                   cfg->backoff_max);
    if (!seconds_ok(cfg->connect_timeout))
        return BAD("connect_timeout must be more than 0 and at most %g "
                   "seconds (is %g)", MS_CLIENT_SECONDS_MAX,
                   cfg->connect_timeout);
    if (!seconds_ok(cfg->answer_timeout))
        return BAD("answer_timeout must be more than 0 and at most %g "
                   "seconds (is %g)", MS_CLIENT_SECONDS_MAX,
                   cfg->answer_timeout);
    return 0;
}

static int parse_port(const char *s, int *port)
{
    char *end;
    if (!*s)
        return MS_EINVAL;
    long p = strtol(s, &end, 10);
    if (*end || p < 1 || p > 65535)
        return MS_EINVAL;
    *port = (int)p;
    return 0;
}

int ms_client_config_set_bus(ms_client_config *cfg, const char *hp)
{
    char host[sizeof cfg->host];
    int port = cfg->port;
    const char *colon;
    size_t hl;
    if (!hp || !*hp)
        return MS_EINVAL;
    if (hp[0] == '[') {
        /* [v6]:port or [v6] */
        const char *rb = strchr(hp, ']');
        if (!rb || rb == hp + 1)
            return MS_EINVAL;
        hl = (size_t)(rb - hp - 1);
        if (hl >= sizeof host)
            return MS_EINVAL;
        memcpy(host, hp + 1, hl);
        host[hl] = '\0';
        if (rb[1] == ':') {
            if (parse_port(rb + 2, &port) < 0)
                return MS_EINVAL;
        } else if (rb[1]) {
            return MS_EINVAL;
        }
    } else if ((colon = strrchr(hp, ':')) && strchr(hp, ':') == colon) {
        hl = (size_t)(colon - hp);
        if (hl >= sizeof host || parse_port(colon + 1, &port) < 0)
            return MS_EINVAL;
        memcpy(host, hp, hl);
        host[hl] = '\0';
        if (!hl)
            snprintf(host, sizeof host, "%s", cfg->host);
    } else {
        /* A bare host (or a bare IPv6 address, which has several ':'). */
        hl = strlen(hp);
        if (hl >= sizeof host)
            return MS_EINVAL;
        memcpy(host, hp, hl + 1);
    }
    for (const char *p = host; *p; p++)
        if ((unsigned char)*p <= ' ')
            return MS_EINVAL;
    memcpy(cfg->host, host, sizeof host);
    cfg->port = port;
    return 0;
}

int ms_client_config_from_conf(ms_client_config *cfg,
                               const ms_conf_node *root, ms_conf_error *err)
{
    const ms_conf_node *n;
    if ((n = ms_conf_get(root, "bus_ip"))) {
        const char *ip;
        int rc = ms_conf_str(n, "bus_ip", &ip, err);
        if (rc < 0)
            return rc;
        if (!*ip || strlen(ip) >= sizeof cfg->host)
            return ms_conf_fail(err, n, "bus_ip must be an address or a "
                                        "host name");
        snprintf(cfg->host, sizeof cfg->host, "%s", ip);
    }
    if ((n = ms_conf_get(root, "bus_port"))) {
        int64_t port;
        int rc = ms_conf_int(n, "bus_port", 1, 65535, &port, err);
        if (rc < 0)
            return rc;
        cfg->port = (int)port;
    }
    return 0;
}
