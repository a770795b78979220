/* modbusclient's runtime (internal to libmscada): one ms_mb_client per RTU
 * of an ms_mbc_config and a poll timer each, tags on a bus client, writes
 * of bus changes back to the devices, and an <RTU>_status tag per RTU. */
#ifndef MS_MODBUS_MB_POLLER_H
#define MS_MODBUS_MB_POLLER_H

#include <uv.h>

#include "apps/modbusclient/mbc_plan.h"
#include "mscada/tagdesc.h"

typedef struct ms_mbc ms_mbc;

/* Connects to the bus and the RTUs and starts polling. cfg and descs are
 * borrowed until ms_mbc_free (cfg's read requests hold the last answers;
 * its bus and net callbacks are set here). *out is set even on failure
 * (NULL only when out of memory): stop it, run the loop dry, free it.
 * Returns 0 or an error (MS_ENOMEM, a bus client or Modbus client error,
 * the failing tag or RTU logged). */
int ms_mbc_start(uv_loop_t *loop, ms_mbc_config *cfg,
                 const ms_tagdescs *descs, ms_mbc **out);
/* Closes the clients and timers; the loop then runs dry. NULL-safe. */
void ms_mbc_stop(ms_mbc *p);
/* Frees it once the loop has run dry after ms_mbc_stop. NULL-safe. */
void ms_mbc_free(ms_mbc *p);

#endif
