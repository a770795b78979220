/* The pure core of a Modbus client connection (internal to libmscada): the
 * request queues (one per unit, served round-robin), transaction ids, the
 * in-flight table (at most max_in_flight), matching of responses to
 * requests, per-try timeouts with retries, and units that went "down". No
 * I/O and no clock of its own: the caller passes the time in, takes the
 * bytes to send and feeds the bytes received (mb_client.c does that on a
 * libuv socket; tests and the fuzz target do it directly). */
#ifndef MS_MODBUS_MB_SESSION_H
#define MS_MODBUS_MB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mscada/mbclient.h"
#include "mscada/modbus.h"

/* Requests waiting in all queues together, at most. */
#define MS_MB_SESSION_QUEUE_MAX 4096

typedef struct ms_mb_txn ms_mb_txn;
struct ms_mb_txn {
    ms_mb_txn *next;     /* in its unit's queue */
    ms_mb_request req;   /* data == NULL: the payload lives in pdu */
    uint8_t pdu[MS_MB_PDU_MAX];
    uint16_t pdu_len;
    uint16_t tid;        /* of the try in flight */
    uint8_t unit;
    uint8_t tries;       /* sent so far */
    bool probe;          /* to a down unit: one try only */
    uint64_t sent_ns, deadline_ns;
    ms_mb_done_cb cb;
    void *arg;
};

typedef struct {
    ms_mb_txn *head, *tail;
    uint16_t inflight;
    bool in_ring;        /* listed in the round-robin ring */
    bool down;           /* silent through every retry */
    uint64_t probe_ns;   /* down: when the next probe may go */
} ms_mb_unitq;

typedef struct ms_mb_session ms_mb_session;
struct ms_mb_session {
    ms_mb_framing framing;
    unsigned max_in_flight;
    unsigned retries;
    uint64_t timeout_ns;
    uint64_t probe_every_ns;
    const char *peer;    /* for log lines */
    ms_mb_unitq units[256];
    uint8_t ring[256];   /* units with queued requests, in serving order */
    unsigned ring_head, ring_len;
    ms_mb_txn *inflight[MS_MB_IN_FLIGHT_MAX];
    unsigned ninflight;
    unsigned queued;
    uint16_t next_tid;
    bool closed;         /* failed for good: feeding stops */
    uint64_t stale;      /* answers to nothing in flight (late replies) */
    uint64_t misfit[8];  /* kinds of answer that did not fit, logged once */
    unsigned nmisfit;
    ms_mb_client_stats stats;
    /* A unit went down or came back. */
    void (*on_unit)(ms_mb_session *s, uint8_t unit, bool up, void *arg);
    void *arg;
};

/* timeout_s, retries, max_in_flight as the client config (already
 * checked); probe_every_s: how often a down unit may be tried. */
void ms_mb_session_init(ms_mb_session *s, ms_mb_framing f,
                        unsigned max_in_flight, double timeout_s,
                        unsigned retries, double probe_every_s,
                        const char *peer);

/* Queues a request (encoding it now). Returns 0, MS_EDOWN (unit down, its
 * probe not due or already out), MS_EFULL, MS_ENOMEM, or the encoder's
 * MS_EINVAL / MS_ERANGE / MS_ETOOBIG. */
int ms_mb_session_submit(ms_mb_session *s, uint64_t now_ns, uint8_t unit,
                         const ms_mb_request *req, ms_mb_done_cb cb,
                         void *arg);

/* Moves queued requests in flight (round-robin over units, up to
 * max_in_flight) and appends their ADUs to out. Returns how many, or
 * MS_ENOMEM. */
int ms_mb_session_take(ms_mb_session *s, uint64_t now_ns, ms_buf *out);

/* Reads the ADUs at the start of buf (len bytes): each answer ends its
 * request (callback). *used says how many bytes were whole ADUs. Returns 0,
 * or MS_EPROTO when the stream is garbled (the caller must drop the
 * connection; *used is then meaningless). Stops early, returning 0, when a
 * callback closes the session. */
int ms_mb_session_feed(ms_mb_session *s, uint64_t now_ns, const uint8_t *buf,
                       size_t len, size_t *used);

/* The earliest deadline in flight (monotonic ns), 0 when nothing is. */
uint64_t ms_mb_session_deadline(const ms_mb_session *s);
/* Handles tries whose deadline passed: re-queue them at the front of their
 * unit (a new tid; a late answer to the old one is ignored), or fail them
 * with MS_ETIMEDOUT and mark the unit down. */
void ms_mb_session_expire(ms_mb_session *s, uint64_t now_ns);

/* Fails every request, in flight and queued, with status (connection lost:
 * MS_ECLOSED), and forgets which units were down. */
void ms_mb_session_fail_all(ms_mb_session *s, int status);
/* fail_all, and no more feeding (the client is closing). */
void ms_mb_session_close(ms_mb_session *s);

#endif
