/* modbusserver's model and runtime (internal to libmscada): its config
 * file read into RTUs, each with the memory it serves and its transport,
 * and tags mapping addresses in it (mbs_config.c); and the "mailbox"
 * (docs/design.md §8) that serves them and keeps tags and registers in step both
 * ways (mbs_run.c). */
#ifndef MS_APPS_MBS_RUN_H
#define MS_APPS_MBS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "mscada/client.h"
#include "mscada/conf.h"
#include "mscada/mbmap.h"
#include "mscada/mbserial.h"
#include "mscada/mbserver.h"

typedef struct {
    const char *name;            /* owned by the config doc */
    ms_mb_server_config net;     /* ip, port, timeout, max_conns */
    ms_mb_word_order order;      /* default for its tags */
    ms_mb_mem mem;               /* the serve blocks: what masters see */
    bool serial;                 /* tcp_udp: serial: a slave on a line */
    ms_mb_serial_config scfg;
    bool udp;                    /* tcp_udp: udp */
    bool server_id_set;          /* server_id given (else the unit) */
    uint8_t server_id[MS_MB_MAX_SERVER_ID]; /* FC17's id bytes */
    size_t server_id_len;
    bool run_off;                /* run_status: false */
    bool unit_any;               /* units 0, 255 as this device (tcp/udp) */
} ms_mbs_rtu;

typedef struct {
    const char *name;            /* owned by the config doc */
    ms_mb_addr addr;
    ms_mb_conv conv;
    size_t rtu;                  /* index into rtus */
} ms_mbs_tag;

typedef struct {
    ms_client_config bus;        /* bus_ip, bus_port; name "modbusserver" */
    bool no_bus;                 /* bus_ip empty: memory only, no tags */
    ms_mbs_rtu *rtus;
    size_t nrtus;
    ms_mbs_tag *tags;
    size_t ntags;
    ms_conf_doc *doc;
} ms_mbs_config;

/* Loads modbusserver.yaml into a zeroed cfg. Returns 0, or an error of
 * ms_conf_load (MS_ENOENT, ...) or MS_ECONFIG with err as
 * "file:line:col: what". cfg is to be freed either way. */
int ms_mbs_config_load(const char *path, ms_mbs_config *cfg,
                       ms_conf_error *err);
void ms_mbs_config_free(ms_mbs_config *cfg);

typedef struct ms_mbs ms_mbs;

/* Connects to the bus with a tag per config tag and serves every RTU
 * (with cfg->no_bus: serves the RTUs' memory only, no client, no tags).
 * cfg is borrowed until the loop has run dry after ms_mbs_stop (its memory
 * is what is served). Returns 0 with *out set; or an error (logged, naming
 * the tag or RTU) with *out NULL and what was made closed as the loop runs
 * (docs/design.md, "Lifecycles"). */
int ms_mbs_start(uv_loop_t *loop, ms_mbs_config *cfg, ms_mbs **out);
/* Stops serving, closes the bus client and frees s; the servers and the
 * client free themselves as the loop runs. NULL-safe. */
void ms_mbs_stop(ms_mbs *s);

#endif
