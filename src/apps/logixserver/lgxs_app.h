/* logixserver, the Logix "mailbox" (docs/logix.md): logixserver.yaml read
 * into the Logix tags it serves and the bus tags tied to their elements
 * (lgxs_config.c), and the runtime that serves them and keeps both sides
 * equal (lgxs_run.c): a client's write sets the bus tag, a bus change
 * writes the element. */
#ifndef MS_APPS_LGXS_APP_H
#define MS_APPS_LGXS_APP_H

#include <stdbool.h>
#include <uv.h>

#include "logix/server/lgx_db.h"
#include "mscada/client.h"
#include "mscada/conf.h"

typedef struct {
    char *name;          /* the bus tag */
    ms_type type;        /* its bus type */
    size_t t, elem;      /* Logix tag index in db, element */
    int bit;             /* -1: the whole element */
} ms_lgxs_map;

typedef struct {
    ms_client_config bus;
    bool no_bus;         /* bus_ip: '' serves a plain Logix memory */
    char ip[64];
    int port;
    unsigned max_conns;
    double timeout;       /* a client mid-frame longer is dropped */
    ms_lgx_db db;
    ms_lgxs_map *maps;
    size_t nmaps;
} ms_lgxs_config;

int ms_lgxs_config_from_conf(const ms_conf_node *root, ms_lgxs_config *cfg,
                             ms_conf_error *err);
void ms_lgxs_config_free(ms_lgxs_config *cfg);

typedef struct ms_lgxs ms_lgxs;
/* Serves cfg (borrowed until the loop has run dry after ms_lgxs_stop).
 * Returns 0 with *out, or an error (logged) with what was made closing. */
int ms_lgxs_start(uv_loop_t *loop, ms_lgxs_config *cfg, ms_lgxs **out);
void ms_lgxs_stop(ms_lgxs *s);

#endif
