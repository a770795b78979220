/* What the driver apps (modbusclient, snmpclient, sparkplug,
 * logixclient) share: the bus client with the time it last came up (so a
 * stale value handed out on subscribe is never written to a plant), the
 * status timer and the count of open handles that frees the driver once
 * the loop has closed them, the <name>_status JSON tag published only when
 * it changes, polled values published only when they change, and the
 * config tags (made so by logixserver too). Internal to libmscada. */
#ifndef MS_APPS_COMMON_DRV_H
#define MS_APPS_COMMON_DRV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/fault.h"
#include "mscada/client.h"

typedef struct ms_drv ms_drv;
typedef void (*ms_drv_cb)(ms_drv *d);

/* The head of a driver's own struct. */
struct ms_drv {
    uv_loop_t *loop;
    ms_client *bus;
    uint64_t bus_up_us; /* when the bus connection last came up */
    uv_timer_t status_timer;
    int handles;        /* status_timer, each timer opened here and each
                         * hold */
    bool stopping;
    ms_drv_cb tick;     /* every second: publish the statuses (unused
                         * until ms_drv_status_start) */
    ms_drv_cb free;     /* once every handle has closed */
};

/* A <name>_status tag and the text it last took. */
typedef struct {
    ms_tag *tag;
    char *text;
    ms_fault fault;
} ms_drv_status;

/* Sets d up on loop with its status timer (not yet started). */
void ms_drv_init(ms_drv *d, uv_loop_t *loop, ms_drv_cb tick, ms_drv_cb free);
/* Connects d's bus client with bus (its on_state is set here); logs and
 * returns the error when it can't. */
int ms_drv_bus_new(ms_drv *d, ms_client_config *bus);
/* Opens timer t (t->data = data, non-NULL) counted in d's handles. */
void ms_drv_timer_open(ms_drv *d, uv_timer_t *t, void *data);
/* Opens timer t as ms_drv_timer_open does and starts it. */
void ms_drv_timer_start(ms_drv *d, uv_timer_t *t, void *data, uv_timer_cb cb,
                        uint64_t first_ms, uint64_t repeat_ms);
/* One more thing d waits for before it frees (a session that closes
 * with a callback of its own), and that thing closed: d->free runs once
 * all of d's handles and holds have. */
void ms_drv_hold(ms_drv *d);
void ms_drv_release(ms_drv *d);
/* Closes t if ms_drv_timer_start opened it. */
void ms_drv_timer_close(ms_drv *d, uv_timer_t *t);
/* Starts the status tick (every second). */
void ms_drv_status_start(ms_drv *d);
/* Closes the bus client and the status timer (the driver closes its own
 * timers and sessions first); d->free runs once all have closed. */
void ms_drv_stop(ms_drv *d);
/* False (and logged at debug) when tag's value was set before the bus
 * connection came up: the stale value a subscribe hands out. */
bool ms_drv_fresh(const ms_drv *d, ms_tag *tag);

/* Makes owner's <owner>_status JSON tag; a clash with a config tag is
 * logged with what to do. */
int ms_drv_status_new(ms_drv *d, const char *owner, ms_drv_status *s);
/* Publishes j (taken; NULL does nothing) when its text changed; a failed
 * publish is noted in s->fault as `doing` and tried again next time. */
void ms_drv_status_publish(ms_drv_status *s, json_t *j, const char *doing);
void ms_drv_status_free(ms_drv_status *s);

/* Makes the config tag name of type on bus, watched by cb(tag, arg) when
 * cb is given (a tag with a write address); logs "tag NAME: why" and
 * returns the error when it can't. */
int ms_drv_tag_new(ms_client *bus, const char *name, ms_type type,
                   ms_tag_cb cb, void *arg, ms_tag **out);

/* Sets tag to v unless it holds that value already; a failure is noted
 * in f ("publishing a polled value"). Returns ms_tag_set's result, 0 when
 * unchanged. */
int ms_drv_value_publish(ms_tag *tag, const ms_value *v, ms_fault *f);

#endif
