/* modbusclient's runtime (internal to libmscada): one ms_mb_client per RTU
 * of an ms_mbc_config and a poll timer each, tags on a bus client, writes
 * of bus changes back to the devices, and an <RTU>_status tag per RTU. */
#ifndef MS_APPS_MBC_RUN_H
#define MS_APPS_MBC_RUN_H

#include <uv.h>

#include "apps/modbusclient/mbc_plan.h"
#include "mscada/tagdesc.h"

typedef struct ms_mbc ms_mbc;

/* Connects to the bus and the RTUs and starts polling. cfg and descs are
 * borrowed until the loop has run dry after ms_mbc_stop (cfg's read
 * requests hold the last answers; its bus and net callbacks are set here).
 * Returns 0 with *out set; or an error (MS_ENOMEM, MS_EINVAL, a bus client
 * or tag error; the failing tag or RTU logged) with *out NULL and what was
 * made closed, freed as the loop runs (docs/design.md, "Lifecycles"). */
int ms_mbc_start(uv_loop_t *loop, ms_mbc_config *cfg,
                 const ms_tagdescs *descs, ms_mbc **out);
/* Closes the clients and timers; p is freed once the loop has run their
 * close callbacks (uv_run then returns). NULL-safe. */
void ms_mbc_stop(ms_mbc *p);

#endif
