/* Partial writes in the batched writer (net/outq.c) and the dialer's
 * stream glue (net/dial_io.c): a writer whose kernel buffer is tiny and a
 * reader that drains one small read per loop turn, so uv_try_write takes
 * only part of a batch and the rest goes by uv_write while more is queued
 * behind it. Every byte must arrive once and in order; the write in flight
 * must actually have happened (else the test proved nothing); a broken
 * stream is reported once, by return value or by callback. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "net/dial.h"
#include "net/outq.h"

#define TOTAL (2u << 20) /* bytes sent by each test */
#define SMALL 4096       /* socket buffers, before the kernel's doubling */
#define READ_CHUNK 997   /* the reader's buffer: odd, so reads straddle */

/* The byte at stream offset n: a hash of n, so a byte lost, repeated or
 * moved shows. */
static uint8_t pattern(size_t n)
{
    return (uint8_t)(((uint32_t)n * 2654435761u) >> 24);
}

static void append_pattern(ms_buf *b, size_t *queued, size_t n)
{
    uint8_t *p = ms_buf_reserve(b, n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(*queued + i);
    ms_buf_commit(b, n);
    *queued += n;
}

static void set_buf(int fd, int opt)
{
    int v = SMALL;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v), 0);
}

/* ---- the slow reader, shared by both tests ----------------------------- */

typedef struct {
    uv_stream_t *s;
    uv_check_t resume; /* reads again on the next loop turn */
    char buf[READ_CHUNK];
    size_t got;
    bool bad, eof;
    void (*on_all)(void *arg); /* every byte arrived */
    void *arg;
    size_t total;
} reader;

static void reader_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    reader *r = h->data;
    (void)suggested;
    *buf = uv_buf_init(r->buf, sizeof r->buf);
}

static void reader_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    reader *r = s->data;
    if (n < 0) {
        r->eof = true;
        uv_read_stop(s);
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if ((uint8_t)buf->base[i] != pattern(r->got + (size_t)i))
            r->bad = true;
    r->got += (size_t)n;
    uv_read_stop(s); /* one read per loop turn: slower than the writer */
    if (r->got == r->total)
        r->on_all(r->arg);
}

static void reader_on_check(uv_check_t *c)
{
    reader *r = c->data;
    if (r->got < r->total && !r->eof)
        uv_read_start(r->s, reader_alloc, reader_read);
}

static void reader_start(reader *r, uv_loop_t *loop, uv_stream_t *s,
                         size_t total, void (*on_all)(void *), void *arg)
{
    r->s = s;
    r->total = total;
    r->on_all = on_all;
    r->arg = arg;
    s->data = r;
    uv_check_init(loop, &r->resume);
    r->resume.data = r;
    uv_check_start(&r->resume, reader_on_check);
    uv_read_start(s, reader_alloc, reader_read);
}

/* ---- ms_outq on a socket pair ------------------------------------------ */

typedef struct {
    uv_loop_t loop;
    uv_pipe_t w, r;
    ms_buf out;
    ms_outq q;
    reader rd;
    size_t queued;
    int done, done_err;
    size_t max_inflight;
    bool grew_behind; /* bytes were queued while a write was in flight */
} ofix;

static void ofix_init(ofix *f)
{
    memset(f, 0, sizeof *f);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_buf(sv[0], SO_SNDBUF);
    set_buf(sv[1], SO_RCVBUF);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_pipe_init(&f->loop, &f->w, 0);
    uv_pipe_init(&f->loop, &f->r, 0);
    assert_int_equal(uv_pipe_open(&f->w, sv[0]), 0);
    assert_int_equal(uv_pipe_open(&f->r, sv[1]), 0);
}

static void ofix_finish(ofix *f)
{
    uv_close((uv_handle_t *)&f->w, NULL);
    if (!uv_is_closing((uv_handle_t *)&f->r))
        uv_close((uv_handle_t *)&f->r, NULL);
    if (f->rd.s)
        uv_close((uv_handle_t *)&f->rd.resume, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ms_outq_free(&f->q);
    ms_buf_free(&f->out);
}

/* Queues up to 64 KiB more in uneven pieces and writes. */
static void ofix_top_up(ofix *f)
{
    if (f->q.inflight && f->queued < TOTAL)
        f->grew_behind = true;
    while (f->queued < TOTAL && ms_buf_size(&f->out) < 64 * 1024) {
        size_t n = 3001 + f->queued % 1000;
        append_pattern(&f->out, &f->queued, n < TOTAL - f->queued
                                                 ? n : TOTAL - f->queued);
    }
    assert_int_equal(ms_outq_write(&f->q), 0);
    if (f->q.inflight > f->max_inflight)
        f->max_inflight = f->q.inflight;
}

static void ofix_on_done(void *data, int status)
{
    ofix *f = data;
    f->done++;
    assert_int_equal(f->q.inflight, 0);
    if (status < 0) {
        f->done_err = status;
        return;
    }
    ofix_top_up(f);
}

static void ofix_all_read(void *arg)
{
    (void)arg;
}

static void test_outq_partial_writes_arrive_in_order(void **state)
{
    (void)state;
    ofix f;
    ofix_init(&f);
    ms_outq_init(&f.q, (uv_stream_t *)&f.w, &f.out, ofix_on_done, &f);
    reader_start(&f.rd, &f.loop, (uv_stream_t *)&f.r, TOTAL, ofix_all_read,
                 &f);
    ofix_top_up(&f);
    /* The reader also queues more on each turn, mid-write. */
    while (f.rd.got < TOTAL && !f.rd.eof) {
        uv_run(&f.loop, UV_RUN_ONCE);
        if (f.queued < TOTAL)
            ofix_top_up(&f);
    }
    assert_false(f.rd.bad);
    assert_int_equal(f.rd.got, TOTAL);
    assert_int_equal(f.queued, TOTAL);
    assert_int_equal(ms_buf_size(&f.out), 0);
    assert_int_equal(f.q.inflight, 0);
    /* The kernel took part of a batch: the rest was written by uv_write,
     * more bytes queued behind it, and its end reported. */
    assert_true(f.max_inflight > 0);
    assert_true(f.grew_behind);
    assert_true(f.done > 0);
    assert_int_equal(f.done_err, 0);
    ofix_finish(&f);
}

/* The reader goes away with a write in flight: on_done gets the error,
 * once; a write after that returns it at once. */
static void test_outq_broken_stream(void **state)
{
    (void)state;
    ofix f;
    ofix_init(&f);
    ms_outq_init(&f.q, (uv_stream_t *)&f.w, &f.out, ofix_on_done, &f);
    append_pattern(&f.out, &f.queued, 256 * 1024);
    assert_int_equal(ms_outq_write(&f.q), 0);
    assert_true(f.q.inflight > 0); /* nobody reads: the kernel is full */
    assert_int_equal(ms_buf_size(&f.out), 0);
    uv_close((uv_handle_t *)&f.r, NULL);
    while (!f.done) /* the error ends the last request: 0 is no hang */
        assert_true(uv_run(&f.loop, UV_RUN_ONCE) != 0 || f.done);
    assert_int_equal(f.done, 1);
    assert_true(f.done_err == UV_EPIPE || f.done_err == UV_ECONNRESET);
    append_pattern(&f.out, &f.queued, 10);
    int rc = ms_outq_write(&f.q);
    assert_true(rc == UV_EPIPE || rc == UV_ECONNRESET);
    assert_int_equal(f.q.inflight, 0);
    ofix_finish(&f);
    assert_int_equal(f.done, 1);
}

/* ---- dial_io over TCP ------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    uv_tcp_t server, peer;
    bool peer_open;
    ms_dialer *d;
    ms_dial_conn *conn;
    ms_buf in, out;
    reader rd;
    uv_check_t sample;
    size_t queued;
    int drained, broken;
    bool saw_inflight, closed;
    char why[64];
} dfix;

static const char *const EOF_WHY = "the peer closed the stream";

static void dfix_on_data(ms_dial_conn *conn)
{
    (void)conn; /* the peer's "bye" stays in *in for the test to see */
}

static void dfix_on_dialer_closed(void *arg)
{
    dfix *f = arg;
    f->closed = true;
    uv_close((uv_handle_t *)&f->server, NULL);
    uv_close((uv_handle_t *)&f->sample, NULL);
    uv_close((uv_handle_t *)&f->rd.resume, NULL);
}

static void dfix_on_broken(ms_dial_conn *conn, const char *why)
{
    dfix *f = conn->data;
    f->broken++;
    snprintf(f->why, sizeof f->why, "%s", why);
    ms_dialer_close(f->d, dfix_on_dialer_closed, f);
    assert_true(conn->dropped); /* the shared code stops here */
}

/* The writer's queue is empty and nothing is in flight: one more piece. */
static void dfix_on_drained(ms_dial_conn *conn)
{
    dfix *f = conn->data;
    f->drained++;
    assert_int_equal(conn->q.inflight, 0);
    if (f->queued < TOTAL) {
        size_t n = 5003 < TOTAL - f->queued ? 5003 : TOTAL - f->queued;
        append_pattern(&f->out, &f->queued, n);
    }
}

static const ms_dial_io dfix_io = {
    .chunk = 4096,
    .eof_why = EOF_WHY,
    .on_data = dfix_on_data,
    .on_broken = dfix_on_broken,
    .on_drained = dfix_on_drained,
};

static void dfix_on_up(ms_dialer *d, ms_dial_conn *conn, void *arg)
{
    dfix *f = arg;
    (void)d;
    f->conn = conn;
    conn->data = f;
    uv_os_fd_t fd;
    assert_int_equal(uv_fileno((uv_handle_t *)&conn->tcp, &fd), 0);
    set_buf(fd, SO_SNDBUF);
    assert_int_equal(ms_dial_conn_start(conn, &f->in, &f->out, &dfix_io), 0);
    ms_dial_conn_flush(conn); /* calls on_drained: the first piece */
}

static void dfix_on_fail(ms_dialer *d, const char *why, void *arg)
{
    (void)d;
    (void)arg;
    fail_msg("connect failed: %s", why);
}

static void dfix_on_sample(uv_check_t *c)
{
    dfix *f = c->data;
    if (f->conn && !f->conn->dropped && f->conn->q.inflight)
        f->saw_inflight = true;
}

/* Every byte read: the server says bye and hangs up. */
static void dfix_all_read(void *arg)
{
    dfix *f = arg;
    uv_buf_t b = uv_buf_init((char *)"bye", 3);
    assert_int_equal(uv_try_write((uv_stream_t *)&f->peer, &b, 1), 3);
    uv_close((uv_handle_t *)&f->peer, NULL);
}

static void dfix_on_accept(uv_stream_t *s, int status)
{
    dfix *f = s->data;
    assert_int_equal(status, 0);
    assert_false(f->peer_open);
    uv_tcp_init(&f->loop, &f->peer);
    assert_int_equal(uv_accept(s, (uv_stream_t *)&f->peer), 0);
    f->peer_open = true;
    reader_start(&f->rd, &f->loop, (uv_stream_t *)&f->peer, TOTAL,
                 dfix_all_read, f);
}

static void test_dial_io_partial_writes_arrive_in_order(void **state)
{
    (void)state;
    dfix f;
    memset(&f, 0, sizeof f);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    uv_tcp_init(&f.loop, &f.server);
    f.server.data = &f;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&f.server, (struct sockaddr *)&sa, 0), 0);
    uv_os_fd_t lfd;
    assert_int_equal(uv_fileno((uv_handle_t *)&f.server, &lfd), 0);
    set_buf(lfd, SO_RCVBUF); /* inherited by the accepted connection */
    assert_int_equal(uv_listen((uv_stream_t *)&f.server, 8, dfix_on_accept),
                     0);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&f.server, (struct sockaddr *)&ss, &len);
    uv_check_init(&f.loop, &f.sample);
    f.sample.data = &f;
    uv_check_start(&f.sample, dfix_on_sample);

    ms_dialer_config cfg = {
        .name = "test",
        .host = "127.0.0.1",
        .port = ntohs(((struct sockaddr_in *)&ss)->sin_port),
        .connect_timeout = 5,
        .backoff_min = 0.1,
        .backoff_max = 1,
        .on_up = dfix_on_up,
        .on_fail = dfix_on_fail,
        .arg = &f,
    };
    assert_int_equal(ms_dialer_new(&f.loop, &cfg, &f.d), 0);
    ms_dialer_start(f.d);
    assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
    assert_true(f.closed);
    assert_int_equal(uv_loop_close(&f.loop), 0);

    assert_false(f.rd.bad);
    assert_int_equal(f.rd.got, TOTAL);
    assert_int_equal(f.queued, TOTAL);
    assert_true(f.saw_inflight); /* partial writes did happen */
    assert_true(f.drained >= (int)(TOTAL / 5003));
    /* The peer's last bytes were read, then its hang-up reported once. */
    assert_int_equal(ms_buf_size(&f.in), 3);
    assert_memory_equal(ms_buf_head(&f.in), "bye", 3);
    assert_int_equal(f.broken, 1);
    assert_string_equal(f.why, EOF_WHY);
    ms_buf_free(&f.in);
    ms_buf_free(&f.out);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a write to a closed peer is an error */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outq_partial_writes_arrive_in_order),
        cmocka_unit_test(test_outq_broken_stream),
        cmocka_unit_test(test_dial_io_partial_writes_arrive_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
