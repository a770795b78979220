/* The bus server, embeddable: `mscada bus` is a thin wrapper around this,
 * and tests or programs can run a bus on their own libuv loop. */
#ifndef MSCADA_BUS_H
#define MSCADA_BUS_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mscada/loop.h"

#include "mscada/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of an `allow` list: an address or a network. */
typedef struct {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t addr[16];  /* network byte order; IPv4 in the first 4 */
    int prefix;        /* bits that must match */
} ms_bus_allow;

typedef struct {
    char ip[64];               /* default 127.0.0.1 */
    int port;                  /* default 1324; 0 = any free port */
    int text_port;             /* line protocol; -1 (default) = off */
    char *snapshot;            /* snapshot file, or NULL for none */
    double snapshot_interval;  /* seconds, default 5 */
    double stats_interval;     /* seconds, default 5 */
    ms_bus_allow *allow;       /* NULL = everyone may connect */
    size_t nallow;
    size_t max_payload;        /* default 64 MiB */
    size_t queue_high_water;   /* default 1 MiB */
    size_t queue_hard_cap;     /* default 128 MiB */
    char *tags;                /* tags.yaml: SETs must fit each tag's type
                                * there; NULL (default): any value */
} ms_bus_config;

MS_EXTERN void ms_bus_config_init(ms_bus_config *cfg);
/* Reads bus.yaml into cfg (start from ms_bus_config_init). A missing file
 * is an error (MS_ENOENT). Unknown keys warn. `tags:` is taken relative to
 * bus.yaml's folder and the file is checked (ms_bus_config_set_tags). */
MS_EXTERN int ms_bus_config_load(const char *path, ms_bus_config *cfg,
                       ms_conf_error *err);
/* Has the bus refuse a SET whose value does not fit the type tags.yaml at
 * path gives that tag (ms_type_fits: an INT for a FLOAT tag is fine; a
 * multi is an INT). Loads the file to check it (ms_bus_start loads it
 * again). Returns 0, MS_ECONFIG with err ("tags.yaml:12:7: ..."), or
 * MS_ENOMEM. */
MS_EXTERN int ms_bus_config_set_tags(ms_bus_config *cfg, const char *path,
                                     ms_conf_error *err);
/* The same from a parsed document; `tags:` is kept as written, unchecked. */
MS_EXTERN int ms_bus_config_from_conf(const ms_conf_node *root, ms_bus_config *cfg,
                            ms_conf_error *err);
MS_EXTERN void ms_bus_config_free(ms_bus_config *cfg);

/* Parses "10.0.0.0/8", "127.0.0.1", "::1", "fe80::/10". Returns 0 or
 * MS_EINVAL. */
MS_EXTERN int ms_bus_allow_parse(const char *text, ms_bus_allow *out);
struct sockaddr;
/* True when the address is inside the entry (IPv4-mapped IPv6 peers match
 * IPv4 entries). */
MS_EXTERN bool ms_bus_allow_match(const ms_bus_allow *a, const struct sockaddr *sa);

typedef struct ms_bus ms_bus;

/* Restores the snapshot (if configured), loads cfg->tags (if set), binds
 * and listens on loop. cfg is copied. Returns 0, MS_ECONFIG when cfg->tags
 * can't be loaded (logged with file:line:column), or a negative libuv
 * error (ms_strerror names it). */
MS_EXTERN int ms_bus_start(uv_loop_t *loop, const ms_bus_config *cfg, ms_bus **out);
/* The port actually bound (useful with port 0). */
MS_EXTERN int ms_bus_port(const ms_bus *bus);
/* The text port actually bound, or -1 when it is off. */
MS_EXTERN int ms_bus_text_port(const ms_bus *bus);
/* Writes a last snapshot, closes every connection and handle; the bus is
 * freed once the loop has run the close callbacks. Safe to call twice. */
MS_EXTERN void ms_bus_stop(ms_bus *bus);

#ifdef __cplusplus
}
#endif
#endif
