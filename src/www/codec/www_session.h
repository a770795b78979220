/* The wwwserver's table of sessions, without I/O or clocks (times are
 * given; docs/security.md "Sessions"). A session is alive until it is
 * logged out, max_s after it was made, or idle_ms after its last use.
 * Two clocks, each for what it measures: the creation time rides in the
 * cookie across restarts, so the absolute end is wall-clock seconds; the
 * idle time is a span inside this process, so it is monotonic milliseconds
 * (a wall clock step ends no session, and no rounding to whole seconds).
 * A session with open websockets (held) is in use all along: it never
 * idles, and its idle time starts when the last one closes. A logged-out
 * session stays (its cookie refused) till its absolute end. */
#ifndef MS_WWW_SESSION_H
#define MS_WWW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "www/codec/www_login.h"
#include "www/codec/www_users.h"

typedef struct {
    uint8_t sid[MS_WWW_SID_LEN];
    const ms_www_user *user;
    uint64_t created_s; /* wall clock, from the token */
    uint64_t used_ms;   /* monotonic: the last use */
    unsigned held;      /* open websockets */
    bool revoked;       /* logged out or timed out */
} ms_www_session;

typedef struct {
    ms_www_session *v;
    size_t n, cap;
    uint64_t idle_ms, max_s;
} ms_www_sessions;

void ms_www_sessions_init(ms_www_sessions *t, uint64_t idle_ms,
                          uint64_t max_s);
void ms_www_sessions_free(ms_www_sessions *t);

/* The session of sid, or NULL. Pointers last till the next add or sweep. */
ms_www_session *ms_www_sessions_find(ms_www_sessions *t,
                                     const uint8_t sid[MS_WWW_SID_LEN]);
/* A new session, used at now_ms; NULL when out of memory. */
ms_www_session *ms_www_sessions_add(ms_www_sessions *t,
                                    const uint8_t sid[MS_WWW_SID_LEN],
                                    const ms_www_user *user,
                                    uint64_t created_s, uint64_t now_ms);

/* Why s is not alive at (now_s wall, now_ms monotonic), or NULL. */
const char *ms_www_session_dead(const ms_www_sessions *t,
                                const ms_www_session *s, uint64_t now_s,
                                uint64_t now_ms);
/* A request of s at now_ms (s alive). */
void ms_www_session_use(ms_www_session *s, uint64_t now_ms);
/* A websocket of s opened, or closed at now_ms. */
void ms_www_session_hold(ms_www_session *s);
void ms_www_session_release(ms_www_session *s, uint64_t now_ms);

/* Revokes every session not alive, calling ended(s, why, arg) for each
 * one not revoked before, and drops those past their absolute end. */
void ms_www_sessions_sweep(ms_www_sessions *t, uint64_t now_s,
                           uint64_t now_ms,
                           void (*ended)(const ms_www_session *s,
                                         const char *why, void *arg),
                           void *arg);

#endif
