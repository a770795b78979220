/* What the driver apps' yaml configs (modbusclient.yaml, snmpclient.yaml,
 * sparkplug.yaml) share: the top map with the bus keys, bounded strings,
 * the rtus list, each rtu's name and the rtu an address names, the tags
 * map. Every error names file:line:column. Internal to libmscada. */
#ifndef MS_APPS_COMMON_DRV_CONF_H
#define MS_APPS_COMMON_DRV_CONF_H

#include "mscada/client.h"
#include "mscada/conf.h"

#include <stddef.h>

/* Returns x's error from the calling parser when it is one. */
#define MS_TRY(x)                                                            \
    do {                                                                     \
        int rc_ = (x);                                                       \
        if (rc_ < 0)                                                         \
            return rc_;                                                      \
    } while (0)

/* root must be a map of the known keys (others warned of); bus gets its
 * defaults, `module` as its name, and bus_ip/bus_port. */
int ms_drv_conf_open(const ms_conf_node *root, const char *const *known,
                     const char *module, ms_client_config *bus,
                     ms_conf_error *err);
/* m's `key`, when present, copied into out (cap bytes with its NUL);
 * longer is an error naming the limit. Absent leaves out as it was. */
int ms_drv_conf_str(const ms_conf_node *m, const char *key, char *out,
                    size_t cap, ms_conf_error *err);
/* root's `rtus`: a list (required). */
int ms_drv_conf_rtus(const ms_conf_node *root, const ms_conf_node **rtus,
                     ms_conf_error *err);
/* An rtu's `name`: 1 to max characters, no ':' or spaces (a tag's
 * address names its rtu before a ':'). */
int ms_drv_conf_rtu_name(const ms_conf_node *rtu, int max, const char **name,
                         ms_conf_error *err);
/* rtus' item i (read already, as the items before it) has a name none of
 * those before it has; else the error "a second rtu called 'NAME'". */
int ms_drv_conf_rtu_unique(const ms_conf_node *rtus, size_t i,
                           ms_conf_error *err);
/* The rtu an address at n names: the first len bytes of name (the part
 * before the address's ':') are the name of one of rtus' items (all read
 * already). *rtu is its index, else the error "WHAT: no rtu is called
 * 'NAME'". */
int ms_drv_conf_rtu_find(const ms_conf_node *rtus, const ms_conf_node *n,
                         const char *what, const char *name, size_t len,
                         size_t *rtu, ms_conf_error *err);
/* root's `tags`: a map, or *tags NULL when absent. */
int ms_drv_conf_tags(const ms_conf_node *root, const ms_conf_node **tags,
                     ms_conf_error *err);

#endif
