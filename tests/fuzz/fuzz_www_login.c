/* Fuzz target for what a browser sends the wwwserver's login
 * (src/www/codec/www_login.c): each input is taken whole as a login form
 * body, as a Cookie header, as a session token (under a fixed key: only a
 * made token may pass, and a passing one must make again the same text),
 * as an Origin header and as the page to go to after logging in (which
 * must come back a local path), and the login page made with it. Nothing
 * may crash, read past the input or leak.
 * fuzz-options: -max_len=4096 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "www/codec/www_login.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the transport hands over exactly size bytes: no NUL after them */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    char out[256];
    static const char *const keys[] = {"name", "password", "next", ""};
    for (size_t i = 0; i < 4; i++) {
        int n = ms_www_form_get(in, size, keys[i], out, sizeof out);
        if (n >= 0 && (strlen(out) != (size_t)n || n >= (int)sizeof out))
            abort();
        n = ms_www_cookie_get(in, size, MS_WWW_COOKIE, out, 16 + i * 64);
        if (n >= 0 && strlen(out) != (size_t)n)
            abort();
    }
    uint8_t key[MS_WWW_KEY_LEN];
    memset(key, 0x5a, sizeof key);
    ms_www_token t;
    if (ms_www_token_parse(key, in, size, &t) == 0) {
        char again[MS_WWW_TOKEN_MAX];
        int n = ms_www_token_make(key, &t, again, sizeof again);
        if (n < 0 || (size_t)n != size || memcmp(again, in, size))
            abort();
    }
    char *z = malloc(size + 1); /* the NUL-terminated ones */
    if (z) {
        memcpy(z, data, size);
        z[size] = 0;
        const char *h = ms_www_origin_host(z);
        if (h && (strchr(h, '/') || !*h))
            abort();
        const char *next = ms_www_login_next(z);
        if (next[0] != '/' || next[1] == '/' || next[1] == '\\')
            abort();
        size_t len;
        char *page = ms_www_login_page(z, z, &len);
        if (page && strlen(page) != len)
            abort();
        free(page);
        free(z);
    }
    free(in);
    return 0;
}
