/* Logging (docs/errors.md, "Logging"): one line per event, by default on
 * stderr,
 *   2026-11-21T12:27:45.123Z WARN bus: 127.0.0.1:40112: bad version 7
 * or, for a program that embeds mscada, to its own callback. Network events
 * name the peer in the message. Every function here is safe from any
 * thread at any time: mscada logs from its worker and client threads. */
#ifndef MSCADA_LOG_H
#define MSCADA_LOG_H

#include "mscada/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MS_LOG_ERROR = 0,
    MS_LOG_WARN = 1,
    MS_LOG_INFO = 2,
    MS_LOG_DEBUG = 3
} ms_log_level;

/* The name lines carry (copied; at most 63 bytes kept; NULL keeps the
 * current one, "mscada" at first) and the most detailed level logged
 * (MS_LOG_INFO at first). */
MS_EXTERN void ms_log_setup(const char *name, ms_log_level level);
MS_EXTERN ms_log_level ms_log_get_level(void);

/* Gets every line logged at or below the level instead of stderr: msg is
 * the event's text alone (no time, level or name, no newline; valid during
 * the call). Runs on the thread that logs, so on several threads at once
 * when mscada's threads log (no lock is taken for a line). Lines the
 * callback itself logs go to stderr, not back to it. */
typedef void (*ms_log_cb)(ms_log_level level, const char *msg, void *arg);
/* Routes lines to cb with arg (NULL: back to stderr). When it returns, no
 * call of the callback it replaced is running, so its arg may be freed.
 * From inside the callback it is refused (logged to stderr). */
MS_EXTERN void ms_log_set_callback(ms_log_cb cb, void *arg);

MS_EXTERN void ms_log(ms_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define ms_log_error(...) ms_log(MS_LOG_ERROR, __VA_ARGS__)
#define ms_log_warn(...) ms_log(MS_LOG_WARN, __VA_ARGS__)
#define ms_log_info(...) ms_log(MS_LOG_INFO, __VA_ARGS__)
#define ms_log_debug(...)                                                  \
    do {                                                                   \
        if (ms_log_get_level() >= MS_LOG_DEBUG)                            \
            ms_log(MS_LOG_DEBUG, __VA_ARGS__);                             \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
