/* Internals of the bus client shared by its files:
 *   client.c        the connection: connect, reconnect with backoff, reads,
 *                   batched writes, dispatch of events
 *   client_config.c ms_client_config defaults and parsing
 *   client_proto.c  the pure codec (events from bytes, bytes from requests)
 *   client_req.c    requests with answers: LIST, and matching ERR replies to
 *                   the RTA / ID / LOG they refuse
 *   tag.c           the tag table, values, own sets, callbacks, RTA handlers
 *   client_thread.c the background-thread mode
 * Nothing here is public API. */
#ifndef MS_CLIENT_INT_H
#define MS_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/client_proto.h"
#include "core/buf.h"
#include "net/dial.h"
#include "mscada/client.h"
#include "mscada/tag.h"

#define MS_TAG_RTAQ_MAX 16 /* RTAs queued per tag while it has no id */

typedef struct {
    ms_tag_cb cb;
    void *arg;
    bool dead; /* removed during a callback; compacted afterwards */
} ms_tag_watcher;

typedef struct {
    uint8_t *data; /* type byte + body */
    size_t len;
} ms_tag_rtaq;

struct ms_tag {
    ms_client *c;
    char *name;
    size_t name_len;
    ms_type type;          /* NONE: any */
    uint16_t id;           /* on the current connection; 0 = not yet */
    bool subbed;           /* the SUB reply came on this connection */
    bool own;              /* the value is our own set: we are its author */
    bool dirty;            /* our latest value is not yet sent */
    bool in_backlog;       /* on c->backlog */
    bool bad_logged;       /* a mismatched value from the bus was logged */
    int in_cb;             /* change callbacks running (no set then) */
    /* The value in wire form (type byte + body) with a NUL after it, and
     * the decoded view pointing into it. */
    uint8_t *wire;
    size_t wire_len, wire_alloc;
    ms_value value;
    uint64_t time_us;
    /* From the tag description, if any. */
    const ms_tagdesc *desc;
    bool has_min, has_max;
    double min, max, deadband;
    ms_tag_watcher *watchers;
    size_t nwatchers, awatchers;
    ms_tag_rta_cb rta_cb;
    void *rta_arg;
    ms_tag_err_cb err_cb;
    void *err_arg;
    ms_tag_rtaq rtaq[MS_TAG_RTAQ_MAX];
    size_t nrtaq;
    void *data;
    ms_tag *hnext;         /* name hash chain */
    ms_tag *bnext;         /* backlog list */
};

/* An RTA sent, remembered so that an ERR for it reaches the tag. */
typedef struct {
    ms_tag *tag;
    uint16_t tag_id;
    uint64_t time_us;
} ms_req_rta;
#define MS_REQ_RTA_RING 64

typedef struct {
    uint64_t time_us;
    ms_client_list_cb cb;
    void *arg;
} ms_req_list;

struct ms_client {
    uv_loop_t *loop;
    ms_client_config cfg;
    ms_client_state state;
    /* Background-thread mode: held while the tag table or a value changes,
     * so that other threads can read them under it. NULL otherwise. */
    uv_mutex_t *lock;
    /* Called (on the client thread) when the state changes, before
     * cfg.on_state; used by the thread mode. */
    void (*state_hook)(ms_client *c, ms_client_state s, void *arg);
    void *state_hook_arg;

    /* tags */
    ms_tag **tags;         /* every tag in creation order */
    size_t ntags, atags;
    ms_tag **hash;         /* by name, chained */
    size_t hsize;
    ms_tag **by_id;        /* by bus id on this connection */
    size_t nby_id;
    ms_tag *backlog;       /* own values held back while the queue drains */
    ms_tag *backlog_tail;  /* (first held back, first sent) */

    /* connection */
    ms_dialer *dialer;     /* connects, and reconnects with backoff */
    ms_dial_conn *conn;    /* the current one when up, NULL when down */
    uv_idle_t idle;        /* flushes output at the next loop turn */
    bool idle_on;
    ms_client_decoder dec;
    ms_buf in;             /* a partial frame kept between reads */
    ms_buf out;            /* queued, not yet handed to the kernel */
    bool fail_logged;      /* "cannot connect" logged for this outage */
    uint64_t connects;
    uint64_t stamp;        /* last request time_us handed out */

    /* requests awaiting an answer */
    ms_req_list *lists;
    size_t nlists, alists;
    ms_req_rta rtas[MS_REQ_RTA_RING];
    size_t rta_next;

    int handles;           /* open handles + requests; freed at 0 */
    bool closing;
};

/* ---- client.c ------------------------------------------------------------ */
static inline bool ms_client_online(const ms_client *c)
{
    return c->state == MS_CLIENT_CONNECTED && c->conn != NULL;
}
/* Bytes handed to the write in flight on the current connection. */
static inline size_t ms_client_inflight(const ms_client *c)
{
    return c->conn ? c->conn->q.inflight : 0;
}
static inline size_t ms_client_queued(const ms_client *c)
{
    return ms_buf_size(&c->out) + ms_client_inflight(c);
}
/* Hands one event from the bus to the tags or the requests. */
void ms_client_dispatch(ms_client *c, const ms_client_event *ev);
/* A unique, increasing time_us for a request, so that an ERR (which echoes
 * it) can be matched. */
uint64_t ms_client_stamp(ms_client *c);
/* Queue a message / a value for the bus and arrange a flush. Only while
 * online. Return 0 or MS_ENOMEM / MS_ETYPE. */
int ms_client_send(ms_client *c, uint8_t cmd, uint16_t tag_id,
                   uint64_t time_us, const uint8_t *data, size_t len);
int ms_client_send_value(ms_client *c, uint8_t cmd, uint16_t tag_id,
                         uint64_t time_us, const ms_value *v);
/* Sends data (a type byte + body already encoded). */
int ms_client_send_raw_value(ms_client *c, uint8_t cmd, uint16_t tag_id,
                             uint64_t time_us, const uint8_t *wire,
                             size_t len);

static inline void ms_client_lock(ms_client *c)
{
    if (c->lock)
        uv_mutex_lock(c->lock);
}
static inline void ms_client_unlock(ms_client *c)
{
    if (c->lock)
        uv_mutex_unlock(c->lock);
}

/* ---- tag.c --------------------------------------------------------------- */
/* Forgets ids and subscriptions (a new or lost connection): our own values
 * become dirty, to be re-published after the SUB reply. */
void ms_tags_reset(ms_client *c);
/* Sends ID for every tag (on a new connection). */
void ms_tags_send_ids(ms_client *c);
void ms_tags_on_id(ms_client *c, const ms_client_event *ev);
void ms_tags_on_set(ms_client *c, const ms_client_event *ev);
void ms_tags_on_rta(ms_client *c, const ms_client_event *ev);
/* Sends held-back values while the output queue is below its mark. */
void ms_tags_drain(ms_client *c);
void ms_tags_free(ms_client *c);

/* ---- client_req.c -------------------------------------------------------- */
void ms_reqs_note_rta(ms_client *c, ms_tag *t, uint16_t tag_id,
                      uint64_t time_us);
void ms_reqs_on_list(ms_client *c, const ms_client_event *ev);
void ms_reqs_on_err(ms_client *c, const ms_client_event *ev);
/* The connection went: LIST callbacks get status, RTAs are forgotten. */
void ms_reqs_fail(ms_client *c, int status);
void ms_reqs_free(ms_client *c);

#endif
