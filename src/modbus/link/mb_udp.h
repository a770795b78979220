/* Modbus over UDP (internal to src/modbus): one MBAP ADU per datagram, on
 * a connected UDP socket so that only the device's datagrams arrive. A
 * datagram that is not exactly one ADU is refused (logged, counted). No
 * retransmission here: the session's per-request timeout and retries are
 * the retry. Used by the UDP client link (mb_link_udp.c). */
#ifndef MS_MODBUS_MB_UDP_H
#define MS_MODBUS_MB_UDP_H

#include <stdint.h>
#include <uv.h>

#include "mscada/modbus.h"

typedef struct ms_mb_udp ms_mb_udp;

/* One whole ADU (len bytes) arrived. */
typedef void (*ms_mb_udp_frame_cb)(ms_mb_udp *u, const uint8_t *adu,
                                   size_t len, void *arg);

/* Checks one datagram: 0 when it is exactly one ADU of framing f read in
 * direction dir (adu set), else MS_EPROTO. Pure. */
int ms_mb_udp_datagram(ms_mb_framing f, ms_mb_dir dir, const uint8_t *p,
                       size_t len, ms_mb_adu *adu);

/* Opens a socket connected to host:port (an address, or a name resolved
 * now). Returns 0, MS_ENOMEM, or a libuv error. */
int ms_mb_udp_open(uv_loop_t *loop, const char *host, int port,
                   const char *name, ms_mb_udp_frame_cb on_frame, void *arg,
                   ms_mb_udp **out);
/* Sends one ADU as one datagram. Returns 0 or a libuv error (a full socket
 * buffer drops it: the request's timeout sends it again). */
int ms_mb_udp_send(ms_mb_udp *u, const uint8_t *p, size_t len);
/* Datagrams refused since opening. */
uint64_t ms_mb_udp_refused(const ms_mb_udp *u);
/* u is freed once the loop has run the close callback. */
void ms_mb_udp_close(ms_mb_udp *u);

#endif
