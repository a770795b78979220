/* Capped exponential backoff with jitter, shared by every reconnecting
 * client: min, 2 min, 4 min, ... up to max, each delay moved by up to
 * +-jitter of itself (still within max), so that many clients of one peer
 * don't retry in lock step. */
#ifndef MS_CORE_BACKOFF_H
#define MS_CORE_BACKOFF_H

#include <stdint.h>

typedef struct {
    double min, max;  /* seconds */
    double jitter;    /* a fraction, e.g. 0.25; 0: none */
    unsigned attempt; /* delays handed out since the last reset */
    uint64_t rng;
} ms_backoff;

void ms_backoff_init(ms_backoff *b, double min, double max, double jitter);
/* The next delay in milliseconds (at least 1); counts an attempt. */
uint64_t ms_backoff_next_ms(ms_backoff *b);

/* The next delay starts at min again. */
static inline void ms_backoff_reset(ms_backoff *b)
{
    b->attempt = 0;
}

#endif
