/* The session table (www_session.h): an array searched linearly (one
 * entry per browser logged in), sids compared in constant time. */
#include "www/codec/www_session.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

void ms_www_sessions_init(ms_www_sessions *t, uint64_t idle_ms,
                          uint64_t max_s)
{
    memset(t, 0, sizeof *t);
    t->idle_ms = idle_ms;
    t->max_s = max_s;
}

void ms_www_sessions_free(ms_www_sessions *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

ms_www_session *ms_www_sessions_find(ms_www_sessions *t,
                                     const uint8_t sid[MS_WWW_SID_LEN])
{
    for (size_t i = 0; i < t->n; i++)
        if (!sodium_memcmp(t->v[i].sid, sid, MS_WWW_SID_LEN))
            return &t->v[i];
    return NULL;
}

ms_www_session *ms_www_sessions_add(ms_www_sessions *t,
                                    const uint8_t sid[MS_WWW_SID_LEN],
                                    const ms_www_user *user,
                                    uint64_t created_s, uint64_t now_ms)
{
    ms_www_session *v = ms_grow(t->v, t->n, &t->cap, sizeof *v, 16);
    if (!v)
        return NULL;
    t->v = v;
    ms_www_session *s = &t->v[t->n++];
    memset(s, 0, sizeof *s);
    memcpy(s->sid, sid, MS_WWW_SID_LEN);
    s->user = user;
    s->created_s = created_s;
    s->used_ms = now_ms;
    return s;
}

const char *ms_www_session_dead(const ms_www_sessions *t,
                                const ms_www_session *s, uint64_t now_s,
                                uint64_t now_ms)
{
    if (s->revoked)
        return "logged out";
    if (now_s >= s->created_s + t->max_s)
        return "session expired (absolute timeout)";
    if (!s->held && now_ms >= s->used_ms + t->idle_ms)
        return "session expired (idle)";
    return NULL;
}

void ms_www_session_use(ms_www_session *s, uint64_t now_ms)
{
    if (now_ms > s->used_ms)
        s->used_ms = now_ms;
}

void ms_www_session_hold(ms_www_session *s)
{
    s->held++;
}

void ms_www_session_release(ms_www_session *s, uint64_t now_ms)
{
    if (s->held)
        s->held--;
    ms_www_session_use(s, now_ms); /* idle from the last tab's close */
}

void ms_www_sessions_sweep(ms_www_sessions *t, uint64_t now_s,
                           uint64_t now_ms,
                           void (*ended)(const ms_www_session *s,
                                         const char *why, void *arg),
                           void *arg)
{
    for (size_t i = 0; i < t->n;) {
        ms_www_session *s = &t->v[i];
        const char *why = ms_www_session_dead(t, s, now_s, now_ms);
        if (why && !s->revoked) {
            s->revoked = true;
            if (ended)
                ended(s, why, arg);
        }
        /* A revoked entry keeps its cookie dead till its absolute end,
         * then goes: the cookie fails on age alone. */
        if (now_s >= s->created_s + t->max_s)
            t->v[i] = t->v[--t->n];
        else
            i++;
    }
}
