/* History without I/O (src/apps/history/hist_file.c, hist_resolve.c,
 * hist_downsample.c): which file names belong to which tag, tag names that
 * can't be file names, the record codec against hand-written bytes, the
 * zero-tail rule, resolving out-of-order and duplicate times, and the
 * downsampler's promises (at most N points, every peak and trough, time
 * order, streaming equals batch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apps/history/hist_int.h"
#include "mscada/error.h"
#include "mscada/history.h"

static void parses(const char *fname, const char *tag, uint64_t t)
{
    size_t tl = 0;
    uint64_t got = 0;
    assert_int_equal(ms_hist_file_parse(fname, &tl, &got), 0);
    assert_int_equal(tl, strlen(tag));
    assert_memory_equal(fname, tag, tl);
    assert_true(got == t);
}

static void refused(const char *fname)
{
    size_t tl;
    uint64_t t;
    assert_int_equal(ms_hist_file_parse(fname, &tl, &t), MS_EINVAL);
}

static void test_file_parse(void **state)
{
    (void)state;
    parses("hist_tag_0_15.dat", "hist_tag_0", 15);
    parses("hist_tag_0_0.dat", "hist_tag_0", 0);
    /* pymscada's decoy: tag "hist_tag_0_10", never "hist_tag_0". */
    parses("hist_tag_0_10_2.dat", "hist_tag_0_10", 2);
    parses("x_0015.dat", "x", 15);
    parses("a b_18446744073709551615.dat", "a b", UINT64_MAX);
    refused("x_18446744073709551616.dat"); /* past u64 */
    refused("x_.dat");
    refused("_5.dat");
    refused("x5.dat");
    refused("x_5.da");
    refused("x_5.dat.tmp");
    refused("x_5a.dat");
    refused("x_-5.dat");
    refused(".dat");
    refused("");
}

static void test_name_check(void **state)
{
    (void)state;
    char why[256];
    char name[MS_HIST_NAME_MAX + 2];
    memset(name, 'a', sizeof name);
    assert_int_equal(ms_hist_name_check("FlowRate", 8, why, sizeof why), 0);
    assert_int_equal(ms_hist_name_check(name, MS_HIST_NAME_MAX, why,
                                        sizeof why), 0);
    assert_int_equal(ms_hist_name_check(name, MS_HIST_NAME_MAX + 1, why,
                                        sizeof why), MS_EINVAL);
    assert_non_null(strstr(why, "longer"));
    assert_int_equal(ms_hist_name_check("a/b", 3, why, sizeof why),
                     MS_EINVAL);
    assert_non_null(strstr(why, "'/'"));
    assert_int_equal(ms_hist_name_check("a\0b", 3, why, sizeof why),
                     MS_EINVAL);
    assert_non_null(strstr(why, "NUL"));
    assert_int_equal(ms_hist_name_check("", 0, why, sizeof why), MS_EINVAL);
    assert_non_null(strstr(why, "empty"));
    assert_int_equal(ms_hist_name_check("a/b", 3, NULL, 0), MS_EINVAL);
}

static void test_rec_codec(void **state)
{
    (void)state;
    uint8_t out[16];
    ms_hist_rec r = {0x0102030405060708u, {.i = -2}};
    ms_hist_rec_encode(&r, out);
    static const uint8_t want_i[16] = {1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_memory_equal(out, want_i, 16);
    ms_hist_rec back;
    ms_hist_rec_decode(out, &back);
    assert_true(back.time_us == r.time_us && back.u.i == -2);
    r.time_us = 1;
    r.u.f = 1.5; /* 0x3FF8000000000000 */
    ms_hist_rec_encode(&r, out);
    static const uint8_t want_f[16] = {0, 0, 0, 0, 0,    0, 0, 1,
                                       0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(out, want_f, 16);
    ms_hist_rec_decode(out, &back);
    assert_true(back.u.f == 1.5);
}

static void test_tail_trim(void **state)
{
    (void)state;
    uint8_t b[5 * 16] = {0};
    assert_int_equal(ms_hist_tail_trim(b, 5), 0);
    b[16 + 15] = 1; /* record 1 holds data */
    assert_int_equal(ms_hist_tail_trim(b, 5), 2);
    assert_true(ms_hist_rec_is_hole(b));
    assert_false(ms_hist_rec_is_hole(b + 16));
    b[4 * 16] = 0x80; /* the last record too */
    assert_int_equal(ms_hist_tail_trim(b, 5), 5);
    assert_int_equal(ms_hist_tail_trim(b, 0), 0);
}

static ms_hist_rec rec(uint64_t t, int64_t v)
{
    ms_hist_rec r;
    r.time_us = t;
    r.u.i = v;
    return r;
}

static void test_resolve(void **state)
{
    (void)state;
    /* A forecast: each time re-sent later with a new value. */
    ms_hist_rec a[] = {rec(0, 1), rec(1, 2), rec(2, 3), rec(1, 4),
                       rec(2, 5), rec(3, 6), rec(2, 7), rec(3, 8),
                       rec(0, 9), rec(5, 10), rec(5, 11)};
    long n = ms_hist_resolve(a, sizeof a / sizeof a[0]);
    assert_int_equal(n, 5);
    const uint64_t t[] = {0, 1, 2, 3, 5};
    const int64_t v[] = {9, 4, 7, 8, 11};
    for (int i = 0; i < 5; i++) {
        assert_true(a[i].time_us == t[i]);
        assert_int_equal(a[i].u.i, v[i]);
    }
    ms_hist_rec one = rec(7, 7);
    assert_int_equal(ms_hist_resolve(&one, 1), 1);
    assert_int_equal(ms_hist_resolve(NULL, 0), 0);
}

/* Against a plain reference: n random records with few distinct times. */
static void test_resolve_random(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 50; round++) {
        size_t n = (size_t)(rand() % 300);
        ms_hist_rec *a = malloc((n + 1) * sizeof *a);
        int64_t last[64];
        bool seen[64] = {0};
        for (size_t i = 0; i < n; i++) {
            uint64_t t = (uint64_t)(rand() % 64);
            a[i] = rec(t, (int64_t)i);
            last[t] = (int64_t)i;
            seen[t] = true;
        }
        long m = ms_hist_resolve(a, n);
        long k = 0;
        for (uint64_t t = 0; t < 64; t++) {
            if (!seen[t])
                continue;
            assert_true(k < m);
            assert_true(a[k].time_us == t);
            assert_int_equal(a[k].u.i, last[t]);
            k++;
        }
        assert_int_equal(k, m);
        free(a);
    }
}

static void test_downsample(void **state)
{
    (void)state;
    ms_hist_result r = {0};
    size_t n = 100000;
    ms_hist_rec *w = ms_hist_result_reserve(&r, n);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) {
        w[i].time_us = 1000 + i * 10;
        w[i].u.f = (double)((i * 7919) % 1000) - 500.0;
    }
    w[31337].u.f = 1e9;  /* a spike */
    w[77777].u.f = -1e9; /* a dip */
    r.len = n;
    ms_hist_result copy = {0};
    assert_non_null(ms_hist_result_reserve(&copy, n));
    memcpy(copy.recs, r.recs, n * sizeof *r.recs);
    copy.len = n;

    assert_int_equal(ms_hist_downsample(&r, MS_TYPE_FLOAT, 2000), 0);
    assert_true(r.len <= 2000 && r.len > 1000);
    bool spike = false, dip = false;
    for (size_t i = 0; i < r.len; i++) {
        if (i)
            assert_true(r.recs[i].time_us > r.recs[i - 1].time_us);
        spike |= r.recs[i].u.f == 1e9 && r.recs[i].time_us == 1000 + 313370;
        dip |= r.recs[i].u.f == -1e9;
    }
    assert_true(spike && dip);
    assert_true(r.recs[0].time_us == 1000);
    assert_true(r.recs[r.len - 1].time_us == 1000 + (n - 1) * 10);

    /* Streaming in uneven pieces gives the same records. */
    ms_hist_result s = {0};
    ms_hist_ds d;
    ms_hist_ds_init(&d, MS_TYPE_FLOAT, copy.recs[0].time_us,
                    copy.recs[n - 1].time_us + 1, 2000);
    for (size_t at = 0; at < n;) {
        size_t k = (size_t)(rand() % 5000) + 1;
        if (k > n - at)
            k = n - at;
        assert_int_equal(ms_hist_ds_push(&d, copy.recs + at, k, &s), 0);
        at += k;
    }
    assert_int_equal(ms_hist_ds_end(&d, &s), 0);
    assert_int_equal(s.len, r.len);
    assert_memory_equal(s.recs, r.recs, r.len * sizeof *r.recs);

    /* Few enough records: untouched. Tiny N: at most 4. */
    copy.len = 10;
    assert_int_equal(ms_hist_downsample(&copy, MS_TYPE_FLOAT, 10), 0);
    assert_int_equal(copy.len, 10);
    assert_int_equal(ms_hist_downsample(&copy, MS_TYPE_FLOAT, 1), 0);
    assert_true(copy.len <= 4 && copy.len >= 2);
    ms_hist_result_free(&r);
    ms_hist_result_free(&s);
    ms_hist_result_free(&copy);
}

/* Ints compare as ints: values past 2^53 stay distinct. */
static void test_downsample_int(void **state)
{
    (void)state;
    ms_hist_result r = {0};
    ms_hist_rec *w = ms_hist_result_reserve(&r, 8);
    int64_t v[8] = {INT64_MAX - 1, INT64_MAX, INT64_MAX - 2, 0,
                    INT64_MIN + 1, INT64_MIN, 5, 6};
    for (int i = 0; i < 8; i++)
        w[i] = rec((uint64_t)i, v[i]);
    r.len = 8;
    assert_int_equal(ms_hist_downsample(&r, MS_TYPE_INT, 4), 0);
    /* One bucket: first, min, max, last in time order. */
    assert_int_equal(r.len, 4);
    assert_int_equal(r.recs[0].u.i, INT64_MAX - 1);
    assert_int_equal(r.recs[1].u.i, INT64_MAX);
    assert_int_equal(r.recs[2].u.i, INT64_MIN);
    assert_int_equal(r.recs[3].u.i, 6);
    ms_hist_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_parse),
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_rec_codec),
        cmocka_unit_test(test_tail_trim),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_resolve_random),
        cmocka_unit_test(test_downsample),
        cmocka_unit_test(test_downsample_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
