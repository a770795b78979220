/* YAML 1.1 numbers: mscada's side of tests/unit/yaml11_numbers.tsv, whose
 * PyYAML column tests/system/test_yaml11_pyyaml.py checks against PyYAML
 * itself. Here: ms_yaml11_int/float give exactly that column; integer and
 * number settings give their columns and agree with PyYAML wherever it
 * reads a number; a list tag's init types every scalar as PyYAML does. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/yaml11.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/tagdesc.h"

#define TABLE MS_SOURCE_DIR "/tests/unit/yaml11_numbers.tsv"

typedef enum { PY_INT, PY_FLOAT, PY_STR, PY_ERROR } py_kind;

typedef struct {
    char text[64];
    py_kind py;
    int64_t py_i;
    double py_d;
    bool int_ok, num_ok;
    int64_t int_v;
    double num_v;
    int line;
} row;

static row rows[200];
static size_t nrows;

static double num(const char *s)
{
    if (!strcmp(s, "inf"))
        return INFINITY;
    if (!strcmp(s, "-inf"))
        return -INFINITY;
    if (!strcmp(s, "nan"))
        return NAN;
    return strtod(s, NULL);
}

static int load_table(void **state)
{
    (void)state;
    FILE *f = fopen(TABLE, "r");
    if (!f) {
        fprintf(stderr, "can't open %s\n", TABLE);
        return -1;
    }
    char line[256];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *col[4], *save = NULL;
        int n = 0;
        for (char *t = strtok_r(line, "\t", &save); t && n < 4;
             t = strtok_r(NULL, "\t", &save))
            col[n++] = t;
        if (n != 4 || nrows == sizeof rows / sizeof rows[0]) {
            fprintf(stderr, "%s:%d: want 4 tab-separated columns\n", TABLE,
                    ln);
            fclose(f);
            return -1;
        }
        row *r = &rows[nrows++];
        memset(r, 0, sizeof *r);
        r->line = ln;
        snprintf(r->text, sizeof r->text, "%s", col[0]);
        if (!strncmp(col[1], "int:", 4)) {
            r->py = PY_INT;
            r->py_i = strtoll(col[1] + 4, NULL, 10);
        } else if (!strncmp(col[1], "float:", 6)) {
            r->py = PY_FLOAT;
            r->py_d = num(col[1] + 6);
        } else {
            r->py = !strcmp(col[1], "str") ? PY_STR : PY_ERROR;
        }
        if ((r->int_ok = strcmp(col[2], "-") != 0))
            r->int_v = strtoll(col[2], NULL, 10);
        if ((r->num_ok = strcmp(col[3], "-") != 0))
            r->num_v = num(col[3]);
    }
    fclose(f);
    return nrows > 50 ? 0 : -1;
}

static bool same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void test_pyyaml_column(void **state)
{
    (void)state;
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        int64_t iv = 0;
        double dv = 0;
        bool is_int = ms_yaml11_int(r->text, strlen(r->text), &iv);
        bool is_float = ms_yaml11_float(r->text, strlen(r->text), &dv);
        if (is_int && is_float)
            fail_msg("line %d: %s is both an int and a float", r->line,
                     r->text);
        if (r->py == PY_INT && !(is_int && iv == r->py_i))
            fail_msg("line %d: %s: want int %lld", r->line, r->text,
                     (long long)r->py_i);
        if (r->py == PY_FLOAT && !(is_float && same(dv, r->py_d)))
            fail_msg("line %d: %s: want float %.17g, got %s %.17g", r->line,
                     r->text, r->py_d, is_float ? "float" : "no float", dv);
        if ((r->py == PY_STR || r->py == PY_ERROR) && (is_int || is_float))
            fail_msg("line %d: %s is text to PyYAML, not a number", r->line,
                     r->text);
    }
}

static const ms_conf_node *scalar(ms_conf_doc **doc, const char *text)
{
    char yaml[96];
    snprintf(yaml, sizeof yaml, "v: %s\n", text);
    ms_conf_error err;
    if (ms_conf_parse("v.yaml", yaml, strlen(yaml), doc, &err) != 0)
        fail_msg("%s", err.text);
    return ms_conf_get(ms_conf_root(*doc), "v");
}

static void test_settings(void **state)
{
    (void)state;
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        /* Wherever PyYAML reads a number, so does every setting. */
        if (r->py == PY_INT)
            assert_true(r->int_ok && r->int_v == r->py_i && r->num_ok &&
                        same(r->num_v, (double)r->py_i));
        if (r->py == PY_FLOAT && isfinite(r->py_d))
            assert_true(!r->int_ok && r->num_ok && same(r->num_v, r->py_d));
        ms_conf_doc *doc;
        const ms_conf_node *n = scalar(&doc, r->text);
        ms_conf_error err;
        int64_t iv = 0;
        double dv = 0;
        int rc = ms_conf_int(n, "v", INT64_MIN, INT64_MAX, &iv, &err);
        if (r->int_ok && (rc != 0 || iv != r->int_v))
            fail_msg("line %d: integer setting %s: want %lld, got %s",
                     r->line, r->text, (long long)r->int_v,
                     rc ? err.text : "another value");
        if (!r->int_ok && rc == 0)
            fail_msg("line %d: integer setting %s: want refused, got %lld",
                     r->line, r->text, (long long)iv);
        rc = ms_conf_double(n, "v", &dv, &err);
        if (r->num_ok && (rc != 0 || !same(dv, r->num_v)))
            fail_msg("line %d: number setting %s: want %.17g, got %s",
                     r->line, r->text, r->num_v,
                     rc ? err.text : "another value");
        if (!r->num_ok && rc == 0)
            fail_msg("line %d: number setting %s: want refused, got %g",
                     r->line, r->text, dv);
        ms_conf_free(doc);
    }
}

static void test_octal_message(void **state)
{
    (void)state;
    ms_conf_doc *doc;
    const ms_conf_node *n = scalar(&doc, "08");
    ms_conf_error err;
    int64_t v;
    assert_int_equal(ms_conf_int(n, "start", 1, 100, &v, &err), MS_ECONFIG);
    assert_string_equal(err.text, "v.yaml:1:4: start must be an integer: 08 "
                        "has a leading 0, which YAML 1.1 (and so pymscada) "
                        "reads as octal, and 8 and 9 are no octal digits");
    ms_conf_free(doc);
    /* Quoted, it is text, read as Python's int() reads it. */
    n = scalar(&doc, "'010'");
    assert_int_equal(ms_conf_int(n, "v", 0, 100, &v, &err), 0);
    assert_int_equal(v, 10);
    ms_conf_free(doc);
}

/* Every row that PyYAML loads and JSON can hold, as one list tag's init:
 * each item typed as PyYAML types it. */
static void test_list_init(void **state)
{
    (void)state;
    char yaml[8192];
    size_t off = (size_t)snprintf(yaml, sizeof yaml,
                                  "T:\n  type: list\n  init:\n");
    const row *used[200];
    size_t n = 0;
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (r->py == PY_ERROR || (r->py == PY_FLOAT && !isfinite(r->py_d)))
            continue;
        off += (size_t)snprintf(yaml + off, sizeof yaml - off, "  - %s\n",
                                r->text);
        used[n++] = r;
    }
    assert_true(off < sizeof yaml);
    ms_conf_doc *doc;
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("tags.yaml", yaml, off, &doc, &err), 0);
    ms_tagdescs t = {0};
    if (ms_tagdesc_from_conf(ms_conf_root(doc), &t, &err) != 0)
        fail_msg("%s", err.text);
    ms_conf_free(doc);
    const ms_tagdesc *d = ms_tagdesc_find(&t, "T");
    assert_non_null(d);
    assert_int_equal(d->init.type, MS_TYPE_JSON);
    json_error_t je;
    json_t *arr = json_loadb((const char *)d->init.u.buf.ptr,
                             d->init.u.buf.len, 0, &je);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        const row *r = used[i];
        json_t *j = json_array_get(arr, i);
        bool ok = r->py == PY_INT     ? json_is_integer(j) &&
                                            json_integer_value(j) == r->py_i
                  : r->py == PY_FLOAT ? json_is_real(j) &&
                                            json_real_value(j) == r->py_d
                                      : json_is_string(j) &&
                                            !strcmp(json_string_value(j),
                                                    r->text);
        if (!ok) {
            char *got = json_dumps(j, JSON_ENCODE_ANY);
            fail_msg("line %d: %s became %s", r->line, r->text, got);
        }
    }
    json_decref(arr);
    ms_tagdescs_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyyaml_column),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_octal_message),
        cmocka_unit_test(test_list_init),
    };
    return cmocka_run_group_tests(tests, load_table, NULL);
}
