/* The bus snapshot codec (src/bus/bus_snapshot.c): round trips of every
 * kind of tag (only those with a value are kept), and the rejection of damaged or hand-made bad files, each
 * with MS_EPROTO and a reason. Also the file helpers it is saved with
 * (src/core/file.c): atomic writes, whole-file reads and CRC-32. */
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

#include "bus/bus_snapshot.h"
#include "bus/bus_tags.h"
#include "core/buf.h"
#include "core/file.h"
#include "mscada/error.h"
#include "mscada/value.h"

static const char magic[] = "MSCADA-SNAPSHOT 1\n";
#define MAGIC_LEN (sizeof magic - 1)

/* ---- helpers ------------------------------------------------------------- */

static ms_bus_tag *add(ms_bus_tags *t, const char *name, uint16_t id,
                       uint64_t time_us, const void *value, size_t len)
{
    int err = 0;
    ms_bus_tag *tag = ms_bus_tags_add(t, (const uint8_t *)name, strlen(name),
                                      id, &err);
    assert_non_null(tag);
    if (len || time_us)
        assert_int_equal(ms_bus_tag_store(tag, value, len, time_us), 0);
    return tag;
}

static void add_value(ms_bus_tags *t, const char *name, uint16_t id,
                      uint64_t time_us, ms_value v)
{
    uint8_t buf[64];
    long n = ms_value_encode(&v, buf, sizeof buf);
    assert_true(n > 0);
    add(t, name, id, time_us, buf, (size_t)n);
}

/* b holds a's tags that have a value (those a snapshot keeps): ids, names,
 * times, values; and no others. */
static void same_tables(const ms_bus_tags *a, const ms_bus_tags *b)
{
    size_t set = 0;
    for (uint32_t id = 0; id <= MS_BUS_MAX_ID; id++) {
        const ms_bus_tag *x = ms_bus_tags_get(a, (uint16_t)id),
                         *y = ms_bus_tags_get(b, (uint16_t)id);
        if (!x || !x->len) {
            assert_null(y);
            continue;
        }
        set++;
        assert_non_null(y);
        assert_int_equal(y->id, id);
        assert_int_equal(x->name_len, y->name_len);
        assert_string_equal(x->name, y->name);
        assert_true(x->time_us == y->time_us);
        assert_int_equal(x->len, y->len);
        if (x->len)
            assert_memory_equal(x->value, y->value, x->len);
        assert_null(y->author);
        assert_int_equal(y->nsubs, 0);
        /* Found by name too. */
        assert_ptr_equal(ms_bus_tags_find(b, (const uint8_t *)y->name,
                                          y->name_len),
                         y);
    }
    assert_int_equal(b->count, set);
}

/* A hand-made snapshot: records appended to a buffer, then the CRC. */
static void rec(ms_buf *b, uint16_t id, const char *name, size_t nl,
                uint64_t time_us, const void *value, uint32_t vl)
{
    uint8_t h[12];
    ms_put_u16(h, id);
    ms_put_u16(h + 2, (uint16_t)nl);
    assert_int_equal(ms_buf_append(b, h, 4), 0);
    assert_int_equal(ms_buf_append(b, name, nl), 0);
    ms_put_u64(h, time_us);
    ms_put_u32(h + 8, vl);
    assert_int_equal(ms_buf_append(b, h, 12), 0);
    assert_int_equal(ms_buf_append(b, value, vl), 0);
}

static void start(ms_buf *b, uint32_t count)
{
    uint8_t h[4];
    b->off = b->len = 0;
    assert_int_equal(ms_buf_append(b, magic, MAGIC_LEN), 0);
    ms_put_u32(h, count);
    assert_int_equal(ms_buf_append(b, h, 4), 0);
}

static void finish(ms_buf *b)
{
    uint8_t h[4];
    ms_put_u32(h, ms_crc32(0, ms_buf_head(b), ms_buf_size(b)));
    assert_int_equal(ms_buf_append(b, h, 4), 0);
}

static int decode(const uint8_t *p, size_t len, ms_bus_tags *t, char *why,
                  size_t whycap)
{
    assert_int_equal(ms_bus_tags_init(t), 0);
    why[0] = '\0';
    return ms_bus_snapshot_decode(p, len, t, why, whycap);
}

/* Decoding must fail with MS_EPROTO and a reason containing `word`. */
static void expect_bad(const uint8_t *p, size_t len, const char *word)
{
    ms_bus_tags t;
    char why[128];
    int rc = decode(p, len, &t, why, sizeof why);
    if (rc != MS_EPROTO)
        fail_msg("decode of a bad snapshot (%zu bytes) gave %d, want "
                 "MS_EPROTO (%s)", len, rc, word);
    assert_true(strlen(why) > 0);
    if (word && !strstr(why, word))
        fail_msg("why '%s' does not say '%s'", why, word);
    ms_bus_tags_free(&t);
}

/* ---- round trips ------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    ms_bus_tags t;
    assert_int_equal(ms_bus_tags_init(&t), 0);
    add(&t, "__bus__", 0, 1700000000123456ull, "\x03started", 8);
    add_value(&t, "an_int", 0, 1, ms_value_int(INT64_MIN));
    add_value(&t, "a_float", 0, 2, ms_value_float(-1.5e300));
    add_value(&t, "a_str", 0, 3, ms_value_buf(MS_TYPE_STR, "h\xc3\xa9", 3));
    add_value(&t, "a_bytes", 0, 4, ms_value_buf(MS_TYPE_BYTES, "\0\1\2", 3));
    add_value(&t, "a_json", 0, UINT64_MAX,
              ms_value_buf(MS_TYPE_JSON, "[1,{}]", 6));
    add(&t, "never_set", 0, 0, NULL, 0);
    add(&t, "empty_but_timed", 0, 99, NULL, 0);
    /* Ids with gaps (the last id is added below). */
    add(&t, "gap", 300, 5, "\x01\0\0\0\0\0\0\0\x07", 9);
    char longname[256];
    memset(longname, 'N', 255);
    longname[255] = '\0';
    add(&t, longname, 0, 7, "\x03n", 2);
    add(&t, "D\xc3\xbc" "sseldorf", 0, 8, "\x03u", 2);
    /* A 1 MB value. */
    size_t big = 1000000;
    uint8_t *bv = malloc(big);
    assert_non_null(bv);
    bv[0] = MS_TYPE_BYTES;
    for (size_t i = 1; i < big; i++)
        bv[i] = (uint8_t)(i * 131 + (i >> 11));
    add(&t, "big", 1000, 9, bv, big);
    free(bv);
    add(&t, "last_id", MS_BUS_MAX_ID, 6, "\x03z", 2);

    ms_buf out = {0};
    assert_int_equal(ms_bus_snapshot_encode(&t, &out), 0);
    const uint8_t *p = ms_buf_head(&out);
    size_t len = ms_buf_size(&out);
    assert_memory_equal(p, magic, MAGIC_LEN);
    /* never_set and empty_but_timed have no value: not kept. */
    assert_int_equal(ms_get_u32(p + MAGIC_LEN), t.count - 2);
    assert_int_equal(ms_get_u32(p + len - 4), ms_crc32(0, p, len - 4));

    ms_bus_tags u;
    char why[128];
    int rc = decode(p, len, &u, why, sizeof why);
    if (rc != 0)
        fail_msg("decode: %d %s", rc, why);
    same_tables(&t, &u);
    assert_null(ms_bus_tags_find(&u, (const uint8_t *)"never_set", 9));
    /* New ids continue after the highest restored one. */
    assert_int_equal(u.next_id, MS_BUS_MAX_ID + 1);
    int err = 0;
    assert_null(ms_bus_tags_add(&u, (const uint8_t *)"more", 4, 0, &err));
    assert_int_equal(err, MS_EFULL);

    /* Encoding the restored table gives the same bytes. */
    ms_buf again = {0};
    assert_int_equal(ms_bus_snapshot_encode(&u, &again), 0);
    assert_int_equal(ms_buf_size(&again), len);
    assert_memory_equal(ms_buf_head(&again), p, len);

    ms_buf_free(&again);
    ms_buf_free(&out);
    ms_bus_tags_free(&u);
    ms_bus_tags_free(&t);
}

static void test_round_trip_empty_and_next_id(void **state)
{
    (void)state;
    ms_bus_tags t, u;
    char why[128];
    assert_int_equal(ms_bus_tags_init(&t), 0);
    ms_buf out = {0};
    assert_int_equal(ms_bus_snapshot_encode(&t, &out), 0);
    assert_int_equal(ms_buf_size(&out), MAGIC_LEN + 8);
    assert_int_equal(decode(ms_buf_head(&out), ms_buf_size(&out), &u, why,
                            sizeof why),
                     0);
    assert_int_equal(u.count, 0);
    ms_bus_tags_free(&u);

    /* Records in any id order restore; the next new id follows the
     * highest one. A record without a value (older buses wrote them) is
     * dropped, and its id is not given out again. */
    start(&out, 4);
    rec(&out, 7, "seven", 5, 70, "\x03s", 2);
    rec(&out, 2, "two", 3, 20, "", 0);
    rec(&out, 40, "forty", 5, 400, "\x04\xff", 2);
    rec(&out, 50, "typo", 4, 0, "", 0);
    finish(&out);
    assert_int_equal(decode(ms_buf_head(&out), ms_buf_size(&out), &u, why,
                            sizeof why),
                     0);
    assert_int_equal(u.count, 2);
    assert_string_equal(ms_bus_tags_get(&u, 7)->name, "seven");
    assert_true(ms_bus_tags_get(&u, 40)->time_us == 400);
    assert_null(ms_bus_tags_get(&u, 2));
    assert_null(ms_bus_tags_get(&u, 50));
    assert_null(ms_bus_tags_find(&u, (const uint8_t *)"typo", 4));
    int err = 0;
    ms_bus_tag *n = ms_bus_tags_add(&u, (const uint8_t *)"new", 3, 0, &err);
    assert_non_null(n);
    assert_int_equal(n->id, 51);
    ms_bus_tags_free(&u);
    ms_bus_tags_free(&t);
    ms_buf_free(&out);
}

/* ---- rejections ------------------------------------------------------------ */

/* A small valid snapshot to damage. */
static void small(ms_buf *out)
{
    start(out, 2);
    rec(out, 1, "__bus__", 7, 11, "\x03started", 8);
    rec(out, 2, "pump", 4, 22, "\x01\0\0\0\0\0\0\0\x01", 9);
    finish(out);
}

static void test_reject_wrong_magic(void **state)
{
    (void)state;
    ms_buf b = {0};
    small(&b);
    uint8_t *p = ms_buf_head(&b);
    size_t len = ms_buf_size(&b);
    for (size_t i = 0; i < MAGIC_LEN; i++) {
        p[i] ^= 0x20;
        /* Even with a CRC that matches the change. */
        ms_put_u32(p + len - 4, ms_crc32(0, p, len - 4));
        expect_bad(p, len, "header");
        p[i] ^= 0x20;
    }
    /* Another version of the format. */
    p[MAGIC_LEN - 2] = '2';
    ms_put_u32(p + len - 4, ms_crc32(0, p, len - 4));
    expect_bad(p, len, NULL);
    expect_bad((const uint8_t *)"", 0, NULL);
    expect_bad((const uint8_t *)"{\"json\": true}", 14, NULL);
    ms_buf_free(&b);
}

static void test_reject_flipped_bytes(void **state)
{
    (void)state;
    ms_buf b = {0};
    small(&b);
    uint8_t *p = ms_buf_head(&b);
    size_t len = ms_buf_size(&b);
    /* Every single flipped bit anywhere is caught. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (uint8_t)(1u << bit);
            expect_bad(p, len, NULL);
            p[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Past the header, the CRC is what catches it. */
    p[MAGIC_LEN + 10] ^= 1;
    expect_bad(p, len, "checksum");
    ms_buf_free(&b);
}

static void test_reject_truncated(void **state)
{
    (void)state;
    ms_buf b = {0};
    small(&b);
    const uint8_t *p = ms_buf_head(&b);
    size_t len = ms_buf_size(&b);
    for (size_t n = 0; n < len; n++)
        expect_bad(p, n, NULL);
    /* Records cut short with a valid CRC: the count promises more. */
    for (uint32_t count = 3; count < 6; count++) {
        start(&b, count);
        rec(&b, 1, "__bus__", 7, 11, "\x03started", 8);
        rec(&b, 2, "pump", 4, 22, "\x03x", 2);
        finish(&b);
        expect_bad(ms_buf_head(&b), ms_buf_size(&b), "truncated");
    }
    /* A record whose lengths run past the end. */
    uint8_t h[12];
    start(&b, 1);
    ms_put_u16(h, 5);
    ms_put_u16(h + 2, 200); /* name longer than what follows */
    ms_buf_append(&b, h, 4);
    ms_buf_append(&b, "abc", 3);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "truncated");
    start(&b, 1);
    ms_put_u16(h, 5);
    ms_put_u16(h + 2, 3);
    ms_buf_append(&b, h, 4);
    ms_buf_append(&b, "abc", 3);
    ms_put_u64(h, 1);
    ms_put_u32(h + 8, 0xffffffffu); /* value longer than the file */
    ms_buf_append(&b, h, 12);
    ms_buf_append(&b, "\x03v", 2);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "truncated");
    /* Count 0xffffffff with nothing after it. */
    start(&b, 0xffffffffu);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "truncated");
    ms_buf_free(&b);
}

static void test_reject_duplicates_and_bad_records(void **state)
{
    (void)state;
    ms_buf b = {0};
    /* Duplicate id. */
    start(&b, 2);
    rec(&b, 5, "one", 3, 1, "\x03a", 2);
    rec(&b, 5, "two", 3, 2, "\x03" "b", 2);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "repeats");
    /* Duplicate name. */
    start(&b, 2);
    rec(&b, 5, "same", 4, 1, "\x03a", 2);
    rec(&b, 6, "same", 4, 2, "\x03" "b", 2);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "repeats");
    /* Id 0. */
    start(&b, 1);
    rec(&b, 0, "zero", 4, 1, "\x03z", 2);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "id");
    /* Names the bus would refuse. */
    static const struct {
        const char *n;
        size_t l;
    } names[] = {{"", 0}, {"a b", 3}, {"a\x01", 2}, {"\xff", 1},
                 {"\xc0\x80", 2}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        start(&b, 1);
        rec(&b, 3, names[i].n, names[i].l, 1, "\x03z", 2);
        finish(&b);
        expect_bad(ms_buf_head(&b), ms_buf_size(&b), "name");
    }
    char longname[256];
    memset(longname, 'L', sizeof longname);
    start(&b, 1);
    rec(&b, 3, longname, 256, 1, "\x03z", 2);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "name");
    /* Stray bytes after the last record (CRC made to match). */
    for (size_t extra = 1; extra < 20; extra += 6) {
        start(&b, 1);
        rec(&b, 3, "ok", 2, 1, "\x03z", 2);
        ms_buf_append(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", extra);
        finish(&b);
        expect_bad(ms_buf_head(&b), ms_buf_size(&b), "stray");
    }
    /* Count lower than the records: the rest is stray. */
    start(&b, 1);
    rec(&b, 3, "ok", 2, 1, "\x03z", 2);
    rec(&b, 4, "ok2", 3, 1, "\x03z", 2);
    finish(&b);
    expect_bad(ms_buf_head(&b), ms_buf_size(&b), "stray");
    ms_buf_free(&b);
}

/* ---- src/core/file.h ------------------------------------------------------ */

static void test_crc32_vectors(void **state)
{
    (void)state;
    const uint8_t *d = (const uint8_t *)"123456789";
    assert_int_equal(ms_crc32(0, d, 9), 0xCBF43926u);
    assert_int_equal(ms_crc32(0, d, 0), 0);
    assert_int_equal(ms_crc32(0, (const uint8_t *)"a", 1), 0xE8B7BE43u);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(ms_crc32(0, (const uint8_t *)fox, strlen(fox)),
                     0x414FA339u);
    /* Continued in pieces: the same as in one go. */
    for (size_t k = 0; k <= 9; k++)
        assert_int_equal(ms_crc32(ms_crc32(0, d, k), d + k, 9 - k),
                         0xCBF43926u);
    uint8_t zeros[32] = {0};
    assert_int_equal(ms_crc32(0, zeros, 32), 0x190A55ADu);
}

static void test_file_write_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/mscada-test-snapshot-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], tmp[140];
    snprintf(path, sizeof path, "%s/bus.snapshot", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    uint8_t *p = NULL;
    size_t len = 0;
    assert_int_equal(ms_file_read_all(path, 1 << 20, &p, &len), MS_ENOENT);

    /* A snapshot through a file. */
    ms_bus_tags t, u;
    assert_int_equal(ms_bus_tags_init(&t), 0);
    add(&t, "__bus__", 0, 5, "\x03started", 8);
    add(&t, "x", 0, 6, "\x04\1\2\3", 4);
    ms_buf out = {0};
    assert_int_equal(ms_bus_snapshot_encode(&t, &out), 0);
    assert_int_equal(ms_file_write_atomic(path, ms_buf_head(&out),
                                          ms_buf_size(&out)),
                     0);
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left */
    assert_int_equal(ms_file_read_all(path, 1 << 20, &p, &len), 0);
    assert_int_equal(len, ms_buf_size(&out));
    assert_memory_equal(p, ms_buf_head(&out), len);
    char why[128];
    assert_int_equal(decode(p, len, &u, why, sizeof why), 0);
    same_tables(&t, &u);
    free(p);
    ms_bus_tags_free(&u);

    /* Replacing with something shorter leaves exactly the new bytes. */
    assert_int_equal(ms_file_write_atomic(path, (const uint8_t *)"abc", 3), 0);
    assert_int_equal(ms_file_read_all(path, 3, &p, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "abc", 3);
    free(p);
    /* Over the limit. */
    assert_int_equal(ms_file_read_all(path, 2, &p, &len), MS_ETOOBIG);
    /* Empty file. */
    assert_int_equal(ms_file_write_atomic(path, NULL, 0), 0);
    p = NULL;
    assert_int_equal(ms_file_read_all(path, 10, &p, &len), 0);
    assert_int_equal(len, 0);
    free(p);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    /* A folder that does not exist. */
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/missing/bus.snapshot", dir);
    assert_int_equal(ms_file_write_atomic(nodir, (const uint8_t *)"x", 1),
                     MS_EIO);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    ms_buf_free(&out);
    ms_bus_tags_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_empty_and_next_id),
        cmocka_unit_test(test_reject_wrong_magic),
        cmocka_unit_test(test_reject_flipped_bytes),
        cmocka_unit_test(test_reject_truncated),
        cmocka_unit_test(test_reject_duplicates_and_bad_records),
        cmocka_unit_test(test_crc32_vectors),
        cmocka_unit_test(test_file_write_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
