/* Logging: one line per event on stderr,
 *   2026-11-21T12:27:45.123Z WARN bus: 127.0.0.1:40112: bad version 7
 * Network events name the peer in the message. The level and the process
 * name are the process's config (set once at start). */
#ifndef MSCADA_LOG_H
#define MSCADA_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MS_LOG_ERROR = 0,
    MS_LOG_WARN = 1,
    MS_LOG_INFO = 2,
    MS_LOG_DEBUG = 3
} ms_log_level;

void ms_log_setup(const char *name, ms_log_level level);
ms_log_level ms_log_get_level(void);
void ms_log(ms_log_level level, const char *fmt, ...)
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
