/* What the message links (mb_link_serial.c, mb_link_udp.c) share
 * (internal to src/modbus/link): a link opened by one call, opened again
 * with capped exponential backoff after it fails (no jitter: one opener per
 * line or socket), the failure logged once and the reopening once; and
 * answers that arrive as whole ADUs, where a garbled one is dropped on its
 * own instead of dropping a connection. */
#ifndef MS_MODBUS_MB_LINK_MSG_H
#define MS_MODBUS_MB_LINK_MSG_H

#include <stdbool.h>
#include <uv.h>

#include "modbus/link/mb_link.h"
#include "net/backoff.h"

typedef struct {
    uv_timer_t timer;
    ms_backoff backoff;
    bool fail_logged;
    bool closing;
    ms_mb_client *c;
    const ms_mb_client_config *cfg;
    const char *what;            /* the device or host, for log lines */
    int (*open)(void *arg);      /* 0, or an error: tried again later */
    void (*on_closed)(void *arg); /* the timer is closed */
    void *arg;
} ms_mb_reopen;

/* Opens from the loop at once (then again after each failure). */
void ms_mb_reopen_start(ms_mb_reopen *r, uv_loop_t *loop, ms_mb_client *c,
                        const ms_mb_client_config *cfg, const char *what,
                        int (*open)(void *arg),
                        void (*on_closed)(void *arg), void *arg);
/* The open link failed (its owner has closed it): report the client down
 * and open again after the next backoff. err is logged. */
void ms_mb_reopen_failed(ms_mb_reopen *r, int err);
/* Stops opening; on_closed runs once the timer is closed. */
void ms_mb_reopen_close(ms_mb_reopen *r);

/* A whole answer ADU arrived (a garbled one is logged and ignored). */
void ms_mb_msg_feed(ms_mb_client *c, const ms_mb_client_config *cfg,
                    const uint8_t *p, size_t len);

#endif
