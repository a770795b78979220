/* History files without I/O: which names are a tag's files, the 16-byte
 * record codec, and what counts as a torn or zero-filled tail. */
#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/history.h"

static void say(char *why, size_t cap, const char *msg)
{
    if (why && cap)
        snprintf(why, cap, "%s", msg);
}

int ms_hist_name_check(const char *name, size_t len, char *why, size_t cap)
{
    if (!name || len == 0) {
        say(why, cap, "history: empty tag name");
        return MS_EINVAL;
    }
    if (len > MS_HIST_NAME_MAX) {
        if (why && cap)
            snprintf(why, cap,
                     "history: tag name of %zu bytes is longer than the %d "
                     "a file name allows",
                     len, MS_HIST_NAME_MAX);
        return MS_EINVAL;
    }
    if (memchr(name, '\0', len)) {
        say(why, cap, "history: tag name holds a NUL byte");
        return MS_EINVAL;
    }
    if (memchr(name, '/', len)) {
        if (why && cap)
            snprintf(why, cap,
                     "history: tag name '%.*s' holds '/', which can't be in "
                     "a file name",
                     (int)len, name);
        return MS_EINVAL;
    }
    return 0;
}

int ms_hist_file_parse(const char *fname, size_t *tag_len, uint64_t *time_us)
{
    size_t n = strlen(fname);
    if (n < 6 || memcmp(fname + n - 4, ".dat", 4) != 0)
        return MS_EINVAL;
    n -= 4;
    /* The time is the digits after the last '_'; the tag is all before. */
    size_t us = n;
    while (us > 0 && fname[us - 1] != '_')
        us--;
    if (us < 2 || us == n)
        return MS_EINVAL;
    uint64_t t = 0;
    for (size_t i = us; i < n; i++) {
        unsigned d = (unsigned)(fname[i] - '0');
        if (d > 9)
            return MS_EINVAL;
        if (t > (UINT64_MAX - d) / 10)
            return MS_EINVAL; /* not a time we could have written */
        t = t * 10 + d;
    }
    if (ms_hist_name_check(fname, us - 1, NULL, 0) < 0)
        return MS_EINVAL;
    *tag_len = us - 1;
    *time_us = t;
    return 0;
}

void ms_hist_rec_encode(const ms_hist_rec *r, uint8_t out[MS_HIST_REC_SIZE])
{
    uint64_t bits;
    memcpy(&bits, &r->u, 8);
    ms_put_u64(out, r->time_us);
    ms_put_u64(out + 8, bits);
}

void ms_hist_rec_decode(const uint8_t in[MS_HIST_REC_SIZE], ms_hist_rec *r)
{
    uint64_t bits = ms_get_u64(in + 8);
    r->time_us = ms_get_u64(in);
    memcpy(&r->u, &bits, 8);
}

bool ms_hist_rec_is_hole(const uint8_t p[MS_HIST_REC_SIZE])
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return (a | b) == 0;
}

size_t ms_hist_tail_trim(const uint8_t *p, size_t n)
{
    while (n > 0 && ms_hist_rec_is_hole(p + (n - 1) * MS_HIST_REC_SIZE))
        n--;
    return n;
}
