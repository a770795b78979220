/* The bus client's state, shared by its files. Who calls whom (each only
 * the ones below it; the headers follow the same order):
 *   client.c          the connection: connect, reconnect with backoff,
 *                     reads, dispatch of events (client_tags.h,
 *                     client_req.h)
 *   tag_table.c       the tag table, lookup, ms_tag_new (tag_int.h)
 *   tag_value.c       values: typed set/get, clamp/deadband, publishing
 *   tag_sync.c        values from the bus, change callbacks, RTA
 *   tag_look.c        look-only tags: LIST before ID, asked again while
 *                     absent
 *   client_req.c      requests with answers: LIST, and matching ERR replies
 *                     to the RTA they refuse (client_req.h)
 *   client_log.c      LOG, only to a bus that takes it (client_log.h)
 *   client_writer.c   the outgoing queue, stamps, flushing (client_writer.h)
 *   client_proto.c    the pure codec (client_proto.h)
 *   client_config.c   ms_client_config defaults, check and parsing
 *   client_thread.c   the background-thread mode (public API only, and the
 *                     lock and state hook here)
 * Nothing here is public API. */
#ifndef MS_CLIENT_INT_H
#define MS_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/client_log.h"
#include "client/client_proto.h"
#include "client/client_req.h"
#include "client/client_writer.h"
#include "core/buf.h"
#include "net/backoff.h"
#include "net/dial.h"
#include "mscada/client.h"
#include "mscada/tag.h"

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

    /* tags (tag_*.c; struct ms_tag is theirs alone) */
    ms_tag **tags;         /* every tag in creation order */
    size_t ntags, atags;
    ms_tag **hash;         /* by name, chained */
    size_t hsize;
    ms_tag **by_id;        /* by bus id on this connection */
    size_t nby_id;
    ms_tag *backlog;       /* own values held back while the queue drains */
    ms_tag *backlog_tail;  /* (first held back, first sent) */
    uv_timer_t *look_timer; /* asks again for absent look-only tags */
    ms_backoff look_backoff;

    /* connection (client.c) */
    ms_dialer *dialer;     /* connects, and reconnects with backoff */
    ms_client_decoder dec;
    ms_buf in;             /* a partial frame kept between reads */
    bool fail_logged;      /* "cannot connect" logged for this outage */
    uint64_t connects;

    ms_client_writer w;    /* output */
    ms_client_reqs reqs;   /* requests awaiting an answer */
    ms_client_loggate lg;  /* LOG only to a bus that takes it */

    /* a bus that answers nothing (it stopped reading this connection) */
    uv_timer_t answer_timer;
    bool heard;            /* something came on this connection */
    bool stalled;          /* said so in the log */

    int handles;           /* open handles + requests; freed at 0 */
    bool closing;
};

static inline bool ms_client_online(const ms_client *c)
{
    return c->state == MS_CLIENT_CONNECTED && ms_client_writer_is_up(&c->w);
}

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

/* client.c: hands one event from the bus to the tags or the requests (the
 * top of the client; tests feed events through it). */
void ms_client_dispatch(ms_client *c, const ms_client_event *ev);
/* client.c: one of c->handles has closed; frees the client after the last. */
void ms_client_handle_closed(ms_client *c);

#endif
