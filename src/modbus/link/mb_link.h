/* A Modbus client's transports (internal to src/modbus/link): what the
 * public ms_mb_client (mb_client.c: session, deadlines, submit, stats)
 * asks of the link that carries its ADUs, as a table of functions, one
 * file per transport:
 *   mb_link_tcp.c     a TCP stream (MBAP, or RTU for rtu-over-tcp),
 *                     connected and reconnected by the dialer;
 *   mb_link_serial.c  a serial line (RTU, one request on the line);
 *   mb_link_udp.c     UDP datagrams (one MBAP ADU each);
 * the two message links share mb_link_msg.c (opening again with backoff).
 * A link reports back through the ms_mb_client_link_* calls below. */
#ifndef MS_MODBUS_MB_LINK_H
#define MS_MODBUS_MB_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mscada/mbclient.h"

typedef struct ms_mb_link ms_mb_link; /* each transport's own state */

typedef struct {
    /* Checks the transport's part of cfg (the rest is checked by the
     * client). Returns 0, or MS_EINVAL with why (cap bytes) saying which
     * setting and what it may be. */
    int (*check)(const ms_mb_client_config *cfg, char *why, size_t cap);
    /* Fills a default cfg->name when it is empty, and says how the
     * session frames ADUs on this link. */
    void (*prepare)(ms_mb_client_config *cfg, ms_mb_framing *framing);
    /* Makes the link and starts opening it, from the loop (the client's
     * callbacks never run inside ms_mb_client_new). cfg is the client's
     * own copy and outlives the link. Returns 0, or MS_ENOMEM / a libuv
     * error with nothing left open. */
    int (*start)(ms_mb_client *c, uv_loop_t *loop,
                 const ms_mb_client_config *cfg, ms_mb_link **out);
    /* Sends len bytes of whole ADUs the session took, on an up link. */
    void (*send)(ms_mb_link *l, const uint8_t *p, size_t len);
    /* A try timed out (NULL: nothing to do). TCP drops a stream whose
     * peer stopped mid-frame. */
    void (*timed_out)(ms_mb_link *l);
    /* Closes; calls ms_mb_client_link_closed once its handles are closed
     * and it is freed. No other ms_mb_client_link_* call after this. */
    void (*close)(ms_mb_link *l);
} ms_mb_link_ops;

extern const ms_mb_link_ops ms_mb_link_tcp;
extern const ms_mb_link_ops ms_mb_link_serial;
extern const ms_mb_link_ops ms_mb_link_udp;

/* The link is up: requests may go. */
void ms_mb_client_link_up(ms_mb_client *c);
/* Connecting (opening) failed, or the up link is lost: why, as logged
 * without the client's name ("cannot connect: connection refused"). For
 * the config's on_fail; a loss then calls ms_mb_client_link_down. */
void ms_mb_client_link_failed(ms_mb_client *c, const char *why);
/* The link went down: everything queued and in flight fails (MS_ECLOSED).
 * Callbacks run from here may close the client. */
void ms_mb_client_link_down(ms_mb_client *c);
/* Bytes arrived: the session matches answers (callbacks run, and may close
 * the client). Returns what ms_mb_session_feed does (< 0: not Modbus),
 * *used the bytes decoded. */
int ms_mb_client_link_feed(ms_mb_client *c, const uint8_t *p, size_t len,
                           size_t *used);
/* The link is closed and freed. */
void ms_mb_client_link_closed(ms_mb_client *c);

/* For links to a host (TCP, UDP): 0, or MS_EINVAL with why when host is
 * empty or port not 1..65535. */
int ms_mb_link_check_host(const ms_mb_client_config *cfg, char *why,
                          size_t cap);

#endif
