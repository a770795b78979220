/* Look-only tags (ms_tag_look): a reader that names a tag must not create
 * it on the bus, and asking a tag's id (ID) creates it. So, as the console
 * does, such a tag asks LIST for its name first and sends ID only once
 * the answer holds that exact name. While the bus doesn't have it, the
 * program is told once (ms_tag_on_absent, or a log line) and the LIST is
 * asked again with backoff (cfg.backoff_min doubling up to backoff_max),
 * so the tag is picked up when a writer creates it. After every reconnect
 * it looks again: a restarted bus may have lost it. */
#include <stdlib.h>
#include <string.h>

#include "client/client_req.h"
#include "client/client_tags.h"
#include "client/client_writer.h"
#include "client/tag_int.h"
#include "mscada/error.h"
#include "mscada/log.h"

static void look_ask(ms_tag *t);

static bool wants_look(const ms_tag *t)
{
    return t->look && !t->id && !t->look_asked;
}

static void on_retry(uv_timer_t *h)
{
    ms_client *c = h->data;
    for (size_t i = 0; i < c->ntags; i++)
        if (wants_look(c->tags[i]) && c->tags[i]->absent)
            look_ask(c->tags[i]);
}

static void on_timer_closed(uv_handle_t *h)
{
    ms_client *c = h->data;
    free(h);
    c->look_timer = NULL;
    ms_client_handle_closed(c);
}

/* Asks again later; one timer serves every absent tag. */
static void retry_later(ms_client *c)
{
    if (!c->look_timer) {
        uv_timer_t *h = malloc(sizeof *h);
        if (!h || uv_timer_init(c->loop, h) < 0) {
            free(h);
            ms_log_error("bus %s:%d: out of memory for a look-up timer; "
                         "absent tags are looked for again on reconnect",
                         c->cfg.host, c->cfg.port);
            return;
        }
        h->data = c;
        c->look_timer = h;
        c->handles++;
        ms_backoff_init(&c->look_backoff, c->cfg.backoff_min,
                        c->cfg.backoff_max, 0.25);
    }
    if (!uv_is_active((uv_handle_t *)c->look_timer))
        uv_timer_start(c->look_timer, on_retry,
                       ms_backoff_next_ms(&c->look_backoff), 0);
}

static bool has_name(const ms_tag *t, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], t->name))
            return true;
    return false;
}

static void on_listed(ms_client *c, int status, const char *const *names,
                      size_t n, void *arg)
{
    ms_tag *t = arg;
    t->look_asked = false;
    if (status < 0 || c->closing || !t->look || t->id)
        return; /* lost (asked again on reconnect), or promoted meanwhile */
    if (has_name(t, names, n)) {
        t->absent = false;
        ms_client_writer_send(&c->w, MS_CMD_ID, 0,
                              ms_client_writer_stamp(&c->w),
                              (const uint8_t *)t->name, t->name_len);
        return;
    }
    if (!t->absent) {
        t->absent = true;
        if (t->absent_cb)
            t->absent_cb(t, t->absent_arg);
        else
            ms_log_info("tag %s: not on the bus (yet); looking again until "
                        "it is", t->name);
    }
    retry_later(c);
}

static void look_ask(ms_tag *t)
{
    ms_client *c = t->c;
    if (!ms_client_online(c))
        return; /* asked on (re)connect */
    char *pat = malloc(t->name_len + 2);
    if (!pat) {
        retry_later(c);
        return;
    }
    pat[0] = '^';
    memcpy(pat + 1, t->name, t->name_len + 1);
    int rc = ms_client_list(c, pat, 0, on_listed, t);
    free(pat);
    if (rc == 0)
        t->look_asked = true;
    else
        retry_later(c);
}

int ms_tag_look(ms_client *c, const char *name, ms_tag **out)
{
    bool made;
    int rc = ms_tags_get(c, name, MS_TYPE_NONE, out, &made);
    if (rc < 0 || !made)
        return rc; /* one the program has already: as it is */
    (*out)->look = true;
    look_ask(*out);
    return 0;
}

void ms_tag_on_absent(ms_tag *t, ms_tag_cb cb, void *arg)
{
    t->absent_cb = cb;
    t->absent_arg = arg;
}

void ms_tags_look_all(ms_client *c)
{
    if (c->look_timer)
        ms_backoff_reset(&c->look_backoff);
    for (size_t i = 0; i < c->ntags; i++)
        if (wants_look(c->tags[i]))
            look_ask(c->tags[i]);
}

void ms_tags_look_close(ms_client *c)
{
    if (c->look_timer && !uv_is_closing((uv_handle_t *)c->look_timer))
        uv_close((uv_handle_t *)c->look_timer, on_timer_closed);
}
