/* A reconnecting TCP connector, shared by the bus and Modbus TCP clients:
 * resolves the host (literal addresses at once, names by uv_getaddrinfo,
 * trying each address in turn), connects with a timeout, sets TCP_NODELAY
 * and keepalive, and hands the owner the connection when it is up. After a
 * failed attempt, or when the owner drops a connection, it tries again
 * after a capped, jittered exponential backoff. It logs nothing of its own
 * but the debug line "NAME: WHY; trying the next address": each owner keeps
 * its own wording for "cannot connect" and "connected". On an up
 * connection, ms_dial_conn_start and ms_dial_conn_flush (dial_io.c) do the
 * owner's reading into a buffer and batched writing; the owner decodes.
 * Given the owner's io and buffers (cfg.io), the dialer starts that I/O
 * itself, so on_up gets a connection already being read. */
#ifndef MS_CORE_DIAL_H
#define MS_CORE_DIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/backoff.h"
#include "net/outq.h"

typedef struct ms_dialer ms_dialer;
typedef struct ms_dial_io ms_dial_io;

/* One connection. Its handle's data is the connection itself, so read and
 * write callbacks find it, and the owner's data through it. */
typedef struct {
    uv_tcp_t tcp;
    ms_outq q;     /* the owner's batched writer on tcp; freed with it */
    void *data;    /* the owner's: cfg.arg when it comes up */
    bool dropped;  /* no longer the dialer's: its callbacks must do nothing */
    /* private */
    bool up;
    uv_connect_t creq;
    ms_dialer *d;
    ms_buf *in;             /* ms_dial_conn_start's */
    const ms_dial_io *io;
} ms_dial_conn;

/* The owner's side of the stream I/O on an up connection (dial_io.c). The
 * owner forgets a connection only by ms_dialer_drop or ms_dialer_close,
 * which mark it dropped at once: so after every callback the shared code
 * goes on only while the connection is not dropped, i.e. still the
 * owner's and the owner not closing. */
struct ms_dial_io {
    size_t chunk;        /* bytes reserved in *in for each read */
    const char *eof_why; /* why, when the peer closed the stream */
    /* Bytes arrived: *in holds them behind any kept from before. It
     * consumes what it decodes (and may keep a partial frame). */
    void (*on_data)(ms_dial_conn *conn);
    /* The stream broke (read or write failed, or EOF): the owner drops
     * the connection. */
    void (*on_broken)(ms_dial_conn *conn, const char *why);
    /* Optional: *out is empty and no write is in flight; it may queue
     * more, which is written at once. */
    void (*on_drained)(ms_dial_conn *conn);
};

typedef struct {
    const char *name; /* prefix of the dialer's debug line */
    const char *host; /* address or name */
    int port;
    double connect_timeout;              /* seconds */
    double backoff_min, backoff_max;     /* seconds */
    double jitter;                       /* e.g. 0.25 */
    int keepalive_s;                     /* idle before probes; 0: off */
    /* 0: the system's default */
    int keepalive_intvl_s, keepalive_cnt, user_timeout_ms;
    /* Optional: the owner's stream I/O (must outlive the dialer) and
     * buffers, started on each connection before on_up as by
     * ms_dial_conn_start; a start that fails counts as a failed attempt.
     * NULL: the owner calls ms_dial_conn_start from on_up. */
    const ms_dial_io *io;
    ms_buf *in, *out;
    /* The connection is up (the timer is stopped, options set, and with
     * io, *in and *out emptied and reading started). */
    void (*on_up)(ms_dialer *d, ms_dial_conn *conn, void *arg);
    /* An attempt failed (every address); the next one is scheduled. */
    void (*on_fail)(ms_dialer *d, const char *why, void *arg);
    void *arg;
} ms_dialer_config;

/* Copies cfg (and its strings); connects nothing before ms_dialer_start. */
int ms_dialer_new(uv_loop_t *loop, const ms_dialer_config *cfg,
                  ms_dialer **out);
/* Starts the first attempt (from here, so the owner has its dialer). */
void ms_dialer_start(ms_dialer *d);
/* The owner gives up the up connection (it broke): closes it and schedules
 * the next attempt. One that lived backoff_max or longer starts the backoff
 * afresh; one that keeps failing at once (e.g. refused by an allow list)
 * does not. */
void ms_dialer_drop(ms_dialer *d);
/* Closes everything, also while resolving or connecting, and frees the
 * dialer; then calls on_closed (the owner counts the dialer as a handle). */
void ms_dialer_close(ms_dialer *d, void (*on_closed)(void *arg), void *arg);
/* Whether a connection is being made or up. */
bool ms_dialer_has_conn(const ms_dialer *d);

/* Starts reading and writing on an up connection (from on_up): *in and
 * *out are emptied (nothing of the last connection may leak into this
 * one), writes of *out go through conn->q, and reads into *in call io's
 * callbacks (io must outlive the connection). Returns uv_read_start's
 * error; the owner then drops the connection. */
int ms_dial_conn_start(ms_dial_conn *conn, ms_buf *in, ms_buf *out,
                       const ms_dial_io *io);
/* Writes *out until it is empty or a write is in flight (calling
 * on_drained each time it is empty); on a failed write, on_broken. Does
 * nothing for NULL (the owner is down) or a dropped connection. */
void ms_dial_conn_flush(ms_dial_conn *conn);

#endif
