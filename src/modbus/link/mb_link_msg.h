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

/* The head of a message link (its struct ms_mb_link starts with one). */
typedef struct {
    uv_loop_t *loop;
    uv_timer_t timer;
    ms_backoff backoff;
    bool fail_logged;
    bool closing;
    ms_mb_client *c;
    const ms_mb_client_config *cfg;
    const char *what;            /* the device or host, for log lines */
    int (*open)(void *link);     /* 0, or an error: tried again later */
} ms_mb_reopen;

/* Makes a link of size bytes (an ms_mb_reopen first, the rest zeroed) for
 * c and starts opening it: open(link) from the loop at once, then again
 * after each failure. The link is freed, and the client told, once
 * ms_mb_reopen_close has closed its timer. what (the device or host) must
 * outlive it. */
int ms_mb_msg_link_new(size_t size, ms_mb_client *c, uv_loop_t *loop,
                       const ms_mb_client_config *cfg, const char *what,
                       int (*open)(void *link), ms_mb_link **out);
/* The open link failed (its owner has closed it): report the client down
 * and open again after the next backoff. err is logged. */
void ms_mb_reopen_failed(ms_mb_reopen *r, int err);
/* Stops opening; the link is freed once the timer is closed. */
void ms_mb_reopen_close(ms_mb_reopen *r);

/* A whole answer ADU arrived (a garbled one is logged and ignored). */
void ms_mb_msg_feed(ms_mb_client *c, const ms_mb_client_config *cfg,
                    const uint8_t *p, size_t len);

#endif
