/* Clocks: UTC microseconds for tag times, monotonic nanoseconds for
 * intervals, and ISO 8601 formatting. */
#ifndef MSCADA_MSTIME_H
#define MSCADA_MSTIME_H

#include "mscada/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* UTC microseconds since 1970 (the bus's time_us). */
MS_EXTERN uint64_t ms_time_now_us(void);

/* Monotonic nanoseconds, for measuring intervals. */
MS_EXTERN uint64_t ms_time_mono_ns(void);

/* Formats time_us as "2026-11-21T12:27:45.123456Z" into out (>= 28 bytes).
 * Returns out. */
MS_EXTERN char *ms_time_iso(uint64_t time_us, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
