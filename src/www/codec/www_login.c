/* Login form, Cookie header and session token (www_login.h). */
#include "www/codec/www_login.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a urlencoded value of n bytes; -1 on a bad escape, a NUL, or
 * no room. */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    if (cap == 0)
        return -1;
    out[o] = 0;
    return (int)o;
}

int ms_www_form_get(const char *body, size_t len, const char *key,
                    char *out, size_t cap)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i <= len) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        const char *eq = memchr(body + i, '=', end - i);
        if (eq && (size_t)(eq - (body + i)) == klen &&
            !memcmp(body + i, key, klen))
            return url_decode(eq + 1, end - (size_t)(eq + 1 - body), out,
                              cap);
        if (!amp)
            break;
        i = end + 1;
    }
    return -1;
}

int ms_www_cookie_get(const char *h, size_t len, const char *name,
                      char *out, size_t cap)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i < len) {
        while (i < len && (h[i] == ' ' || h[i] == '\t'))
            i++;
        const char *semi = memchr(h + i, ';', len - i);
        size_t end = semi ? (size_t)(semi - h) : len;
        if (end - i > nlen && h[i + nlen] == '=' &&
            !memcmp(h + i, name, nlen)) {
            size_t v = i + nlen + 1, vl = end - v;
            while (vl && (h[v + vl - 1] == ' ' || h[v + vl - 1] == '\t'))
                vl--;
            if (vl >= 2 && h[v] == '"' && h[v + vl - 1] == '"')
                v++, vl -= 2;
            if (vl + 1 > cap || memchr(h + v, 0, vl))
                return -1; /* too long, or a NUL: no cookie of ours */
            memcpy(out, h + v, vl);
            out[vl] = 0;
            return (int)vl;
        }
        i = end + 1;
    }
    return -1;
}

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

int ms_www_token_make(const uint8_t key[MS_WWW_KEY_LEN],
                      const ms_www_token *t, char *out, size_t cap)
{
    size_t ulen = strnlen(t->user, sizeof t->user);
    if (ulen == 0 || ulen >= sizeof t->user || cap < MS_WWW_TOKEN_MAX)
        return -1;
    char sid[sodium_base64_ENCODED_LEN(MS_WWW_SID_LEN, B64)];
    char user[sodium_base64_ENCODED_LEN(MS_WWW_NAME_MAX, B64)];
    sodium_bin2base64(sid, sizeof sid, t->sid, MS_WWW_SID_LEN, B64);
    sodium_bin2base64(user, sizeof user, (const uint8_t *)t->user, ulen,
                      B64);
    int n = snprintf(out, cap, "1.%s.%llu.%s.", sid,
                     (unsigned long long)t->created_s, user);
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const uint8_t *)out, (size_t)n - 1, key);
    char m64[sodium_base64_ENCODED_LEN(sizeof mac, B64)];
    sodium_bin2base64(m64, sizeof m64, mac, sizeof mac, B64);
    int m = snprintf(out + n, cap - (size_t)n, "%s", m64);
    return n + m < (int)cap ? n + m : -1;
}

int ms_www_token_parse(const uint8_t key[MS_WWW_KEY_LEN], const char *text,
                       size_t len, ms_www_token *t)
{
    memset(t, 0, sizeof *t);
    if (len < 8 || len >= MS_WWW_TOKEN_MAX || memcmp(text, "1.", 2))
        return -1;
    for (size_t i = 0; i < len; i++) /* base64url and dots, nothing else */
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_.", text[i]) || !text[i])
            return -1;
    const char *dot = NULL;
    for (size_t i = len; i-- > 0;)
        if (text[i] == '.') {
            dot = text + i;
            break;
        }
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    size_t mlen;
    if (!dot || sodium_base642bin(mac, sizeof mac, dot + 1,
                                  len - (size_t)(dot + 1 - text), NULL,
                                  &mlen, NULL, B64) != 0 ||
        mlen != sizeof mac ||
        crypto_auth_hmacsha256_verify(mac, (const uint8_t *)text,
                                      (size_t)(dot - text), key) != 0)
        return -1;
    /* Made by us: 1.<sid>.<created>.<user> */
    char buf[MS_WWW_TOKEN_MAX];
    memcpy(buf, text, (size_t)(dot - text));
    buf[dot - text] = 0;
    char *sid = buf + 2, *cr = strchr(sid, '.');
    if (!cr)
        return -1;
    *cr++ = 0;
    char *user = strchr(cr, '.');
    if (!user)
        return -1;
    *user++ = 0;
    size_t n;
    char *end;
    if (sodium_base642bin(t->sid, sizeof t->sid, sid, strlen(sid), NULL, &n,
                          NULL, B64) != 0 || n != MS_WWW_SID_LEN)
        return -1;
    t->created_s = strtoull(cr, &end, 10);
    if (*end || end == cr)
        return -1;
    if (sodium_base642bin((uint8_t *)t->user, sizeof t->user - 1, user,
                          strlen(user), NULL, &n, NULL, B64) != 0 ||
        n == 0 || memchr(t->user, 0, n))
        return -1;
    t->user[n] = 0;
    return 0;
}

const char *ms_www_origin_host(const char *origin)
{
    const char *h = NULL;
    if (!strncmp(origin, "http://", 7))
        h = origin + 7;
    else if (!strncmp(origin, "https://", 8))
        h = origin + 8;
    if (!h || !*h || strchr(h, '/'))
        return NULL;
    return h;
}

static void html_escape(ms_buf *b, const char *s)
{
    for (; s && *s; s++) {
        const char *e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                      : *s == '&' ? "&amp;" : *s == '"' ? "&quot;"
                      : *s == '\'' ? "&#39;" : NULL;
        if (e)
            ms_buf_append(b, e, strlen(e));
        else
            ms_buf_append(b, s, 1);
    }
}

static const char page_head[] =
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
    "<title>mscada: log in</title><style>"
    "body{font-family:system-ui,sans-serif;background:#1d232a;color:#e6e6e6;"
    "display:flex;min-height:100vh;margin:0;align-items:center;"
    "justify-content:center}"
    "form{background:#2a323c;padding:2em;border-radius:8px;min-width:16em}"
    "h1{font-size:1.3em;margin:0 0 1em}"
    "label{display:block;margin:.6em 0 .2em}"
    "input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em}"
    "button{margin-top:1.2em;width:100%;padding:.6em;font-size:1em}"
    ".err{color:#ff8a80;margin:0 0 .8em}"
    "</style></head><body><form method=post action=/login>"
    "<h1>mscada</h1>";

char *ms_www_login_page(const char *msg, const char *next, size_t *len)
{
    ms_buf b = {0};
    ms_buf_append(&b, page_head, sizeof page_head - 1);
    if (msg) {
        static const char a[] = "<p class=err id=msg role=alert>";
        ms_buf_append(&b, a, sizeof a - 1);
        html_escape(&b, msg);
        ms_buf_append(&b, "</p>", 4);
    }
    static const char f1[] =
        "<label for=name>Name</label><input id=name name=name "
        "autocomplete=username autofocus required>"
        "<label for=password>Password</label><input id=password "
        "name=password type=password autocomplete=current-password "
        "required><input type=hidden name=next value=\"";
    static const char f2[] =
        "\"><button type=submit id=login>Log in</button></form></body>"
        "</html>\n";
    ms_buf_append(&b, f1, sizeof f1 - 1);
    html_escape(&b, ms_www_login_next(next));
    if (ms_buf_append(&b, f2, sizeof f2) < 0) { /* with the NUL */
        ms_buf_free(&b);
        return NULL;
    }
    *len = ms_buf_size(&b) - 1;
    return (char *)ms_buf_head(&b);
}

const char *ms_www_login_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
        strpbrk(next, "\r\n") || !strncmp(next, "/login", 6) ||
        !strncmp(next, "/logout", 7))
        return "/";
    return next;
}
