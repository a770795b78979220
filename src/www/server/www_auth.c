/* Logins and sessions of the wwwserver (www_auth.h). */
#include "www/server/www_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mscada/error.h"
#include "mscada/log.h"
#include "www/codec/www_limit.h"
#include "www/codec/www_session.h"

#define LOGINS_AT_ONCE 4 /* each check holds 64 MiB for ~0.1 s */

struct ms_www_login {
    uv_work_t work;
    ms_www_auth *a;         /* NULL once the auth is freed */
    ms_www_login *next;     /* pending */
    ms_www_login_cb cb;
    void *arg;
    bool cancelled, skip, ok;
    unsigned retry_s;
    int status;
    char name[MS_WWW_NAME_MAX + 1];
    char peer[80];
    char pass[256];
    char *hash;             /* copy: the check runs off the loop */
};

struct ms_www_auth {
    ms_www_auth_config cfg;
    uv_loop_t *loop;
    ms_www_sessions sessions;
    ms_www_limit *limit;
    ms_www_login *pending;
    int checking;
    char *dummy_hash;       /* checked for unknown users: same time spent */
};

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

/* Monotonic, for idle times (www_session.h). */
static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

int ms_www_auth_key(const char *path, uint8_t key[MS_WWW_KEY_LEN], char *why,
                    size_t whylen)
{
    if (sodium_init() < 0) {
        snprintf(why, whylen, "libsodium cannot start");
        return MS_EIO;
    }
    if (!path) {
        randombytes_buf(key, MS_WWW_KEY_LEN);
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, key, MS_WWW_KEY_LEN);
        close(fd);
        if (n == MS_WWW_KEY_LEN)
            return 0;
        snprintf(why, whylen, "session_key %s: not a session key (%zd "
                 "bytes, want %d): remove it and a new one is made", path,
                 n, MS_WWW_KEY_LEN);
        return MS_EIO;
    }
    if (errno != ENOENT) {
        snprintf(why, whylen, "session_key %s: %s", path, strerror(errno));
        return MS_EIO;
    }
    randombytes_buf(key, MS_WWW_KEY_LEN);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, MS_WWW_KEY_LEN) != MS_WWW_KEY_LEN ||
        fsync(fd) < 0) {
        snprintf(why, whylen, "session_key %s: cannot write it: %s", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return MS_EIO;
    }
    close(fd);
    ms_log_info("www: made a new session key in %s", path);
    return 0;
}

int ms_www_auth_new(uv_loop_t *loop, const ms_www_auth_config *cfg,
                    ms_www_auth **out)
{
    if (sodium_init() < 0)
        return MS_EIO;
    ms_www_auth *a = calloc(1, sizeof *a);
    if (!a)
        return MS_ENOMEM;
    a->cfg = *cfg;
    if (!a->cfg.idle_ms)
        a->cfg.idle_ms = 1800 * 1000;
    if (!a->cfg.max_s)
        a->cfg.max_s = 43200;
    ms_www_sessions_init(&a->sessions, a->cfg.idle_ms, a->cfg.max_s);
    a->loop = loop;
    a->limit = ms_www_limit_new();
    /* A hash of random bytes nobody knows, so a login with an unknown name
     * costs what a known one does (no probing names by timing). */
    char pw[33];
    uint8_t r[16];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(pw, sizeof pw, r, sizeof r);
    a->dummy_hash = malloc(crypto_pwhash_STRBYTES);
    if (!a->limit || !a->dummy_hash ||
        crypto_pwhash_str(a->dummy_hash, pw, strlen(pw),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        ms_www_limit_free(a->limit);
        free(a->dummy_hash);
        free(a);
        return MS_ENOMEM;
    }
    *out = a;
    return 0;
}

void ms_www_auth_free(ms_www_auth *a)
{
    if (!a)
        return;
    for (ms_www_login *l = a->pending; l; l = l->next)
        l->a = NULL; /* its after-work frees it */
    sodium_memzero(&a->cfg.key, sizeof a->cfg.key);
    ms_www_limit_free(a->limit);
    free(a->dummy_hash);
    ms_www_sessions_free(&a->sessions);
    free(a);
}

unsigned ms_www_auth_max_s(const ms_www_auth *a)
{
    return a->cfg.max_s;
}

static void event(ms_www_auth *a, const char *ev, const char *user,
                  const ms_www_user *u, const char *peer, bool ok,
                  const char *why)
{
    if (!a->cfg.on_event)
        return;
    ms_www_auth_event e = {ev, user, u ? ms_www_role_name(u->role) : NULL,
                           peer, ok, why};
    a->cfg.on_event(&e, a->cfg.arg);
}

int ms_www_auth_check(ms_www_auth *a, const char *cookie, size_t len,
                      uint8_t sid[MS_WWW_SID_LEN], const ms_www_user **user,
                      const char **why)
{
    char tok[MS_WWW_TOKEN_MAX];
    ms_www_token t;
    *user = NULL;
    if (!cookie ||
        ms_www_cookie_get(cookie, len, MS_WWW_COOKIE, tok, sizeof tok) < 0) {
        *why = "no session cookie";
        return -1;
    }
    if (ms_www_token_parse(a->cfg.key, tok, strlen(tok), &t) < 0) {
        *why = "session cookie not valid (made before a restart?)";
        return -1;
    }
    const ms_www_user *u = ms_www_users_find(a->cfg.users, t.user);
    if (!u || !u->hash) {
        *why = "the session's user is no longer in the users file";
        return -1;
    }
    uint64_t now = now_s(), ms = now_ms();
    ms_www_session *s = ms_www_sessions_find(&a->sessions, t.sid);
    if (!s) {
        /* Signed with our key but unknown: made before a restart with the
         * same key file (session_key). Alive till its absolute end. */
        if (now >= t.created_s + a->cfg.max_s || t.created_s > now + 60) {
            *why = "session expired (absolute timeout)";
            return -1;
        }
        s = ms_www_sessions_add(&a->sessions, t.sid, u, t.created_s, ms);
        if (!s) {
            *why = "out of memory";
            return -1;
        }
    }
    if ((*why = ms_www_session_dead(&a->sessions, s, now, ms)))
        return -1;
    ms_www_session_use(s, ms);
    memcpy(sid, s->sid, MS_WWW_SID_LEN);
    *user = u;
    return 0;
}

bool ms_www_auth_hold(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN])
{
    ms_www_session *s = ms_www_sessions_find(&a->sessions, sid);
    if (!s || ms_www_session_dead(&a->sessions, s, now_s(), now_ms()))
        return false;
    ms_www_session_hold(s);
    return true;
}

void ms_www_auth_release(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN])
{
    ms_www_session *s = ms_www_sessions_find(&a->sessions, sid);
    if (s)
        ms_www_session_release(s, now_ms());
}

bool ms_www_auth_alive(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN])
{
    ms_www_session *s = ms_www_sessions_find(&a->sessions, sid);
    return s && !ms_www_session_dead(&a->sessions, s, now_s(), now_ms());
}

static void on_ended(const ms_www_session *s, const char *why, void *arg)
{
    event(arg, "logout", s->user->name, s->user, NULL, true, why);
}

void ms_www_auth_sweep(ms_www_auth *a)
{
    ms_www_sessions_sweep(&a->sessions, now_s(), now_ms(), on_ended, a);
}

void ms_www_auth_logout(ms_www_auth *a, const uint8_t sid[MS_WWW_SID_LEN],
                        const char *peer)
{
    ms_www_session *s = ms_www_sessions_find(&a->sessions, sid);
    if (!s || s->revoked)
        return;
    s->revoked = true;
    event(a, "logout", s->user->name, s->user, peer, true, "logged out");
}

/* ---- logins ------------------------------------------------------------ */

static void addr_key(const char *peer, char *out, size_t cap)
{
    /* "1.2.3.4:5678" / "[::1]:5678": the address without the port */
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    snprintf(out, cap, "addr %.*s", (int)n, peer);
}

static void check_work(uv_work_t *w)
{
    ms_www_login *l = (ms_www_login *)w;
    if (l->skip)
        return;
    l->ok = crypto_pwhash_str_verify(l->hash, l->pass, strlen(l->pass)) == 0;
}

static void check_done(uv_work_t *w, int status)
{
    (void)status;
    ms_www_login *l = (ms_www_login *)w;
    ms_www_auth *a = l->a;
    sodium_memzero(l->pass, sizeof l->pass);
    free(l->hash);
    if (!a) {
        free(l);
        return;
    }
    for (ms_www_login **p = &a->pending; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
    char token[MS_WWW_TOKEN_MAX] = "";
    if (!l->skip) {
        a->checking--;
        const ms_www_user *u = ms_www_users_find(a->cfg.users, l->name);
        char ak[96], uk[96];
        addr_key(l->peer, ak, sizeof ak);
        snprintf(uk, sizeof uk, "user %s", l->name);
        uint64_t now = now_s();
        if (l->ok && u) {
            ms_www_token t;
            memset(&t, 0, sizeof t);
            randombytes_buf(t.sid, sizeof t.sid);
            t.created_s = now;
            snprintf(t.user, sizeof t.user, "%s", u->name);
            if (ms_www_token_make(a->cfg.key, &t, token, sizeof token) < 0 ||
                !ms_www_sessions_add(&a->sessions, t.sid, u, now,
                                     now_ms())) {
                l->status = 503;
            } else {
                l->status = 200;
                ms_www_limit_clear(a->limit, uk);
                ms_www_limit_clear(a->limit, ak);
                event(a, "login", u->name, u, l->peer, true, NULL);
            }
        } else {
            l->status = 401;
            ms_www_limit_fail(a->limit, uk, now);
            ms_www_limit_fail(a->limit, ak, now);
            event(a, "login", l->name, u, l->peer, false,
                  u ? "wrong password" : "unknown user");
        }
    }
    if (!l->cancelled)
        l->cb(l->arg, l->status, token, l->retry_s);
    sodium_memzero(token, sizeof token);
    free(l);
}

ms_www_login *ms_www_auth_login(ms_www_auth *a, const char *name,
                                const char *password, const char *peer,
                                ms_www_login_cb cb, void *arg)
{
    ms_www_login *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->a = a;
    l->cb = cb;
    l->arg = arg;
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->peer, sizeof l->peer, "%s", peer);
    snprintf(l->pass, sizeof l->pass, "%s", password);
    char ak[96], uk[96];
    addr_key(peer, ak, sizeof ak);
    snprintf(uk, sizeof uk, "user %s", l->name);
    uint64_t now = now_s();
    unsigned wa = ms_www_limit_wait(a->limit, ak, now),
             wu = ms_www_limit_wait(a->limit, uk, now);
    const ms_www_user *u = ms_www_users_find(a->cfg.users, l->name);
    if (wa || wu) {
        l->skip = true;
        l->status = 429;
        l->retry_s = wa > wu ? wa : wu;
        event(a, "login", l->name, u, peer, false, "rate limited");
    } else if (a->checking >= LOGINS_AT_ONCE) {
        l->skip = true;
        l->status = 503;
        l->retry_s = 1;
        event(a, "login", l->name, u, peer, false, "busy");
    } else {
        l->hash = strdup(u && u->hash ? u->hash : a->dummy_hash);
        a->checking++;
    }
    l->next = a->pending;
    a->pending = l;
    if (uv_queue_work(a->loop, &l->work, check_work, check_done) < 0) {
        a->pending = l->next;
        if (!l->skip)
            a->checking--;
        free(l->hash);
        free(l);
        return NULL;
    }
    return l;
}

void ms_www_login_cancel(ms_www_login *l)
{
    if (l)
        l->cancelled = true;
}
