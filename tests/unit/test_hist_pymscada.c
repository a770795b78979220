/* The history store reading pymscada's own files
 * (../shared/fixtures/pymscada-history/, README there): hist_tag_0's int
 * records split over four files with the decoy hist_tag_0_10_2.dat
 * ignored, hist_tag_1's forecast resolved to the series the README lists,
 * and tag_1's 2.5 MB of real data against a plain reference reader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/file.h"
#include "mscada/error.h"
#include "mscada/history.h"
#include "ms_fixture.h"

#define FIXTURES ms_fixture("pymscada-history")

static ms_hist_store *open_fixtures(void)
{
    ms_hist_store *s;
    char why[256];
    assert_int_equal(ms_hist_store_open(&s, FIXTURES, NULL, why, sizeof why),
                     0);
    return s;
}

static void test_hist_tag_0(void **state)
{
    (void)state;
    ms_hist_store *s = open_fixtures();
    ms_hist_series *h;
    char why[256];
    assert_int_equal(ms_hist_series_add(s, "hist_tag_0", MS_TYPE_INT, &h, why,
                                        sizeof why), 0);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 60);
    const int64_t head[5] = {255, 65535, 4294967295, INT64_MAX, INT64_MIN};
    for (size_t t = 0; t < 60; t++) {
        assert_true(r.recs[t].time_us == t);
        int64_t want = t < 5    ? head[t]
                       : t < 11 ? 0
                       : t < 50 ? (int64_t)t - 10
                                : (int64_t)t;
        assert_int_equal(r.recs[t].u.i, want);
    }
    /* Ranges across the file splits after times 14, 25 and 49. */
    assert_int_equal(ms_hist_series_query(h, 14, 27, 0, &r), 0);
    assert_int_equal(r.len, 13);
    assert_true(r.recs[0].time_us == 14 && r.recs[12].time_us == 26);
    assert_int_equal(r.recs[1].u.i, 5);
    assert_int_equal(ms_hist_series_query(h, 49, 51, 0, &r), 0);
    assert_int_equal(r.len, 2);
    assert_int_equal(r.recs[0].u.i, 39);
    assert_int_equal(r.recs[1].u.i, 50);
    assert_int_equal(ms_hist_series_query(h, 60, 1000, 0, &r), 0);
    assert_int_equal(r.len, 0);
    /* The decoy belongs to "hist_tag_0_10", which has no records. */
    assert_int_equal(ms_hist_series_add(s, "hist_tag_0_10", MS_TYPE_INT, &h,
                                        why, sizeof why), 0);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 0);
    ms_hist_result_free(&r);
    ms_hist_store_close(s);
}

static void test_hist_tag_1_forecast(void **state)
{
    (void)state;
    ms_hist_store *s = open_fixtures();
    ms_hist_series *h;
    char why[256];
    assert_int_equal(ms_hist_series_add(s, "hist_tag_1", MS_TYPE_FLOAT, &h,
                                        why, sizeof why), 0);
    ms_hist_result r = {0};
    const double want[10] = {0.01, 1.02, 2.03, 3.04, 0.05,
                             1.06, 2.07, 3.08, 4.08, 5.08};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 10);
    for (size_t t = 0; t < 10; t++) {
        assert_true(r.recs[t].time_us == t);
        assert_true(r.recs[t].u.f == want[t]);
    }
    /* Time 5's last word is in the file named _6: a range that ends
     * before 6 still finds it. */
    assert_int_equal(ms_hist_series_query(h, 5, 6, 0, &r), 0);
    assert_int_equal(r.len, 1);
    assert_true(r.recs[0].u.f == 1.06);
    assert_int_equal(ms_hist_series_query(h, 3, 5, 0, &r), 0);
    assert_int_equal(r.len, 2);
    assert_true(r.recs[0].u.f == 3.04 && r.recs[1].u.f == 0.05);
    ms_hist_result_free(&r);
    ms_hist_store_close(s);
}

/* ---- tag_1 against a plain reader ---------------------------------------- */

typedef struct {
    uint64_t t;
    size_t seq;
    double v;
} ref;

static int cmp_ref(const void *x, const void *y)
{
    const ref *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Every record of both files in write order, sorted by (time, order), the
 * last of each time kept. */
static size_t reference(ref **out)
{
    char files[2][4200];
    snprintf(files[0], sizeof files[0], "%s/tag_1_1000000.dat", FIXTURES);
    snprintf(files[1], sizeof files[1], "%s/tag_1_1065656.dat", FIXTURES);
    ref *all = NULL;
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        uint8_t *b;
        size_t len;
        assert_int_equal(ms_file_read_all(files[i], 1 << 24, &b, &len), 0);
        all = realloc(all, (n + len / 16) * sizeof *all);
        for (size_t k = 0; k + 16 <= len; k += 16, n++) {
            uint64_t bits = ms_get_u64(b + k + 8);
            all[n].t = ms_get_u64(b + k);
            all[n].seq = n;
            memcpy(&all[n].v, &bits, 8);
        }
        free(b);
    }
    qsort(all, n, sizeof *all, cmp_ref);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || all[i + 1].t != all[i].t)
            all[w++] = all[i];
    *out = all;
    return w;
}

static void same_as_ref(const ms_hist_result *r, const ref *x, size_t n,
                        uint64_t a, uint64_t b)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i].t < a || x[i].t >= b)
            continue;
        assert_true(k < r->len);
        assert_true(r->recs[k].time_us == x[i].t);
        assert_memory_equal(&r->recs[k].u.f, &x[i].v, 8);
        k++;
    }
    assert_int_equal(k, r->len);
}

static void test_tag_1_real(void **state)
{
    (void)state;
    ref *x;
    size_t n = reference(&x);
    assert_true(n > 60000);
    ms_hist_store *s = open_fixtures();
    ms_hist_series *h;
    char why[256];
    assert_int_equal(ms_hist_series_add(s, "tag_1", MS_TYPE_FLOAT, &h, why,
                                        sizeof why), 0);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    same_as_ref(&r, x, n, 0, UINT64_MAX);
    uint64_t ranges[][2] = {{1000000, 1000001}, {1030000, 1040000},
                            {1065000, 1066000}, {1066500, 2000000},
                            {0, 1000000}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        assert_int_equal(ms_hist_series_query(h, ranges[i][0], ranges[i][1],
                                              0, &r), 0);
        same_as_ref(&r, x, n, ranges[i][0], ranges[i][1]);
    }
    /* Downsampled to 2000: a slow sine keeps its peaks and troughs. */
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 2000, &r), 0);
    assert_true(r.len <= 2000 && r.len > 100);
    double lo = 0, hi = 0, rlo = 0, rhi = 0;
    for (size_t i = 0; i < r.len; i++) {
        lo = fmin(lo, r.recs[i].u.f);
        hi = fmax(hi, r.recs[i].u.f);
    }
    for (size_t i = 0; i < n; i++) {
        rlo = fmin(rlo, x[i].v);
        rhi = fmax(rhi, x[i].v);
    }
    assert_true(lo == rlo && hi == rhi);
    ms_hist_result_free(&r);
    ms_hist_store_close(s);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_tag_0),
        cmocka_unit_test(test_hist_tag_1_forecast),
        cmocka_unit_test(test_tag_1_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
