/* logixclient (docs/logix.md): logixclient.yaml read into PLCs ("rtus"),
 * their poll entries and tags (lgxc_config.c, pymscada's keys and more),
 * the poll plan that packs reads into Multiple Service Packets of the
 * connection size (lgxc_plan.c, pure), and the runtime on a Logix link
 * per PLC with an <rtu>_status tag (lgxc_run.c). */
#ifndef MS_APPS_LGXC_APP_H
#define MS_APPS_LGXC_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/fault.h"
#include "logix/codec/lgx_codec.h"
#include "mscada/client.h"
#include "mscada/conf.h"
#include "mscada/tagdesc.h"

/* One poll entry: `{addr, type: 'REAL[]', start, end}` or `{addr, type}`. */
typedef struct {
    char *addr;
    uint16_t type;            /* Logix code (STRING: MS_LGX_TYPE_STRUCT) */
    unsigned esize;           /* bytes per element */
    bool array;
    uint32_t start, end;      /* array: elements read, inclusive */
    uint8_t path[MS_LGX_PATH_MAX];
    size_t path_len;          /* addr[start] (or addr) */
    uint16_t count;           /* elements */
    /* runtime: the last answer */
    uint8_t *vals;            /* count * esize bytes */
    bool ok;
    uint16_t handle;          /* a structure's, from the reply */
    uint16_t fail;            /* status << 16 | ext... 0: fine */
    uint32_t fail_code;
    bool type_logged;
    uint64_t seq;             /* the poll that last filled it */
} ms_lgxc_poll;

/* One request of a poll: items [first, first + n) in one MSP (n > 1), a
 * single Read Tag (n == 1), or Read Tag Fragmented (frag). */
typedef struct {
    size_t first, n;
    bool frag;
} ms_lgxc_group;

typedef struct {
    char name[64];
    char host[256];
    int port;
    uint8_t route[64];
    size_t route_len;
    double rate, timeout;
    unsigned conn_size;       /* 0: auto */
    bool write_on_reconnect;
    ms_lgxc_poll *poll;
    size_t npoll;
} ms_lgxc_rtu;

typedef struct {
    char *name;
    ms_type bus;              /* INT, FLOAT or STR */
    bool has_read, has_write;
    size_t rtu_r, rtu_w;
    long poll;                /* read: the poll entry, -1: none */
    size_t off;               /* element offset in it */
    int bit;
    /* write */
    uint8_t wpath[MS_LGX_PATH_MAX];
    size_t wpath_len;
    uint16_t wtype;
    unsigned wsize;
    int wbit;
} ms_lgxc_tag;

typedef struct {
    ms_client_config bus;
    ms_lgxc_rtu *rtus;
    size_t nrtus;
    ms_lgxc_tag *tags;
    size_t ntags;
} ms_lgxc_config;

int ms_lgxc_config_from_conf(const ms_conf_node *root, ms_lgxc_config *cfg,
                             ms_conf_error *err);
void ms_lgxc_config_free(ms_lgxc_config *cfg);

/* Packs an RTU's poll entries into requests for a connection of room
 * bytes (MSP when msp, else one request each). Writes up to cap groups;
 * returns how many it needs. */
size_t ms_lgxc_plan(const ms_lgxc_rtu *r, size_t room, bool msp,
                    ms_lgxc_group *out, size_t cap);

typedef struct ms_lgxc ms_lgxc;
int ms_lgxc_start(uv_loop_t *loop, ms_lgxc_config *cfg, ms_lgxc **out);
void ms_lgxc_stop(ms_lgxc *c);

#endif
