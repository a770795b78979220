/* Failed-login rate limiting (www_limit.h): a small open table searched
 * linearly (a few thousand keys at most, touched only on logins). */
#include "www/codec/www_limit.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[96];
    uint32_t fails;
    uint64_t last_s;
} entry;

struct ms_www_limit {
    entry *v;
    size_t n;
};

ms_www_limit *ms_www_limit_new(void)
{
    return calloc(1, sizeof(ms_www_limit));
}

void ms_www_limit_free(ms_www_limit *l)
{
    if (l)
        free(l->v);
    free(l);
}

static entry *find(ms_www_limit *l, const char *key, uint64_t now_s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (now_s >= l->v[i].last_s + MS_WWW_LIMIT_FORGET_S) {
            l->v[i--] = l->v[--l->n]; /* forgotten */
            continue;
        }
        if (!strncmp(l->v[i].key, key, sizeof l->v[i].key - 1))
            return &l->v[i];
    }
    return NULL;
}

static uint64_t lock_s(uint32_t fails)
{
    if (fails < MS_WWW_LIMIT_FREE)
        return 0;
    uint32_t k = fails - MS_WWW_LIMIT_FREE;
    uint64_t s = k >= 16 ? MS_WWW_LIMIT_MAX_S
                         : (uint64_t)MS_WWW_LIMIT_LOCK_S << k;
    return s < MS_WWW_LIMIT_MAX_S ? s : MS_WWW_LIMIT_MAX_S;
}

unsigned ms_www_limit_wait(ms_www_limit *l, const char *key, uint64_t now_s)
{
    entry *e = find(l, key, now_s);
    if (!e)
        return 0;
    uint64_t until = e->last_s + lock_s(e->fails);
    return until > now_s ? (unsigned)(until - now_s) : 0;
}

void ms_www_limit_fail(ms_www_limit *l, const char *key, uint64_t now_s)
{
    entry *e = find(l, key, now_s);
    if (!e) {
        if (l->n == MS_WWW_LIMIT_KEYS) {
            size_t old = 0;
            for (size_t i = 1; i < l->n; i++)
                if (l->v[i].last_s < l->v[old].last_s)
                    old = i;
            l->v[old] = l->v[--l->n];
        }
        if (!(l->n & (l->n - 1)) || l->n == 0) { /* grow at powers of 2 */
            size_t cap = l->n ? l->n * 2 : 8;
            entry *v = realloc(l->v, cap * sizeof *v);
            if (!v)
                return;
            l->v = v;
        }
        e = &l->v[l->n++];
        memset(e, 0, sizeof *e);
        strncpy(e->key, key, sizeof e->key - 1);
    }
    e->fails++;
    e->last_s = now_s;
}

void ms_www_limit_clear(ms_www_limit *l, const char *key)
{
    entry *e = find(l, key, 0);
    if (e)
        *e = l->v[--l->n];
}
