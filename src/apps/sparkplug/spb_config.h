/* sparkplug.yaml read (docs/sparkplug.md): the bus, the broker (MQTT
 * 3.1.1/5, TLS, credentials), the Sparkplug ids, and per mode the edge's
 * tag selection, devices, writable patterns and queue bound, or the host's
 * id, groups, name mapping and write permission. Pure: no I/O. */
#ifndef MS_APPS_SPB_CONFIG_H
#define MS_APPS_SPB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "mscada/client.h"
#include "mscada/conf.h"
#include "sparkplug/codec/spb_topic.h"
#include "sparkplug/link/spb_link.h"

/* A list of name patterns: exact names or globs (fnmatch: * ? [..]). */
typedef struct {
    char **pat;
    size_t n;
} ms_spb_patterns;

typedef struct {
    char name[MS_SPB_ID_MAX + 1];
    ms_spb_patterns tags;
    char *status;          /* tag whose value says the device is up */
} ms_spb_device;

typedef struct {
    char *metric;          /* "<group>/<node>[/<device>]/<metric>" */
    char *tag;
} ms_spb_name;

typedef struct {
    ms_client_config bus;
    ms_spb_link_config mqtt;
    bool host;             /* mode: host */
    char group[MS_SPB_ID_MAX + 1];
    char node[MS_SPB_ID_MAX + 1];
    /* edge */
    ms_spb_patterns tags;  /* n == 0: every tag of tags.yaml */
    ms_spb_device *devices;
    size_t ndevices;
    ms_spb_patterns writable;
    char primary_host[MS_SPB_ID_MAX + 1]; /* "": don't wait for STATE */
    size_t queue;          /* values held while the broker is away */
    /* host */
    char host_id[MS_SPB_ID_MAX + 1];
    ms_spb_patterns groups;     /* n == 0: all */
    char *prefix;               /* before every mapped name, "" */
    ms_spb_name *names;
    size_t nnames;
    bool write;                 /* bus SETs go out as NCMD/DCMD */
} ms_spb_config;

int ms_spb_config_from_conf(const ms_conf_node *root, ms_spb_config *cfg,
                            ms_conf_error *err);
void ms_spb_config_free(ms_spb_config *cfg);

/* True when name matches one of the patterns. */
bool ms_spb_patterns_match(const ms_spb_patterns *p, const char *name);

/* The bus tag name of a host's metric: a `names:` entry, else prefix +
 * "<group>/<node>[/<device>]/<metric>" with spaces and control characters
 * made '_'. Returns 0 or MS_ETOOBIG (over 255 bytes). */
int ms_spb_tag_name(const ms_spb_config *cfg, const char *group,
                    const char *node, const char *device, const char *metric,
                    size_t metric_len, char *out, size_t cap);

#endif
