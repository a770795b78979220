/* Bus tag table: FNV-1a hashed names with linear probing, plus an array
 * indexed by id that doubles as ids are handed out (a bus of a few tags
 * does not pay for 65536 slots), and tags.yaml's types by name. Tags are
 * never removed while the server runs. */
#include <stdlib.h>
#include <string.h>

#include "bus/bus_tags.h"
#include "mscada/error.h"
#include "mscada/value.h"

static uint64_t name_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

int ms_bus_tags_init(ms_bus_tags *t)
{
    memset(t, 0, sizeof *t);
    t->nby_id = 64;
    t->by_id = calloc(t->nby_id, sizeof *t->by_id);
    t->nslots = 1024;
    t->slots = calloc(t->nslots, sizeof *t->slots);
    t->next_id = 1;
    if (!t->by_id || !t->slots) {
        ms_bus_tags_free(t);
        return MS_ENOMEM;
    }
    return 0;
}

void ms_bus_tags_free(ms_bus_tags *t)
{
    if (t->by_id) {
        /* Every id in use is below next_id: a table of few tags frees in
         * time of their number, not of the 65536 slots. */
        for (size_t i = 0; i < t->next_id && i < t->nby_id; i++) {
            ms_bus_tag *tag = t->by_id[i];
            if (!tag)
                continue;
            free(tag->name);
            free(tag->value);
            free(tag->subs);
            free(tag);
        }
    }
    free(t->by_id);
    free(t->slots);
    ms_htab_free(&t->types);
    memset(t, 0, sizeof *t);
}

ms_bus_tag *ms_bus_tags_find(const ms_bus_tags *t, const uint8_t *name,
                             size_t len)
{
    size_t mask = t->nslots - 1;
    for (size_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
        ms_bus_tag *tag = t->slots[i];
        if (!tag)
            return NULL;
        if (tag->name_len == len && !memcmp(tag->name, name, len))
            return tag;
    }
}

/* Makes by_id hold id: doubles it, up to MS_BUS_MAX_ID + 1 slots. */
static int by_id_fit(ms_bus_tags *t, uint16_t id)
{
    if (id < t->nby_id)
        return 0;
    size_t n = t->nby_id;
    while (n <= id)
        n *= 2;
    if (n > (size_t)MS_BUS_MAX_ID + 1)
        n = (size_t)MS_BUS_MAX_ID + 1;
    ms_bus_tag **nb = realloc(t->by_id, n * sizeof *nb);
    if (!nb)
        return MS_ENOMEM;
    memset(nb + t->nby_id, 0, (n - t->nby_id) * sizeof *nb);
    t->by_id = nb;
    t->nby_id = n;
    return 0;
}

static void slots_insert(ms_bus_tag **slots, size_t nslots, ms_bus_tag *tag)
{
    size_t mask = nslots - 1;
    size_t i = name_hash((const uint8_t *)tag->name, tag->name_len) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = tag;
}

ms_bus_tag *ms_bus_tags_add(ms_bus_tags *t, const uint8_t *name, size_t len,
                            uint16_t id, int *err)
{
    if (id == 0) {
        if (t->next_id > MS_BUS_MAX_ID) {
            *err = MS_EFULL;
            return NULL;
        }
        id = (uint16_t)t->next_id;
    } else if (ms_bus_tags_get(t, id)) {
        *err = MS_EINVAL;
        return NULL;
    }
    if (by_id_fit(t, id) < 0) {
        *err = MS_ENOMEM;
        return NULL;
    }
    /* Keep the table at most half full. */
    if ((t->count + 1) * 2 > t->nslots) {
        size_t ns = t->nslots * 2;
        ms_bus_tag **nslots = calloc(ns, sizeof *nslots);
        if (!nslots) {
            *err = MS_ENOMEM;
            return NULL;
        }
        for (size_t i = 0; i < t->nslots; i++)
            if (t->slots[i])
                slots_insert(nslots, ns, t->slots[i]);
        free(t->slots);
        t->slots = nslots;
        t->nslots = ns;
    }
    ms_bus_tag *tag = calloc(1, sizeof *tag);
    char *copy = malloc(len + 1);
    if (!tag || !copy) {
        free(tag);
        free(copy);
        *err = MS_ENOMEM;
        return NULL;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    tag->name = copy;
    tag->name_len = len;
    tag->id = id;
    const ms_tagdesc *d = ms_htab_get(&t->types, copy, len);
    tag->type = d ? d->type : MS_TYPE_NONE;
    slots_insert(t->slots, t->nslots, tag);
    t->by_id[id] = tag;
    t->count++;
    if (id >= t->next_id)
        t->next_id = (uint32_t)id + 1;
    return tag;
}

int ms_bus_tags_set_types(ms_bus_tags *t, const ms_tagdescs *descs)
{
    for (size_t i = 0; i < descs->n; i++) {
        const ms_tagdesc *d = &descs->tags[i];
        size_t len = strlen(d->name);
        if (ms_htab_put(&t->types, d->name, len, (void *)d) < 0)
            return MS_ENOMEM;
        ms_bus_tag *tag = ms_bus_tags_find(t, (const uint8_t *)d->name, len);
        if (tag)
            tag->type = d->type;
    }
    return 0;
}

int ms_bus_tag_store(ms_bus_tag *tag, const uint8_t *value, size_t len,
                     uint64_t time_us)
{
    if (len > tag->alloc) {
        size_t na = len < 16 ? 16 : len;
        uint8_t *nv = realloc(tag->value, na);
        if (!nv)
            return MS_ENOMEM;
        tag->value = nv;
        tag->alloc = na;
    } else if (tag->alloc > 65536 && len < tag->alloc / 4) {
        /* Give back most of a large value's memory once it shrinks. */
        uint8_t *nv = realloc(tag->value, len < 16 ? 16 : len);
        if (nv) {
            tag->value = nv;
            tag->alloc = len < 16 ? 16 : len;
        }
    }
    if (len)
        memcpy(tag->value, value, len);
    tag->len = len;
    tag->time_us = time_us;
    return 0;
}
