/* Typed tags of a bus client (docs/client.md). A tag is a name on the bus
 * with a local copy of its value. Creating one asks the bus for its id (ID,
 * which creates the tag on the bus if it is new; a reader's ms_tag_look
 * never creates) and subscribes (SUB); the library keeps the copy up to
 * date, publishes the program's own sets and re-registers everything after
 * a reconnect.
 *
 * Every function here runs on the client's loop thread (in background-thread
 * mode: inside a callback or ms_client_thread_call). Values handed out are
 * borrowed: they stay valid until the tag's value next changes. */
#ifndef MSCADA_TAG_H
#define MSCADA_TAG_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_client ms_client;
typedef struct ms_tag ms_tag;

/* A change from the bus: read the new value with ms_tag_get(). Never called
 * for the program's own sets. May not set the same tag (refused). */
typedef void (*ms_tag_cb)(ms_tag *tag, void *arg);
/* A request to the author (RTA) of a tag this program set last. request is
 * usually JSON; answer by setting the tag (often BYTES). */
typedef void (*ms_tag_rta_cb)(ms_tag *tag, const ms_value *request, void *arg);
/* The bus refused an RTA this program sent (e.g. the author has gone). */
typedef void (*ms_tag_err_cb)(ms_tag *tag, const char *text, void *arg);

/* Finds or creates the tag `name` of `type` (MS_TYPE_NONE: any type, as a
 * watcher that doesn't know the type wants). Asking the same name again
 * gives the same tag. Returns 0, MS_EINVAL for a name the bus would refuse
 * (1-255 bytes of UTF-8, no spaces or control characters), MS_ETYPE when
 * the tag exists with another type, MS_ENOMEM. Tags live as long as the
 * client. */
MS_EXTERN int ms_tag_new(ms_client *c, const char *name, ms_type type, ms_tag **out);
/* Finds or makes the tag `name` for reading (untyped), without ever
 * creating it on the bus: it asks LIST for the exact name before asking
 * its id, on every (re)connect. While the bus doesn't have it, the tag's
 * absent callback (or a log line) says so, once, and LIST is asked again
 * (after backoff_min, doubling up to backoff_max) until a writer creates
 * it; then it is subscribed like any tag and its watchers see its values.
 * ms_tag_new on the same name later makes it an ordinary tag (the bus may
 * then create it); a set of a look-only tag goes out once it exists. A name
 * the program already has gives that tag as it is. Returns as ms_tag_new. */
MS_EXTERN int ms_tag_look(ms_client *c, const char *name, ms_tag **out);
/* Called when the bus says a look-only tag does not exist: once each time
 * it is found missing (not on every retry). NULL: a log line instead. */
MS_EXTERN void ms_tag_on_absent(ms_tag *t, ms_tag_cb cb, void *arg);
/* The tag called name, or NULL. */
MS_EXTERN ms_tag *ms_tag_find(ms_client *c, const char *name);

MS_EXTERN const char *ms_tag_name(const ms_tag *t);
MS_EXTERN ms_type ms_tag_type(const ms_tag *t);
/* The bus id on the current connection, 0 while unknown. */
MS_EXTERN uint16_t ms_tag_id(const ms_tag *t);
MS_EXTERN ms_client *ms_tag_client(const ms_tag *t);
/* A pointer of the program's own, kept with the tag. */
MS_EXTERN void ms_tag_set_data(ms_tag *t, void *data);
MS_EXTERN void *ms_tag_data(const ms_tag *t);

/* The value: 0, or MS_ENOENT when there is none yet. STR and JSON values
 * are NUL-terminated (not counted in len). */
MS_EXTERN int ms_tag_get(const ms_tag *t, ms_value *v);
MS_EXTERN bool ms_tag_has_value(const ms_tag *t);
/* UTC microseconds of the value, 0 when none. */
MS_EXTERN uint64_t ms_tag_time_us(const ms_tag *t);
/* Typed reads: MS_ENOENT when there is no value, MS_ETYPE when it is of
 * another type (an INT reads as float too). */
MS_EXTERN int ms_tag_get_int(const ms_tag *t, int64_t *out);
MS_EXTERN int ms_tag_get_float(const ms_tag *t, double *out);
/* The text of a STR or JSON value, or NULL. */
MS_EXTERN const char *ms_tag_get_str(const ms_tag *t);
/* True when the value is this program's own set (so RTAs come here). */
MS_EXTERN bool ms_tag_is_own(const ms_tag *t);

/* Sets the tag's value (copied) at time_us (0: now), and publishes it as
 * soon as the tag has its id; while disconnected only the latest value is
 * kept. INT and FLOAT are clamped to the tag description's min/max, and a
 * change within its deadband is ignored. Returns 0 when set, 1 when ignored
 * (deadband), MS_ETYPE for a value of another type than the tag's (an INT
 * for a FLOAT tag is converted), MS_EINVAL for STR that is not UTF-8 or JSON
 * that is not a JSON list or object, MS_EBUSY for a set from inside this
 * tag's own change callback (logged, not recursed), MS_ETOOBIG over the client's
 * max_payload, MS_EFULL when BYTES can't be queued (over queue_hard_cap). */
MS_EXTERN int ms_tag_set(ms_tag *t, const ms_value *v, uint64_t time_us);
MS_EXTERN int ms_tag_set_int(ms_tag *t, int64_t v);
MS_EXTERN int ms_tag_set_float(ms_tag *t, double v);
MS_EXTERN int ms_tag_set_str(ms_tag *t, const char *s);
MS_EXTERN int ms_tag_set_bytes(ms_tag *t, const void *p, size_t len);
MS_EXTERN int ms_tag_set_json(ms_tag *t, const char *json);

/* Change callbacks: any number per tag, called in the order added. Adding
 * the same (cb, arg) twice adds it once. Removing is safe inside a
 * callback. Return 0, MS_ENOMEM / MS_ENOENT. */
MS_EXTERN int ms_tag_watch(ms_tag *t, ms_tag_cb cb, void *arg);
MS_EXTERN int ms_tag_unwatch(ms_tag *t, ms_tag_cb cb, void *arg);

/* Called each time the tag gets its bus id on a connection (the first
 * connect and every reconnect; the id may differ each time), before the
 * SUB reply: read it with ms_tag_id(). One per tag; NULL removes it. */
MS_EXTERN void ms_tag_on_id(ms_tag *t, ms_tag_cb cb, void *arg);

/* The handler for RTAs to this tag (one per tag; NULL removes it). The bus
 * forwards an RTA to the connection that set the tag last, so the author
 * must have set it (e.g. an initial value) — and does so again on every
 * reconnect. RTAs without a handler are logged. */
MS_EXTERN void ms_tag_on_rta(ms_tag *t, ms_tag_rta_cb cb, void *arg);
/* Called when the bus answers an RTA sent to this tag with ERR. Without
 * one, the error is logged. */
MS_EXTERN void ms_tag_on_rta_error(ms_tag *t, ms_tag_err_cb cb, void *arg);
/* Sends a request to the tag's author (any value type; pymscada authors
 * expect JSON). Sent at once when connected, else queued (at most 16 per
 * tag, the oldest dropped) until the tag has its id. Returns 0, MS_ETOOBIG,
 * MS_ENOMEM, MS_EINVAL (a NONE request). */
MS_EXTERN int ms_tag_rta(ms_tag *t, const ms_value *request);
/* The same with JSON text (checked to be a list or object). */
MS_EXTERN int ms_tag_rta_json(ms_tag *t, const char *json);

#ifdef __cplusplus
}
#endif
#endif
