/* ${ENV_VAR} expansion in config scalars (core/conf_int.h): the scalar's
 * text with every ${NAME} replaced by that environment variable's value,
 * an unset variable or a malformed ${...} being a config error. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/conf_int.h"
#include "mscada/error.h"

static bool is_env_name(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

/* The expansion of the `${...}` at s (len bytes from the `$` on) appended
 * to b; *used is how many bytes of s it took. */
static int expand_one(ms_buf *b, const char *s, size_t len, size_t *used,
                      char *why, size_t cap)
{
    const char *name = s + 2;
    const char *end = memchr(name, '}', len - 2);
    if (!end) {
        snprintf(why, cap, "'${' without a closing '}'");
        return MS_ECONFIG;
    }
    size_t nlen = (size_t)(end - name);
    if (!is_env_name(name, nlen)) {
        snprintf(why, cap, "bad environment variable name '%.*s'",
                 nlen > 64 ? 64 : (int)nlen, name);
        return MS_ECONFIG;
    }
    char vname[256];
    if (nlen >= sizeof vname) {
        snprintf(why, cap, "environment variable name is too long");
        return MS_ECONFIG;
    }
    memcpy(vname, name, nlen);
    vname[nlen] = '\0';
    const char *v = getenv(vname);
    if (!v) {
        snprintf(why, cap, "environment variable %s is not set", vname);
        return MS_ECONFIG;
    }
    *used = 2 + nlen + 1;
    return ms_buf_append(b, v, strlen(v));
}

int ms_conf_env_expand(const char *s, size_t len, char **out, size_t *out_len,
                       char *why, size_t cap)
{
    *out = NULL;
    *out_len = 0;
    if (!memchr(s, '$', len)) { /* most scalars: a plain copy */
        char *p = malloc(len + 1);
        if (!p)
            return MS_ENOMEM;
        memcpy(p, s, len);
        p[len] = '\0';
        *out = p;
        *out_len = len;
        return 0;
    }
    ms_buf b = {0};
    int rc = 0;
    size_t i = 0;
    while (i < len && rc == 0) {
        const char *d = memchr(s + i, '$', len - i);
        size_t upto = d ? (size_t)(d - s) : len;
        rc = ms_buf_append(&b, s + i, upto - i);
        i = upto;
        if (rc || i >= len)
            break;
        if (i + 1 >= len || s[i + 1] != '{') {
            /* `$$` stays literal (both characters), as does a lone `$`. */
            size_t k = (i + 1 < len && s[i + 1] == '$') ? 2 : 1;
            rc = ms_buf_append(&b, s + i, k);
            i += k;
            continue;
        }
        size_t used = 0;
        rc = expand_one(&b, s + i, len - i, &used, why, cap);
        i += used;
    }
    if (rc == 0)
        rc = ms_buf_append(&b, "", 1);
    if (rc) {
        ms_buf_free(&b);
        return rc;
    }
    /* The node keeps the text: give back the buffer's spare room. */
    char *p = realloc(b.data, b.len);
    *out = p ? p : (char *)b.data;
    *out_len = b.len - 1;
    return 0;
}
