/* The bus server's state machine, without I/O: tags, connections, command
 * handling, output queues with conflation. The libuv server (bus_server.c)
 * feeds it bytes and writes out what it queues; fuzz targets and tests can
 * drive it directly. */
#ifndef MS_BUS_CORE_H
#define MS_BUS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus_tags.h"
#include "core/buf.h"
#include "mscada/frame.h"

typedef struct {
    size_t max_payload; /* cap on a re-assembled payload */
    size_t high_water;  /* queued bytes past which plain SETs conflate */
    size_t hard_cap;    /* queued bytes past which the connection closes */
} ms_bus_limits;

typedef struct ms_bus_core ms_bus_core;

/* A port's wire form: how a connection's input is read and its output
 * written. The server picks one when it accepts, by the port (binary:
 * ms_bus_proto_frames below; text: ms_bus_proto_text in bus_text.h), so
 * the core handles commands without knowing the form of its replies. */
typedef struct {
    /* Handles every whole message (frame, line) in len bytes at buf;
     * *used = bytes consumed. Returns 0, or a negative MS_E* when the
     * stream can't be trusted (conn->why says why; drop the connection). */
    int (*input)(ms_bus_conn *conn, const uint8_t *buf, size_t len,
                 size_t *used);
    /* Queues a message that is never dropped: ID, LIST, RTA or ERR. */
    void (*msg)(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                uint64_t time_us, const uint8_t *data, size_t len);
    /* Queues the tag's current value (a GET/SUB reply, an update, a value
     * owed by conflation). frame/n: that value already encoded as a SET
     * frame when the caller has it (fan-out encodes once for every
     * receiver), else NULL. Returns false when nothing was queued. */
    bool (*value)(ms_bus_conn *conn, const ms_bus_tag *tag,
                  const uint8_t *frame, size_t n);
} ms_bus_proto;

struct ms_bus_conn {
    ms_bus_core *core;
    char peer[64];         /* "ip:port" for log lines */
    void *io;              /* the I/O layer's handle */
    const ms_bus_proto *proto; /* its port's wire form */
    ms_frame_reader reader;
    ms_buf out;            /* queued, not yet handed to the kernel */
    size_t inflight;       /* handed to an async write, not yet done */
    /* Conflation: tags whose latest value is owed to this connection. */
    uint64_t *cbits;       /* bitmap by tag id, allocated on first use */
    uint16_t *clist;       /* ids in the order they were first owed */
    size_t nclist, aclist;
    uint64_t *subbits;     /* ids this connection subscribes to */
    bool quit;             /* close once its queue is written (text quit) */
    bool pending;          /* on the core's list of connections with output */
    bool closing;          /* to be closed by the I/O layer */
    char why[96];          /* why it is closing, for the log line */
    ms_bus_conn *next_pending;
    ms_bus_conn *prev, *next; /* all connections */
    uint64_t msgs_in, msgs_out;
};

typedef struct {
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
    uint64_t conflated; /* SETs replaced by a later value */
    uint64_t dropped;   /* connections closed for a fault */
    uint64_t connections;
} ms_bus_counters;

struct ms_bus_core {
    ms_bus_limits lim;
    ms_bus_tags tags;
    ms_bus_conn *conns;    /* list of all connections */
    ms_bus_conn *pending;  /* connections with new output to flush */
    ms_buf scratch;        /* one encoded message, copied to each receiver */
    ms_bus_counters n;
    bool changed;          /* tags or values changed (for the snapshot) */
    ms_bus_tag *bus_tag;   /* __bus__ */
};

#define MS_BUS_TAG_NAME "__bus__"
#define MS_BUS_STATS_NAME "__bus_stats__"
#define MS_BUS_LOG_MAX 300

/* An empty core. Restore a snapshot into c->tags if there is one, then
 * call ms_bus_core_start(). */
int ms_bus_core_init(ms_bus_core *c, const ms_bus_limits *lim);
/* Creates __bus__ (id 1 in a fresh bus, as pymscada) if missing and sets it
 * to "started". */
int ms_bus_core_start(ms_bus_core *c);
void ms_bus_core_free(ms_bus_core *c);

/* The binary port's wire form: frames in (ms_bus_core_input), frames out. */
extern const ms_bus_proto ms_bus_proto_frames;

/* A new connection from peer whose input and output take the wire form
 * proto. */
ms_bus_conn *ms_bus_core_conn_new(ms_bus_core *c, const char *peer, void *io,
                                  const ms_bus_proto *proto);
/* Unsubscribes, forgets authorship, frees. */
void ms_bus_core_conn_free(ms_bus_conn *conn);

/* Handles every whole message in len bytes at buf; *used says how many
 * bytes were consumed (keep the rest for later). Returns 0, or MS_EPROTO /
 * MS_ETOOBIG / MS_ENOMEM when the stream can't be trusted: the caller
 * logs (the conn's `why` says why) and drops the connection. The
 * connection may also be marked closing (queue over the hard cap). */
int ms_bus_core_input(ms_bus_conn *conn, const uint8_t *buf, size_t len,
                      size_t *used);

/* Handles one whole message as if conn had sent it (the text port turns
 * its lines into these). Replies go out through conn->proto. Returns false
 * when the message was refused with an ERR. */
bool ms_bus_core_handle(ms_bus_conn *conn, const ms_msg *m);

/* Gives up on a connection: marks it closing with why (for the I/O layer's
 * log line), counts it as dropped, and puts it on the pending list so the
 * I/O layer closes it. */
void ms_bus_core_fail(ms_bus_conn *conn, const char *why);

/* Queues n bytes for conn as they are (never dropped); past the hard cap
 * the connection is marked closing instead. Returns false then. */
bool ms_bus_core_queue(ms_bus_conn *conn, const uint8_t *p, size_t n);

/* Pops a connection with new output, or NULL. */
ms_bus_conn *ms_bus_core_pop_pending(ms_bus_core *c);

/* Bytes queued for a connection (waiting and in flight). */
static inline size_t ms_bus_conn_queued(const ms_bus_conn *conn)
{
    return ms_buf_size(&conn->out) + conn->inflight;
}

/* Call when a connection's queue has gone down: if it owes conflated
 * values and is under half the high-water mark, queues their latest
 * values (up to the high-water mark). Returns true when it queued any. */
bool ms_bus_core_drain(ms_bus_conn *conn);

/* Sets a tag as the bus itself (author NULL) and tells its subscribers:
 * used for __bus__ and __bus_stats__. Creates the tag if needed. */
int ms_bus_core_set_own(ms_bus_core *c, const char *name, const uint8_t *value,
                        size_t len, uint64_t time_us);

#endif
