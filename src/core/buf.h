/* A growable byte buffer with a read offset: append at the end, consume
 * from the front. Internal to libmscada (queues, re-assembly). */
#ifndef MS_CORE_BUF_H
#define MS_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t off; /* first unconsumed byte */
    size_t len; /* end of data */
    size_t cap;
} ms_buf;

static inline size_t ms_buf_size(const ms_buf *b)
{
    return b->len - b->off;
}
static inline uint8_t *ms_buf_head(const ms_buf *b)
{
    return b->data ? b->data + b->off : NULL;
}

/* Makes room for n more bytes at the end; returns the place to write them
 * (then call ms_buf_commit) or NULL when out of memory. */
uint8_t *ms_buf_reserve(ms_buf *b, size_t n);
static inline void ms_buf_commit(ms_buf *b, size_t n)
{
    b->len += n;
}
int ms_buf_append(ms_buf *b, const void *p, size_t n);
/* Drops n bytes from the front. */
void ms_buf_consume(ms_buf *b, size_t n);
/* Frees memory above `keep` bytes of capacity when the buffer is empty. */
void ms_buf_shrink(ms_buf *b, size_t keep);
void ms_buf_free(ms_buf *b);

#endif
