/* Growable byte buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mscada/error.h"

uint8_t *ms_buf_reserve(ms_buf *b, size_t n)
{
    if (b->data && b->cap - b->len >= n)
        return b->data + b->len;
    size_t live = b->len - b->off;
    /* Refuse sizes whose doubling would overflow. */
    if (n > SIZE_MAX / 4 - live)
        return NULL;
    /* Slide live bytes to the front when that makes the room. */
    if (b->off && b->cap - live >= n && b->off >= live) {
        memmove(b->data, b->data + b->off, live);
        b->off = 0;
        b->len = live;
        return b->data + b->len;
    }
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap - live < n)
        ncap *= 2;
    if (b->off) {
        uint8_t *nd = malloc(ncap);
        if (!nd)
            return NULL;
        memcpy(nd, b->data + b->off, live);
        free(b->data);
        b->data = nd;
    } else {
        uint8_t *nd = realloc(b->data, ncap);
        if (!nd)
            return NULL;
        b->data = nd;
    }
    b->off = 0;
    b->len = live;
    b->cap = ncap;
    return b->data + b->len;
}

int ms_buf_append(ms_buf *b, const void *p, size_t n)
{
    uint8_t *w = ms_buf_reserve(b, n);
    if (!w)
        return MS_ENOMEM;
    if (n)
        memcpy(w, p, n);
    b->len += n;
    return 0;
}

void ms_buf_consume(ms_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void ms_buf_shrink(ms_buf *b, size_t keep)
{
    if (b->len == b->off && b->cap > keep) {
        free(b->data);
        b->data = NULL;
        b->cap = b->off = b->len = 0;
    }
}

void ms_buf_free(ms_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
