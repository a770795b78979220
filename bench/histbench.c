/* histbench: speed of the history store (src/apps/history/) without the bus.
 *
 *   histbench [--days N] [--tags T] [--values N] [--dir DIR] [--keep]
 *
 * 1. Append rate: N values round-robin over T tags through
 *    ms_hist_series_append, buffers written to files as they fill, the
 *    rest at the end: values/s on one core, the writes included.
 * 2. Query: a year (or --days) of 1-second float data for one tag (31.5 M
 *    records, ~500 MB, files of 6,553,600 records) written by the store.
 *    Then, beside a plain linear scan of the same files in the same run:
 *    a 1-day range, and the full range with max_points 2000. The first
 *    query after opening also learns each file's order once (a full read);
 *    it is shown apart. Page cache warm: the data was just written.
 * Data lives in a temp folder under /tmp (or DIR), deleted at the end. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mscada/error.h"
#include "mscada/history.h"

#include "benchutil.h"

#define T0 1735689600000000u /* 2025-01-01T00:00:00Z */
#define DAY_US 86400000000u

static void die(const char *what, int rc)
{
    fprintf(stderr, "histbench: %s: %s\n", what, ms_strerror(rc));
    exit(1);
}

/* ---- the store ------------------------------------------------------------ */

/* Makes the folder base/histbench-NAME.XXXXXX (its path put in dir). */
static void make_dir(char *dir, size_t cap, const char *base,
                     const char *name)
{
    snprintf(dir, cap, "%s/histbench-%s.XXXXXX", base, name);
    if (!mkdtemp(dir))
        die("mkdtemp", MS_EIO);
}

static ms_hist_store *store_open(const char *dir)
{
    ms_hist_store *s;
    char why[256];
    int rc = ms_hist_store_open(&s, dir, NULL, why, sizeof why);
    if (rc < 0)
        die(why, rc);
    return s;
}

static ms_hist_series *float_series(ms_hist_store *s, const char *name)
{
    ms_hist_series *h;
    char why[256];
    int rc = ms_hist_series_add(s, name, MS_TYPE_FLOAT, &h, why, sizeof why);
    if (rc < 0)
        die(why, rc);
    return h;
}

/* ---- the plain linear scan ------------------------------------------------ */

/* Reads every file of tag in dir whole, keeps a <= t < b, then resolves:
 * what a reader without binary search or per-file facts would do. */
static void linear(const char *dir, const char *tag, uint64_t a, uint64_t b,
                   ms_hist_result *r)
{
    r->len = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    char p[1024];
    while ((de = readdir(d))) {
        size_t tl;
        uint64_t t;
        if (ms_hist_file_parse(de->d_name, &tl, &t) < 0 ||
            strlen(tag) != tl || memcmp(tag, de->d_name, tl) != 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        int fd = open(p, O_RDONLY);
        ssize_t n;
        size_t carry = 0;
        while ((n = read(fd, buf + carry, cap - carry)) > 0) {
            size_t len = carry + (size_t)n, k;
            for (k = 0; k + 16 <= len; k += 16) {
                ms_hist_rec rec;
                ms_hist_rec_decode(buf + k, &rec);
                if (rec.time_us < a || rec.time_us >= b)
                    continue;
                if (r->len == r->cap) {
                    r->cap = r->cap ? r->cap * 2 : 1024;
                    r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
                }
                r->recs[r->len++] = rec;
            }
            carry = len - k;
            memmove(buf, buf + k, carry);
        }
        close(fd);
    }
    closedir(d);
    free(buf);
    /* readdir order is not time order: sort and resolve. */
    long n = ms_hist_resolve(r->recs, r->len);
    if (n < 0)
        die("resolve", (int)n);
    r->len = (size_t)n;
}

/* ---- 1: append rate ------------------------------------------------------- */

static void bench_append(const char *base, int tags, uint64_t values)
{
    char dir[512];
    make_dir(dir, sizeof dir, base, "append");
    ms_hist_store *s = store_open(dir);
    ms_hist_series **h = calloc((size_t)tags, sizeof *h);
    char name[64];
    int rc;
    for (int i = 0; i < tags; i++) {
        snprintf(name, sizeof name, "bench_%d", i);
        h[i] = float_series(s, name);
    }
    double t = bench_now_s();
    uint64_t time_us = T0;
    for (uint64_t v = 0; v < values;) {
        for (int i = 0; i < tags && v < values; i++, v++)
            if ((rc = ms_hist_series_append_float(h[i], time_us,
                                                  (double)v)) < 0)
                die("append", rc);
        time_us += 1000;
    }
    if ((rc = ms_hist_store_flush(s)) < 0)
        die("flush", rc);
    double dt = bench_now_s() - t;
    printf("append   %d tags, %" PRIu64 " values: %.3f s, %.1f M values/s "
           "(%.0f MB/s to files)\n",
           tags, values, dt, (double)values / dt / 1e6,
           (double)values * 16 / dt / 1e6);
    ms_hist_store_close(s);
    free(h);
    bench_rm_dir(dir);
}

/* ---- 2: a year for one tag ------------------------------------------------ */

static void report(const char *what, double store_s, size_t n_store,
                   double lin_s, size_t n_lin)
{
    printf("%-34s store %9.3f ms (%zu records)   linear scan %9.1f ms (%zu "
           "records)   x%.0f\n",
           what, store_s * 1e3, n_store, lin_s * 1e3, n_lin, lin_s / store_s);
}

static void same(const ms_hist_result *x, const ms_hist_result *y)
{
    if (x->len != y->len ||
        (x->len && memcmp(x->recs, y->recs, x->len * sizeof *x->recs))) {
        fprintf(stderr, "histbench: store and linear scan disagree\n");
        exit(1);
    }
}

static void bench_query(const char *base, int days, bool keep)
{
    char dir[512];
    make_dir(dir, sizeof dir, base, "year");
    ms_hist_store *s = store_open(dir);
    ms_hist_series *h = float_series(s, "year");
    int rc;
    uint64_t n = (uint64_t)days * 86400;
    printf("generating %d days of 1 s data: %" PRIu64 " records, %.0f MB in "
           "%s\n",
           days, n, (double)n * 16 / 1e6, dir);
    double t = bench_now_s();
    for (uint64_t i = 0; i < n; i++) {
        double v = sin((double)i * 2 * M_PI / 86400) * 100 +
                   (double)((i * 7919) % 101) / 10;
        if ((rc = ms_hist_series_append_float(h, T0 + i * 1000000, v)) < 0)
            die("append", rc);
        if (i % (n / 10 ? n / 10 : 1) == 0) {
            printf("  %3.0f %%\r", 100.0 * (double)i / (double)n);
            fflush(stdout);
        }
    }
    ms_hist_store_close(s);
    double gen = bench_now_s() - t;
    printf("  written in %.2f s (%.1f M records/s, one tag)\n", gen,
           (double)n / gen / 1e6);

    /* Reopen: the store knows nothing of the files yet. */
    s = store_open(dir);
    h = float_series(s, "year");
    ms_hist_result r = {0}, l = {0};
    uint64_t mid = T0 + (uint64_t)(days / 2) * DAY_US;
    uint64_t a = mid + 3600000000u, b = a + DAY_US; /* 01:00 to 01:00 */
    t = bench_now_s();
    if ((rc = ms_hist_series_query(h, a, b, 0, &r)) < 0)
        die("query", rc);
    double first = bench_now_s() - t;
    printf("first query after open (reads each file once to learn its "
           "order): %.1f ms\n",
           first * 1e3);

    /* 1-day ranges: best of 20 at different days, and their mean. */
    double best = 1e9, sum = 0;
    int reps = 20;
    for (int i = 0; i < reps; i++) {
        uint64_t aa = T0 + (uint64_t)((i * 7919) % (days > 1 ? days - 1 : 1)) *
                               DAY_US + 1234567;
        t = bench_now_s();
        if ((rc = ms_hist_series_query(h, aa, aa + DAY_US, 0, &r)) < 0)
            die("query", rc);
        double dt = bench_now_s() - t;
        best = dt < best ? dt : best;
        sum += dt;
    }
    t = bench_now_s();
    ms_hist_series_query(h, a, b, 0, &r);
    double day_s = bench_now_s() - t;
    t = bench_now_s();
    linear(dir, "year", a, b, &l);
    double day_lin = bench_now_s() - t;
    same(&r, &l);
    report("1-day range", day_s, r.len, day_lin, l.len);
    printf("  (20 other days: best %.3f ms, mean %.3f ms)\n", best * 1e3,
           sum / reps * 1e3);

    /* Everything, downsampled to 2000 points. */
    double ds_best = 1e9;
    for (int i = 0; i < 3; i++) {
        t = bench_now_s();
        if ((rc = ms_hist_series_query(h, 0, UINT64_MAX, 2000, &r)) < 0)
            die("query", rc);
        double dt = bench_now_s() - t;
        ds_best = dt < ds_best ? dt : ds_best;
    }
    t = bench_now_s();
    linear(dir, "year", 0, UINT64_MAX, &l);
    size_t lin_n = l.len;
    if ((rc = ms_hist_downsample(&l, MS_TYPE_FLOAT, 2000)) < 0)
        die("downsample", rc);
    double all_lin = bench_now_s() - t;
    same(&r, &l);
    char what[64];
    snprintf(what, sizeof what, "all %d days, max_points 2000", days);
    report(what, ds_best, r.len, all_lin, lin_n);

    t = bench_now_s();
    if ((rc = ms_hist_series_query(h, 0, UINT64_MAX, 0, &r)) < 0)
        die("query", rc);
    printf("all %d days, every record (%zu): %.1f ms\n", days, r.len,
           (bench_now_s() - t) * 1e3);
    ms_hist_result_free(&r);
    ms_hist_result_free(&l);
    ms_hist_store_close(s);
    if (keep)
        printf("kept %s\n", dir);
    else
        bench_rm_dir(dir);
}

int main(int argc, char **argv)
{
    int days = 365, tags = 100;
    uint64_t values = 100000000;
    const char *base = "/tmp";
    bool keep = false, only_append = false, only_query = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--days") && i + 1 < argc)
            days = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tags") && i + 1 < argc)
            tags = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--values") && i + 1 < argc)
            values = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            keep = true;
        else if (!strcmp(argv[i], "--append"))
            only_append = true;
        else if (!strcmp(argv[i], "--query"))
            only_query = true;
        else {
            fprintf(stderr,
                    "usage: histbench [--days N] [--tags T] [--values N] "
                    "[--dir DIR] [--keep] [--append | --query]\n");
            return 2;
        }
    }
    if (days < 1 || tags < 1 || values < 1) {
        fprintf(stderr, "histbench: --days, --tags and --values must be "
                        "positive\n");
        return 2;
    }
    if (!only_query)
        bench_append(base, tags, values);
    if (!only_append)
        bench_query(base, days, keep);
    return 0;
}
