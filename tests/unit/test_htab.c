/* src/core/htab.c: the byte-string hash table under the config tree's
 * anchors and duplicate-key checks. FNV-1a's published values, put/get,
 * replacing, keys that differ only in length or after a NUL, growth far
 * past the first size, and an empty table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/htab.h"
#include "mscada/error.h"

static void test_fnv1a_vectors(void **state)
{
    (void)state;
    /* From the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv). */
    assert_true(ms_hash_bytes("", 0) == 0xcbf29ce484222325ULL);
    assert_true(ms_hash_bytes("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(ms_hash_bytes("foobar", 6) == 0x85944171f73967e8ULL);
}

static void test_empty(void **state)
{
    (void)state;
    ms_htab t = {0};
    assert_null(ms_htab_get(&t, "x", 1));
    assert_null(ms_htab_get(&t, "", 0));
    ms_htab_free(&t);
    assert_int_equal(t.n, 0);
}

static void test_put_get_replace(void **state)
{
    (void)state;
    ms_htab t = {0};
    int a = 1, b = 2, c = 3, d = 4;
    assert_int_equal(ms_htab_put(&t, "key", 3, &a), 0);
    /* Only the first len bytes count: "keyboard" as 3 bytes is "key". */
    assert_ptr_equal(ms_htab_get(&t, "keyboard", 3), &a);
    assert_null(ms_htab_get(&t, "ke", 2));
    assert_null(ms_htab_get(&t, "keys", 4));
    /* Bytes after a NUL are part of the key. */
    assert_int_equal(ms_htab_put(&t, "a\0b", 3, &b), 0);
    assert_int_equal(ms_htab_put(&t, "a\0c", 3, &c), 0);
    assert_ptr_equal(ms_htab_get(&t, "a\0b", 3), &b);
    assert_ptr_equal(ms_htab_get(&t, "a\0c", 3), &c);
    assert_null(ms_htab_get(&t, "a", 1));
    /* The empty key is a key like any other. */
    assert_int_equal(ms_htab_put(&t, "", 0, &d), 0);
    assert_ptr_equal(ms_htab_get(&t, "", 0), &d);
    assert_int_equal(t.n, 4);
    /* Replacing keeps the count. */
    assert_int_equal(ms_htab_put(&t, "key", 3, &d), 0);
    assert_ptr_equal(ms_htab_get(&t, "key", 3), &d);
    assert_int_equal(t.n, 4);
    ms_htab_free(&t);
    assert_null(ms_htab_get(&t, "key", 3));
}

static void test_growth(void **state)
{
    (void)state;
    enum { N = 5000 };
    char (*keys)[16] = calloc(N, sizeof *keys);
    assert_non_null(keys);
    ms_htab t = {0};
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "tag%d", i);
        assert_int_equal(ms_htab_put(&t, keys[i], strlen(keys[i]), keys[i]),
                         0);
        /* At most half full, so probing always ends. */
        assert_true(t.n * 2 <= t.cap);
    }
    assert_int_equal(t.n, N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(ms_htab_get(&t, keys[i], strlen(keys[i])), keys[i]);
    assert_null(ms_htab_get(&t, "tag5000", 7));
    assert_null(ms_htab_get(&t, "tag", 3));
    ms_htab_free(&t);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
