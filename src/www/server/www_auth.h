/* The wwwserver's logins and sessions (docs/security.md): passwords
 * checked against the users file's argon2id hashes on libuv's thread pool
 * (never on the loop: a check takes ~0.1 s and 64 MiB), failed logins
 * rate-limited per address and per user, and the table of live sessions
 * the session cookie names (www_session.h, on this process's clocks:
 * idle and absolute timeouts, tabs holding sessions, logout). The
 * session key signs the cookies: random per start, or kept in a key file
 * so sessions survive a restart. Everything else runs on the loop. */
#ifndef MS_WWW_AUTH_H
#define MS_WWW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "www/codec/www_login.h"
#include "www/codec/www_users.h"

typedef struct ms_www_auth ms_www_auth;

/* What is audited: a login (accepted or refused, and why), a logout, a
 * session that timed out. */
typedef struct {
    const char *event;   /* "login" | "logout" */
    const char *user;    /* as typed for a refused login */
    const char *role;    /* NULL when unknown */
    const char *peer;
    bool accepted;
    const char *why;     /* refused, or how a session ended */
} ms_www_auth_event;

typedef struct {
    const ms_www_users *users;  /* borrowed while the auth lives */
    uint64_t idle_ms;           /* a session unused this long ends; 30 min */
    unsigned max_s;             /* and any session this old; 43200 */
    uint8_t key[MS_WWW_KEY_LEN];
    void (*on_event)(const ms_www_auth_event *ev, void *arg);
    void *arg;
} ms_www_auth_config;

/* Reads the 32-byte session key from path, or makes one there (mode 0600)
 * when it does not exist. NULL path: a random key (sessions end with the
 * process). Returns 0, or MS_EIO with why. */
int ms_www_auth_key(const char *path, uint8_t key[MS_WWW_KEY_LEN], char *why,
                    size_t whylen);

int ms_www_auth_new(uv_loop_t *loop, const ms_www_auth_config *cfg,
                    ms_www_auth **out);
/* Frees it; logins still being checked are dropped. */
void ms_www_auth_free(ms_www_auth *a);
unsigned ms_www_auth_max_s(const ms_www_auth *a);

/* The live session a Cookie header names: 0 with its sid and user (the
 * session counts as used now), or -1 with why ("no session cookie",
 * "session expired", ...). */
int ms_www_auth_check(ms_www_auth *a, const char *cookie, size_t len,
                      uint8_t sid[MS_WWW_SID_LEN], const ms_www_user **user,
                      const char **why);
/* A websocket of the session opened: false when the session is not alive;
 * else it is in use till the matching release (it does not idle). */
bool ms_www_auth_hold(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN]);
/* That websocket closed: the session's idle time starts now. */
void ms_www_auth_release(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN]);
/* Is the session alive (not logged out, timed out, forgotten)? */
bool ms_www_auth_alive(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN]);
/* Ends sessions idle or past max_s (audited as "logout", why "expired"). */
void ms_www_auth_sweep(ms_www_auth *a);
/* Ends a session (logout): its cookie is refused from now on. */
void ms_www_auth_logout(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN],
                        const char *peer);

/* A login's outcome: status 200 with the new session's token (for the
 * cookie), 401 (wrong name or password), 429 (rate limited: retry_s) or
 * 503 (too many logins being checked at once). */
typedef void (*ms_www_login_cb)(void *arg, int status, const char *token,
                                 unsigned retry_s);
typedef struct ms_www_login ms_www_login;

/* Checks name and password for peer ("addr:port") and calls cb later, on
 * the loop (never from inside this call). The password is wiped from
 * memory once checked. Returns the pending login (to cancel). */
ms_www_login *ms_www_auth_login(ms_www_auth *a, const char *name,
                                const char *password, const char *peer,
                                ms_www_login_cb cb, void *arg);
/* The asker went away: cb is not called (a good login still ends in a
 * session nobody holds: it idles out). */
void ms_www_login_cancel(ms_www_login *l);

#endif
