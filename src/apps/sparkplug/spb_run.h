/* sparkplug's runtimes (internal to libmscada): an edge node that
 * publishes bus tags as Sparkplug B metrics (spb_edge.c) and a host that
 * mirrors Sparkplug nodes onto bus tags (spb_host.c), each with a bus
 * client and an MQTT link on one loop (docs/sparkplug.md). */
#ifndef MS_APPS_SPB_RUN_H
#define MS_APPS_SPB_RUN_H

#include <uv.h>

#include "apps/sparkplug/spb_config.h"
#include "mscada/tagdesc.h"

typedef struct ms_spb_edge ms_spb_edge;
typedef struct ms_spb_host ms_spb_host;

/* cfg and descs are borrowed until the loop has run dry after the stop.
 * Returns 0 with *out, or an error (logged) with what was made closed as
 * the loop runs (docs/design.md, "Lifecycles"). */
int ms_spb_edge_start(uv_loop_t *loop, ms_spb_config *cfg,
                      const ms_tagdescs *descs, ms_spb_edge **out);
/* Publishes NDEATH, disconnects, closes; NULL-safe. */
void ms_spb_edge_stop(ms_spb_edge *e);

int ms_spb_host_start(uv_loop_t *loop, ms_spb_config *cfg,
                      ms_spb_host **out);
/* Publishes STATE offline, disconnects, closes; NULL-safe. */
void ms_spb_host_stop(ms_spb_host *h);

#endif
