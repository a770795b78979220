/* Logging: each line goes to the program's callback (ms_log_set_callback)
 * or to stderr, written with a single write() so lines from threads or
 * processes sharing the file don't interleave. mscada logs from worker and
 * client threads, so nothing here takes a lock on the way of a line: the
 * level is atomic, and the name and the callback live in one of two slots,
 * the current one published by an atomic pointer. A setter (one at a time)
 * fills the spare slot, publishes it, and waits until no line still uses
 * the old one; a line counts itself in the slot it uses, and only when
 * that slot is still the current one after counting. */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mscada/log.h"
#include "mscada/mstime.h"

#define NAME_MAX_LEN 63
#define MSG_MAX 1024

typedef struct {
    atomic_int users; /* lines using this slot now */
    ms_log_cb cb;
    void *arg;
    char name[NAME_MAX_LEN + 1];
} log_conf;

static atomic_int log_level = MS_LOG_INFO;
static log_conf confs[2] = {{.name = "mscada"}, {.name = "mscada"}};
static log_conf *_Atomic current = &confs[0];
static pthread_mutex_t setter_lock = PTHREAD_MUTEX_INITIALIZER;
/* The slot this thread's callback runs under, else NULL: lines the
 * callback logs go to stderr with it. */
static _Thread_local log_conf *in_cb;

static log_conf *conf_hold(void)
{
    for (;;) {
        log_conf *c = atomic_load(&current);
        atomic_fetch_add(&c->users, 1);
        if (atomic_load(&current) == c)
            return c;
        atomic_fetch_sub(&c->users, 1); /* replaced meanwhile */
    }
}

/* A setter would wait for the line in progress on this very thread. */
static bool refused_in_cb(const char *what)
{
    if (in_cb)
        ms_log_error("%s inside the log callback: ignored (call it from "
                     "outside the callback)", what);
    return in_cb != NULL;
}

/* Publishes a copy of the current slot with name and/or the callback
 * changed, and returns once no line uses the old one. */
static void conf_replace(const char *name, bool set_cb, ms_log_cb cb,
                         void *arg)
{
    pthread_mutex_lock(&setter_lock);
    log_conf *old = atomic_load(&current);
    log_conf *next = old == &confs[0] ? &confs[1] : &confs[0];
    /* No line reads next: it isn't current, and lines that counted
     * themselves in it since will find so and leave. */
    next->cb = set_cb ? cb : old->cb;
    next->arg = set_cb ? (cb ? arg : NULL) : old->arg;
    snprintf(next->name, sizeof next->name, "%s", name ? name : old->name);
    atomic_store(&current, next);
    while (atomic_load(&old->users) > 0)
        sched_yield();
    pthread_mutex_unlock(&setter_lock);
}

void ms_log_setup(const char *name, ms_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
    if (name && !refused_in_cb("ms_log_setup with a name"))
        conf_replace(name, false, NULL, NULL);
}

ms_log_level ms_log_get_level(void)
{
    return (ms_log_level)atomic_load_explicit(&log_level,
                                              memory_order_relaxed);
}

void ms_log_set_callback(ms_log_cb cb, void *arg)
{
    if (!refused_in_cb("ms_log_set_callback"))
        conf_replace(NULL, true, cb, arg);
}

/* True when stderr is the systemd journal (systemd sets JOURNAL_STREAM to
 * its device:inode): the journal stamps each line itself and reads its
 * priority from a "<N>" prefix. Worked out once. */
static bool to_journal(void)
{
    static atomic_int journal = -1;
    int j = atomic_load(&journal);
    if (j < 0) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        j = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
            fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long)st.st_dev == dev &&
            (unsigned long long)st.st_ino == ino;
        atomic_store(&journal, j);
    }
    return j == 1;
}

/* The stderr line: "TIME LEVEL NAME: MSG\n"; to the journal
 * "<PRIORITY>LEVEL NAME: MSG\n" (syslog priorities err, warning, info,
 * debug). */
static void write_stderr(const log_conf *c, ms_log_level level,
                         const char *msg)
{
    static const char *lv[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    static const char prio[] = {'3', '4', '6', '7'};
    char line[MSG_MAX + 128];
    int n;
    if (to_journal()) {
        n = snprintf(line, sizeof line, "<%c>%s %s: %s\n", prio[level],
                     lv[level], c->name, msg);
    } else {
        char ts[40];
        ms_time_iso(ms_time_now_us(), ts, sizeof ts);
        /* Keep milliseconds only: drop 3 digits before the Z. */
        size_t tl = strlen(ts);
        if (tl > 4) {
            ts[tl - 4] = 'Z';
            ts[tl - 3] = '\0';
        }
        n = snprintf(line, sizeof line, "%s %s %s: %s\n", ts, lv[level],
                     c->name, msg);
    }
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len >= sizeof line) {
        len = sizeof line;
        line[len - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void ms_log(ms_log_level level, const char *fmt, ...)
{
    if ((unsigned)level > MS_LOG_DEBUG)
        level = MS_LOG_DEBUG;
    if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        msg[0] = '\0';
    /* One event, one line: fold newlines a message may carry. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (in_cb) {
        write_stderr(in_cb, level, msg);
        return;
    }
    log_conf *c = conf_hold();
    if (c->cb) {
        in_cb = c;
        c->cb(level, msg, c->arg);
        in_cb = NULL;
    } else {
        write_stderr(c, level, msg);
    }
    atomic_fetch_sub(&c->users, 1);
}
