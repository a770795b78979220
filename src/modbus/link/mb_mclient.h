/* The Modbus client over message links (internal to src/modbus): a serial
 * line (RTU) or a UDP socket (MBAP), where each ADU arrives whole and a
 * garbled one is dropped on its own instead of dropping a connection. The
 * pure session (mb_session.c) does queues, matching, timeouts, retries and
 * down units exactly as over TCP; this file adds the loop's timers and
 * opens the link again, with backoff, when it fails. ms_mb_client (the
 * public API in mb_client.c) hands non-TCP transports here. */
#ifndef MS_MODBUS_MB_MCLIENT_H
#define MS_MODBUS_MB_MCLIENT_H

#include "mscada/mbclient.h"

typedef struct ms_mb_mclient ms_mb_mclient;

/* owner: the ms_mb_client passed to cfg's callbacks. */
int ms_mb_mclient_new(uv_loop_t *loop, const ms_mb_client_config *cfg,
                      ms_mb_client *owner, ms_mb_mclient **out);
void ms_mb_mclient_close(ms_mb_mclient *m);
int ms_mb_mclient_submit(ms_mb_mclient *m, uint8_t unit,
                         const ms_mb_request *req, ms_mb_done_cb cb,
                         void *arg);
bool ms_mb_mclient_connected(const ms_mb_mclient *m);
bool ms_mb_mclient_unit_up(const ms_mb_mclient *m, uint8_t unit);
void ms_mb_mclient_get_stats(const ms_mb_mclient *m, ms_mb_client_stats *st);
const char *ms_mb_mclient_name(const ms_mb_mclient *m);

#endif
