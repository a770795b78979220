/* Unit tests of src/core/conf*.c: the YAML tree with positions, ${ENV}
 * expansion, aliases and merge keys, error texts, and the typed readers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ms_capture.h"
#include "mscada/conf.h"
#include "mscada/error.h"

/* ---- helpers ------------------------------------------------------------- */

static ms_conf_doc *parse_ok(const char *name, const char *text)
{
    ms_conf_doc *doc = NULL;
    ms_conf_error err;
    int rc = ms_conf_parse(name, text, strlen(text), &doc, &err);
    if (rc != 0)
        fail_msg("parse failed (%d): %s", rc, err.text);
    assert_non_null(doc);
    return doc;
}

static void parse_fails(const char *name, const char *text, size_t len,
                        const char *want)
{
    ms_conf_doc *doc = (ms_conf_doc *)1;
    ms_conf_error err;
    int rc = ms_conf_parse(name, text, len, &doc, &err);
    assert_int_equal(rc, MS_ECONFIG);
    assert_null(doc);
    assert_string_equal(err.text, want);
}

static void check_double(double got, double want)
{
    /* cmocka 1.1.5's assert_float_equal compares as float: be exact. */
    if (!(got == want || (isnan(got) && isnan(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void check_pos(const ms_conf_node *n, int line, int col)
{
    assert_non_null(n);
    if (n->line != line || n->col != col)
        fail_msg("node at %d:%d, want %d:%d", n->line, n->col, line, col);
}

static void check_text(const ms_conf_node *n, const char *text)
{
    assert_non_null(n);
    assert_int_equal(n->kind, MS_CONF_SCALAR);
    assert_string_equal(n->text, text);
    assert_int_equal(n->len, strlen(text));
}

/* ---- tree and positions ------------------------------------------------- */

static void test_positions(void **state)
{
    (void)state;
    ms_conf_doc *doc = parse_ok("x.yaml", "a: 1\n"
                                          "b:\n"
                                          "  c: [x, 'y']\n"
                                          "  d:\n"
                                          "    - 1\n"
                                          "    - {e: f}\n");
    const ms_conf_node *r = ms_conf_root(doc);
    assert_int_equal(r->kind, MS_CONF_MAP);
    assert_int_equal(r->n, 2);
    check_pos(r, 1, 1);
    assert_string_equal(r->file, "x.yaml");
    check_pos(r->keys[0], 1, 1);
    check_text(ms_conf_get(r, "a"), "1");
    check_pos(ms_conf_get(r, "a"), 1, 4);
    const ms_conf_node *b = ms_conf_get(r, "b");
    assert_int_equal(b->kind, MS_CONF_MAP);
    check_pos(b, 3, 3);
    check_pos(r->keys[1], 2, 1);
    const ms_conf_node *c = ms_conf_get(b, "c");
    assert_int_equal(c->kind, MS_CONF_SEQ);
    assert_int_equal(c->n, 2);
    check_pos(c, 3, 6);
    check_pos(c->items[0], 3, 7);
    check_pos(c->items[1], 3, 10);
    assert_false(c->items[0]->quoted);
    assert_true(c->items[1]->quoted);
    check_text(c->items[1], "y");
    const ms_conf_node *d = ms_conf_get(b, "d");
    check_pos(d, 5, 5);
    check_pos(d->items[0], 5, 7);
    const ms_conf_node *e = d->items[1];
    assert_int_equal(e->kind, MS_CONF_MAP);
    check_pos(e, 6, 7);
    check_pos(ms_conf_get(e, "e"), 6, 11);
    assert_string_equal(ms_conf_get(e, "e")->file, "x.yaml");
    ms_conf_free(doc);
}

static void test_scalars(void **state)
{
    (void)state;
    ms_conf_doc *doc = parse_ok("s.yaml", "n1: ~\n"
                                          "n2: null\n"
                                          "n3: NULL\n"
                                          "n4:\n"
                                          "q1: ''\n"
                                          "q2: 'null'\n"
                                          "q3: \"a\\0b\"\n"
                                          "q4: !!str Off\n"
                                          "p: Off\n"
                                          "blk: |\n"
                                          "  line1\n"
                                          "  line2\n");
    const ms_conf_node *r = ms_conf_root(doc);
    const char *nulls[] = {"n1", "n2", "n3", "n4"};
    for (int i = 0; i < 4; i++) {
        const ms_conf_node *n = ms_conf_get(r, nulls[i]);
        assert_non_null(n);
        assert_true(n->null);
        assert_false(n->quoted);
    }
    check_text(ms_conf_get(r, "n4"), "");
    const ms_conf_node *q1 = ms_conf_get(r, "q1");
    assert_false(q1->null);
    assert_true(q1->quoted);
    assert_false(ms_conf_get(r, "q2")->null);
    const ms_conf_node *q3 = ms_conf_get(r, "q3");
    assert_int_equal(q3->len, 3);
    assert_memory_equal(q3->text, "a\0b", 4);
    assert_true(ms_conf_get(r, "q4")->quoted);
    check_text(ms_conf_get(r, "q4"), "Off");
    assert_false(ms_conf_get(r, "p")->quoted);
    check_text(ms_conf_get(r, "blk"), "line1\nline2\n");
    assert_true(ms_conf_get(r, "blk")->quoted);
    ms_conf_free(doc);
}

static void test_empty_documents(void **state)
{
    (void)state;
    const char *empties[] = {"", "\n", "# only a comment\n", "---\n", "~\n",
                             "--- ~\n...\n"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        ms_conf_doc *doc = parse_ok("e.yaml", empties[i]);
        const ms_conf_node *r = ms_conf_root(doc);
        assert_int_equal(r->kind, MS_CONF_MAP);
        assert_int_equal(r->n, 0);
        assert_null(ms_conf_get(r, "x"));
        ms_conf_free(doc);
    }
    /* NULL text with length 0 is an empty file too. */
    ms_conf_doc *doc;
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("e.yaml", NULL, 0, &doc, &err), 0);
    assert_int_equal(ms_conf_root(doc)->kind, MS_CONF_MAP);
    ms_conf_free(doc);

    /* A root that is a plain value is kept: callers check with want. */
    doc = parse_ok("e.yaml", "hello\n");
    check_text(ms_conf_root(doc), "hello");
    assert_int_equal(ms_conf_want(ms_conf_root(doc), MS_CONF_MAP, "bus config",
                                  &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "e.yaml:1:1: bus config must be a map");
    ms_conf_free(doc);
}

static void test_two_documents(void **state)
{
    (void)state;
    const char *t = "a: 1\n---\nb: 2\n";
    parse_fails("d.yaml", t, strlen(t),
                "d.yaml:2:1: more than one document in the file");
}

/* ---- ${ENV} ---------------------------------------------------------------- */

static void test_env_expansion(void **state)
{
    (void)state;
    setenv("MS_TEST_HOST", "10.0.0.7", 1);
    setenv("MS_TEST_PORT", "1324", 1);
    setenv("MS_TEST_FLAG", "yes", 1);
    setenv("MS_TEST_EMPTY", "", 1);
    ms_conf_doc *doc = parse_ok("env.yaml",
                                "ip: ${MS_TEST_HOST}\n"
                                "url: http://${MS_TEST_HOST}:${MS_TEST_PORT}/x\n"
                                "quoted: '${MS_TEST_PORT}'\n"
                                "dollars: a$$b\n"
                                "lone: cost $5 and $\n"
                                "brace: '$ {x}'\n"
                                "skip: $${MS_TEST_HOST}\n"
                                "flag: ${MS_TEST_FLAG}\n"
                                "empty: x${MS_TEST_EMPTY}y\n"
                                "${MS_TEST_PORT}: key\n");
    const ms_conf_node *r = ms_conf_root(doc);
    check_text(ms_conf_get(r, "ip"), "10.0.0.7");
    check_text(ms_conf_get(r, "url"), "http://10.0.0.7:1324/x");
    check_text(ms_conf_get(r, "quoted"), "1324");
    check_text(ms_conf_get(r, "dollars"), "a$$b");
    check_text(ms_conf_get(r, "lone"), "cost $5 and $");
    check_text(ms_conf_get(r, "brace"), "$ {x}");
    check_text(ms_conf_get(r, "skip"), "$${MS_TEST_HOST}");
    check_text(ms_conf_get(r, "empty"), "xy");
    check_text(ms_conf_get(r, "1324"), "key");
    /* The expanded text goes through the typed readers as usual. */
    bool b = false;
    ms_conf_error err;
    assert_int_equal(ms_conf_bool(ms_conf_get(r, "flag"), "flag", &b, &err),
                     0);
    assert_true(b);
    int64_t port;
    assert_int_equal(ms_conf_int(ms_conf_get(r, "quoted"), "port", 1, 65535,
                                 &port, &err),
                     0);
    assert_int_equal(port, 1324);
    ms_conf_free(doc);
}

static void test_env_errors(void **state)
{
    (void)state;
    unsetenv("MS_TEST_NOPE");
    const char *t = "a: 1\nb: 2\nport: ${MS_TEST_NOPE}\n";
    parse_fails("x.yaml", t, strlen(t),
                "x.yaml:3:7: environment variable MS_TEST_NOPE is not set");
    t = "a:\n  - 'x ${MS_TEST_NOPE} y'\n";
    parse_fails("x.yaml", t, strlen(t),
                "x.yaml:2:5: environment variable MS_TEST_NOPE is not set");
    t = "a: ${MS_TEST_HOST\n";
    parse_fails("x.yaml", t, strlen(t),
                "x.yaml:1:4: '${' without a closing '}'");
    t = "a: ${}\n";
    parse_fails("x.yaml", t, strlen(t),
                "x.yaml:1:4: bad environment variable name ''");
    t = "a: ${1X}\n";
    parse_fails("x.yaml", t, strlen(t),
                "x.yaml:1:4: bad environment variable name '1X'");
}

/* ---- syntax errors ---------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    (void)state;
    const char *t = "a: b: c\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:1:5: mapping values are not allowed in this context");
    t = "a: 1\nb:\n\tc: 2\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:3:1: found character that cannot start any token "
                "(while scanning for the next token at line 3 column 1)");
    t = "a: [1, 2\nb: 3\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:2:2: did not find expected ',' or ']' (while "
                "parsing a flow sequence at line 1 column 4)");
    t = "a: 1\n b: 2\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:2:3: mapping values are not allowed in this context");
    t = "a: 1\nb: \xff\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:2:4: invalid leading UTF-8 octet");
    t = "a: *nope\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:1:4: unknown alias *nope (its anchor must come first "
                "and be complete)");
    t = "? [a, b]\n: 1\n";
    parse_fails("s.yaml", t, strlen(t),
                "s.yaml:1:3: a map key must be a single value, not a list");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    const char *t = "a: 1\nb: 2\na: 3\n";
    parse_fails("k.yaml", t, strlen(t),
                "k.yaml:3:1: duplicate key 'a' (first at line 1 column 1)");
    t = "top:\n  x: 1\n  y: 2\n  'x': 3\n";
    parse_fails("k.yaml", t, strlen(t),
                "k.yaml:4:3: duplicate key 'x' (first at line 2 column 3)");
    t = "{p: 1, q: 2, p: 3}\n";
    parse_fails("k.yaml", t, strlen(t),
                "k.yaml:1:14: duplicate key 'p' (first at line 1 column 2)");
    /* The same key in different maps is fine. */
    ms_conf_doc *doc = parse_ok("k.yaml", "a: {x: 1}\nb: {x: 2}\n");
    ms_conf_free(doc);
}

/* ---- aliases and merge keys ------------------------------------------------ */

static void test_aliases(void **state)
{
    (void)state;
    ms_conf_doc *doc = parse_ok("al.yaml", "base: &b\n"
                                           "  x: 1\n"
                                           "  y: [p, q]\n"
                                           "use: *b\n"
                                           "s: &s hello\n"
                                           "t: *s\n");
    const ms_conf_node *r = ms_conf_root(doc);
    const ms_conf_node *use = ms_conf_get(r, "use");
    assert_ptr_equal(use, ms_conf_get(r, "base"));
    check_pos(use, 1, 7); /* an anchored node starts at its anchor */
    check_text(ms_conf_get(use, "x"), "1");
    check_text(ms_conf_get(r, "t"), "hello");
    check_pos(ms_conf_get(r, "t"), 5, 4);
    ms_conf_free(doc);

    /* A later anchor of the same name replaces the earlier one. */
    doc = parse_ok("al.yaml", "a: &v 1\nb: &v 2\nc: *v\n");
    check_text(ms_conf_get(ms_conf_root(doc), "c"), "2");
    ms_conf_free(doc);

    /* An alias to a node that is not complete yet would make a loop. */
    const char *t = "a: &a [1, *a]\n";
    parse_fails("al.yaml", t, strlen(t),
                "al.yaml:1:11: unknown alias *a (its anchor must come first "
                "and be complete)");
}

static void test_merge_keys(void **state)
{
    (void)state;
    ms_conf_doc *doc = parse_ok("m.yaml", "d1: &d1 {x: 1, y: 2}\n"
                                          "d2: &d2 {y: 20, z: 30}\n"
                                          "one: {<<: *d1, y: 3, w: 4}\n"
                                          "two:\n"
                                          "  <<: [*d1, *d2]\n"
                                          "  w: 5\n"
                                          "lit: {'<<': text}\n");
    const ms_conf_node *r = ms_conf_root(doc);
    const ms_conf_node *one = ms_conf_get(r, "one");
    assert_int_equal(one->n, 3);
    check_text(one->keys[0], "y");
    check_text(one->items[0], "3");
    check_text(one->keys[1], "w");
    check_text(one->keys[2], "x");
    check_text(ms_conf_get(one, "x"), "1");
    assert_null(ms_conf_get(one, "<<"));
    const ms_conf_node *two = ms_conf_get(r, "two");
    assert_int_equal(two->n, 4);
    check_text(ms_conf_get(two, "w"), "5");
    check_text(ms_conf_get(two, "x"), "1");
    check_text(ms_conf_get(two, "y"), "2"); /* the first map listed wins */
    check_text(ms_conf_get(two, "z"), "30");
    /* A quoted '<<' is an ordinary key. */
    check_text(ms_conf_get(ms_conf_get(r, "lit"), "<<"), "text");
    ms_conf_free(doc);

    const char *t = "a: {<<: 5}\n";
    parse_fails("m.yaml", t, strlen(t),
                "m.yaml:1:9: '<<' merges a map or a list of maps, not a "
                "single value");
    t = "a: {<<: {x: 1}, <<: {y: 2}}\n";
    parse_fails("m.yaml", t, strlen(t),
                "m.yaml:1:17: duplicate key '<<' (first at line 1 column 5)");
}

static void test_alias_bomb(void **state)
{
    (void)state;
    /* "Billion laughs": 10^9 nodes if expanded. */
    char t[2048] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; c++) {
        char line[128];
        snprintf(line, sizeof line,
                 "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, "
                 "*%c]\n",
                 c, c, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1,
                 c - 1, c - 1, c - 1);
        strcat(t, line);
    }
    ms_conf_doc *doc = (ms_conf_doc *)1;
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("bomb.yaml", t, strlen(t), &doc, &err),
                     MS_ECONFIG);
    assert_null(doc);
    assert_non_null(strstr(err.text, "more than 1000000 nodes"));
    assert_int_equal(strncmp(err.text, "bomb.yaml:", 10), 0);

    /* A moderate use of aliases stays well under the cap. */
    doc = parse_ok("ok.yaml", "a: &a [x, x, x]\nb: [*a, *a, *a]\n");
    ms_conf_free(doc);
}

static void test_depth_cap(void **state)
{
    (void)state;
    char t[1024];
    size_t n = 300;
    memset(t, '[', n);
    memset(t + n, ']', n);
    t[2 * n] = '\0';
    parse_fails("deep.yaml", t, 2 * n,
                "deep.yaml:1:257: nesting is deeper than 256 levels");
    n = 200;
    memset(t, '[', n);
    memset(t + n, ']', n);
    t[2 * n] = '\0';
    ms_conf_doc *doc = parse_ok("deep.yaml", t);
    ms_conf_free(doc);
    /* Aliases count the depth of what they stand for. */
    char big[1024];
    int k = snprintf(big, sizeof big, "a: &a ");
    for (int i = 0; i < 200; i++)
        big[k++] = '[';
    for (int i = 0; i < 200; i++)
        big[k++] = ']';
    k += snprintf(big + k, sizeof big - (size_t)k, "\nb: ");
    for (int i = 0; i < 60; i++)
        big[k++] = '[';
    k += snprintf(big + k, sizeof big - (size_t)k, "*a");
    for (int i = 0; i < 60; i++)
        big[k++] = ']';
    big[k++] = '\n';
    big[k] = '\0';
    parse_fails("deep.yaml", big, (size_t)k,
                "deep.yaml:2:64: nesting is deeper than 256 levels");
}

/* ---- typed readers ---------------------------------------------------------- */

static const ms_conf_node *scalar_doc(ms_conf_doc **doc, const char *yaml)
{
    *doc = parse_ok("v.yaml", yaml);
    return ms_conf_get(ms_conf_root(*doc), "v");
}

static void int_ok(const char *yaml, int64_t want)
{
    ms_conf_doc *doc;
    const ms_conf_node *n = scalar_doc(&doc, yaml);
    int64_t v = 0;
    ms_conf_error err;
    int rc = ms_conf_int(n, "v", INT64_MIN, INT64_MAX, &v, &err);
    if (rc != 0)
        fail_msg("%s: %s", yaml, err.text);
    assert_int_equal(v, want);
    ms_conf_free(doc);
}

static void int_bad(const char *yaml, int64_t min, int64_t max,
                    const char *want)
{
    ms_conf_doc *doc;
    const ms_conf_node *n = scalar_doc(&doc, yaml);
    int64_t v = 42;
    ms_conf_error err;
    assert_int_equal(ms_conf_int(n, "v", min, max, &v, &err), MS_ECONFIG);
    assert_int_equal(v, 42);
    assert_string_equal(err.text, want);
    ms_conf_free(doc);
}

static void test_int(void **state)
{
    (void)state;
    int_ok("v: 10", 10);
    int_ok("v: -5", -5);
    int_ok("v: +7", 7);
    int_ok("v: 0", 0);
    int_ok("v: 0x1F", 31);
    int_ok("v: 0X1f", 31);
    int_ok("v: -0x10", -16);
    int_ok("v: 007", 7);   /* octal, as PyYAML: test_yaml11.c has more */
    int_ok("v: 010", 8);
    int_ok("v: '010'", 10); /* quoted: decimal */
    int_ok("v: '12'", 12);
    int_ok("v: 9223372036854775807", INT64_MAX);
    int_ok("v: -9223372036854775808", INT64_MIN);
    int_ok("v: 0x7fffffffffffffff", INT64_MAX);

    const char *any = "v.yaml:1:4: v must be an integer";
    int_bad("v: 12abc", INT64_MIN, INT64_MAX, any);
    int_bad("v: 1.5", INT64_MIN, INT64_MAX, any);
    int_bad("v: 1e3", INT64_MIN, INT64_MAX, any);
    int_bad("v: ''", INT64_MIN, INT64_MAX, any);
    int_bad("v: ' 5'", INT64_MIN, INT64_MAX, any);
    int_bad("v: 0x", INT64_MIN, INT64_MAX, any);
    int_bad("v: 0xg", INT64_MIN, INT64_MAX, any);
    int_bad("v: '-'", INT64_MIN, INT64_MAX, any);
    int_bad("v: 9223372036854775808", INT64_MIN, INT64_MAX, any);
    int_bad("v: -9223372036854775809", INT64_MIN, INT64_MAX, any);
    int_bad("v: 0x8000000000000000", INT64_MIN, INT64_MAX, any);
    int_bad("v: [1]", INT64_MIN, INT64_MAX, any);
    int_bad("v: \"1\\0\"", INT64_MIN, INT64_MAX, any);
    int_bad("v:", INT64_MIN, INT64_MAX, "v.yaml:1:3: v must be an integer");
    int_bad("v: 0", 1, 65535, "v.yaml:1:4: v must be an integer from 1 to "
                               "65535");
    int_bad("v: -1", 0, INT64_MAX, "v.yaml:1:4: v must be an integer >= 0");
    int_bad("v: 11", INT64_MIN, 10, "v.yaml:1:4: v must be an integer <= 10");

    /* The message from the header, with its position. */
    ms_conf_doc *doc = parse_ok("bus.yaml", "bus_ip: 127.0.0.1\n"
                                            "x: 1\n"
                                            "port: 70000\n");
    int64_t v;
    ms_conf_error err;
    assert_int_equal(ms_conf_int(ms_conf_get(ms_conf_root(doc), "port"),
                                 "port", 1, 65535, &v, &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "bus.yaml:3:7: port must be an integer "
                                  "from 1 to 65535");
    /* err may be NULL when the caller only wants to know. */
    assert_int_equal(ms_conf_int(ms_conf_get(ms_conf_root(doc), "port"),
                                 "port", 1, 65535, &v, NULL),
                     MS_ECONFIG);
    ms_conf_free(doc);
}

static void double_ok(const char *yaml, double want)
{
    ms_conf_doc *doc;
    const ms_conf_node *n = scalar_doc(&doc, yaml);
    double d = 0;
    ms_conf_error err;
    int rc = ms_conf_double(n, "v", &d, &err);
    if (rc != 0)
        fail_msg("%s: %s", yaml, err.text);
    check_double(d, want);
    ms_conf_free(doc);
}

static void double_bad(const char *yaml)
{
    ms_conf_doc *doc;
    const ms_conf_node *n = scalar_doc(&doc, yaml);
    double d = 42;
    ms_conf_error err;
    if (ms_conf_double(n, "v", &d, &err) != MS_ECONFIG)
        fail_msg("%s was accepted as %g", yaml, d);
    check_double(d, 42);
    char want[64];
    snprintf(want, sizeof want, "v.yaml:1:%d: v must be a number",
             n->kind == MS_CONF_SCALAR && n->len == 0 ? 3 : 4);
    assert_string_equal(err.text, want);
    ms_conf_free(doc);
}

static void test_double(void **state)
{
    (void)state;
    double_ok("v: 1", 1.0);
    double_ok("v: -3", -3.0);
    double_ok("v: 1.5", 1.5);
    double_ok("v: 0.1", 0.1);
    double_ok("v: -2.5e3", -2500.0);
    double_ok("v: 1.e+100", 1e100);
    double_ok("v: -1.e+100", -1e100);
    double_ok("v: 1E-3", 1e-3);
    double_ok("v: .5", 0.5);
    double_ok("v: 5.", 5.0);
    double_ok("v: +2.0", 2.0);
    double_ok("v: 0x10", 16.0);
    double_ok("v: '2.5'", 2.5);
    double_ok("v: 12345678901234567890", 12345678901234567890.0);
    double_ok("v: .inf", INFINITY);
    double_ok("v: -.Inf", -INFINITY);
    double_ok("v: +.INF", INFINITY);
    double_ok("v: .nan", NAN);
    double_ok("v: .NaN", NAN);
    double_ok("v: 1e-400", 0.0); /* underflow rounds to zero */

    double_bad("v: abc");
    double_bad("v: 1.2.3");
    double_bad("v: inf");
    double_bad("v: nan");
    double_bad("v: -.nan");
    double_bad("v: 1e");
    double_bad("v: 1e+");
    double_bad("v: .");
    double_bad("v: 0x1p3");
    double_bad("v: 1e400");
    double_bad("v: 1.5x");
    double_bad("v: ' 1'");
    double_bad("v:");
    double_bad("v: {a: 1}");
}

static void test_bool(void **state)
{
    (void)state;
    const char *yes[] = {"true", "True", "TRUE", "yes", "YES", "on", "On",
                         "tRuE"};
    const char *no[] = {"false", "False", "no", "No", "off", "Off", "OFF"};
    char y[64];
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        ms_conf_doc *doc;
        snprintf(y, sizeof y, "v: %s", yes[i]);
        bool b = false;
        assert_int_equal(ms_conf_bool(scalar_doc(&doc, y), "v", &b, NULL), 0);
        assert_true(b);
        ms_conf_free(doc);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        ms_conf_doc *doc;
        snprintf(y, sizeof y, "v: %s", no[i]);
        bool b = true;
        assert_int_equal(ms_conf_bool(scalar_doc(&doc, y), "v", &b, NULL), 0);
        assert_false(b);
        ms_conf_free(doc);
    }
    const char *bad[] = {"v: 1", "v: y", "v: n", "v: truth", "v: [true]",
                         "v: ''"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_conf_doc *doc;
        ms_conf_error err;
        bool b = true;
        assert_int_equal(ms_conf_bool(scalar_doc(&doc, bad[i]), "v", &b, &err),
                         MS_ECONFIG);
        assert_string_equal(err.text, "v.yaml:1:4: v must be true or false");
        ms_conf_free(doc);
    }
    ms_conf_doc *doc;
    ms_conf_error err;
    bool b;
    assert_int_equal(ms_conf_bool(scalar_doc(&doc, "v: 'Off'"), "v", &b, &err),
                     MS_ECONFIG);
    assert_string_equal(err.text,
                        "v.yaml:1:4: v must be true or false without quotes");
    ms_conf_free(doc);
}

static void test_str_and_want(void **state)
{
    (void)state;
    ms_conf_doc *doc = parse_ok("w.yaml", "name: pump 1\n"
                                          "num: 12\n"
                                          "m: {a: 1}\n"
                                          "l: [1]\n"
                                          "z: \"a\\0b\"\n");
    const ms_conf_node *r = ms_conf_root(doc);
    const char *s;
    ms_conf_error err;
    assert_int_equal(ms_conf_str(ms_conf_get(r, "name"), "name", &s, &err), 0);
    assert_string_equal(s, "pump 1");
    assert_int_equal(ms_conf_str(ms_conf_get(r, "num"), "num", &s, &err), 0);
    assert_string_equal(s, "12");
    assert_int_equal(ms_conf_str(ms_conf_get(r, "m"), "name", &s, &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "w.yaml:3:4: name must be text, not a map");
    assert_int_equal(ms_conf_str(ms_conf_get(r, "l"), "name", &s, &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "w.yaml:4:4: name must be text, not a list");
    assert_int_equal(ms_conf_str(ms_conf_get(r, "z"), "name", &s, &err),
                     MS_ECONFIG);
    assert_string_equal(err.text,
                        "w.yaml:5:4: name must not contain NUL characters");
    assert_int_equal(ms_conf_str(NULL, "name", &s, &err), MS_ECONFIG);
    assert_string_equal(err.text, "name is missing");

    assert_int_equal(ms_conf_want(ms_conf_get(r, "m"), MS_CONF_MAP, "m", &err),
                     0);
    assert_int_equal(ms_conf_want(ms_conf_get(r, "l"), MS_CONF_SEQ, "l", &err),
                     0);
    assert_int_equal(ms_conf_want(ms_conf_get(r, "m"), MS_CONF_SEQ, "rtus",
                                  &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "w.yaml:3:4: rtus must be a list");
    assert_int_equal(ms_conf_want(ms_conf_get(r, "l"), MS_CONF_MAP, "tags",
                                  &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "w.yaml:4:4: tags must be a map");
    assert_int_equal(ms_conf_want(NULL, MS_CONF_MAP, "tags", &err),
                     MS_ECONFIG);
    assert_string_equal(err.text, "tags is missing");

    /* ms_conf_get on things that are not maps. */
    assert_null(ms_conf_get(NULL, "a"));
    assert_null(ms_conf_get(ms_conf_get(r, "l"), "a"));
    assert_null(ms_conf_get(r, "nope"));
    assert_null(ms_conf_get(r, NULL));

    /* ms_conf_fail formats and positions any message. */
    assert_int_equal(ms_conf_fail(&err, ms_conf_get(r, "num"), "%s %d", "x",
                                  5),
                     MS_ECONFIG);
    assert_string_equal(err.text, "w.yaml:2:6: x 5");
    ms_conf_free(doc);
}

static void test_warn_unknown(void **state)
{
    (void)state;
    ms_conf_doc *doc = parse_ok("bus.yaml", "bus_ip: 127.0.0.1\n"
                                            "colour: red\n"
                                            "bus_port: 1324\n"
                                            "  # comment\n"
                                            "extra: {a: 1}\n");
    const char *const known[] = {"bus_ip", "bus_port", NULL};
    capture c;
    capture_begin(&c);
    int n = ms_conf_warn_unknown(ms_conf_root(doc), known, "bus config");
    char *out = capture_end(&c);
    assert_int_equal(n, 2);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "WARN"));
    assert_non_null(strstr(out, "bus.yaml:2:1: unknown key 'colour' in bus "
                                "config (ignored)\n"));
    assert_non_null(strstr(out, "bus.yaml:5:1: unknown key 'extra' in bus "
                                "config (ignored)\n"));
    free(out);

    const char *const all[] = {"bus_ip", "bus_port", "colour", "extra", NULL};
    capture_begin(&c);
    n = ms_conf_warn_unknown(ms_conf_root(doc), all, "bus config");
    out = capture_end(&c);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
    free(out);
    /* Not a map: nothing to say. */
    assert_int_equal(ms_conf_warn_unknown(NULL, known, "x"), 0);
    ms_conf_free(doc);
}

/* ---- files ---------------------------------------------------------------- */

static void test_load_file(void **state)
{
    (void)state;
    char path[64] = "/tmp/mscada_conf_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    const char *t = "bus_ip: 127.0.0.1\nbus_port: 1324\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    ms_conf_doc *doc;
    ms_conf_error err;
    assert_int_equal(ms_conf_load(path, &doc, &err), 0);
    const ms_conf_node *port = ms_conf_get(ms_conf_root(doc), "bus_port");
    assert_string_equal(port->file, path);
    check_pos(port, 2, 11);
    int64_t v;
    assert_int_equal(ms_conf_int(port, "bus_port", 1, 65535, &v, &err), 0);
    assert_int_equal(v, 1324);
    ms_conf_free(doc);

    /* A syntax error in a file names the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    t = "a: [1\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    doc = (ms_conf_doc *)1;
    assert_int_equal(ms_conf_load(path, &doc, &err), MS_ECONFIG);
    assert_null(doc);
    assert_int_equal(strncmp(err.text, path, strlen(path)), 0);
    assert_int_equal(strncmp(err.text + strlen(path), ":2:1: ", 6), 0);
    unlink(path);

    /* Missing file. */
    doc = (ms_conf_doc *)1;
    assert_int_equal(ms_conf_load(path, &doc, &err), MS_ENOENT);
    assert_null(doc);
    char want[128];
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(err.text, want);

    /* A folder can't be read as a file. */
    assert_int_equal(ms_conf_load("/tmp", &doc, &err), MS_EIO);
    assert_null(doc);
    assert_int_equal(strncmp(err.text, "/tmp: cannot read: ", 19), 0);

    ms_conf_free(NULL);
    assert_null(ms_conf_root(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_two_documents),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_str_and_want),
        cmocka_unit_test(test_warn_unknown),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
