/* Logging (core/log.c): the stderr line's format, the name copied (not the
 * caller's pointer kept), the level filter, and the callback an embedding
 * program routes lines with: it gets the level and the text alone, lines
 * it logs itself go to stderr instead of recursing, setters called from
 * inside it are refused, and NULL goes back to stderr. Threads:
 * tests/system/test_log_thread.c. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mscada/log.h"

/* stderr goes to a file while a test runs, to read back what was logged. */
static int saved_stderr = -1;
static FILE *captured;
static long captured_read; /* bytes of it read so far */

static int capture_start(void **state)
{
    (void)state;
    captured = tmpfile();
    assert_non_null(captured);
    captured_read = 0;
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(dup2(fileno(captured), STDERR_FILENO) >= 0);
    ms_log_setup("test_log", MS_LOG_INFO);
    ms_log_set_callback(NULL, NULL);
    return 0;
}

/* Everything written to stderr since the last call. */
static const char *stderr_text(void)
{
    static char buf[8192];
    long end = lseek(fileno(captured), 0, SEEK_END);
    size_t n = (size_t)(end - captured_read);
    assert_true(n < sizeof buf);
    assert_int_equal(pread(fileno(captured), buf, n, captured_read),
                     (ssize_t)n);
    buf[n] = '\0';
    captured_read = end;
    return buf;
}

static int capture_end(void **state)
{
    (void)state;
    ms_log_set_callback(NULL, NULL);
    fflush(stderr);
    /* What nobody read (e.g. cmocka's failure message) goes to stderr. */
    const char *rest = stderr_text();
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    fputs(rest, stderr);
    fclose(captured);
    return 0;
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("'%s' does not match %s", text, pattern);
}

static void test_stderr_line(void **state)
{
    (void)state;
    stderr_text();
    ms_log_warn("%s: bad version %d", "127.0.0.1:40112", 7);
    assert_matches(stderr_text(),
                   "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                   "\\.[0-9]{3}Z WARN test_log: 127\\.0\\.0\\.1:40112: bad "
                   "version 7\n$");
    /* One event, one line. */
    ms_log_error("two\nlines\r");
    assert_matches(stderr_text(), " ERROR test_log: two lines \n$");
    /* Above the level: nothing; DEBUG's macro doesn't even format. */
    ms_log_debug("hidden %d", 1);
    ms_log(MS_LOG_DEBUG, "hidden");
    assert_string_equal(stderr_text(), "");
    assert_int_equal(ms_log_get_level(), MS_LOG_INFO);
    ms_log_setup(NULL, MS_LOG_DEBUG);
    ms_log_debug("shown %d", 2);
    assert_matches(stderr_text(), " DEBUG test_log: shown 2\n$");
    /* A level past DEBUG logs as DEBUG. */
    ms_log((ms_log_level)9, "past debug");
    assert_matches(stderr_text(), " DEBUG test_log: past debug\n$");
    ms_log_setup(NULL, MS_LOG_ERROR);
    ms_log_warn("hidden");
    assert_string_equal(stderr_text(), "");
    /* A long message is cut, still one line. */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ms_log_error("%s", big);
    const char *t = stderr_text();
    assert_true(strlen(t) > 1000 && strlen(t) < 1200);
    assert_int_equal(strchr(t, '\n') - t, (long)strlen(t) - 1);
}

static void test_name_is_copied(void **state)
{
    (void)state;
    char name[80];
    snprintf(name, sizeof name, "first");
    ms_log_setup(name, MS_LOG_INFO);
    snprintf(name, sizeof name, "clobbered");
    stderr_text();
    ms_log_info("x");
    assert_matches(stderr_text(), " INFO first: x\n$");
    /* NULL keeps it; a long one is cut to 63 bytes. */
    ms_log_setup(NULL, MS_LOG_INFO);
    ms_log_info("y");
    assert_matches(stderr_text(), " INFO first: y\n$");
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ms_log_setup(name, MS_LOG_INFO);
    ms_log_info("z");
    assert_matches(stderr_text(), " INFO n{63}: z\n$");
}

typedef struct {
    int n;
    ms_log_level level[8];
    char text[8][1100];
    bool nest;   /* log a line from inside the callback */
    bool setter; /* call the setters from inside the callback */
} got;

static void on_log(ms_log_level level, const char *msg, void *arg)
{
    got *g = arg;
    assert_true(g->n < 8);
    g->level[g->n] = level;
    snprintf(g->text[g->n], sizeof g->text[g->n], "%s", msg);
    g->n++;
    if (g->nest)
        ms_log_error("from the callback");
    if (g->setter) {
        ms_log_set_callback(NULL, NULL);
        ms_log_setup("renamed", MS_LOG_INFO);
    }
}

static void test_callback_routes_lines(void **state)
{
    (void)state;
    got g = {0};
    ms_log_setup("test_log", MS_LOG_INFO);
    stderr_text();
    ms_log_set_callback(on_log, &g);
    ms_log_warn("unit %d down", 3);
    ms_log_info("a\nb");
    ms_log_debug("not at INFO");
    assert_int_equal(g.n, 2);
    assert_int_equal(g.level[0], MS_LOG_WARN);
    assert_string_equal(g.text[0], "unit 3 down");
    assert_int_equal(g.level[1], MS_LOG_INFO);
    assert_string_equal(g.text[1], "a b");
    assert_string_equal(stderr_text(), ""); /* instead of stderr */

    /* A line logged from inside the callback goes to stderr. */
    g.nest = true;
    ms_log_error("outer");
    g.nest = false;
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[2], "outer");
    assert_matches(stderr_text(), "^[^\n]* ERROR test_log: from the "
                                  "callback\n$");

    /* Setters from inside the callback would wait for themselves: refused,
     * with a line on stderr, and the level still set. */
    g.setter = true;
    ms_log_error("set inside");
    g.setter = false;
    assert_int_equal(g.n, 4);
    const char *t = stderr_text();
    assert_non_null(strstr(t, "ms_log_set_callback inside the log "
                              "callback: ignored"));
    assert_non_null(strstr(t, "ms_log_setup with a name inside the log "
                              "callback: ignored"));
    ms_log_warn("still routed");
    assert_int_equal(g.n, 5);
    assert_string_equal(g.text[4], "still routed");

    /* NULL: back to stderr, with the name unchanged. */
    ms_log_set_callback(NULL, &g);
    ms_log_warn("back");
    assert_int_equal(g.n, 5);
    assert_matches(stderr_text(), " WARN test_log: back\n$");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stderr_line, capture_start,
                                        capture_end),
        cmocka_unit_test_setup_teardown(test_name_is_copied, capture_start,
                                        capture_end),
        cmocka_unit_test_setup_teardown(test_callback_routes_lines,
                                        capture_start, capture_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
