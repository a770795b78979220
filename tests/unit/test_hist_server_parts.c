/* The history module's pure and file-level parts: --from/--to times
 * (src/apps/history/hist_time.c), RTA requests (hist_request.c), history.yaml
 * (hist_config.c), a series' last record and span (hist_last.c) over torn
 * and zero-filled tails, and the downsampled flag of queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mscada/error.h"
#include "mscada/history.h"
#include "mscada/history_server.h"

static uint64_t tp(const char *s)
{
    uint64_t v = 0;
    char why[256];
    int rc = ms_hist_time_parse(s, &v, why, sizeof why);
    if (rc < 0)
        fail_msg("%s: %s", s, why);
    return v;
}

static void test_time_parse(void **state)
{
    (void)state;
    assert_true(tp("1700000000000000") == 1700000000000000u);
    assert_true(tp("0") == 0);
    assert_true(tp("1970-01-01") == 0);
    assert_true(tp("2023-11-14T22:13:20Z") == 1700000000000000u);
    assert_true(tp("2023-11-14T22:13:20") == 1700000000000000u);
    assert_true(tp("2023-11-14 22:13:20.5") == 1700000000500000u);
    assert_true(tp("2023-11-14T22:13:20.123456789Z") == 1700000000123456u);
    assert_true(tp("2023-11-14T22:13Z") == 1700000000000000u - 20000000u);
    assert_true(tp("2023-11-15T11:13:20+13:00") == 1700000000000000u);
    assert_true(tp("2023-11-14T20:13:20-0200") == 1700000000000000u);
    assert_true(tp("2024-02-29") == 1709164800000000u);
    assert_true(tp("2000-03-01") == 951868800000000u);
    const char *bad[] = {"", "2024", "2023-13-01", "2023-02-29", "2023-1-1",
                         "2023-11-14T25:00", "2023-11-14T10", "yesterday",
                         "2023-11-14T10:00:00.", "1969-12-31",
                         "2023-11-14T10:00:00Zjunk",
                         "99999999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        uint64_t v;
        char why[256] = "";
        assert_int_equal(ms_hist_time_parse(bad[i], &v, why, sizeof why),
                         MS_EINVAL);
        assert_non_null(strstr(why, bad[i]));
    }
}

static uint64_t tp_at(const char *s, uint64_t now)
{
    uint64_t v = 0;
    char why[256];
    if (ms_hist_time_parse_at(s, now, &v, why, sizeof why) < 0)
        fail_msg("%s: %s", s, why);
    return v;
}

static void test_time_relative(void **state)
{
    (void)state;
    const uint64_t now = 1700000000000000u;
    assert_true(tp_at("now", now) == now);
    assert_true(tp_at("-90s", now) == now - 90000000u);
    assert_true(tp_at("-30m", now) == now - 1800000000u);
    assert_true(tp_at("-1h", now) == now - 3600000000u);
    assert_true(tp_at("-1.5h", now) == now - 5400000000u);
    assert_true(tp_at("-2d", now) == now - 172800000000u);
    assert_true(tp_at("-1w", now) == now - 604800000000u);
    assert_true(tp_at("-100000w", now) == 0); /* before 1970: the start */
    const char *bad[] = {"-", "-h", "-1", "-1x", "-1hh", "-1.2.3h", "- 1h",
                         "Now", "-1e3s", NULL};
    for (int i = 0; bad[i]; i++) {
        uint64_t v;
        char why[256] = "";
        assert_int_equal(ms_hist_time_parse_at(bad[i], now, &v, why,
                                               sizeof why), MS_EINVAL);
        assert_non_null(strstr(why, "before now"));
    }
}

static int rq_parse(const char *json, ms_hist_request *rq)
{
    char why[256];
    return ms_hist_request_parse(json, strlen(json), rq, why, sizeof why);
}

static void test_request_parse(void **state)
{
    (void)state;
    ms_hist_request rq;
    assert_int_equal(rq_parse("{\"__rta_id__\": 7, \"tagname\": \"Flow\", "
                              "\"start_us\": 10, \"end_us\": 20}", &rq), 0);
    assert_string_equal(rq.tagname, "Flow");
    assert_int_equal(rq.rta_id, 7);
    assert_true(rq.start_us == 10 && rq.end_us == 20 && !rq.end_now);
    assert_int_equal(rq.max_points, 0);
    /* pymscada 2024's name for the id; __rta_id__ wins when both are given */
    assert_int_equal(rq_parse("{\"__rqs_id__\": 9, \"tagname\": \"x\"}", &rq),
                     0);
    assert_int_equal(rq.rta_id, 9);
    assert_int_equal(rq_parse("{\"__rqs_id__\": 9, \"__rta_id__\": 3, "
                              "\"tagname\": \"x\"}", &rq), 0);
    assert_int_equal(rq.rta_id, 3);
    /* ms, end -1 = now, max_points */
    assert_int_equal(rq_parse("{\"tagname\": \"x\", \"start_ms\": "
                              "1700000000000, \"end_ms\": -1, "
                              "\"max_points\": 500}", &rq), 0);
    assert_int_equal(rq.rta_id, 0);
    assert_true(rq.start_us == 1700000000000000u && rq.end_now);
    assert_int_equal(rq.max_points, 500);
    /* absent end = now; absent start = 0; a browser's float ms */
    assert_int_equal(rq_parse("{\"tagname\": \"x\"}", &rq), 0);
    assert_true(rq.start_us == 0 && rq.end_now);
    assert_int_equal(rq_parse("{\"tagname\": \"x\", \"start_ms\": 1.5}", &rq),
                     0);
    assert_true(rq.start_us == 1500);
    const char *bad[] = {"[1]", "{}", "{\"tagname\": 3}", "not json",
                         "{\"tagname\": \"x\", \"__rta_id__\": 70000}",
                         "{\"tagname\": \"x\", \"__rta_id__\": -1}",
                         "{\"tagname\": \"x\", \"__rqs_id__\": 65536}",
                         "{\"tagname\": \"x\", \"start_us\": \"0\"}",
                         "{\"tagname\": \"x\", \"end_us\": -5}",
                         "{\"tagname\": \"x\", \"max_points\": 2.5}",
                         "{\"tagname\": \"\"}", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(rq_parse(bad[i], &rq), MS_EINVAL);
    /* a NUL inside the name is refused, not cut */
    const char nul[] = "{\"tagname\": \"a\\u0000b\"}";
    assert_int_equal(rq_parse(nul, &rq), MS_EINVAL);
}

static char tmpd[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpd, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config(void **state)
{
    (void)state;
    char p[256], want[300];
    ms_hist_config cfg;
    ms_conf_error err;
    snprintf(p, sizeof p, "%s/history.yaml", tmpd);
    snprintf(want, sizeof want,
             "bus_port: 1400\npath: %s/made/here\nflush_interval: 0.5\n"
             "retain_days: 30\nmax_reply: 1M\n", tmpd);
    write_file("history.yaml", want);
    ms_hist_config_init(&cfg);
    assert_int_equal(ms_hist_config_load(p, true, &cfg, &err), 0);
    assert_int_equal(cfg.client.port, 1400);
    assert_string_equal(cfg.rta_tag, "__history__");
    assert_true(cfg.flush_interval == 0.5 && cfg.retain_days == 30);
    assert_true(cfg.max_reply == 1u << 20);
    assert_true(cfg.file_records == MS_HIST_FILE_RECORDS);
    struct stat st;
    assert_int_equal(stat(cfg.path, &st), 0); /* made */
    ms_hist_config_free(&cfg);
    /* errors say where */
    write_file("history.yaml", "path: x\nflush_interval: -1\n");
    ms_hist_config_init(&cfg);
    assert_int_equal(ms_hist_config_load(p, false, &cfg, &err), MS_ECONFIG);
    assert_non_null(strstr(err.text, "history.yaml:2:17: flush_interval"));
    ms_hist_config_free(&cfg);
    snprintf(want, sizeof want, "path: %s/history.yaml/sub\n", tmpd);
    write_file("history.yaml", want);
    ms_hist_config_init(&cfg);
    assert_int_equal(ms_hist_config_load(p, true, &cfg, &err), MS_ECONFIG);
    assert_non_null(strstr(err.text, "history.yaml:1:7: path"));
    ms_hist_config_free(&cfg);
    write_file("history.yaml", "rta_tag: 'a b'\n");
    ms_hist_config_init(&cfg);
    assert_int_equal(ms_hist_config_load(p, false, &cfg, &err), MS_ECONFIG);
    ms_hist_config_free(&cfg);
    snprintf(p, sizeof p, "rm -rf %s/made", tmpd);
    assert_int_equal(system(p), 0);
}

static void test_last_and_span(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/data", tmpd);
    mkdir(dir, 0755);
    ms_hist_opts o;
    ms_hist_opts_default(&o);
    o.file_records = 4;
    ms_hist_store *s;
    ms_hist_series *h;
    char why[256];
    assert_int_equal(ms_hist_store_open(&s, dir, &o, why, sizeof why), 0);
    assert_int_equal(ms_hist_series_add(s, "T", MS_TYPE_INT, &h, why,
                                        sizeof why), 0);
    ms_hist_rec r;
    uint64_t a, b;
    assert_int_equal(ms_hist_series_last(h, &r), MS_ENOENT);
    assert_int_equal(ms_hist_series_span(h, &a, &b), MS_ENOENT);
    for (int i = 1; i <= 6; i++)
        assert_int_equal(ms_hist_series_append_int(h, 100 + i, i * 10), 0);
    ms_hist_series_append_int(h, 50, -1); /* a forecast: earlier time */
    assert_int_equal(ms_hist_series_last(h, &r), 0); /* buffered */
    assert_true(r.time_us == 50 && r.u.i == -1);
    assert_int_equal(ms_hist_series_span(h, &a, &b), 0);
    assert_true(a == 50 && b == 106);
    ms_hist_store_close(s);
    /* from the files, after a zero-filled and torn tail */
    char p[256];
    snprintf(p, sizeof p, "%s/T_105.dat", dir);
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    static const uint8_t junk[37];
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    assert_int_equal(ms_hist_store_open(&s, dir, &o, why, sizeof why), 0);
    assert_int_equal(ms_hist_series_add(s, "T", MS_TYPE_INT, &h, why,
                                        sizeof why), 0);
    assert_int_equal(ms_hist_series_last(h, &r), 0);
    assert_true(r.time_us == 50 && r.u.i == -1);
    /* an empty newest file falls back to the one before */
    snprintf(p, sizeof p, "%s/T_900.dat", dir);
    fclose(fopen(p, "w"));
    ms_hist_store_rescan(s);
    assert_int_equal(ms_hist_series_last(h, &r), 0);
    assert_true(r.time_us == 50);
    /* the downsampled flag */
    ms_hist_result res = {0};
    assert_int_equal(ms_hist_series_query(h, 0, 1000, 0, &res), 0);
    assert_int_equal(res.len, 7);
    assert_false(res.downsampled);
    assert_int_equal(ms_hist_series_query(h, 0, 1000, 4, &res), 0);
    assert_true(res.downsampled && res.len <= 4);
    assert_int_equal(ms_hist_series_query(h, 0, 1000, 7, &res), 0);
    assert_false(res.downsampled);
    ms_hist_result_free(&res);
    ms_hist_store_close(s);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    snprintf(tmpd, sizeof tmpd, "/tmp/ms-histparts.XXXXXX");
    if (!mkdtemp(tmpd))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_relative),
        cmocka_unit_test(test_request_parse),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_last_and_span),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpd);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
