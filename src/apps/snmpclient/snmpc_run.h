/* snmpclient's runtime (internal to libmscada): one ms_snmp_session per
 * agent of an ms_snmpc_config and a poll timer each, tags on a bus client,
 * SETs of bus changes, and an <rtu>_status tag per agent. */
#ifndef MS_APPS_SNMPC_RUN_H
#define MS_APPS_SNMPC_RUN_H

#include <uv.h>

#include "apps/snmpclient/snmpc_config.h"
#include "mscada/tagdesc.h"

typedef struct ms_snmpc ms_snmpc;

/* Connects to the bus, opens the agents' sessions and starts polling. cfg
 * and descs are borrowed until the loop has run dry after ms_snmpc_stop.
 * Returns 0 with *out set; or an error (the failing tag or agent logged)
 * with *out NULL and what was made closed, freed as the loop runs
 * (docs/design.md, "Lifecycles"). */
int ms_snmpc_start(uv_loop_t *loop, ms_snmpc_config *cfg,
                   const ms_tagdescs *descs, ms_snmpc **out);
/* Closes the sessions and timers; freed once the loop has run their close
 * callbacks. NULL-safe. */
void ms_snmpc_stop(ms_snmpc *p);

#endif
