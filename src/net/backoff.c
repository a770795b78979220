/* Capped exponential backoff with jitter. */
#include "net/backoff.h"
#include "mscada/mstime.h"

void ms_backoff_init(ms_backoff *b, double min, double max, double jitter)
{
    *b = (ms_backoff){.min = min, .max = max, .jitter = jitter};
    b->rng = ms_time_mono_ns() ^ (uint64_t)(uintptr_t)b;
    if (!b->rng)
        b->rng = 1;
}

static uint64_t rng_next(ms_backoff *b)
{
    /* xorshift64*: jitter only, no need for better. */
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 0x2545f4914f6cdd1dULL;
}

uint64_t ms_backoff_next_ms(ms_backoff *b)
{
    double d = b->min;
    for (unsigned i = 0; i < b->attempt && d < b->max; i++)
        d *= 2;
    if (d > b->max)
        d = b->max;
    if (b->jitter > 0) {
        double u = (double)(rng_next(b) >> 11) / 9007199254740992.0;
        d *= 1.0 - b->jitter + 2.0 * b->jitter * u;
        if (d > b->max)
            d = b->max;
    }
    if (b->attempt < 64)
        b->attempt++;
    uint64_t ms = (uint64_t)(d * 1000.0);
    return ms ? ms : 1;
}
