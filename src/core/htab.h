/* A small hash table from byte strings to pointers: FNV-1a, open
 * addressing with linear probing, at most half full. Internal to libmscada.
 * The table borrows its keys (their bytes must outlive it) and has no
 * removal: its users (the config tree's anchors and duplicate-key checks)
 * fill it, look up, and drop it whole. A zeroed ms_htab is empty. */
#ifndef MS_CORE_HTAB_H
#define MS_CORE_HTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *key; /* NULL: free slot */
    size_t len;
    void *val;
} ms_htab_slot;

typedef struct {
    ms_htab_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t n;   /* keys held */
} ms_htab;

/* FNV-1a (64 bit) of len bytes at p. */
uint64_t ms_hash_bytes(const void *p, size_t len);

/* The value stored under the len bytes at key, or NULL when there is none
 * (so store no NULL values). */
void *ms_htab_get(const ms_htab *t, const char *key, size_t len);

/* Stores key -> val, replacing the value of a key already there (the
 * first key's bytes stay in use). Returns 0 or MS_ENOMEM (t unchanged). */
int ms_htab_put(ms_htab *t, const char *key, size_t len, void *val);

/* Frees the slots (not the keys or values); t is empty again. */
void ms_htab_free(ms_htab *t);

#endif
