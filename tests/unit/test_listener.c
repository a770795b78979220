/* The servers' TCP listener (net/listener.c) on a real loop, with plain
 * sockets as clients: peer names; accept, naming and counting; a partial
 * frame kept between reads and a large stream arriving once and in order
 * through the fairness pause; the max_conns refusal; an owner's refusal;
 * close closing every connection and every handle; and, in a child process
 * with a lowered descriptor limit, accepting paused while descriptors run
 * out (the peers wait, not closed) and resumed as connections close; the
 * sweep dropping a peer stopped mid-frame and one that doesn't read its
 * answers (held past out_cap). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "net/listener.h"
#include "net/peer.h"
#include "ms_capture.h"

/* ---- peer names ---------------------------------------------------------- */

static void test_peer_name(void **state)
{
    (void)state;
    char out[MS_PEER_NAME_MAX];
    struct sockaddr_in a4;
    uv_ip4_addr("10.0.0.5", 502, &a4);
    ms_peer_name((struct sockaddr *)&a4, out, sizeof out);
    assert_string_equal(out, "10.0.0.5:502");
    struct sockaddr_in6 a6;
    uv_ip6_addr("fe80::1", 65535, &a6);
    ms_peer_name((struct sockaddr *)&a6, out, sizeof out);
    assert_string_equal(out, "[fe80::1]:65535");
    /* An IPv4 peer on a "::" listener. */
    uv_ip6_addr("::ffff:10.0.0.5", 40810, &a6);
    ms_peer_name((struct sockaddr *)&a6, out, sizeof out);
    assert_string_equal(out, "[::ffff:10.0.0.5]:40810");
    /* The longest name fits. */
    uv_ip6_addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, &a6);
    ms_peer_name((struct sockaddr *)&a6, out, sizeof out);
    assert_string_equal(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    struct sockaddr un = {.sa_family = AF_UNIX};
    ms_peer_name(&un, out, sizeof out);
    assert_string_equal(out, "unknown peer");
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct fixture fixture;

typedef struct {
    ms_listen_conn base;
    fixture *f;
    ms_buf out;
    size_t seen; /* stream mode: bytes checked */
} tconn;

struct fixture {
    uv_loop_t loop;
    ms_listener *l;
    ms_listener_config cfg;
    int accepted, closing, closed, reads;
    bool listener_closed, refuse, stream, bad;
    size_t total, seen; /* stream mode: bytes per connection, all seen */
    size_t flood;       /* answer mode: bytes queued in c->out per line */
    char peer[MS_PEER_NAME_MAX];
    char lines[256]; /* line mode: every line received */
};

static uint8_t pattern(size_t n)
{
    return (uint8_t)(((uint32_t)n * 2654435761u) >> 24);
}

static int on_accept(ms_listen_conn *c, const struct sockaddr *peer,
                     void *arg)
{
    fixture *f = arg;
    tconn *t = (tconn *)c;
    t->f = f;
    f->accepted++;
    char name[MS_PEER_NAME_MAX];
    ms_peer_name(peer, name, sizeof name);
    assert_string_equal(name, c->peer);
    snprintf(f->peer, sizeof f->peer, "%s", c->peer);
    if (f->refuse)
        return -1;
    if (f->flood)
        return 0; /* c->out and the listener's writer */
    ms_listen_conn_output(c, &t->out);
    assert_int_equal(ms_buf_append(&t->out, "hi\n", 3), 0);
    assert_int_equal(ms_listen_conn_write(c), 0);
    return 0;
}

/* Line mode: consumes whole lines (a partial one is kept by the listener)
 * and echoes each. Stream mode: checks the pattern, keeping the last few
 * bytes back each time until the end. */
static long on_data(ms_listen_conn *c, const uint8_t *data, size_t len)
{
    tconn *t = (tconn *)c;
    fixture *f = t->f;
    f->reads++;
    if (f->stream) {
        size_t use = len;
        if (t->seen + len < f->total)
            use = len > 5 ? len - 5 : 0;
        for (size_t i = 0; i < use; i++)
            if (data[i] != pattern(t->seen + i))
                f->bad = true;
        t->seen += use;
        return (long)use;
    }
    size_t used = 0;
    if (f->flood) {
        for (size_t i = 0; i < len; i++) {
            if (data[i] != '\n')
                continue;
            uint8_t *o = ms_buf_reserve(&c->out, f->flood);
            assert_non_null(o);
            memset(o, 'x', f->flood);
            ms_buf_commit(&c->out, f->flood);
            used = i + 1;
        }
        ms_listen_conn_flush(c);
        return (long)used;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        size_t n = strlen(f->lines);
        snprintf(f->lines + n, sizeof f->lines - n, "%.*s|",
                 (int)(i - used), (const char *)data + used);
        assert_int_equal(ms_buf_append(&t->out, data + used, i + 1 - used),
                         0);
        used = i + 1;
    }
    if (ms_buf_size(&t->out) && !c->q.inflight)
        ms_listen_conn_write(c);
    return (long)used;
}

static void on_written(ms_listen_conn *c)
{
    tconn *t = (tconn *)c;
    if (ms_buf_size(&t->out))
        ms_listen_conn_write(c);
}

static void on_closing(ms_listen_conn *c)
{
    fixture *f = ((tconn *)c)->f;
    assert_true(c->closed);
    f->closing++;
}

static void on_closed(ms_listen_conn *c)
{
    tconn *t = (tconn *)c;
    t->f->closed++;
    t->f->seen += t->seen;
    ms_buf_free(&t->out);
}

static void on_listener_closed(void *arg)
{
    ((fixture *)arg)->listener_closed = true;
}

static void fixture_start(fixture *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->cfg = (ms_listener_config){
        .ip = "127.0.0.1",
        .port = 0,
        .peers = "testers",
        .conn_size = sizeof(tconn),
        .on_accept = on_accept,
        .on_data = on_data,
        .on_written = on_written,
        .on_closing = on_closing,
        .on_closed = on_closed,
        .arg = f,
    };
}

static void fixture_listen(fixture *f)
{
    assert_int_equal(ms_listener_start(&f->loop, &f->cfg, &f->l), 0);
    assert_true(ms_listener_port(f->l) > 0);
}

/* Closes the listener and runs the loop dry: nothing may be left open. */
static void fixture_finish(fixture *f)
{
    ms_listener_close(f->l, on_listener_closed, f);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_true(f->listener_closed);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_equal(f->closing, f->closed);
}

static int client(fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", ms_listener_port(f->l), &sa);
    /* Completes in the kernel's backlog: no accept needed. */
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void client_name(int fd, char *out)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    ms_peer_name((struct sockaddr *)&ss, out, MS_PEER_NAME_MAX);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    *(bool *)p->data = true;
    uv_poll_stop(p);
}

/* Runs the loop until fd has something to read (or EOF). */
static void wait_readable(uv_loop_t *loop, int fd)
{
    uv_poll_t p;
    bool ready = false;
    assert_int_equal(uv_poll_init_socket(loop, &p, fd), 0);
    p.data = &ready;
    uv_poll_start(&p, UV_READABLE, on_readable);
    while (!ready)
        assert_int_not_equal(uv_run(loop, UV_RUN_ONCE), 0);
    uv_close((uv_handle_t *)&p, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* p is on this stack: see it closed */
}

/* Reads what is there now into out (NUL-terminated); returns recv's. */
static ssize_t read_now(int fd, char *out, size_t cap)
{
    ssize_t n = recv(fd, out, cap - 1, MSG_DONTWAIT);
    out[n > 0 ? n : 0] = 0;
    return n;
}

/* ---- tests ----------------------------------------------------------------- */

/* Accepted, named after the client's own address, counted, greeted;
 * a client that hangs up is closed and uncounted; close closes the rest,
 * whose clients see EOF. */
static void test_accept_name_count_close(void **state)
{
    (void)state;
    fixture f;
    fixture_start(&f);
    fixture_listen(&f);
    int a = client(&f), b = client(&f), c = client(&f);
    while (f.accepted < 3)
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
    assert_int_equal(ms_listener_count(f.l), 3);
    char name[MS_PEER_NAME_MAX];
    const ms_listen_conn *lc = ms_listener_first(f.l); /* newest first */
    int fds[] = {c, b, a};
    for (int i = 0; i < 3; i++, lc = lc->next) {
        client_name(fds[i], name);
        assert_string_equal(lc->peer, name);
    }
    assert_null(lc);
    char got[64];
    wait_readable(&f.loop, a);
    assert_int_equal(read_now(a, got, sizeof got), 3);
    assert_string_equal(got, "hi\n");

    close(a);
    while (f.closed < 1)
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
    assert_int_equal(f.closing, 1);
    assert_int_equal(ms_listener_count(f.l), 2);

    fixture_finish(&f);
    assert_int_equal(f.closed, 3);
    for (int i = 0; i < 2; i++) {
        int fd = fds[i];
        assert_int_equal(read_now(fd, got, sizeof got), 3); /* hi */
        assert_int_equal(recv(fd, got, sizeof got, 0), 0);  /* EOF */
        close(fd);
    }
}

/* A line sent in pieces: the partial one is kept by the listener between
 * reads and handed back in front of the next bytes. */
static void test_partial_kept_between_reads(void **state)
{
    (void)state;
    fixture f;
    fixture_start(&f);
    fixture_listen(&f);
    int a = client(&f);
    char got[64];
    wait_readable(&f.loop, a);
    assert_int_equal(read_now(a, got, sizeof got), 3); /* hi */
    const char *pieces[] = {"ab", "c\nd", "e\n"};
    const char *lines[] = {"", "abc|", "abc|de|"};
    for (int i = 0; i < 3; i++) {
        int reads = f.reads;
        ssize_t len = (ssize_t)strlen(pieces[i]);
        assert_int_equal(send(a, pieces[i], (size_t)len, 0), len);
        while (f.reads == reads)
            assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
        assert_string_equal(f.lines, lines[i]);
    }
    size_t n = 0;
    while (n < 7) {
        wait_readable(&f.loop, a);
        ssize_t k = recv(a, got + n, sizeof got - 1 - n, MSG_DONTWAIT);
        assert_true(k > 0);
        n += (size_t)k;
    }
    got[n] = 0;
    assert_string_equal(got, "abc\nde\n");
    close(a);
    while (f.closed < 1)
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
    assert_int_equal(ms_listener_count(f.l), 0);
    fixture_finish(&f);
}

/* ---- a large stream, written by a libuv client ----------------------------- */

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uint8_t *data;
    bool written;
} sender;

static void sender_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char sink[64];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(sink, sizeof sink);
}

/* Reads the greeting and waits for the server's close: closing with the
 * greeting unread would reset the stream and lose what the server has
 * not read yet. */
static void sender_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0)
        uv_close((uv_handle_t *)st, NULL);
}

static void sender_shut(uv_shutdown_t *req, int status)
{
    (void)req;
    assert_int_equal(status, 0);
}

static void sender_written(uv_write_t *req, int status)
{
    sender *s = req->data;
    assert_int_equal(status, 0);
    s->written = true;
    assert_int_equal(uv_shutdown(&s->sreq, (uv_stream_t *)&s->tcp,
                                 sender_shut), 0);
}

static void sender_connected(uv_connect_t *req, int status)
{
    sender *s = req->data;
    fixture *f = s->tcp.data;
    assert_int_equal(status, 0);
    uv_buf_t b = uv_buf_init((char *)s->data, (unsigned)f->total);
    s->wreq.data = s;
    assert_int_equal(uv_write(&s->wreq, (uv_stream_t *)&s->tcp, &b, 1,
                              sender_written), 0);
    uv_read_start((uv_stream_t *)&s->tcp, sender_alloc, sender_read);
}

/* 4 MiB from each of two senders: each connection's bytes reach on_data
 * once and in order, though each read fills the shared buffer (and so
 * pauses the connection to the next loop turn) and every read leaves a
 * few bytes to be kept. */
static void test_large_streams_in_order(void **state)
{
    (void)state;
    fixture f;
    fixture_start(&f);
    f.stream = true;
    f.total = 4u << 20;
    fixture_listen(&f);
    uint8_t *data = malloc(f.total);
    assert_non_null(data);
    for (size_t i = 0; i < f.total; i++)
        data[i] = pattern(i);
    sender s[2];
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", ms_listener_port(f.l), &sa);
    for (int i = 0; i < 2; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].data = data;
        uv_tcp_init(&f.loop, &s[i].tcp);
        s[i].tcp.data = &f;
        s[i].creq.data = &s[i];
        assert_int_equal(uv_tcp_connect(&s[i].creq, &s[i].tcp,
                                        (struct sockaddr *)&sa,
                                        sender_connected), 0);
    }
    while (f.closed < 2) /* each closed at EOF, after its last byte */
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
    assert_true(s[0].written && s[1].written);
    assert_false(f.bad);
    assert_int_equal(f.seen, 2 * f.total);
    fixture_finish(&f);
    free(data);
}

/* max_conns: the one past it is closed at once, never the owner's; an
 * owner that refuses in on_accept gets on_closed for it too. */
static void test_refusals(void **state)
{
    (void)state;
    fixture f;
    fixture_start(&f);
    f.cfg.max_conns = 1;
    fixture_listen(&f);
    int a = client(&f), b = client(&f);
    wait_readable(&f.loop, b);
    char got[64];
    assert_int_equal(read_now(b, got, sizeof got), 0); /* closed: EOF */
    assert_int_equal(f.accepted, 1);
    assert_int_equal(ms_listener_count(f.l), 1);
    close(b);
    close(a);
    while (f.closed < 1)
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);

    f.refuse = true;
    int c = client(&f);
    wait_readable(&f.loop, c);
    assert_int_equal(read_now(c, got, sizeof got), 0);
    close(c);
    while (f.closed < 2)
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
    assert_int_equal(f.accepted, 2);
    assert_int_equal(f.closing, 2);
    assert_int_equal(ms_listener_count(f.l), 0);
    fixture_finish(&f);
}

static void test_bad_address(void **state)
{
    (void)state;
    fixture f;
    fixture_start(&f);
    f.cfg.ip = "not-an-address";
    assert_int_equal(ms_listener_start(&f.loop, &f.cfg, &f.l), UV_EINVAL);
    assert_null(f.l);
    f.cfg.ip = "::1x";
    assert_int_equal(ms_listener_start(&f.loop, &f.cfg, &f.l), UV_EINVAL);
    f.cfg.ip = "127.0.0.1";
    /* A port taken: the error, and nothing left open. */
    fixture_listen(&f);
    ms_listener *l2;
    f.cfg.port = ms_listener_port(f.l);
    assert_int_equal(ms_listener_start(&f.loop, &f.cfg, &l2),
                     UV_EADDRINUSE);
    fixture_finish(&f);
}

/* The sweep: a peer that stopped mid-frame, and one that asked for more
 * answers than out_cap and doesn't read them (so it is no longer read),
 * are dropped after the timeout, each named with its fault. The owner
 * answers into c->out through ms_listen_conn_flush and leaves on_written
 * to the listener. */
static void test_stuck_peers_swept(void **state)
{
    (void)state;
    fixture f;
    fixture_start(&f);
    f.flood = 8u << 20; /* more than the kernel buffers on loopback */
    f.cfg.out_cap = 64 * 1024;
    f.cfg.timeout = 0.2;
    f.cfg.on_written = NULL;
    fixture_listen(&f);
    int a = client(&f);
    int b = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(b >= 0);
    int small = 4096;
    setsockopt(b, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", ms_listener_port(f.l), &sa);
    assert_int_equal(connect(b, (struct sockaddr *)&sa, sizeof sa), 0);
    char name_a[MS_PEER_NAME_MAX], name_b[MS_PEER_NAME_MAX];
    client_name(a, name_a);
    client_name(b, name_b);
    capture cap;
    capture_begin(&cap);
    assert_int_equal(send(a, "ab", 2, 0), 2);  /* a line begun, never ended */
    assert_int_equal(send(b, "q\n", 2, 0), 2); /* 8 MiB of answers, unread */
    while (f.closed < 2)
        assert_int_not_equal(uv_run(&f.loop, UV_RUN_ONCE), 0);
    char *log = capture_end(&cap);
    char want[200];
    snprintf(want, sizeof want, "%s: stopped mid-frame (2 bytes) for 0.2s; "
             "dropping the connection", name_a);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof want, "%s: has not read ", name_b);
    const char *line = strstr(log, want);
    assert_non_null(line);
    assert_non_null(strstr(line, " bytes of answers for 0.2s; dropping the "
                                 "connection"));
    free(log);
    assert_int_equal(ms_listener_count(f.l), 0);
    close(a);
    close(b);
    fixture_finish(&f);
}

/* ---- descriptors run out --------------------------------------------------- */

#define CHECK(cond, code)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "child: %s failed (line %d)\n", #cond,          \
                    __LINE__);                                              \
            _exit(code);                                                    \
        }                                                                   \
    } while (0)

/* Runs the loop until the server has accepted n and sits paused. */
static void run_until_paused(fixture *f, int n)
{
    while (f->accepted < n || !ms_listener_accept_paused(f->l))
        CHECK(uv_run(&f->loop, UV_RUN_ONCE) != 0, 10);
}

static void child_fd_exhaustion(void)
{
    alarm(60); /* a hang fails the test rather than the suite's timeout */
    fixture f;
    fixture_start(&f);
    CHECK(ms_listener_start(&f.loop, &f.cfg, &f.l) == 0, 2);
    /* libuv opens a spare descriptor with the loop's first stream: have
     * it now, not while the table is full. */
    uv_tcp_t spare;
    uv_tcp_init(&f.loop, &spare);
    uv_close((uv_handle_t *)&spare, NULL);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    int c[3];
    for (int i = 0; i < 3; i++)
        CHECK((c[i] = socket(AF_INET, SOCK_STREAM, 0)) >= 0, 3);

    /* Fill the table, then free exactly one descriptor. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, 4);
    rl.rlim_cur = rl.rlim_max < 256 ? rl.rlim_max : 256;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, 4);
    int fill[256], nfill = 0, fd;
    while (nfill < 256 && (fd = dup(2)) >= 0)
        fill[nfill++] = fd;
    CHECK(errno == EMFILE, 5);
    close(fill[--nfill]);

    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", ms_listener_port(f.l), &sa);
    for (int i = 0; i < 3; i++)
        CHECK(connect(c[i], (struct sockaddr *)&sa, sizeof sa) == 0, 6);

    /* One accepted with the free descriptor; the next fails: paused. The
     * other two wait in the backlog, not closed. */
    run_until_paused(&f, 1);
    CHECK(ms_listener_count(f.l) == 1, 7);
    char got[64];
    wait_readable(&f.loop, c[0]);
    CHECK(read_now(c[0], got, sizeof got) == 3, 8);
    CHECK(read_now(c[1], got, sizeof got) < 0 && errno == EAGAIN, 9);
    CHECK(read_now(c[2], got, sizeof got) < 0 && errno == EAGAIN, 9);

    /* The first hangs up: its descriptor goes to the second (the
     * client's own, freed here too, is taken again at once). */
    close(c[0]);
    CHECK((fill[nfill++] = dup(2)) >= 0, 10);
    run_until_paused(&f, 2);
    CHECK(ms_listener_count(f.l) == 1, 11);
    wait_readable(&f.loop, c[1]);
    CHECK(read_now(c[1], got, sizeof got) == 3, 12);
    CHECK(read_now(c[2], got, sizeof got) < 0 && errno == EAGAIN, 13);

    /* Descriptors freed elsewhere, and one of ours closes: the third is
     * taken and accepting is no longer paused. */
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    CHECK(ms_listener_accept_paused(f.l), 14); /* nobody told it yet */
    close(c[1]);
    wait_readable(&f.loop, c[2]);
    CHECK(read_now(c[2], got, sizeof got) == 3, 14);
    CHECK(f.accepted == 3, 15);
    CHECK(!ms_listener_accept_paused(f.l), 16);
    close(c[2]);
    ms_listener_close(f.l, on_listener_closed, &f);
    CHECK(uv_run(&f.loop, UV_RUN_DEFAULT) == 0, 17);
    CHECK(f.listener_closed && f.closed == 3, 18);
    CHECK(uv_loop_close(&f.loop) == 0, 19);
    _exit(0);
}

static void test_fd_exhaustion_pauses_accepting(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_fd_exhaustion();
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_name),
        cmocka_unit_test(test_accept_name_count_close),
        cmocka_unit_test(test_partial_kept_between_reads),
        cmocka_unit_test(test_large_streams_in_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_address),
        cmocka_unit_test(test_stuck_peers_swept),
        cmocka_unit_test(test_fd_exhaustion_pauses_accepting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
