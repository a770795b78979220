/* A failure that repeats, logged once. The first failure of a kind is a
 * warning, repeats of it are only counted, a different failure is logged
 * again, and the first success after failures says so. For results that
 * would otherwise be dropped without a trace (a tag set that fails at
 * every poll) without flooding the log. Internal to libmscada. */
#ifndef MS_CORE_FAULT_H
#define MS_CORE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int rc;         /* the failing code while failing, else 0 */
    uint64_t count; /* failures noted so far */
} ms_fault;

/* Notes the result rc of one try at `doing` (e.g. "publishing a polled
 * value") for `who` (e.g. a tag's name). rc < 0 is counted and, unless it
 * repeats the failure before, logged as a warning:
 *   Flow: publishing a polled value failed: out of memory (logged once;
 *   repeats are counted)
 * rc >= 0 after a failure is logged as working again. Returns true when
 * it logged. */
bool ms_fault_note(ms_fault *f, int rc, const char *who, const char *doing);

#endif
