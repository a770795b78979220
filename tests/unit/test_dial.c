/* The reconnecting TCP connector (core/dial.c) and the backoff it shares
 * (core/backoff.c), on a real loop against a listener on 127.0.0.1:
 * capped doubling with and without jitter; failed attempts retried; a host
 * name resolved (each address in turn: where localhost is ::1 first, that
 * one is refused and 127.0.0.1 taken); options set on the connection; a
 * dropped connection made again; closing while resolving, while
 * connecting and while backing off, with every handle closed. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <uv.h>

#include "net/backoff.h"
#include "net/dial.h"

/* ---- backoff -------------------------------------------------------------- */

static void test_backoff_doubles_to_the_cap(void **state)
{
    (void)state;
    ms_backoff b;
    ms_backoff_init(&b, 0.1, 1.0, 0);
    const uint64_t want[] = {100, 200, 400, 800, 1000, 1000};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_int_equal(ms_backoff_next_ms(&b), want[i]);
    ms_backoff_reset(&b);
    assert_int_equal(ms_backoff_next_ms(&b), 100);
    for (int i = 0; i < 200; i++)
        assert_int_equal(ms_backoff_next_ms(&b) <= 1000, true);
    ms_backoff_init(&b, 0.0001, 0.0001, 0);
    assert_int_equal(ms_backoff_next_ms(&b), 1); /* never 0 */
}

static void test_backoff_jitter_within_the_cap(void **state)
{
    (void)state;
    ms_backoff b;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int k = 0; k < 200; k++) {
        ms_backoff_init(&b, 1.0, 4.0, 0.25);
        uint64_t first = ms_backoff_next_ms(&b);
        assert_true(first >= 750 && first <= 1250);
        lo = first < lo ? first : lo;
        hi = first > hi ? first : hi;
        for (int i = 0; i < 10; i++)
            ms_backoff_next_ms(&b);
        uint64_t late = ms_backoff_next_ms(&b);
        assert_true(late >= 3000 && late <= 4000);
    }
    assert_true(hi > lo); /* it does move */
}

/* ---- dialer --------------------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    uv_tcp_t server;
    bool server_open;
    int port;
    ms_dialer *d;
    int ups, fails, accepted, drops_wanted, fails_wanted;
    bool closed;
    char why[128];
} fixture;

static void on_server_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_peer_closed(uv_handle_t *h)
{
    free(h);
}

static void on_accept(uv_stream_t *s, int status)
{
    fixture *f = s->data;
    if (status < 0)
        return;
    uv_tcp_t *peer = malloc(sizeof *peer);
    assert_non_null(peer);
    uv_tcp_init(&f->loop, peer);
    if (uv_accept(s, (uv_stream_t *)peer) == 0)
        f->accepted++;
    uv_close((uv_handle_t *)peer, on_peer_closed);
}

/* Listens on 127.0.0.1 (ephemeral port) when listen is set; otherwise
 * leaves f->port a port that was free a moment ago (refused). */
static void fixture_init(fixture *f, bool listen)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_tcp_init(&f->loop, &f->server);
    f->server.data = f;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&f->server, (struct sockaddr *)&sa, 0), 0);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&f->server, (struct sockaddr *)&ss, &len);
    f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (listen) {
        assert_int_equal(uv_listen((uv_stream_t *)&f->server, 8, on_accept),
                         0);
        f->server_open = true;
    } else {
        uv_close((uv_handle_t *)&f->server, on_server_closed);
    }
}

static void on_dialer_closed(void *arg)
{
    fixture *f = arg;
    f->closed = true;
    if (f->server_open) {
        f->server_open = false;
        uv_close((uv_handle_t *)&f->server, on_server_closed);
    }
}

static void fixture_run(fixture *f)
{
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_true(f->closed);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* nothing left open */
}

static void on_up(ms_dialer *d, ms_dial_conn *conn, void *arg)
{
    fixture *f = arg;
    f->ups++;
    assert_false(conn->dropped);
    uv_os_fd_t fd;
    assert_int_equal(uv_fileno((uv_handle_t *)&conn->tcp, &fd), 0);
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl);
    assert_int_not_equal(v, 0);
    v = 0;
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &vl);
    assert_int_not_equal(v, 0);
    if (f->ups <= f->drops_wanted)
        ms_dialer_drop(d); /* as an owner does when the stream breaks */
    else
        ms_dialer_close(d, on_dialer_closed, f);
}

static void on_fail(ms_dialer *d, const char *why, void *arg)
{
    fixture *f = arg;
    f->fails++;
    snprintf(f->why, sizeof f->why, "%s", why);
    if (f->fails >= f->fails_wanted)
        ms_dialer_close(d, on_dialer_closed, f);
}

static void dial(fixture *f, const char *host)
{
    ms_dialer_config dc = {
        .name = "test", .host = host, .port = f->port,
        .connect_timeout = 2.0, .backoff_min = 0.005, .backoff_max = 0.02,
        .jitter = 0.25, .keepalive_s = 10, .keepalive_intvl_s = 5,
        .keepalive_cnt = 3, .user_timeout_ms = 30000,
        .on_up = on_up, .on_fail = on_fail, .arg = f};
    assert_int_equal(ms_dialer_new(&f->loop, &dc, &f->d), 0);
    ms_dialer_start(f->d);
}

static void test_refused_is_retried(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, false);
    f.fails_wanted = 3;
    dial(&f, "127.0.0.1");
    fixture_run(&f);
    assert_int_equal(f.fails, 3);
    assert_int_equal(f.ups, 0);
    assert_string_equal(f.why, uv_strerror(UV_ECONNREFUSED));
}

static void test_name_connects_and_reconnects(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, true);
    f.drops_wanted = 2;
    dial(&f, "localhost");
    fixture_run(&f);
    assert_int_equal(f.ups, 3);
    assert_int_equal(f.fails, 0);
}

static void test_unknown_name_fails(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, false);
    f.fails_wanted = 1;
    dial(&f, "no-such-host.invalid");
    fixture_run(&f);
    assert_int_equal(f.fails, 1);
    assert_int_equal(f.ups, 0);
}

static void test_close_while_resolving(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, true);
    dial(&f, "localhost");
    assert_true(ms_dialer_has_conn(f.d) == false);
    ms_dialer_close(f.d, on_dialer_closed, &f);
    fixture_run(&f);
    assert_int_equal(f.ups, 0);
    assert_int_equal(f.fails, 0);
}

static void test_close_while_connecting(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, true);
    dial(&f, "127.0.0.1");
    assert_true(ms_dialer_has_conn(f.d));
    ms_dialer_close(f.d, on_dialer_closed, &f);
    fixture_run(&f);
    assert_int_equal(f.ups, 0);
    assert_int_equal(f.fails, 0);
}

static void on_fail_keep(ms_dialer *d, const char *why, void *arg)
{
    fixture *f = arg;
    (void)d;
    (void)why;
    f->fails++;
}

static void on_close_timer(uv_timer_t *t)
{
    fixture *f = t->data;
    ms_dialer_close(f->d, on_dialer_closed, f);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_close_while_backing_off(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, false);
    ms_dialer_config dc = {
        .name = "test", .host = "127.0.0.1", .port = f.port,
        .connect_timeout = 2.0, .backoff_min = 10, .backoff_max = 10,
        .on_up = on_up, .on_fail = on_fail_keep, .arg = &f};
    assert_int_equal(ms_dialer_new(&f.loop, &dc, &f.d), 0);
    ms_dialer_start(f.d);
    uv_timer_t t;
    uv_timer_init(&f.loop, &t);
    t.data = &f;
    uv_timer_start(&t, on_close_timer, 100, 0);
    fixture_run(&f);
    assert_int_equal(f.fails, 1); /* the 10 s wait was cut short */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_to_the_cap),
        cmocka_unit_test(test_backoff_jitter_within_the_cap),
        cmocka_unit_test(test_refused_is_retried),
        cmocka_unit_test(test_name_connects_and_reconnects),
        cmocka_unit_test(test_unknown_name_fails),
        cmocka_unit_test(test_close_while_resolving),
        cmocka_unit_test(test_close_while_connecting),
        cmocka_unit_test(test_close_while_backing_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
