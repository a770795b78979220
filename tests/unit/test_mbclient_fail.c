/* ms_mb_client's on_fail (mscada/mbclient.h): a link that can't be made
 * says why, in the log's words, at once and at every try; the state
 * callback stays silent (nothing came up). TCP to a closed port, and a
 * serial device that does not exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cmocka.h>

#include "mscada/mbclient.h"

typedef struct {
    int fails, ups;
    char why[320];
} seen;

static void on_fail(ms_mb_client *c, const char *why, void *arg)
{
    seen *s = arg;
    (void)c;
    snprintf(s->why, sizeof s->why, "%s", why);
    if (++s->fails == 2) /* a retry said it again */
        uv_stop(uv_default_loop());
}

static void on_state(ms_mb_client *c, bool up, void *arg)
{
    (void)c;
    (void)up;
    ((seen *)arg)->ups++;
}

/* A port nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void run_until_two_fails(ms_mb_client_config *cfg, seen *s)
{
    uv_loop_t *loop = uv_default_loop();
    cfg->on_fail = on_fail;
    cfg->on_state = on_state;
    cfg->arg = s;
    cfg->backoff_min = 0.01;
    cfg->backoff_max = 0.02;
    ms_mb_client *c;
    assert_int_equal(ms_mb_client_new(loop, cfg, &c), 0);
    assert_int_equal(s->fails, 0); /* never from inside _new */
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(s->fails, 2);
    assert_int_equal(s->ups, 0);
    assert_false(ms_mb_client_connected(c));
    ms_mb_client_close(c);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
}

static void test_tcp_refused(void **state)
{
    (void)state;
    ms_mb_client_config cfg;
    ms_mb_client_config_init(&cfg);
    cfg.port = closed_port();
    seen s = {0};
    run_until_two_fails(&cfg, &s);
    assert_string_equal(s.why, "cannot connect: connection refused");
}

static void test_serial_missing(void **state)
{
    (void)state;
    ms_mb_client_config cfg;
    ms_mb_client_config_init(&cfg);
    cfg.transport = MS_MB_TRANSPORT_SERIAL;
    snprintf(cfg.serial.device, sizeof cfg.serial.device,
             "/nonexistent/ttyX");
    seen s = {0};
    run_until_two_fails(&cfg, &s);
    assert_string_equal(s.why, "cannot open /nonexistent/ttyX: no such file "
                               "or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_refused),
        cmocka_unit_test(test_serial_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
