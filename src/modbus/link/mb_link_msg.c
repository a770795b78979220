/* What the message links share (mb_link_msg.h): opening again with
 * backoff, and feeding whole ADUs. */
#include <stdio.h>
#include <stdlib.h>

#include "modbus/link/mb_link_msg.h"
#include "mscada/error.h"
#include "mscada/log.h"

static void on_timer(uv_timer_t *t);

static void try_open(ms_mb_reopen *r)
{
    if (r->closing)
        return;
    int rc = r->open(r);
    if (rc < 0) {
        if (!r->fail_logged)
            ms_log_warn("%s: cannot open %s: %s; retrying every %gs at most",
                        r->cfg->name, r->what, uv_strerror(rc),
                        r->cfg->backoff_max);
        r->fail_logged = true;
        uv_timer_start(&r->timer, on_timer, ms_backoff_next_ms(&r->backoff),
                       0);
        char text[320];
        snprintf(text, sizeof text, "cannot open %s: %s", r->what,
                 uv_strerror(rc));
        ms_mb_client_link_failed(r->c, text);
        return;
    }
    ms_backoff_reset(&r->backoff);
    ms_log_info("%s: %s %s", r->cfg->name,
                r->fail_logged ? "opened again" : "opened", r->what);
    r->fail_logged = false;
    ms_mb_client_link_up(r->c);
}

static void on_timer(uv_timer_t *t)
{
    try_open(t->data);
}

int ms_mb_msg_link_new(size_t size, ms_mb_client *c, uv_loop_t *loop,
                       const ms_mb_client_config *cfg, const char *what,
                       int (*open)(void *link), ms_mb_link **out)
{
    ms_mb_reopen *r = calloc(1, size);
    if (!r)
        return MS_ENOMEM;
    r->loop = loop;
    r->c = c;
    r->cfg = cfg;
    r->what = what;
    r->open = open;
    ms_backoff_init(&r->backoff, cfg->backoff_min, cfg->backoff_max, 0);
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_timer, 0, 0);
    *out = (ms_mb_link *)r;
    return 0;
}

void ms_mb_reopen_failed(ms_mb_reopen *r, int err)
{
    if (r->closing)
        return;
    ms_log_warn("%s: %s: %s; opening it again", r->cfg->name, r->what,
                uv_strerror(err));
    r->fail_logged = true;
    /* Armed before the client hears: its callbacks may close it all. */
    uv_timer_start(&r->timer, on_timer, ms_backoff_next_ms(&r->backoff), 0);
    char text[320];
    snprintf(text, sizeof text, "%s: %s", r->what, uv_strerror(err));
    ms_mb_client_link_failed(r->c, text);
    ms_mb_client_link_down(r->c);
}

static void on_timer_closed(uv_handle_t *h)
{
    ms_mb_reopen *r = h->data;
    ms_mb_client *c = r->c;
    free(r); /* the whole link */
    ms_mb_client_link_closed(c);
}

void ms_mb_reopen_close(ms_mb_reopen *r)
{
    if (r->closing)
        return;
    r->closing = true;
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

void ms_mb_msg_feed(ms_mb_client *c, const ms_mb_client_config *cfg,
                    const uint8_t *p, size_t len)
{
    size_t used;
    if (ms_mb_client_link_feed(c, p, len, &used) < 0)
        ms_log_warn("%s: an answer that is no Modbus ADU; ignored",
                    cfg->name);
}
