/* A Modbus client transport on a libuv loop (docs/modbus.md, "Client
 * transport"): one socket to one device or gateway, many units behind it.
 *
 * Requests queue per unit and go out round-robin across units, at most
 * max_in_flight at a time on the socket (1 unless the device accepts
 * pipelining). Each has a timeout and a number of retries. A unit that
 * stays silent through every retry is "down": from then on its requests are
 * refused at once (MS_EDOWN) except one probe every backoff_max seconds, so
 * a dead unit behind a gateway costs the others little. The connection has
 * a connect timeout, TCP_NODELAY, and reconnects by itself with capped,
 * jittered exponential backoff; a garbled stream is logged (naming the
 * peer) and the connection dropped and made again.
 *
 * Every call and callback runs on the loop's thread. */
#ifndef MSCADA_MBCLIENT_H
#define MSCADA_MBCLIENT_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mscada/loop.h"

#include "mscada/mbserial.h"
#include "mscada/modbus.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_MB_IN_FLIGHT_MAX 64
#define MS_MB_RETRIES_MAX 100

typedef struct ms_mb_client ms_mb_client;

/* A request ended: status 0 and rsp (valid during the call, payload in its
 * wire form), or an error: a Modbus exception (ms_mb_err_is_exc),
 * MS_ETIMEDOUT (no answer through every retry), MS_EPROTO (an answer that
 * does not fit the request), MS_ECLOSED (the connection went, or the client
 * closed). req is the request as submitted (its data pointer is not kept).
 * The callback may submit more requests or close the client. */
typedef void (*ms_mb_done_cb)(int status, uint8_t unit,
                              const ms_mb_request *req,
                              const ms_mb_response *rsp, void *arg);

/* The connection came up (up) or went down. */
typedef void (*ms_mb_state_cb)(ms_mb_client *c, bool up, void *arg);
/* A unit stopped answering (up false) or answers again. */
typedef void (*ms_mb_unit_cb)(ms_mb_client *c, uint8_t unit, bool up,
                              void *arg);
/* The connection could not be made (or the line opened), or was lost: why
 * says what the log says ("cannot connect: connection refused", "connection
 * lost: the peer closed it"). Called at every failed attempt, before the
 * state callback of a loss. Must not close the client. */
typedef void (*ms_mb_fail_cb)(ms_mb_client *c, const char *why, void *arg);

/* How requests travel: a TCP stream (MBAP, or RTU for rtu-over-tcp), UDP
 * datagrams (one MBAP ADU each) or a serial line (RTU, one request in
 * flight on the line whatever max_in_flight says). */
typedef enum {
    MS_MB_TRANSPORT_TCP = 0,
    MS_MB_TRANSPORT_UDP = 1,
    MS_MB_TRANSPORT_SERIAL = 2
} ms_mb_transport;

/* Start from ms_mb_client_config_init, which sets every default; every
 * value is then taken as it is (retries 0 means no retry). */
typedef struct {
    ms_mb_transport transport; /* default TCP */
    ms_mb_serial_config serial; /* SERIAL: the line */
    char host[256];          /* TCP, UDP; default 127.0.0.1 */
    int port;                /* TCP, UDP; default 502 */
    char name[64];           /* for log lines; "" (default): "host:port",
                              * "udp:host:port" or the serial device */
    ms_mb_framing framing;   /* TCP: MBAP (default), or RTU for
                              * rtu-over-tcp; UDP: MBAP; SERIAL: unused */
    double timeout;          /* seconds per request try, > 0; default 1 */
    unsigned retries;        /* tries after the first, 0..MS_MB_RETRIES_MAX;
                              * default 1 */
    unsigned max_in_flight;  /* 1..MS_MB_IN_FLIGHT_MAX; default 1 */
    double connect_timeout;  /* seconds, > 0; default 3 */
    double backoff_min;      /* first reconnect delay, > 0; default 0.1 s */
    double backoff_max;      /* cap of the doubling, >= backoff_min;
                              * default 5 s */
    ms_mb_state_cb on_state;
    ms_mb_unit_cb on_unit;
    ms_mb_fail_cb on_fail;
    void *arg;               /* for on_state, on_unit and on_fail */
} ms_mb_client_config;

/* Counters since the client was made. */
typedef struct {
    uint64_t requests;  /* submitted and accepted */
    uint64_t responses; /* answered (exceptions included) */
    uint64_t errors;    /* ended with an error (exceptions included) */
    uint64_t timeouts;  /* tries that timed out */
    uint64_t connects;
    double rtt_ms;      /* round trip of the last answer */
    int last_error;     /* the last error status, 0 if none */
} ms_mb_client_stats;

MS_EXTERN void ms_mb_client_config_init(ms_mb_client_config *cfg);
/* 0 when ms_mb_client_new would take cfg; else MS_EINVAL with why (cap
 * bytes, may be NULL) naming the setting and what it may be. */
MS_EXTERN int ms_mb_client_config_check(const ms_mb_client_config *cfg, char *why,
                              size_t cap);

/* Makes a client and starts connecting (or opening the line) from the
 * loop: no callback runs inside this call. cfg is copied. Returns 0 with
 * *out set; or MS_EINVAL (ms_mb_client_config_check says why), MS_ENOMEM,
 * with *out NULL and nothing left behind. A device that can't be reached
 * or a line that can't be opened is no error: it is tried again. */
MS_EXTERN int ms_mb_client_new(uv_loop_t *loop, const ms_mb_client_config *cfg,
                     ms_mb_client **out);
/* Fails every request (MS_ECLOSED), closes the socket and frees the client
 * once the loop has run the close callbacks. Safe in a callback. */
MS_EXTERN void ms_mb_client_close(ms_mb_client *c);

/* Queues a request for unit; cb is called exactly once when it ends (never
 * from inside this call). Returns 0; MS_ECLOSED when not connected;
 * MS_EDOWN when the unit is down and its probe is not due; MS_EFULL when
 * too many requests wait; MS_EINVAL / MS_ERANGE when req does not encode. */
MS_EXTERN int ms_mb_client_submit(ms_mb_client *c, uint8_t unit,
                        const ms_mb_request *req, ms_mb_done_cb cb,
                        void *arg);

MS_EXTERN bool ms_mb_client_connected(const ms_mb_client *c);
/* Whether unit answered its last request (or was never asked). */
MS_EXTERN bool ms_mb_client_unit_up(const ms_mb_client *c, uint8_t unit);
MS_EXTERN void ms_mb_client_get_stats(const ms_mb_client *c, ms_mb_client_stats *st);
MS_EXTERN const char *ms_mb_client_name(const ms_mb_client *c);

#ifdef __cplusplus
}
#endif
#endif
