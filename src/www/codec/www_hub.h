/* The browsers' side of the wwwserver, without any transport: the tags
 * browsers may subscribe to (tags.yaml, standardised tag_info), the latest
 * value of each, and per connection its rta id, its subscriptions and what
 * it still has to be sent (docs/www.md "Slow browsers"):
 * - int, float and str values are conflated: a busy connection is sent
 *   only the latest value of each tag once it can take more;
 * - list, dict and BYTES values, tag_info and the other JSON messages wait
 *   in a queue bounded in bytes; past the bound the connection is given up
 *   (the transport closes it with 1008) and nothing more is queued for it.
 * BYTES and dict values carrying another connection's rta id are never
 * queued for this one. Frames are made once per value and shared by every
 * connection that is sent it. Everything runs on one thread. */
#ifndef MS_WWW_HUB_H
#define MS_WWW_HUB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mscada/value.h"

typedef struct ms_www_hub ms_www_hub;
typedef struct ms_www_conn ms_www_conn;

typedef struct {
    size_t queue_max;          /* bytes queued per connection; 16 MiB */
    int rta_ids;               /* ids 1..rta_ids handed to connections; 999 */
    const char *history_tag;   /* "__history__" */
    int history_max_points;    /* max_points added to history requests
                                * without one; 0: none added. 100000 */
    /* The connection has something to send (it had nothing before). */
    void (*want_write)(ms_www_conn *c, void *arg);
    /* The connection's queue went past queue_max: close it (1008). Called
     * once, from inside hub calls: close it later, not from inside. */
    void (*overflow)(ms_www_conn *c, void *arg);
    void *arg;
} ms_www_hub_config;

void ms_www_hub_config_init(ms_www_hub_config *cfg);
/* Sets the transport's callbacks (want_write, overflow, arg) after the hub
 * is made; NULLs stop them (when the transport stops). */
void ms_www_hub_set_io(ms_www_hub *h,
                       void (*want_write)(ms_www_conn *c, void *arg),
                       void (*overflow)(ms_www_conn *c, void *arg),
                       void *arg);

/* config (may be NULL: no `config` message, as pymscada 2024) and pages
 * are sent to each connection first; both are borrowed for the call. */
int ms_www_hub_new(const ms_www_hub_config *cfg, const json_t *config,
                   const json_t *pages, ms_www_hub **out);
void ms_www_hub_free(ms_www_hub *h);

/* Adds a tag browsers may subscribe to; info (a standardised tag_info) is
 * taken over. Returns the tag's index, MS_EINVAL for a name given twice,
 * MS_ENOMEM. */
int ms_www_hub_add_tag(ms_www_hub *h, const char *name, json_t *info);
int ms_www_hub_find(const ms_www_hub *h, const char *name);
size_t ms_www_hub_ntags(const ms_www_hub *h);
const char *ms_www_hub_tag_name(const ms_www_hub *h, int tag);
ms_type ms_www_hub_tag_type(const ms_www_hub *h, int tag);
/* Whether any browser has subscribed to the tag since the start. */
bool ms_www_hub_tag_wanted(const ms_www_hub *h, int tag);

/* From the bus: the tag's id on the current connection (0: lost). With an
 * id, every subscriber is sent tag_info and then the value, if any. */
void ms_www_hub_set_id(ms_www_hub *h, int tag, uint16_t id);
/* From the bus: a new value (copied). A value of the wrong type or JSON
 * that doesn't parse is dropped with a log line. */
void ms_www_hub_value(ms_www_hub *h, int tag, const ms_value *v,
                      uint64_t time_us);
/* The bus connection went (every id is forgotten) or came back: every
 * browser is sent {"type": "bus", "payload": {"connected": up}}. */
void ms_www_hub_bus(ms_www_hub *h, bool up);

typedef struct {
    size_t conns;
    uint64_t msgs_in, frames_out, bytes_out, conflated, refused, overflows;
} ms_www_hub_stats;
void ms_www_hub_get_stats(const ms_www_hub *h, ms_www_hub_stats *s);
/* The first connection and the next (for status), in no fixed order. */
ms_www_conn *ms_www_hub_conn_first(ms_www_hub *h);
ms_www_conn *ms_www_conn_next(ms_www_conn *c);

/* ---- connections ------------------------------------------------------ */

/* A new browser connection, named peer in log lines. It is sent config
 * and pages at once. NULL when every rta id is in use (logged) or out of
 * memory. */
ms_www_conn *ms_www_conn_new(ms_www_hub *h, const char *peer, void *user);
/* Forgets the connection; its rta id is free again. */
void ms_www_conn_free(ms_www_conn *c);
int ms_www_conn_rta_id(const ms_www_conn *c);
const char *ms_www_conn_peer(const ms_www_conn *c);
void *ms_www_conn_user(const ms_www_conn *c);
bool ms_www_conn_overflowed(const ms_www_conn *c);
typedef struct {
    uint64_t msgs_in, frames_out, bytes_out, conflated;
    size_t queued;   /* bytes waiting in the queue */
    size_t subs;
} ms_www_conn_stats;
void ms_www_conn_get_stats(const ms_www_conn *c, ms_www_conn_stats *s);

/* Queues {"type": type, "payload": payload} for this connection alone
 * (the `error` message of a refused write). */
void ms_www_conn_send(ms_www_conn *c, const char *type, const json_t *payload);

/* What the relay must do on the bus for a browser's message. */
typedef enum {
    MS_WWW_ACT_NONE = 0, /* nothing (handled here, or refused and logged) */
    MS_WWW_ACT_SUB,      /* first subscriber of tag: subscribe on the bus */
    MS_WWW_ACT_SET,      /* set tag to value with the server's time */
    MS_WWW_ACT_RTA       /* send json (the request, rta id added) to tag */
} ms_www_act_kind;

typedef struct {
    ms_www_act_kind kind;
    int tag;
    ms_value value;  /* SET: STR/JSON point into text */
    char *text;      /* SET (STR, JSON) and RTA: malloc'd, NUL-terminated */
} ms_www_action;

/* A text message from the browser. Faults (bad JSON, unknown type or tag,
 * set before sub, wrong type, out of min/max, a file upload) are logged
 * with the peer's name and give NONE: the connection stays. Free the
 * action with ms_www_action_done. */
void ms_www_conn_recv(ms_www_conn *c, const char *text, size_t len,
                      ms_www_action *act);
/* A binary message from the browser: logged and ignored. */
void ms_www_conn_recv_binary(ms_www_conn *c, size_t len);
void ms_www_action_done(ms_www_action *act);

/* Appends whole frames to out (queued messages first, then the latest
 * value of each changed tag) until out holds at least cap bytes or there
 * is nothing left. Returns true when more is left to send. */
bool ms_www_conn_fill(ms_www_conn *c, ms_buf *out, size_t cap);

#endif
