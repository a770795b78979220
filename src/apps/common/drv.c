/* The parts the driver apps share (drv.h): bus client and its
 * up time, status timer, handle count, config and status tags,
 * change-only publish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

static void on_status_timer(uv_timer_t *t)
{
    ms_drv *d = t->data;
    d->tick(d);
}

void ms_drv_init(ms_drv *d, uv_loop_t *loop, ms_drv_cb tick, ms_drv_cb free)
{
    d->loop = loop;
    d->tick = tick;
    d->free = free;
    uv_timer_init(loop, &d->status_timer);
    d->status_timer.data = d;
    d->handles = 1;
}

static void on_bus_state(ms_client *c, ms_client_state s, void *arg)
{
    ms_drv *d = arg;
    (void)c;
    if (s == MS_CLIENT_CONNECTED)
        d->bus_up_us = ms_time_now_us();
}

int ms_drv_bus_new(ms_drv *d, ms_client_config *bus)
{
    d->bus_up_us = UINT64_MAX;
    bus->on_state = on_bus_state;
    bus->on_state_arg = d;
    int rc = ms_client_new(d->loop, bus, &d->bus);
    if (rc < 0)
        ms_log_error("bus client: %s", ms_strerror(rc));
    return rc;
}

void ms_drv_hold(ms_drv *d)
{
    d->handles++;
}

void ms_drv_release(ms_drv *d)
{
    if (--d->handles == 0)
        d->free(d);
}

void ms_drv_timer_open(ms_drv *d, uv_timer_t *t, void *data)
{
    uv_timer_init(d->loop, t);
    t->data = data;
    ms_drv_hold(d);
}

void ms_drv_timer_start(ms_drv *d, uv_timer_t *t, void *data, uv_timer_cb cb,
                        uint64_t first_ms, uint64_t repeat_ms)
{
    ms_drv_timer_open(d, t, data);
    uv_timer_start(t, cb, first_ms, repeat_ms);
}

static void on_closed(uv_handle_t *h)
{
    ms_drv_release(h->data);
}

void ms_drv_timer_close(ms_drv *d, uv_timer_t *t)
{
    if (!t->data)
        return; /* never opened */
    t->data = d; /* no timer callback runs once closing */
    uv_close((uv_handle_t *)t, on_closed);
}

void ms_drv_status_start(ms_drv *d)
{
    uv_timer_start(&d->status_timer, on_status_timer, 1000, 1000);
}

void ms_drv_stop(ms_drv *d)
{
    ms_client_close(d->bus);
    d->bus = NULL;
    ms_drv_timer_close(d, &d->status_timer);
}

bool ms_drv_fresh(const ms_drv *d, ms_tag *tag)
{
    if (ms_tag_time_us(tag) >= d->bus_up_us)
        return true;
    ms_log_debug("%s: value from before this connection; not written",
                 ms_tag_name(tag));
    return false;
}

int ms_drv_status_new(ms_drv *d, const char *owner, ms_drv_status *s)
{
    size_t len = strlen(owner) + sizeof "_status";
    char *name = malloc(len);
    if (!name)
        return MS_ENOMEM;
    snprintf(name, len, "%s_status", owner);
    int rc = ms_tag_new(d->bus, name, MS_TYPE_JSON, &s->tag);
    if (rc < 0) {
        ms_tag *clash = ms_tag_find(d->bus, name);
        if (rc == MS_ETYPE && clash)
            ms_log_error("%s: its status tag %s is also a config tag, of "
                         "type %s; rename that tag", owner, name,
                         ms_type_name(ms_tag_type(clash)));
        else
            ms_log_error("%s: status tag %s: %s", owner, name,
                         ms_strerror(rc));
    }
    free(name);
    return rc;
}

void ms_drv_status_publish(ms_drv_status *s, json_t *j, const char *doing)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return;
    if (s->text && !strcmp(text, s->text)) {
        free(text);
        return;
    }
    free(s->text);
    s->text = text;
    int rc = ms_tag_set_json(s->tag, text);
    ms_fault_note(&s->fault, rc, ms_tag_name(s->tag), doing);
    if (rc < 0) { /* tried again at the next tick */
        free(s->text);
        s->text = NULL;
    }
}

void ms_drv_status_free(ms_drv_status *s)
{
    free(s->text);
    s->text = NULL;
}

int ms_drv_tag_new(ms_client *bus, const char *name, ms_type type,
                   ms_tag_cb cb, void *arg, ms_tag **out)
{
    int rc = ms_tag_new(bus, name, type, out);
    if (rc == 0 && cb)
        rc = ms_tag_watch(*out, cb, arg);
    if (rc < 0)
        ms_log_error("tag %s: %s", name, ms_strerror(rc));
    return rc;
}

int ms_drv_value_publish(ms_tag *tag, const ms_value *v, ms_fault *f)
{
    ms_value cur;
    if (ms_tag_get(tag, &cur) == 0 && ms_value_same(&cur, v))
        return 0; /* only changes are published */
    int rc = ms_tag_set(tag, v, 0);
    ms_fault_note(f, rc, ms_tag_name(tag), "publishing a polled value");
    return rc;
}
