/* Byte-string hash table: FNV-1a, linear probing, doubling at half full
 * (core/htab.h). */
#include <stdlib.h>
#include <string.h>

#include "core/htab.h"
#include "mscada/error.h"

uint64_t ms_hash_bytes(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 14695981039346656037ULL; /* offset basis */
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding key, or the free slot where it would go. */
static ms_htab_slot *slot_for(ms_htab_slot *slots, size_t cap, const char *key,
                              size_t len)
{
    size_t i = (size_t)ms_hash_bytes(key, len) & (cap - 1);
    while (slots[i].key &&
           !(slots[i].len == len && memcmp(slots[i].key, key, len) == 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

void *ms_htab_get(const ms_htab *t, const char *key, size_t len)
{
    if (!t->cap)
        return NULL;
    return slot_for(t->slots, t->cap, key, len)->val;
}

int ms_htab_put(ms_htab *t, const char *key, size_t len, void *val)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        ms_htab_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return MS_ENOMEM;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].key)
                *slot_for(ns, ncap, t->slots[i].key, t->slots[i].len) =
                    t->slots[i];
        free(t->slots);
        t->slots = ns;
        t->cap = ncap;
    }
    ms_htab_slot *s = slot_for(t->slots, t->cap, key, len);
    if (!s->key) {
        s->key = key;
        s->len = len;
        t->n++;
    }
    s->val = val;
    return 0;
}

void ms_htab_free(ms_htab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}
