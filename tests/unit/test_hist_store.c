/* The history store (src/apps/history/hist_store.c, hist_query.c, hist_read.c,
 * hist_dir.c) on real files in a temp folder: the byte layout and names of
 * what it writes, reads and writes across chunk and file boundaries, range
 * edges, buffered records in queries, torn and zero-filled tails, out of
 * order and duplicate times, retention, refused names, a failing disk
 * (RLIMIT_FSIZE), reopening, and a randomised run against a reference. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/file.h"
#include "mscada/error.h"
#include "mscada/history.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct {
    char dir[64];
    ms_hist_store *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ms-hist-test.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ms_hist_store_close(f->s);
    DIR *d = opendir(f->dir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static ms_hist_store *open_store(fx *f, uint64_t file_records,
                                 size_t chunk_records)
{
    ms_hist_store_close(f->s);
    ms_hist_opts o;
    ms_hist_opts_default(&o);
    o.file_records = file_records;
    o.chunk_records = chunk_records;
    char why[256];
    assert_int_equal(ms_hist_store_open(&f->s, f->dir, &o, why, sizeof why),
                     0);
    return f->s;
}

static ms_hist_series *series(ms_hist_store *s, const char *name, ms_type t)
{
    ms_hist_series *h;
    char why[256];
    assert_int_equal(ms_hist_series_add(s, name, t, &h, why, sizeof why), 0);
    return h;
}

static off_t file_size(const fx *f, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void write_file(const fx *f, const char *name, const uint8_t *b,
                       size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    assert_int_equal(ms_file_write_atomic(p, b, len), 0);
}

static size_t count_files(const fx *f)
{
    size_t n = 0;
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* r holds exactly times t0, t0+1, ... t1-1 with value time*10. */
static void expect_run(const ms_hist_result *r, uint64_t t0, uint64_t t1)
{
    assert_int_equal(r->len, t1 > t0 ? t1 - t0 : 0);
    for (size_t i = 0; i < r->len; i++) {
        assert_true(r->recs[i].time_us == t0 + i);
        assert_int_equal(r->recs[i].u.i, (int64_t)(t0 + i) * 10);
    }
}

static void put_rec(uint8_t *p, uint64_t t, uint64_t bits)
{
    ms_put_u64(p, t);
    ms_put_u64(p + 8, bits);
}

/* ---- tests --------------------------------------------------------------- */

static void test_layout(void **state)
{
    fx *f = *state;
    ms_hist_store *s = open_store(f, 100, 8);
    ms_hist_series *hi = series(s, "Level", MS_TYPE_INT);
    ms_hist_series *hf = series(s, "Flow", MS_TYPE_FLOAT);
    assert_int_equal(ms_hist_series_append_int(hi, 1700000000000000, -3), 0);
    assert_int_equal(ms_hist_series_append_int(hi, 1700000000000001, 256), 0);
    assert_int_equal(ms_hist_series_append_float(hf, 42, -2.0), 0);
    assert_int_equal(ms_hist_store_flush(s), 0);
    static const uint8_t want_i[32] = {
        0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00, /* 1.7e15 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, /* -3 */
        0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
    static const uint8_t want_f[16] = {0, 0, 0, 0, 0, 0, 0, 42,
                                       0xc0, 0, 0, 0, 0, 0, 0, 0};
    char p[512];
    uint8_t *b;
    size_t len;
    snprintf(p, sizeof p, "%s/Level_1700000000000000.dat", f->dir);
    assert_int_equal(ms_file_read_all(p, 1 << 20, &b, &len), 0);
    assert_int_equal(len, 32);
    assert_memory_equal(b, want_i, 32);
    free(b);
    snprintf(p, sizeof p, "%s/Flow_42.dat", f->dir);
    assert_int_equal(ms_file_read_all(p, 1 << 20, &b, &len), 0);
    assert_int_equal(len, 16);
    assert_memory_equal(b, want_f, 16);
    free(b);
    assert_int_equal(count_files(f), 2);
}

static void test_boundaries(void **state)
{
    fx *f = *state;
    /* Chunks of 4 records, files of 10: 35 records make 4 files. */
    ms_hist_store *s = open_store(f, 10, 4);
    ms_hist_series *h = series(s, "T", MS_TYPE_INT);
    ms_hist_result r = {0};
    for (uint64_t t = 100; t < 135; t++) {
        assert_int_equal(ms_hist_series_append_int(h, t, (int64_t)t * 10), 0);
        /* Everything appended so far is visible, written or not. */
        if (t % 7 == 0) {
            assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r),
                             0);
            expect_run(&r, 100, t + 1);
        }
    }
    assert_true(ms_hist_store_buffered(s) == 3); /* 35 = 8 * 4 + 3 */
    assert_true(file_size(f, "T_100.dat") == 160);
    assert_true(file_size(f, "T_110.dat") == 160);
    assert_true(file_size(f, "T_120.dat") == 160);
    assert_true(file_size(f, "T_130.dat") == 32);
    /* Every range that crosses a chunk or file edge. */
    for (uint64_t a = 95; a < 140; a++)
        for (uint64_t b = a; b < 141; b += 3) {
            assert_int_equal(ms_hist_series_query(h, a, b, 0, &r), 0);
            uint64_t lo = a < 100 ? 100 : a, hi = b > 135 ? 135 : b;
            expect_run(&r, lo, hi > lo ? hi : lo);
        }
    assert_int_equal(ms_hist_store_flush(s), 0);
    assert_true(file_size(f, "T_130.dat") == 80);
    /* Reopened: the same records, and appends continue the last file. */
    s = open_store(f, 10, 4);
    h = series(s, "T", MS_TYPE_INT);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    expect_run(&r, 100, 135);
    for (uint64_t t = 135; t < 142; t++)
        assert_int_equal(ms_hist_series_append_int(h, t, (int64_t)t * 10), 0);
    assert_int_equal(ms_hist_store_flush(s), 0);
    assert_true(file_size(f, "T_130.dat") == 160);
    assert_true(file_size(f, "T_140.dat") == 32);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    expect_run(&r, 100, 142);
    ms_hist_result_free(&r);
}

static void test_ranges(void **state)
{
    fx *f = *state;
    ms_hist_store *s = open_store(f, 1000, 16);
    ms_hist_series *h = series(s, "R", MS_TYPE_INT);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 0); /* no files at all */
    for (uint64_t t = 1000; t <= 5000; t += 1000)
        ms_hist_series_append_int(h, t, (int64_t)t * 10);
    assert_int_equal(ms_hist_store_flush(s), 0);
    struct {
        uint64_t a, b;
        size_t n;
    } cases[] = {
        {0, 1000, 0},      /* before the first */
        {0, 1001, 1},      /* up to and including the first */
        {5001, 9999, 0},   /* after the last */
        {5000, 5001, 1},   /* exactly the last */
        {1001, 2000, 0},   /* between two records */
        {3000, 3000, 0},   /* empty */
        {4000, 3000, 0},   /* reversed */
        {2000, 4000, 2},   /* B excluded */
        {0, UINT64_MAX, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.len = 99;
        assert_int_equal(ms_hist_series_query(h, cases[i].a, cases[i].b, 0,
                                              &r), 0);
        assert_int_equal(r.len, cases[i].n);
        for (size_t k = 0; k < r.len; k++)
            assert_true(r.recs[k].time_us >= cases[i].a &&
                        r.recs[k].time_us < cases[i].b);
    }
    ms_hist_result_free(&r);
}

static void test_torn_tail(void **state)
{
    fx *f = *state;
    uint8_t b[3 * 16 + 7];
    memset(b, 0xee, sizeof b);
    for (int i = 0; i < 3; i++)
        put_rec(b + i * 16, 10 + (uint64_t)i, (uint64_t)i);
    write_file(f, "Torn_10.dat", b, sizeof b);
    ms_hist_store *s = open_store(f, 1000, 4);
    ms_hist_series *h = series(s, "Torn", MS_TYPE_INT);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 3);
    assert_true(r.recs[2].time_us == 12);
    /* The torn record is cut before the next one goes in. */
    ms_hist_series_append_int(h, 13, 3);
    assert_int_equal(ms_hist_store_flush(s), 0);
    assert_true(file_size(f, "Torn_10.dat") == 64);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(r.recs[i].time_us == 10 + i);
        assert_int_equal(r.recs[i].u.i, (int64_t)i);
    }
    ms_hist_result_free(&r);
}

static void test_zero_tail(void **state)
{
    fx *f = *state;
    /* A power cut: the length reached the disk, a page of data did not. */
    uint8_t b[4096 + 16 * 3] = {0};
    for (int i = 0; i < 3; i++)
        put_rec(b + i * 16, 10 + (uint64_t)i, 0x3ff0000000000000u);
    write_file(f, "Z_10.dat", b, sizeof b);
    write_file(f, "Zall_5.dat", b + 3 * 16, 4096 - 1); /* zeros, torn too */
    ms_hist_store *s = open_store(f, 1000, 4);
    ms_hist_series *h = series(s, "Z", MS_TYPE_FLOAT);
    ms_hist_series *z = series(s, "Zall", MS_TYPE_FLOAT);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 3);
    assert_true(r.recs[0].u.f == 1.0 && r.recs[2].time_us == 12);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 10, &r), 0);
    assert_int_equal(r.len, 3);
    assert_int_equal(ms_hist_series_query(z, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 0);
    ms_hist_series_append_float(h, 13, 2.0);
    ms_hist_series_append_float(z, 6, 2.0);
    assert_int_equal(ms_hist_store_flush(s), 0);
    assert_true(file_size(f, "Z_10.dat") == 64);
    assert_true(file_size(f, "Zall_5.dat") == 16);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 4);
    assert_true(r.recs[3].time_us == 13 && r.recs[3].u.f == 2.0);
    assert_int_equal(ms_hist_series_query(z, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 1);
    /* A record of 16 zero bytes can't be appended: it reads as a hole. */
    assert_int_equal(ms_hist_series_append_float(z, 0, 0.0), MS_EINVAL);
    ms_hist_result_free(&r);
}

static void test_zero_hole_inside(void **state)
{
    fx *f = *state;
    /* Lost write inside the file: the hole is skipped, the rest read. */
    uint8_t b[6 * 16] = {0};
    put_rec(b, 10, 1);
    put_rec(b + 16, 11, 2);
    put_rec(b + 64, 14, 5);
    put_rec(b + 80, 15, 6);
    write_file(f, "H_10.dat", b, sizeof b);
    ms_hist_store *s = open_store(f, 1000, 4);
    ms_hist_series *h = series(s, "H", MS_TYPE_INT);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 4);
    assert_true(r.recs[1].time_us == 11 && r.recs[2].time_us == 14);
    assert_int_equal(ms_hist_series_query(h, 11, 15, 0, &r), 0);
    assert_int_equal(r.len, 2);
    ms_hist_result_free(&r);
}

static void test_out_of_order(void **state)
{
    fx *f = *state;
    ms_hist_store *s = open_store(f, 5, 5);
    ms_hist_series *h = series(s, "F", MS_TYPE_INT);
    /* A forecast re-sending times, across chunks, files and the buffer:
     * each round r sends times r..r+2 with value 100 r + t. */
    for (uint64_t round = 1; round <= 8; round++)
        for (uint64_t t = round; t < round + 3; t++)
            ms_hist_series_append_int(h, t, (int64_t)(100 * round + t));
    assert_true(ms_hist_store_buffered(s) > 0);
    ms_hist_result r = {0};
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
        assert_int_equal(r.len, 10);
        for (uint64_t t = 1; t <= 10; t++) {
            uint64_t last_round = t > 8 ? 8 : t; /* the latest that sent t */
            assert_true(r.recs[t - 1].time_us == t);
            assert_int_equal(r.recs[t - 1].u.i, (int64_t)(100 * last_round + t));
        }
        assert_int_equal(ms_hist_series_query(h, 4, 6, 0, &r), 0);
        assert_int_equal(r.len, 2);
        assert_int_equal(r.recs[0].u.i, 404);
        assert_int_equal(r.recs[1].u.i, 505);
        assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 4, &r), 0);
        assert_true(r.len <= 4 && r.len >= 2);
        assert_int_equal(ms_hist_store_flush(s), 0);
    }
    /* Name order is write order: no file is named before the previous. */
    DIR *d = opendir(f->dir);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d)))
        n += de->d_name[0] == 'F';
    closedir(d);
    assert_true(n >= 2);
    ms_hist_result_free(&r);
}

static void test_retention(void **state)
{
    fx *f = *state;
    ms_hist_store *s = open_store(f, 10, 10);
    ms_hist_series *h = series(s, "K", MS_TYPE_INT);
    ms_hist_series *o = series(s, "K_1", MS_TYPE_INT); /* a prefix's files */
    for (uint64_t t = 0; t < 50; t++) {
        ms_hist_series_append_int(h, 1000 + t, 1);
        ms_hist_series_append_int(o, 1000 + t, 1);
    }
    assert_int_equal(ms_hist_store_flush(s), 0);
    assert_int_equal(count_files(f), 10); /* K_1000 .. K_1040, K_1_... */
    /* K_1010 starts before 1015: K_1000 holds only older data and goes.
     * K_1010 stays: K_1020 does not start before the cutoff. */
    assert_int_equal(ms_hist_store_retain(s, 1015), 2);
    assert_true(file_size(f, "K_1000.dat") < 0);
    assert_true(file_size(f, "K_1010.dat") == 160);
    assert_true(file_size(f, "K_1_1010.dat") == 160);
    assert_int_equal(ms_hist_store_retain(s, 1020), 0); /* not "before" */
    /* The newest file stays, however old. */
    assert_int_equal(ms_hist_store_retain(s, UINT64_MAX), 6);
    assert_true(file_size(f, "K_1040.dat") == 160);
    assert_true(file_size(f, "K_1_1040.dat") == 160);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, 10);
    ms_hist_result_free(&r);
}

static void test_names_refused(void **state)
{
    fx *f = *state;
    ms_hist_store *s = open_store(f, 10, 10);
    ms_hist_series *h;
    char why[256] = "";
    char longname[300];
    memset(longname, 'x', sizeof longname);
    longname[201] = '\0';
    assert_int_equal(ms_hist_series_add(s, "a/b", MS_TYPE_INT, &h, why,
                                        sizeof why), MS_EINVAL);
    assert_non_null(strstr(why, "a/b"));
    assert_int_equal(ms_hist_series_add(s, longname, MS_TYPE_INT, &h, why,
                                        sizeof why), MS_EINVAL);
    assert_int_equal(ms_hist_series_add(s, "", MS_TYPE_INT, &h, why,
                                        sizeof why), MS_EINVAL);
    assert_int_equal(ms_hist_series_add(s, "S", MS_TYPE_STR, &h, why,
                                        sizeof why), MS_ETYPE);
    ms_hist_series *a = series(s, "A", MS_TYPE_INT);
    assert_ptr_equal(series(s, "A", MS_TYPE_INT), a);
    assert_ptr_equal(ms_hist_series_find(s, "A"), a);
    assert_null(ms_hist_series_find(s, "B"));
    assert_int_equal(ms_hist_series_add(s, "A", MS_TYPE_FLOAT, &h, why,
                                        sizeof why), MS_ETYPE);
    longname[200] = '\0';
    series(s, longname, MS_TYPE_FLOAT);
    /* Many series: the name table grows. */
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "tag%d", i);
        series(s, name, MS_TYPE_INT);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "tag%d", i);
        assert_string_equal(ms_hist_series_name(ms_hist_series_find(s, name)),
                            name);
    }
    char nowhere[] = "/nonexistent/mscada-hist";
    ms_hist_store *x;
    assert_int_equal(ms_hist_store_open(&x, nowhere, NULL, why, sizeof why),
                     MS_ENOENT);
    assert_non_null(strstr(why, nowhere));
}

/* A failing disk: RLIMIT_FSIZE makes writes past a size fail (EFBIG), as
 * ENOSPC would. Records stay buffered up to the cap, files stay whole, and
 * the next flush after the disk recovers writes everything. */
static void test_disk_full(void **state)
{
    fx *f = *state;
    ms_hist_opts o;
    ms_hist_opts_default(&o);
    o.file_records = 1000;
    o.chunk_records = 4;
    o.mem_cap = 64 * 16;
    char why[256];
    assert_int_equal(ms_hist_store_open(&f->s, f->dir, &o, why, sizeof why),
                     0);
    ms_hist_series *h = series(f->s, "D", MS_TYPE_INT);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 100; /* 6.25 records: the 7th is torn by the limit */
    setrlimit(RLIMIT_FSIZE, &lim);
    int fails = 0, full = 0;
    for (uint64_t t = 1; t <= 100; t++) {
        int rc = ms_hist_series_append_int(h, t, (int64_t)t * 10);
        fails += rc == MS_EIO;
        full += rc == MS_EFULL;
    }
    assert_true(fails >= 1);
    assert_true(full > 0);
    assert_int_equal(ms_hist_store_flush(f->s), MS_EIO);
    /* Only whole records on disk. */
    off_t sz = file_size(f, "D_1.dat");
    assert_true(sz == 96);
    size_t kept = 100 - (size_t)ms_hist_store_dropped(f->s);
    ms_hist_result r = {0};
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, kept);
    expect_run(&r, 1, kept + 1);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(ms_hist_store_flush(f->s), 0);
    assert_true(ms_hist_store_buffered(f->s) == 0);
    assert_true(file_size(f, "D_1.dat") == (off_t)(kept * 16));
    for (uint64_t t = 101; t <= 110; t++)
        assert_int_equal(ms_hist_series_append_int(h, t, (int64_t)t * 10), 0);
    assert_int_equal(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r), 0);
    assert_int_equal(r.len, kept + 10);
    ms_hist_result_free(&r);
}

/* ---- randomised, against a reference model -------------------------------- */

typedef struct {
    uint64_t t;
    int64_t v;
} ref_rec;

static void test_random(void **state)
{
    fx *f = *state;
    srand(12345);
    ms_hist_store *s = open_store(f, 37, 5);
    ms_hist_series *h = series(s, "Rnd", MS_TYPE_INT);
    enum { N = 3000, T = 2500 };
    static int64_t latest[T];
    static bool seen[T];
    uint64_t now = 1;
    ms_hist_result r = {0}, full = {0};
    for (int i = 0; i < N; i++) {
        /* Mostly forward, sometimes back (forecasts), sometimes repeats. */
        int k = rand() % 10;
        uint64_t t = k < 7 ? now++ : k < 9 ? now - (uint64_t)(rand() % 20)
                                           : now;
        if (t == 0 || t >= T)
            t = 1;
        int64_t v = (int64_t)rand() - RAND_MAX / 2;
        assert_int_equal(ms_hist_series_append_int(h, t, v), 0);
        latest[t] = v;
        seen[t] = true;
        if (rand() % 50 == 0)
            assert_int_equal(ms_hist_store_flush(s), 0);
        if (rand() % 300 == 0) { /* a restart */
            assert_int_equal(ms_hist_store_flush(s), 0);
            s = open_store(f, 37, 5);
            h = series(s, "Rnd", MS_TYPE_INT);
        }
        if (i % 100 != 99)
            continue;
        for (int q = 0; q < 20; q++) {
            uint64_t a = (uint64_t)(rand() % T), b = a + (uint64_t)(rand() % 300);
            assert_int_equal(ms_hist_series_query(h, a, b, 0, &r), 0);
            size_t n = 0;
            for (uint64_t x = a; x < b && x < T; x++) {
                if (!seen[x])
                    continue;
                assert_true(n < r.len);
                assert_true(r.recs[n].time_us == x);
                assert_int_equal(r.recs[n].u.i, latest[x]);
                n++;
            }
            assert_int_equal(n, r.len);
            /* Downsampled: the same as downsampling the full answer. */
            assert_int_equal(ms_hist_series_query(h, a, b, 16, &r), 0);
            assert_int_equal(ms_hist_series_query(h, a, b, 0, &full), 0);
            assert_int_equal(ms_hist_downsample(&full, MS_TYPE_INT, 16), 0);
            assert_int_equal(r.len, full.len);
            if (r.len)
                assert_memory_equal(r.recs, full.recs, r.len * sizeof *r.recs);
        }
    }
    ms_hist_result_free(&r);
    ms_hist_result_free(&full);
}

/* Ordered files and an ordered buffer take the streaming path when
 * downsampled; it must agree with the gathered answer. */
static void test_stream_equals_gather(void **state)
{
    fx *f = *state;
    ms_hist_store *s = open_store(f, 1000, 100);
    ms_hist_series *h = series(s, "S", MS_TYPE_FLOAT);
    for (uint64_t t = 0; t < 5050; t++)
        ms_hist_series_append_float(h, 1000 + t * 3,
                                    (double)((t * 7919) % 1013));
    ms_hist_result r = {0}, full = {0};
    uint64_t ranges[][2] = {{0, UINT64_MAX}, {2000, 9000}, {4000, 4100}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ms_hist_series_query(h, ranges[i][0], ranges[i][1],
                                              200, &r), 0);
        assert_int_equal(ms_hist_series_query(h, ranges[i][0], ranges[i][1],
                                              0, &full), 0);
        assert_int_equal(ms_hist_downsample(&full, MS_TYPE_FLOAT, 200), 0);
        assert_int_equal(r.len, full.len);
        assert_true(r.len <= 200);
        assert_memory_equal(r.recs, full.recs, r.len * sizeof *r.recs);
    }
    ms_hist_result_free(&r);
    ms_hist_result_free(&full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_hole_inside, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_equals_gather, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
