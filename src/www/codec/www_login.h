/* The login's texts, without I/O (docs/security.md "Sessions"): the login
 * form a browser posts (application/x-www-form-urlencoded), the Cookie
 * header, and the session token the cookie carries:
 *   1.<sid>.<created_s>.<user>.<mac>
 * sid 16 random bytes and user in base64url, mac the HMAC-SHA256 of
 * everything before it under the server's 32-byte session key, so a token
 * is the server's own and names its user; whether it is still alive (idle,
 * absolute timeout, logged out) the server's session table says. */
#ifndef MS_WWW_LOGIN_H
#define MS_WWW_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_WWW_KEY_LEN 32
#define MS_WWW_SID_LEN 16
#define MS_WWW_NAME_MAX 64
#define MS_WWW_TOKEN_MAX 256
#define MS_WWW_COOKIE "mscada_session"

/* The value of field key in a urlencoded form body (+ and %XX decoded),
 * NUL-terminated in out. Returns its length, or -1 when key is absent, the
 * value does not fit cap - 1 bytes, holds a NUL or bad %-escape. */
int ms_www_form_get(const char *body, size_t len, const char *key,
                    char *out, size_t cap);

/* The value of cookie name in a Cookie header ("a=1; b=2"). Returns its
 * length, or -1 (absent, longer than cap - 1, or holding a NUL). */
int ms_www_cookie_get(const char *header, size_t len, const char *name,
                      char *out, size_t cap);

typedef struct {
    uint8_t sid[MS_WWW_SID_LEN];
    uint64_t created_s;          /* unix seconds */
    char user[MS_WWW_NAME_MAX];
} ms_www_token;

/* Writes t's token under key into out (MS_WWW_TOKEN_MAX). Returns its
 * length, or -1 when the user name is too long. */
int ms_www_token_make(const uint8_t key[MS_WWW_KEY_LEN],
                      const ms_www_token *t, char *out, size_t cap);
/* Checks and reads a token. Returns 0, or -1 for anything not made by
 * make() under this key. */
int ms_www_token_parse(const uint8_t key[MS_WWW_KEY_LEN], const char *text,
                       size_t len, ms_www_token *t);

/* The host[:port] part of an Origin header ("https://h:8324" -> "h:8324");
 * NULL unless it is http:// or https:// with no path. */
const char *ms_www_origin_host(const char *origin);

/* The login page (HTML, self-contained: no other file to fetch before
 * logging in), showing msg (NULL: none) and posting back next (the page
 * to go to after logging in). malloc'd; *len its length. */
char *ms_www_login_page(const char *msg, const char *next, size_t *len);
/* next as a safe place to go after logging in: a path on this server
 * ("/x", not "//host" or "http:..."); else "/". */
const char *ms_www_login_next(const char *next);

#endif
