/* mscada's one error space (mscada/error.h): every MS_E* code has its own
 * text and lies outside errno's and libuv's range; ms_strerror names
 * libuv's and the system's codes and Modbus exceptions too. Then the error
 * paths of the public API, header by header (bad arguments, missing files,
 * configs that fail, a port in use, a closed port, a silent unit, a memory
 * declared while its worker runs), each checked for its code and its
 * name. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "mscada/bus.h"
#include "mscada/client.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/history.h"
#include "mscada/history_server.h"
#include "mscada/log.h"
#include "mscada/mbclient.h"
#include "mscada/mbmap.h"
#include "mscada/mbserial.h"
#include "mscada/mbserver.h"
#include "mscada/modbus.h"
#include "mscada/msm.h"
#include "mscada/tag.h"
#include "mscada/tagdesc.h"
#include "mscada/value.h"

#define UNKNOWN "unknown error code"

/* rc is the code wanted, and ms_strerror gives it the text wanted. */
#define EXPECT(call, code, text)                                           \
    do {                                                                   \
        int rc_ = (int)(call);                                             \
        if (rc_ != (code))                                                 \
            fail_msg("%s: got %d (%s), want %s (%s)", #call, rc_,          \
                     ms_strerror(rc_), #code, ms_strerror(code));          \
        assert_string_equal(ms_strerror(rc_), text);                       \
    } while (0)

/* ---- the space ---------------------------------------------------------- */

typedef struct {
    int code;
    const char *name, *text;
} ms_code;

static const ms_code ours[] = {
#define XX(name, n, text) {MS_##name, "MS_" #name, text},
    MS_ERRNO_MAP(XX)
#undef XX
};
#define NOURS (sizeof ours / sizeof ours[0])

static const int uvs[] = {
#define XX(name, text) UV_##name,
    UV_ERRNO_MAP(XX)
#undef XX
};

static void test_every_ms_code_has_its_own_text(void **state)
{
    (void)state;
    assert_true(NOURS >= 16);
    for (size_t i = 0; i < NOURS; i++) {
        const char *s = ms_strerror(ours[i].code);
        assert_string_equal(s, ours[i].text);
        assert_true(ours[i].code < -4095); /* past every errno */
        assert_false(ms_mb_err_is_exc(ours[i].code));
        if (strstr(s, "unknown"))
            fail_msg("%s reads '%s'", ours[i].name, s);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(ours[i].code, ours[j].code);
            if (!strcmp(s, ms_strerror(ours[j].code)))
                fail_msg("%s and %s both read '%s'", ours[i].name,
                         ours[j].name, s);
        }
    }
    assert_int_equal(MS_EAGAIN, -(MS_EBASE + 1));
    /* The three causes of "not now" that were one code, now three. */
    assert_int_not_equal(MS_EBUSY, MS_EDOWN);
    assert_int_not_equal(MS_EBUSY, MS_ERUNNING);
    assert_int_not_equal(MS_EDOWN, MS_ERUNNING);
}

static void test_no_ms_code_is_a_libuv_code(void **state)
{
    (void)state;
    for (size_t u = 0; u < sizeof uvs / sizeof uvs[0]; u++) {
        for (size_t i = 0; i < NOURS; i++)
            if (uvs[u] == ours[i].code)
                fail_msg("%s is libuv's %s", ours[i].name,
                         uv_err_name(uvs[u]));
        /* Every libuv code is named as libuv names it. */
        assert_string_equal(ms_strerror(uvs[u]), uv_strerror(uvs[u]));
    }
    /* The four collisions of the old space, each named for what it is. */
    assert_string_equal(ms_strerror(UV_EIO), "i/o error");
    assert_string_equal(ms_strerror(UV_EACCES), "permission denied");
    assert_string_equal(ms_strerror(UV_EINTR), "interrupted system call");
    assert_string_equal(ms_strerror(UV_EBADF), "bad file descriptor");
    assert_string_equal(ms_strerror(UV_ECONNREFUSED), "connection refused");
    assert_string_equal(ms_strerror(UV_EADDRINUSE), "address already in use");
    assert_string_equal(ms_strerror(UV_EOF), "end of file");
    assert_string_equal(ms_strerror(UV_EAI_NONAME), "unknown node or service");
}

static void test_other_codes_named(void **state)
{
    (void)state;
    assert_string_equal(ms_strerror(0), "ok");
    assert_string_equal(ms_strerror(17), "ok"); /* a count */
    /* A system errno libuv has no name for. */
    assert_string_equal(ms_strerror(-EL2HLT), strerror(EL2HLT));
    /* A Modbus exception: the range, not its details. */
    const char *s = ms_strerror(ms_mb_exc_err(3, 2));
    assert_non_null(strstr(s, "Modbus exception"));
    char buf[96];
    assert_string_equal(ms_mb_strerror(ms_mb_exc_err(3, 2), buf, sizeof buf),
                        "FC3 read holding registers: exception 2 illegal "
                        "data address");
    assert_string_equal(ms_mb_strerror(MS_EDOWN, buf, sizeof buf),
                        ms_strerror(MS_EDOWN));
    assert_string_equal(ms_mb_strerror(UV_ECONNRESET, buf, sizeof buf),
                        "connection reset by peer");
    /* Between the ranges: none of the kinds. */
    assert_non_null(strstr(ms_strerror(-5000), UNKNOWN));
    assert_non_null(strstr(ms_strerror(-(MS_EBASE + 99)), UNKNOWN));
    assert_non_null(strstr(ms_strerror(-200000), UNKNOWN));
}

/* ---- sockets and files -------------------------------------------------- */

/* A TCP socket on 127.0.0.1 at a free port; listening or only bound (a
 * bound port that doesn't listen refuses connections, and holds the port
 * so that nobody else takes it meanwhile). */
static int tcp_socket(bool listening, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (listening)
        assert_int_equal(listen(fd, 16), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static const char *missing = "/nonexistent/mscada/test_errors.yaml";

/* The lines logged, to check what a failure said. */
typedef struct {
    char text[4096];
    const char *stop_at; /* uv_stop(loop) when a line holds this */
    uv_loop_t *loop;
} logged;

static void on_log(ms_log_level level, const char *msg, void *arg)
{
    logged *l = arg;
    (void)level;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
    if (l->stop_at && strstr(msg, l->stop_at))
        uv_stop(l->loop);
}

static void drain(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- conf.h, tagdesc.h, bus.h, history*.h ------------------------------- */

static void test_config_errors(void **state)
{
    (void)state;
    ms_conf_error err;
    ms_conf_doc *doc = NULL;
    EXPECT(ms_conf_load(missing, &doc, &err), MS_ENOENT, "not found");
    assert_non_null(strstr(err.text, missing));
    const char *bad = "a: [1, 2\n";
    EXPECT(ms_conf_parse("bad.yaml", bad, strlen(bad), &doc, &err),
           MS_ECONFIG, "bad configuration");
    assert_non_null(strstr(err.text, "bad.yaml:"));
    EXPECT(ms_conf_load("/", &doc, &err), MS_EIO, "I/O error");

    ms_tagdescs td;
    EXPECT(ms_tagdesc_load(missing, false, &td, &err), MS_ENOENT,
           "not found");

    ms_bus_config bc;
    ms_bus_config_init(&bc);
    EXPECT(ms_bus_config_load(missing, &bc, &err), MS_ENOENT, "not found");
    const char *port = "port: 70000\n";
    assert_int_equal(ms_conf_parse("bus.yaml", port, strlen(port), &doc,
                                   &err), 0);
    EXPECT(ms_bus_config_from_conf(ms_conf_root(doc), &bc, &err),
           MS_ECONFIG, "bad configuration");
    assert_non_null(strstr(err.text, "bus.yaml:1:"));
    ms_conf_free(doc);
    ms_bus_config_free(&bc);
    ms_bus_allow a;
    EXPECT(ms_bus_allow_parse("10.0.0.0/33", &a), MS_EINVAL,
           "invalid argument");

    ms_hist_config hc;
    ms_hist_config_init(&hc);
    EXPECT(ms_hist_config_load(missing, false, &hc, &err), MS_ENOENT,
           "not found");
    ms_hist_config_free(&hc);
}

static void test_history_errors(void **state)
{
    (void)state;
    char why[200];
    ms_hist_store *s;
    EXPECT(ms_hist_store_open(&s, "/nonexistent/mscada", NULL, why,
                              sizeof why),
           MS_ENOENT, "not found");
    EXPECT(ms_hist_name_check("a/b", 3, why, sizeof why), MS_EINVAL,
           "invalid argument");
    uint64_t us;
    EXPECT(ms_hist_time_parse("2023-13-01", &us, why, sizeof why),
           MS_EINVAL, "invalid argument");
    ms_hist_request rq;
    const char *j = "{\"tagname\": 7}";
    EXPECT(ms_hist_request_parse(j, strlen(j), &rq, why, sizeof why),
           MS_EINVAL, "invalid argument");
}

/* ---- value.h, frame.h, modbus.h, mbmap.h, mbserial.h, mbserver.h -------- */

static void test_codec_errors(void **state)
{
    (void)state;
    ms_value v;
    const uint8_t unknown_type[] = {9, 0};
    EXPECT(ms_value_decode(unknown_type, sizeof unknown_type, &v), MS_ETYPE,
           "wrong value type");
    const uint8_t short_int[] = {MS_TYPE_INT, 1, 2};
    EXPECT(ms_value_decode(short_int, sizeof short_int, &v), MS_EPROTO,
           "protocol error");
    uint8_t out[4];
    ms_value big = ms_value_int(1);
    EXPECT(ms_value_encode(&big, out, 2), MS_ETOOBIG, "too big");

    uint8_t head[MS_FRAME_HEAD] = {2};
    ms_frame_head h;
    EXPECT(ms_frame_head_decode(head, sizeof head, &h), MS_EPROTO,
           "protocol error");

    uint8_t pdu[MS_MB_PDU_MAX];
    ms_mb_request rq = {.fc = MS_MB_READ_HOLDING_REGISTERS, .count = 200};
    EXPECT(ms_mb_request_encode(&rq, pdu, sizeof pdu), MS_ERANGE,
           "out of range");
    rq = (ms_mb_request){.fc = 99, .count = 1};
    EXPECT(ms_mb_request_encode(&rq, pdu, sizeof pdu), MS_EINVAL,
           "invalid argument");
    const uint8_t read0[] = {3, 0, 0, 0, 0};
    int rc = ms_mb_request_decode(read0, sizeof read0, &rq);
    assert_int_equal(rc, ms_mb_exc_err(3, 3));
    assert_non_null(strstr(ms_strerror(rc), "Modbus exception"));

    ms_mb_file f;
    EXPECT(ms_mb_file_parse("5x", &f), MS_EINVAL, "invalid argument");
    ms_mb_conv cv = ms_mb_conv_make(MS_MB_INT16);
    uint16_t regs[4];
    bool clamped;
    ms_value nan = ms_value_float(NAN);
    EXPECT(ms_mb_encode(&cv, &nan, regs, &clamped), MS_ERANGE,
           "out of range");
    ms_value text = ms_value_buf(MS_TYPE_STR, "x", 1);
    EXPECT(ms_mb_encode(&cv, &text, regs, &clamped), MS_ETYPE,
           "wrong value type");

    ms_mb_serial_config sc;
    ms_mb_serial_config_init(&sc);
    sc.data_bits = 9;
    EXPECT(ms_mb_serial_config_check(&sc), MS_EINVAL, "invalid argument");

    ms_mb_mem mem;
    ms_mb_mem_init(&mem);
    ms_mb_handler hd = {.mem = &mem};
    EXPECT(ms_mb_serve_pdu(&hd, 1, pdu, 0, pdu), MS_EPROTO,
           "protocol error");
    ms_mb_mem_free(&mem);
}

/* ---- servers on a port in use, a device that isn't there --------------- */

static void test_listen_errors(void **state)
{
    (void)state;
    logged l = {0};
    ms_log_set_callback(on_log, &l);
    ms_log_setup(NULL, MS_LOG_INFO);
    int port, busy = tcp_socket(true, &port);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);

    ms_bus_config bc;
    ms_bus_config_init(&bc);
    bc.port = port;
    ms_bus *bus = NULL;
    EXPECT(ms_bus_start(&loop, &bc, &bus), UV_EADDRINUSE,
           "address already in use");
    ms_bus_config_free(&bc);

    ms_mb_mem mem;
    ms_mb_mem_init(&mem);
    ms_mb_handler hd = {.mem = &mem};
    ms_mb_server_config sc;
    ms_mb_server_config_init(&sc);
    sc.port = port;
    ms_mb_server *srv;
    EXPECT(ms_mb_server_start(&loop, &sc, &hd, &srv), UV_EADDRINUSE,
           "address already in use");
    snprintf(sc.ip, sizeof sc.ip, "not an address");
    ms_mb_udp_server *udp;
    EXPECT(ms_mb_udp_server_start(&loop, &sc, &hd, &udp), MS_EINVAL,
           "invalid argument");

    ms_mb_serial_config line;
    ms_mb_serial_config_init(&line);
    snprintf(line.device, sizeof line.device, "/nonexistent/ttyS9");
    ms_mb_serial_slave *ss;
    EXPECT(ms_mb_serial_slave_start(&loop, &line, &hd, &ss), UV_ENOENT,
           "no such file or directory");
    drain(&loop);
    ms_mb_mem_free(&mem);
    close(busy);
    ms_log_set_callback(NULL, NULL);
    ms_log_setup(NULL, MS_LOG_ERROR);
    /* Each failure was logged with the same name. */
    assert_non_null(strstr(l.text, "address already in use"));
    assert_non_null(strstr(l.text, "no such file or directory"));
}

/* ---- msm.h -------------------------------------------------------------- */

static void test_msm_errors(void **state)
{
    (void)state;
    logged l = {0};
    ms_log_set_callback(on_log, &l);
    ms_memory *m;
    EXPECT(ms_memory_new(65537, &m), MS_EINVAL, "invalid argument");
    assert_null(m);
    assert_int_equal(ms_memory_new(8, &m), 0);
    ms_var w = ms_memory_word(m, "W", 0);
    assert_true(ms_var_ok(w));
    ms_var past = ms_memory_uint32(m, "PAST", 7);
    EXPECT(past.id, MS_EINVAL, "invalid argument");
    EXPECT(ms_memory_set_word(m, past, 1), MS_EINVAL, "invalid argument");
    EXPECT(ms_memory_set_f32(m, w, 1.5f), MS_ETYPE, "wrong value type");

    ms_worker *bad;
    EXPECT(ms_master_tcp(m, "127.0.0.1", 0, 1, &bad), MS_EINVAL,
           "invalid argument");
    assert_null(bad);
    assert_string_equal(ms_memory_error(m),
                        "master: port must be from 1 to 65535 (is 0)");

    int port, busy = tcp_socket(true, &port);
    ms_worker *taken;
    assert_int_equal(ms_slave_tcp(m, "127.0.0.1", port, 1, &taken), 0);
    EXPECT(ms_worker_run(taken), UV_EADDRINUSE, "address already in use");
    ms_worker_kill(taken);
    close(busy);

    ms_mb_serial_config line;
    ms_mb_serial_config_init(&line);
    snprintf(line.device, sizeof line.device, "/nonexistent/ttyS9");
    ms_worker *noline;
    assert_int_equal(ms_slave_serial(m, &line, 1, &noline), 0);
    EXPECT(ms_worker_run(noline), UV_ENOENT, "no such file or directory");
    ms_worker_kill(noline);

    /* Running: too late to declare or configure, or to run again. */
    ms_worker *sw;
    assert_int_equal(ms_slave_tcp(m, NULL, 0, 1, &sw), 0);
    assert_int_equal(ms_worker_run(sw), 0);
    const char *running = ms_strerror(MS_ERUNNING);
    EXPECT(ms_worker_run(sw), MS_ERUNNING, running);
    EXPECT(ms_worker_set_period(sw, 1), MS_ERUNNING, running);
    EXPECT(ms_worker_on_write(sw, NULL, NULL), MS_ERUNNING, running);
    EXPECT(ms_memory_word(m, "LATE", 1).id, MS_ERUNNING, running);
    assert_non_null(strstr(running, "running"));
    ms_worker_kill(sw);
    /* Stopped again: declarations work. */
    assert_true(ms_var_ok(ms_memory_word(m, "LATE", 1)));
    ms_memory_free(m);
    ms_log_set_callback(NULL, NULL);
    assert_non_null(strstr(l.text, "address already in use"));
    assert_non_null(strstr(l.text, "no such file or directory"));
}

/* ---- client.h, tag.h: a bus that isn't there ---------------------------- */

static void on_list(ms_client *c, int status, const char *const *names,
                    size_t n, void *arg)
{
    (void)c, (void)status, (void)names, (void)n, (void)arg;
    fail_msg("a LIST refused at once has no answer");
}

static void test_client_errors(void **state)
{
    (void)state;
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    EXPECT(ms_client_config_set_bus(&cfg, "127.0.0.1:99999"), MS_EINVAL,
           "invalid argument");
    ms_conf_error err;
    ms_conf_doc *doc;
    const char *y = "bus_port: many\n";
    assert_int_equal(ms_conf_parse("m.yaml", y, strlen(y), &doc, &err), 0);
    EXPECT(ms_client_config_from_conf(&cfg, ms_conf_root(doc), &err),
           MS_ECONFIG, "bad configuration");
    ms_conf_free(doc);

    /* A port that refuses: the client keeps trying, and says why. */
    int port, refusing = tcp_socket(false, &port);
    cfg.port = port;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    logged l = {.stop_at = "cannot connect", .loop = &loop};
    ms_log_set_callback(on_log, &l);
    ms_log_setup(NULL, MS_LOG_INFO);
    ms_client *c;
    assert_int_equal(ms_client_new(&loop, &cfg, &c), 0);
    ms_tag *t, *t2;
    EXPECT(ms_tag_new(c, "two words", MS_TYPE_INT, &t), MS_EINVAL,
           "invalid argument");
    assert_int_equal(ms_tag_new(c, "n", MS_TYPE_INT, &t), 0);
    EXPECT(ms_tag_new(c, "n", MS_TYPE_STR, &t2), MS_ETYPE,
           "wrong value type");
    int64_t i;
    EXPECT(ms_tag_get_int(t, &i), MS_ENOENT, "not found");
    EXPECT(ms_tag_set_str(t, "x"), MS_ETYPE, "wrong value type");
    ms_value none = {0};
    EXPECT(ms_tag_rta(t, &none), MS_EINVAL, "invalid argument");
    EXPECT(ms_client_log(c, "hello"), MS_ECLOSED, "connection closed");
    EXPECT(ms_client_list(c, "n", 0, NULL, NULL), MS_EINVAL,
           "invalid argument");
    EXPECT(ms_client_list(c, "n", 0, on_list, NULL), MS_ECLOSED,
           "connection closed");
    uv_run(&loop, UV_RUN_DEFAULT); /* until "cannot connect" */
    assert_int_equal(ms_client_get_state(c), MS_CLIENT_CONNECTING);
    ms_client_close(c);
    EXPECT(ms_tag_set_int(t, 1), MS_ECLOSED, "connection closed");
    drain(&loop);
    ms_log_set_callback(NULL, NULL);
    ms_log_setup(NULL, MS_LOG_ERROR);
    close(refusing);
    if (!strstr(l.text, "cannot connect: connection refused"))
        fail_msg("logged: %s", l.text);

    /* The same from a client thread. */
    ms_client_thread *th;
    assert_int_equal(ms_client_thread_start(&cfg, &th), 0);
    EXPECT(ms_client_thread_get_int(th, "none", &i), MS_ENOENT, "not found");
    ms_value sv;
    uint64_t us;
    EXPECT(ms_client_thread_get(th, "none", &sv, &us), MS_ENOENT,
           "not found");
    EXPECT(ms_client_thread_tag(th, NULL, MS_TYPE_INT), MS_EINVAL,
           "invalid argument");
    ms_client_thread_stop(th);
}

/* ---- mbclient.h: a device that takes the connection and never answers --- */

typedef struct {
    ms_mb_client *c;
    int early, status, again, done;
} mbc_run;

static void on_mb_done(int status, uint8_t unit, const ms_mb_request *req,
                       const ms_mb_response *rsp, void *arg)
{
    mbc_run *r = arg;
    (void)rsp;
    r->status = status;
    r->done++;
    /* The unit is down now: the next request is refused at once. */
    r->again = ms_mb_client_submit(r->c, unit, req, on_mb_done, r);
    ms_mb_client_close(r->c);
}

static void on_mb_state(ms_mb_client *c, bool up, void *arg)
{
    mbc_run *r = arg;
    static const ms_mb_request rq = {.fc = MS_MB_READ_HOLDING_REGISTERS,
                                     .count = 1};
    if (up)
        assert_int_equal(ms_mb_client_submit(c, 1, &rq, on_mb_done, r), 0);
}

static void test_mbclient_errors(void **state)
{
    (void)state;
    int port, silent = tcp_socket(true, &port); /* never accepts */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    mbc_run r = {0};
    ms_mb_client_config cfg;
    ms_mb_client_config_init(&cfg);
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    cfg.port = port;
    cfg.max_in_flight = MS_MB_IN_FLIGHT_MAX + 1;
    EXPECT(ms_mb_client_new(&loop, &cfg, &r.c), MS_EINVAL,
           "invalid argument");
    cfg.max_in_flight = 1;
    cfg.timeout = 0.05;
    cfg.backoff_max = 3600; /* no probe due during the test */
    cfg.on_state = on_mb_state;
    cfg.arg = &r;
    assert_int_equal(ms_mb_client_new(&loop, &cfg, &r.c), 0);
    const ms_mb_request rq = {.fc = MS_MB_READ_HOLDING_REGISTERS,
                              .count = 1};
    /* Not connected yet. */
    EXPECT(ms_mb_client_submit(r.c, 1, &rq, on_mb_done, &r), MS_ECLOSED,
           "connection closed");
    drain(&loop);
    close(silent);
    assert_int_equal(r.done, 1);
    EXPECT(r.status, MS_ETIMEDOUT, "timed out");
    EXPECT(r.again, MS_EDOWN, ms_strerror(MS_EDOWN));
    assert_non_null(strstr(ms_strerror(MS_EDOWN), "not answering"));
}

int main(void)
{
    ms_log_setup("test_errors", MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_ms_code_has_its_own_text),
        cmocka_unit_test(test_no_ms_code_is_a_libuv_code),
        cmocka_unit_test(test_other_codes_named),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_history_errors),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_msm_errors),
        cmocka_unit_test(test_client_errors),
        cmocka_unit_test(test_mbclient_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
