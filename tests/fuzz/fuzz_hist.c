/* Fuzz target for reading history files (src/apps/history/hist_read.c,
 * hist_query.c) and cutting torn tails before appends (hist_store.c).
 *
 * The input's first byte picks where to split the rest into two files of
 * one tag (the newest, F_2, may hold any bytes, as after a crash). A
 * full-range query must match a plain reference: every whole, non-zero
 * record outside the zero tail, sorted by time, the last written per time.
 * Sub-ranges must be the matching slices, a downsampled query at most 8
 * records in time order. Then one record is appended: the file must be a
 * whole number of records afterwards and the query must still match.
 *
 * Speed: the store only works on files, so the two files are written with
 * plain write(2) (no fsync, no rename: ms_file_write_atomic's fsyncs cost
 * milliseconds each) into a folder on tmpfs (/dev/shm when there is one),
 * and the store runs with sync off. Records are 16 bytes and the
 * interesting cases need a handful: run.sh caps inputs at 1 KiB.
 *
 * fuzz-options: -max_len=1024 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "mscada/error.h"
#include "mscada/history.h"
#include "mscada/log.h"

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_hist: invariant broken: %s\n", what);
        abort();
    }
}

static char dir[64];

/* The whole of p to path, truncating, without syncing. */
static int put_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static void cleanup(void)
{
    char p[sizeof dir + 256 + 2];
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
}

static void remove_dir(void)
{
    cleanup();
    rmdir(dir);
}

typedef struct {
    uint64_t t, seq, bits;
} ref;

static int cmp_ref(const void *x, const void *y)
{
    const ref *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Whole records before the zero tail, holes skipped. */
static size_t add_refs(ref *out, size_t n, const uint8_t *p, size_t len)
{
    size_t whole = ms_hist_tail_trim(p, len / 16);
    for (size_t i = 0; i < whole; i++) {
        if (ms_hist_rec_is_hole(p + i * 16))
            continue;
        out[n].t = ms_get_u64(p + i * 16);
        out[n].bits = ms_get_u64(p + i * 16 + 8);
        out[n].seq = n;
        n++;
    }
    return n;
}

static size_t resolve(ref *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_ref);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || x[i + 1].t != x[i].t)
            x[w++] = x[i];
    return w;
}

static void same(const ms_hist_result *r, const ref *x, size_t n, uint64_t a,
                 uint64_t b)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i].t < a || x[i].t >= b)
            continue;
        check(k < r->len, "query returned too few records");
        uint64_t bits;
        memcpy(&bits, &r->recs[k].u, 8);
        check(r->recs[k].time_us == x[i].t && bits == x[i].bits,
              "query differs from the reference");
        k++;
    }
    check(k == r->len, "query returned too many records");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        /* The store warns of every torn tail it cuts: most inputs. */
        ms_log_setup("fuzz_hist", MS_LOG_ERROR);
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/ms-fuzz-hist.XXXXXX", base);
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    cleanup();
    if (size == 0)
        return 0;
    size_t split = (size_t)data[0] * 16;
    data++;
    size--;
    if (split > size)
        split = size;
    char p1[128], p2[128];
    snprintf(p1, sizeof p1, "%s/F_1.dat", dir);
    snprintf(p2, sizeof p2, "%s/F_2.dat", dir);
    if (put_file(p1, data, split) < 0 ||
        put_file(p2, data + split, size - split) < 0)
        abort();

    ref *x = malloc((size / 16 + 2) * sizeof *x);
    size_t n = add_refs(x, 0, data, split);
    n = add_refs(x, n, data + split, size - split);
    size_t before = n;
    ref *copy = malloc((n + 2) * sizeof *x);
    memcpy(copy, x, n * sizeof *x);
    n = resolve(x, n);

    ms_hist_store *s;
    ms_hist_series *h;
    ms_hist_opts o;
    ms_hist_opts_default(&o);
    o.chunk_records = 2;
    o.sync = false;
    check(ms_hist_store_open(&s, dir, &o, NULL, 0) == 0, "open failed");
    check(ms_hist_series_add(s, "F", MS_TYPE_INT, &h, NULL, 0) == 0,
          "add failed");
    ms_hist_result r = {0};
    check(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r) == 0, "query failed");
    same(&r, x, n, 0, UINT64_MAX);
    for (size_t i = 0; i + 1 < n && i < 4; i++) {
        uint64_t a = x[i].t, b = x[n - 1 - i].t;
        check(ms_hist_series_query(h, a, b, 0, &r) == 0, "query failed");
        same(&r, x, n, a, b);
        check(ms_hist_series_query(h, a + 1, b, 0, &r) == 0, "query failed");
        same(&r, x, n, a + 1, b);
    }
    check(ms_hist_series_query(h, 0, UINT64_MAX, 8, &r) == 0, "query failed");
    check(r.len <= 8 && r.len <= n, "downsampled too many");
    for (size_t i = 1; i < r.len; i++)
        check(r.recs[i].time_us > r.recs[i - 1].time_us, "not in time order");

    /* Append one record after whatever the tail was. */
    uint64_t t = 77;
    check(ms_hist_series_append_int(h, t, 7) == 0, "append failed");
    check(ms_hist_store_flush(s) == 0, "flush failed");
    uint8_t *b;
    size_t len;
    check(ms_file_read_all(p2, 1 << 26, &b, &len) == 0, "read failed");
    check(len % 16 == 0, "appended file is not whole records");
    check(len >= 16 && ms_get_u64(b + len - 16) == t, "record not last");
    free(b);
    copy[before].t = t;
    copy[before].bits = 7;
    copy[before].seq = before;
    n = resolve(copy, before + 1);
    check(ms_hist_series_query(h, 0, UINT64_MAX, 0, &r) == 0, "query failed");
    same(&r, copy, n, 0, UINT64_MAX);

    ms_hist_result_free(&r);
    ms_hist_store_close(s);
    free(x);
    free(copy);
    return 0;
}
