/* Logging from several threads at once (as msm workers and client threads
 * do) while the main thread changes the level, the name and the callback
 * (runs under ThreadSanitizer too, label tsan): every ERROR line arrives
 * exactly once, at one callback or on stderr, whole; after
 * ms_log_set_callback returns, the callback it replaced is not running and
 * gets no more lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "mscada/log.h"

#define THREADS 4
#define LINES_MAX 200000 /* per thread; they stop sooner */
#define SWAPS 90

static atomic_int seen[THREADS][LINES_MAX]; /* ERROR lines delivered */
static atomic_int logged[THREADS];          /* lines each thread logged */
static atomic_int stop;
static atomic_int strange; /* lines no thread logged */

typedef struct {
    atomic_int running; /* calls in progress */
    atomic_long calls;
} sink;

static sink sinks[2];

static void on_log(ms_log_level level, const char *msg, void *arg)
{
    sink *s = arg;
    atomic_fetch_add(&s->running, 1);
    atomic_fetch_add(&s->calls, 1);
    int t, i;
    if (level == MS_LOG_ERROR && sscanf(msg, "thread %d line %d", &t, &i) == 2)
        atomic_fetch_add(&seen[t][i], 1);
    else if (level != MS_LOG_DEBUG || strncmp(msg, "thread ", 7))
        atomic_fetch_add(&strange, 1); /* no cmocka asserts off main */
    atomic_fetch_sub(&s->running, 1);
}

static void logger(void *arg)
{
    int t = (int)(intptr_t)arg;
    int i;
    for (i = 0; i < LINES_MAX && !atomic_load(&stop); i++) {
        ms_log_error("thread %d line %d", t, i);
        ms_log_debug("thread %d detail %d", t, i); /* reads the level */
        atomic_store(&logged[t], i + 1);
        sched_yield(); /* 4 threads on few cores: let the setter run */
    }
}

/* Lines so far at destination k: a sink's calls, or stderr's bytes. */
static long progress(int k, int fd)
{
    if (k < 2)
        return atomic_load(&sinks[k].calls);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return (long)st.st_size;
}

static void test_threads_log_while_settings_change(void **state)
{
    (void)state;
    /* stderr to a file: the lines logged while no callback is set. */
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);

    ms_log_setup("name-0", MS_LOG_ERROR);
    uv_thread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(uv_thread_create(&th[t], logger,
                                          (void *)(intptr_t)t), 0);
    char name[32];
    int ran_out = 0, still_running = 0; /* asserted once stderr is back */
    for (int swap = 0; swap < SWAPS; swap++) {
        int k = swap % 3; /* sink 0, sink 1, stderr */
        long before = progress(k, fileno(f));
        ms_log_set_callback(k < 2 ? on_log : NULL, k < 2 ? &sinks[k] : NULL);
        /* The one replaced is done (and can't be entered again). */
        int old = (swap + 2) % 3;
        if (swap > 0 && old < 2 && atomic_load(&sinks[old].running))
            still_running++;
        snprintf(name, sizeof name, "name-%d", swap % 10);
        ms_log_setup(name, swap % 2 ? MS_LOG_DEBUG : MS_LOG_ERROR);
        /* Wait for 100 lines to arrive there (a stderr line is over 40
         * bytes): each destination gets lines while the threads run (a
         * free-running loop can phase-lock with them and starve one). */
        while (progress(k, fileno(f)) < before + (k < 2 ? 100 : 4000) &&
               !ran_out)
            if (atomic_load(&logged[0]) == LINES_MAX)
                ran_out = swap + 1;
            else
                sched_yield();
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < THREADS; t++)
        uv_thread_join(&th[t]);
    ms_log_set_callback(on_log, &sinks[0]);
    ms_log_set_callback(NULL, NULL);
    long calls0 = atomic_load(&sinks[0].calls);
    ms_log_error("after the swaps");
    assert_int_equal(atomic_load(&sinks[0].calls), calls0);

    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    if (ran_out)
        fail_msg("the threads ran out of lines at swap %d", ran_out - 1);
    assert_int_equal(still_running, 0);
    /* Every stderr line whole: "TIME LEVEL name-N: thread T ...". */
    rewind(f);
    char line[256];
    long lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, ": after the swaps\n"))
            continue;
        char lv[8], what[8];
        int n, t, i;
        if (sscanf(line, "%*s %7s name-%d: thread %d %7s %d", lv, &n, &t,
                   what, &i) != 5 || n < 0 || n > 9 || t < 0 || t >= THREADS ||
            i < 0 || i >= LINES_MAX)
            fail_msg("torn line: %s", line);
        if (!strcmp(lv, "ERROR") && !strcmp(what, "line"))
            atomic_fetch_add(&seen[t][i], 1);
        lines++;
    }
    fclose(f);
    long total = 0;
    for (int t = 0; t < THREADS; t++) {
        int n = atomic_load(&logged[t]);
        total += n;
        for (int i = 0; i < n; i++)
            if (atomic_load(&seen[t][i]) != 1)
                fail_msg("thread %d line %d arrived %d times", t, i,
                         atomic_load(&seen[t][i]));
    }
    printf("%d swaps while %d threads logged %ld ERROR lines; sinks got "
           "%ld and %ld, stderr %ld\n", SWAPS, THREADS, total,
           atomic_load(&sinks[0].calls), atomic_load(&sinks[1].calls),
           lines);
    assert_int_equal(atomic_load(&strange), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_log_while_settings_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
