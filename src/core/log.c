/* Logging to stderr, one line per event, written with a single write() so
 * lines from threads or processes sharing the file don't interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mscada/log.h"
#include "mscada/mstime.h"

static const char *log_name = "mscada";
static ms_log_level log_level = MS_LOG_INFO;

void ms_log_setup(const char *name, ms_log_level level)
{
    if (name)
        log_name = name;
    log_level = level;
}

ms_log_level ms_log_get_level(void)
{
    return log_level;
}

void ms_log(ms_log_level level, const char *fmt, ...)
{
    static const char *lv[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (level > log_level)
        return;
    char line[1024];
    char ts[40];
    uint64_t now = ms_time_now_us();
    ms_time_iso(now, ts, sizeof ts);
    /* Keep milliseconds only: drop 3 digits before the Z. */
    size_t tl = strlen(ts);
    if (tl > 4) {
        ts[tl - 4] = 'Z';
        ts[tl - 3] = '\0';
    }
    int n = snprintf(line, sizeof line, "%s %s %s: ", ts, lv[level], log_name);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (size_t)(m < 0 ? 0 : m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    /* One event, one line: fold newlines a message may carry. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
