/* A TCP server's listening socket and its connections, shared by the bus,
 * Modbus TCP and EtherNet/IP servers as dial.h is by the clients: binds
 * and listens (backlog SOMAXCONN), accepts into the owner's connection
 * object, names the peer, counts the connections and refuses those past a
 * limit, reads into one buffer shared by all its connections (only a
 * partial frame is copied into the connection's own), writes an output
 * queue through ms_outq, and on close closes every connection.
 *
 * Two kinds of pause:
 * - a connection whose read filled the shared buffer stops being read
 *   until the next loop turn, so one busy peer can't starve the others;
 * - when accept(2) runs out of file descriptors (or kernel memory), the
 *   listener logs it once and stops accepting: new peers wait in the
 *   kernel's backlog, not closed, and are taken when one of its
 *   connections closes or at the latest a second later. (libuv's own
 *   accept would close them silently; that is why it accepts itself.)
 *
 * What a request/answer server wants of its peers, when it asks
 * (ms_listen_conn_flush, out_cap, timeout): a peer that doesn't read its
 * answers stops being read (TCP then pushes back on it) until it catches
 * up, and a sweep once a second drops one that has sat mid-frame, or
 * unread, longer than the timeout, so a stuck peer costs the others
 * nothing, not even its slot.
 *
 * The owner decodes and answers, and words its own "connected" line; the
 * listener logs the lines the servers share, naming the peer:
 * "PEER: disconnected", "PEER: read failed: WHY; closing", "PEER: write
 * failed: WHY; closing", "PEER: out of memory; closing", "PEER: refused:
 * N masters connected already (max_conns)", "accept failed: WHY",
 * "PEER: N bytes of answers unread; reading stops" (debug), "PEER:
 * stopped mid-frame (N bytes) for Ts; dropping the connection", "PEER:
 * has not read N bytes of answers for Ts; dropping the connection" (or
 * cfg.dropping), and, by ms_listener_log_failure, "cannot listen on
 * IP:PORT: WHY". */
#ifndef MS_NET_LISTENER_H
#define MS_NET_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "net/outq.h"
#include "net/peer.h"

/* The listen(2) backlog of every server: the system's cap (on Linux,
 * net.core.somaxconn), so a burst of (re)connecting clients waits in the
 * kernel instead of being refused. */
#define MS_LISTEN_BACKLOG SOMAXCONN

typedef struct ms_listener ms_listener;
typedef struct ms_listen_conn ms_listen_conn;

/* One accepted connection: the first member of the owner's connection
 * object (cfg.conn_size bytes, zeroed, owned by the listener). */
struct ms_listen_conn {
    uv_tcp_t tcp;                /* its data is the connection itself */
    ms_outq q;                   /* writes out, or the owner's queue */
    ms_buf out;                  /* output, unless ms_listen_conn_output */
    char peer[MS_PEER_NAME_MAX]; /* for log lines */
    bool closed;                 /* closing: the owner does nothing more */
    /* private */
    ms_listener *l;
    ms_listen_conn *prev, *next, *next_paused;
    ms_buf in;           /* a partial frame kept between reads */
    uint64_t partial_ns; /* when the kept partial frame began; 0: none */
    uint64_t held_ns;    /* when reading stopped for unread output */
    bool paused, held;
    bool listed; /* accepted and counted: on_closed is owed */
};

typedef struct {
    const char *ip;     /* an IPv4 or IPv6 literal */
    int port;           /* 0: a free port (ms_listener_port) */
    unsigned max_conns; /* connections at once, more are refused; 0: any */
    const char *peers;  /* what the refusal line calls them: "masters" */
    size_t conn_size;   /* of the owner's object, at least the base's */
    /* Output waiting (queued and in flight) past which ms_listen_conn_flush
     * stops reading a connection, until half of it is written; 0: never. */
    size_t out_cap;
    /* Seconds a connection may sit with a partial frame, or stopped by
     * out_cap, before the sweep drops it; 0: no sweep. */
    double timeout;
    /* Who the sweep's lines say are dropped: "the client"; NULL: "the
     * connection". */
    const char *dropping;
    /* Accepted: the connection is counted, named, TCP_NODELAY and about
     * to be read. The owner sets up its part (ms_listen_conn_output) and
     * logs; it returns < 0 to refuse it (after logging why), which closes
     * it. */
    int (*on_accept)(ms_listen_conn *c, const struct sockaddr *peer,
                     void *arg);
    /* Bytes arrived: data is every unconsumed byte (any kept partial frame
     * first). Returns how many it consumed (the rest is kept for the next
     * read), or < 0 when it has closed the connection or is closing it. */
    long (*on_data)(ms_listen_conn *c, const uint8_t *data, size_t len);
    /* Optional: a write handed to libuv finished; the owner writes more.
     * NULL: ms_listen_conn_flush. */
    void (*on_written)(ms_listen_conn *c);
    /* Optional: the connection is being closed (by anyone). */
    void (*on_closing)(ms_listen_conn *c);
    /* Optional: it is closed; the owner frees what it holds (the object
     * itself is freed after this). Also for a refused one. */
    void (*on_closed)(ms_listen_conn *c);
    void *arg; /* on_accept's */
} ms_listener_config;

/* Binds and listens. Returns 0, or a libuv error (UV_EINVAL: ip is no
 * address), nothing logged: the owner words it. cfg's callbacks are
 * copied; its strings must outlive the listener. */
int ms_listener_start(uv_loop_t *loop, const ms_listener_config *cfg,
                      ms_listener **out);
/* Logs why ms_listener_start(cfg) failed with rc, as the Modbus and
 * EtherNet/IP servers word it: "bad listen address 'IP'", or "cannot
 * listen on IP:PORT: WHY". */
void ms_listener_log_failure(const ms_listener_config *cfg, int rc);
int ms_listener_port(const ms_listener *l);
/* A listening socket on ip:want_port (0: a free one) as every server of
 * ours opens it (SO_REUSEADDR, "::" takes IPv4 too), non-blocking; its fd
 * and port. UV_EINVAL: ip is not an address or the port is out of range. */
int ms_listen_socket(const char *ip, int want_port, uv_os_sock_t *fd,
                     int *port);
/* Connections open now. */
size_t ms_listener_count(const ms_listener *l);
/* The newest connection; ->next goes to older ones. The owner may close
 * the one it is at (keep ->next first). */
ms_listen_conn *ms_listener_first(const ms_listener *l);
/* Whether accepting is paused for want of descriptors or memory. */
bool ms_listener_accept_paused(const ms_listener *l);
/* Closes every connection and the socket, then frees the listener and
 * calls on_closed (the owner counts the listener as one handle). */
void ms_listener_close(ms_listener *l, void (*on_closed)(void *arg),
                       void *arg);

/* Writes the owner's queue instead of c->out (from on_accept). */
void ms_listen_conn_output(ms_listen_conn *c, ms_buf *out);
/* Writes the queue (ms_outq_write). On a failed write it logs, closes c
 * and returns the error. */
int ms_listen_conn_write(ms_listen_conn *c);
/* Writes the queue unless a write is in flight, gives back an emptied
 * queue's memory, and stops or starts reading c by out_cap. Returns 0, or
 * the failed write's error (logged, c closed). Does nothing once c is
 * closed. */
int ms_listen_conn_flush(ms_listen_conn *c);
void ms_listen_conn_close(ms_listen_conn *c);

#endif
