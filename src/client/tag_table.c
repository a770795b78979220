/* The tag table: tags by name (a hash, chained) and by bus id on the
 * current connection, ms_tag_new and the plain accessors, and the turns of
 * the connection (ids forgotten, IDs sent again). */
#include <stdlib.h>
#include <string.h>

#include "client/client_tags.h"
#include "client/tag_int.h"
#include "core/grow.h"
#include "mscada/error.h"

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

ms_tag *ms_tags_find(const ms_client *c, const char *name, size_t len)
{
    if (!c->hsize)
        return NULL;
    ms_tag *t = c->hash[name_hash(name, len) & (c->hsize - 1)];
    for (; t; t = t->hnext)
        if (t->name_len == len && !memcmp(t->name, name, len))
            return t;
    return NULL;
}

/* Adds t to the name hash and the list (the caller holds the lock). */
static int table_add(ms_client *c, ms_tag *t)
{
    ms_tag **nt = ms_grow(c->tags, c->ntags, &c->atags, sizeof *nt, 16);
    if (!nt)
        return MS_ENOMEM;
    c->tags = nt;
    if (c->ntags + 1 > c->hsize) {
        size_t ns = c->hsize ? 2 * c->hsize : 16;
        ms_tag **nh = calloc(ns, sizeof *nh);
        if (!nh)
            return MS_ENOMEM;
        for (size_t i = 0; i < c->ntags; i++) {
            ms_tag *x = c->tags[i];
            uint32_t b = name_hash(x->name, x->name_len) & (ns - 1);
            x->hnext = nh[b];
            nh[b] = x;
        }
        free(c->hash);
        c->hash = nh;
        c->hsize = ns;
    }
    uint32_t b = name_hash(t->name, t->name_len) & (c->hsize - 1);
    t->hnext = c->hash[b];
    c->hash[b] = t;
    c->tags[c->ntags++] = t;
    return 0;
}

ms_tag *ms_tags_by_id(const ms_client *c, uint16_t id)
{
    return id && id < c->nby_id ? c->by_id[id] : NULL;
}

int ms_tags_by_id_put(ms_client *c, uint16_t id, ms_tag *t)
{
    if (id >= c->nby_id) {
        size_t n = c->nby_id ? c->nby_id : 64;
        while (n <= id)
            n *= 2;
        ms_tag **nb = realloc(c->by_id, n * sizeof *nb);
        if (!nb)
            return MS_ENOMEM;
        memset(nb + c->nby_id, 0, (n - c->nby_id) * sizeof *nb);
        c->by_id = nb;
        c->nby_id = n;
    }
    c->by_id[id] = t;
    return 0;
}

bool ms_tag_has_value(const ms_tag *t)
{
    return t->value.type != MS_TYPE_NONE;
}

int ms_tags_get(ms_client *c, const char *name, ms_type type, ms_tag **out,
                bool *made)
{
    *made = false;
    if (!c || !name || !out || (unsigned)type > MS_TYPE_JSON)
        return MS_EINVAL;
    if (c->closing)
        return MS_ECLOSED;
    size_t len = strlen(name);
    if (!ms_client_name_valid(name, len))
        return MS_EINVAL;
    ms_tag *t = ms_tags_find(c, name, len);
    if (t) {
        if (type == MS_TYPE_NONE || t->type == type) {
            *out = t;
            return 0;
        }
        /* An untyped tag (e.g. made by a get) takes the first type asked,
         * if its value fits. */
        if (t->type != MS_TYPE_NONE ||
            (ms_tag_has_value(t) && t->value.type != type))
            return MS_ETYPE;
        ms_client_lock(c);
        t->type = type;
        ms_client_unlock(c);
        *out = t;
        return 0;
    }
    t = calloc(1, sizeof *t);
    if (!t || !(t->name = malloc(len + 1))) {
        free(t);
        return MS_ENOMEM;
    }
    memcpy(t->name, name, len + 1);
    t->name_len = len;
    t->c = c;
    t->type = type;
    t->value = ms_value_none();
    if (c->cfg.tagdescs)
        t->desc = ms_tagdesc_find(c->cfg.tagdescs, name);
    if (t->desc) {
        t->has_min = t->desc->has_min;
        t->has_max = t->desc->has_max;
        t->min = t->desc->min;
        t->max = t->desc->max;
        t->deadband = t->desc->deadband;
    }
    ms_client_lock(c);
    int rc = table_add(c, t);
    ms_client_unlock(c);
    if (rc < 0) {
        free(t->name);
        free(t);
        return rc;
    }
    *made = true;
    *out = t;
    return 0;
}

static void send_id(ms_tag *t)
{
    ms_client_writer_send(&t->c->w, MS_CMD_ID, 0,
                          ms_client_writer_stamp(&t->c->w),
                          (const uint8_t *)t->name, t->name_len);
}

int ms_tag_new(ms_client *c, const char *name, ms_type type, ms_tag **out)
{
    bool made;
    int rc = ms_tags_get(c, name, type, out, &made);
    if (rc < 0)
        return rc;
    ms_tag *t = *out;
    if (t->look) {
        /* A look-only tag asked for in earnest: the bus may create it. */
        t->look = false;
        made = !t->id;
    }
    if (made && ms_client_online(c))
        send_id(t);
    return 0;
}

ms_tag *ms_tag_find(ms_client *c, const char *name)
{
    return c && name ? ms_tags_find(c, name, strlen(name)) : NULL;
}

const char *ms_tag_name(const ms_tag *t) { return t->name; }
ms_type ms_tag_type(const ms_tag *t) { return t->type; }
uint16_t ms_tag_id(const ms_tag *t) { return t->id; }
ms_client *ms_tag_client(const ms_tag *t) { return t->c; }
void ms_tag_set_data(ms_tag *t, void *data) { t->data = data; }
void *ms_tag_data(const ms_tag *t) { return t->data; }
uint64_t ms_tag_time_us(const ms_tag *t) { return t->time_us; }
bool ms_tag_is_own(const ms_tag *t) { return t->own; }

void ms_tags_reset(ms_client *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        ms_tag *t = c->tags[i];
        t->id = 0;
        t->subbed = false;
        t->in_backlog = false;
        t->bnext = NULL;
        t->dirty = t->own && ms_tag_has_value(t);
    }
    c->backlog = c->backlog_tail = NULL;
    if (c->by_id)
        memset(c->by_id, 0, c->nby_id * sizeof *c->by_id);
}

void ms_tags_send_ids(ms_client *c)
{
    for (size_t i = 0; i < c->ntags; i++)
        if (!c->tags[i]->look) /* those ask LIST first (tag_look.c) */
            send_id(c->tags[i]);
}

void ms_tags_free(ms_client *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        ms_tag *t = c->tags[i];
        for (size_t k = 0; k < t->nrtaq; k++)
            free(t->rtaq[k].data);
        free(t->rtaq);
        free(t->watchers);
        free(t->wire);
        free(t->name);
        free(t);
    }
    free(c->tags);
    free(c->hash);
    free(c->by_id);
    c->tags = c->hash = c->by_id = NULL;
    c->ntags = c->atags = c->hsize = c->nby_id = 0;
}
