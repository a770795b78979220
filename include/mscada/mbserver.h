/* A Modbus TCP server on a libuv loop (docs/modbus.md, "modbusserver"):
 * masters read and write a block memory (mscada/mbmap.h).
 *
 * Two layers: ms_mb_serve_pdu answers one request PDU from memory (pure,
 * no I/O: what the fuzzer drives), and ms_mb_server carries it over TCP with
 * MBAP framing: many masters at once, pipelined requests answered in order,
 * all the responses to one read written with one system call, TCP_NODELAY.
 * A master that stops mid-frame, or stops reading its answers, costs the
 * others nothing and is dropped after a timeout; a master that sends
 * something that is not MBAP is logged (naming the peer and the fault) and
 * dropped, since the stream can no longer be trusted.
 *
 * Every call and callback runs on the loop's thread. */
#ifndef MSCADA_MBSERVER_H
#define MSCADA_MBSERVER_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mscada/loop.h"

#include "mscada/mbmap.h"
#include "mscada/modbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A master changed memory: count registers or bits from addr (0-based) of
 * unit's file. Called after the change, before the response is sent. */
typedef void (*ms_mb_write_cb)(uint8_t unit, ms_mb_file file, uint16_t addr,
                               uint16_t count, void *arg);

/* What a server answers from: memory, device identification (FC43/14,
 * basic objects 0-2 and regular object 4; NULL strings read as ""), the
 * report server id (FC17), which units it answers, and who hears of
 * writes. Zeroed fields mean the defaults. */
typedef struct {
    ms_mb_mem *mem;
    const char *vendor;       /* object 0, default "mscada" */
    const char *product_code; /* object 1, default "mscada-modbusserver" */
    const char *version;      /* object 2, default the library's version */
    const char *product_name; /* object 4, default "mscada modbusserver" */
    /* FC17's answer: server_id_len bytes of id (up to MS_MB_MAX_SERVER_ID;
     * NULL: one byte, the unit), then the run indicator, 0xFF (on) unless
     * run_off. */
    const uint8_t *server_id;
    size_t server_id_len;
    bool run_off;
    /* Units 0 and 255, when they have no memory of their own, answer as
     * this device (its lowest unit with memory): Modbus TCP masters use
     * them for "no unit" (Modbus TCP implementation guide). For TCP and
     * UDP: a serial slave leaves unit 0 to broadcast and 255 unanswered. */
    bool unit_any;
    ms_mb_write_cb on_write;
    void *arg;
    /* Optional: called with enter true before each request is answered and
     * false after, e.g. to lock memory other threads share. */
    void (*guard)(bool enter, void *arg);
} ms_mb_handler;

/* Answers the len bytes of one request PDU addressed to unit: writes the
 * response PDU (normal or exception) into out (MS_MB_PDU_MAX bytes) and
 * returns its length; MS_EPROTO when the request can't be answered at all
 * (empty, function code 0 or above 127): the stream is not Modbus.
 * Exceptions: 11 unknown unit (checked first; see unit_any), 1 unsupported
 * function, 3 bad quantity or length, 2 any address outside every block. */
MS_EXTERN int ms_mb_serve_pdu(const ms_mb_handler *h, uint8_t unit, const uint8_t *pdu,
                    size_t len, uint8_t *out);

/* Start from ms_mb_server_config_init, which sets every default; every
 * value is then taken as it is. */
typedef struct {
    char ip[64];          /* default 127.0.0.1; 0.0.0.0 / :: for all */
    int port;             /* default 502; 0 picks a free port */
    double timeout;       /* seconds a master may sit mid-frame, or with
                           * answers it doesn't read past out_cap; > 0,
                           * default 30 */
    size_t out_cap;       /* unread answers past which a master's reading
                           * stops (TCP pushes back) until it reads; > 0,
                           * default 1 MiB */
    unsigned max_conns;   /* masters at once, > 0; more are refused;
                           * default 1000 */
} ms_mb_server_config;

MS_EXTERN void ms_mb_server_config_init(ms_mb_server_config *cfg);

typedef struct ms_mb_server ms_mb_server;

/* Listens and serves. h is copied (h->mem is borrowed and must outlive the
 * server). Returns 0 with *out set; or MS_EINVAL (timeout, out_cap or
 * max_conns not > 0, no h->mem), a libuv error (e.g. UV_EADDRINUSE,
 * logged) or MS_ENOMEM, with *out NULL and nothing left open. */
MS_EXTERN int ms_mb_server_start(uv_loop_t *loop, const ms_mb_server_config *cfg,
                       const ms_mb_handler *h, ms_mb_server **out);
/* The port listened on (useful with port 0). */
MS_EXTERN int ms_mb_server_port(const ms_mb_server *s);
/* Masters connected now. */
MS_EXTERN size_t ms_mb_server_conns(const ms_mb_server *s);
/* Closes the listener and every connection; the server is freed once the
 * loop has run the close callbacks. NULL-safe. */
MS_EXTERN void ms_mb_server_stop(ms_mb_server *s);

/* Modbus over UDP: one MBAP ADU per datagram, each answered to its sender
 * (cfg's ip and port; timeout, out_cap and max_conns don't apply). Returns
 * 0 with *out set; or MS_EINVAL (ip not an address), MS_ENOMEM or a libuv
 * error (logged), with *out NULL and nothing left open. Stop is NULL-safe
 * and frees the server once the loop has run the close callback. */
typedef struct ms_mb_udp_server ms_mb_udp_server;
MS_EXTERN int ms_mb_udp_server_start(uv_loop_t *loop, const ms_mb_server_config *cfg,
                           const ms_mb_handler *h, ms_mb_udp_server **out);
MS_EXTERN int ms_mb_udp_server_port(const ms_mb_udp_server *s);
MS_EXTERN void ms_mb_udp_server_stop(ms_mb_udp_server *s);

#ifdef __cplusplus
}
#endif
#endif
