/* Unit tests of src/core/tagdesc.c: tags.yaml (pymscada's format) with every
 * key, defaults, init typing (JSON for list/dict), multi states, and each
 * error with its file:line:col. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_capture.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/tagdesc.h"

/* ---- helpers ------------------------------------------------------------- */

static void check_double(double got, double want)
{
    /* cmocka 1.1.5's assert_float_equal compares as float: be exact. */
    if (got != want)
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Parses text as tags.yaml; returns ms_tagdesc_from_conf's code. */
static int tags_from(const char *text, ms_tagdescs *t, ms_conf_error *err)
{
    ms_conf_doc *doc;
    int rc = ms_conf_parse("tags.yaml", text, strlen(text), &doc, err);
    if (rc) {
        t->tags = NULL;
        t->n = 0;
        return rc;
    }
    rc = ms_tagdesc_from_conf(ms_conf_root(doc), t, err);
    ms_conf_free(doc);
    return rc;
}

static void tags_ok(const char *text, ms_tagdescs *t)
{
    ms_conf_error err;
    int rc = tags_from(text, t, &err);
    if (rc)
        fail_msg("tags failed (%d): %s", rc, err.text);
}

static void tags_fail(const char *text, const char *want)
{
    ms_tagdescs t = {(ms_tagdesc *)1, 99};
    ms_conf_error err;
    capture c;
    capture_begin(&c); /* warnings of earlier keys are not the point here */
    int rc = tags_from(text, &t, &err);
    free(capture_end(&c));
    assert_int_equal(rc, MS_ECONFIG);
    assert_null(t.tags);
    assert_int_equal(t.n, 0);
    assert_string_equal(err.text, want);
}

static void check_json(const ms_tagdesc *t, const char *want)
{
    assert_true(t->has_init);
    assert_int_equal(t->init.type, MS_TYPE_JSON);
    if (t->init.u.buf.len != strlen(want))
        fail_msg("init is %.*s", (int)t->init.u.buf.len,
                 (const char *)t->init.u.buf.ptr);
    assert_memory_equal(t->init.u.buf.ptr, want, strlen(want));
}

/* ---- happy paths ----------------------------------------------------------- */

static const char *full_yaml =
    "FlowRate:\n"
    "  desc: Flow into tank\n"
    "  type: float\n"
    "  units: m3/h\n"
    "  dp: 1\n"
    "  min: 0\n"
    "  max: 500\n"
    "  deadband: 0.5\n"
    "  init: 0.25\n"
    "PumpMode:\n"
    "  desc: Pump mode\n"
    "  multi: ['Off', Manual, Auto]\n"
    "  init: Manual\n"
    "StartTime:\n"
    "  type: int\n"
    "  format: datetime\n"
    "  init: 1234567890\n"
    "Day:\n"
    "  type: int\n"
    "  format: date\n"
    "Clock: {type: int, format: time, min: -100, max: 100, init: -0x10}\n"
    "Name:\n"
    "  type: str\n"
    "  init: a string\n"
    "Blob:\n"
    "  type: bytes\n"
    "  init: \"ab\\0c\"\n"
    "Levels:\n"
    "  type: list\n"
    "  init: [1, 'two', 3.5, yes, ~, -1.e+100, 0.1]\n"
    "Select:\n"
    "  type: dict\n"
    "  init:\n"
    "    labels: [A, B]\n"
    "    values: [0.1, 0.2]\n"
    "    locks: [1, 0]\n"
    "    nested: {on: 'on', n: null, e: {}}\n"
    "Big:\n"
    "  min: -1.e+100\n"
    "  max: 1.e+100\n"
    "  units: '°C'\n"
    "Empty:\n";

static void test_full(void **state)
{
    (void)state;
    ms_tagdescs t;
    tags_ok(full_yaml, &t);
    assert_int_equal(t.n, 11);

    const ms_tagdesc *f = ms_tagdesc_find(&t, "FlowRate");
    assert_ptr_equal(f, &t.tags[0]);
    assert_string_equal(f->name, "FlowRate");
    assert_string_equal(f->desc, "Flow into tank");
    assert_int_equal(f->type, MS_TYPE_FLOAT);
    assert_string_equal(f->type_text, "float");
    assert_string_equal(f->units, "m3/h");
    assert_int_equal(f->dp, 1);
    assert_true(f->has_min);
    assert_true(f->has_max);
    check_double(f->min, 0);
    check_double(f->max, 500);
    check_double(f->deadband, 0.5);
    assert_true(f->has_init);
    assert_int_equal(f->init.type, MS_TYPE_FLOAT);
    check_double(f->init.u.f, 0.25);
    assert_null(f->multi);
    assert_int_equal(f->format, MS_TAGFMT_NONE);
    assert_int_equal(f->line, 1);
    assert_int_equal(f->col, 1);

    const ms_tagdesc *p = ms_tagdesc_find(&t, "PumpMode");
    assert_int_equal(p->type, MS_TYPE_INT);
    assert_string_equal(p->type_text, "int");
    assert_int_equal(p->nmulti, 3);
    assert_string_equal(p->multi[0], "Off");
    assert_string_equal(p->multi[1], "Manual");
    assert_string_equal(p->multi[2], "Auto");
    assert_true(p->has_min && p->has_max);
    check_double(p->min, 0);
    check_double(p->max, 2);
    assert_int_equal(p->init.type, MS_TYPE_INT);
    assert_int_equal(p->init.u.i, 1); /* by state name */
    assert_int_equal(p->line, 10);

    const ms_tagdesc *s = ms_tagdesc_find(&t, "StartTime");
    assert_int_equal(s->type, MS_TYPE_INT);
    assert_int_equal(s->format, MS_TAGFMT_DATETIME);
    assert_int_equal(s->init.u.i, 1234567890);
    assert_int_equal(ms_tagdesc_find(&t, "Day")->format, MS_TAGFMT_DATE);
    const ms_tagdesc *c = ms_tagdesc_find(&t, "Clock");
    assert_int_equal(c->format, MS_TAGFMT_TIME);
    assert_int_equal(c->init.u.i, -16);
    check_double(c->min, -100);

    const ms_tagdesc *n = ms_tagdesc_find(&t, "Name");
    assert_int_equal(n->type, MS_TYPE_STR);
    assert_int_equal(n->init.type, MS_TYPE_STR);
    assert_int_equal(n->init.u.buf.len, 8);
    assert_memory_equal(n->init.u.buf.ptr, "a string", 8);

    const ms_tagdesc *b = ms_tagdesc_find(&t, "Blob");
    assert_int_equal(b->type, MS_TYPE_BYTES);
    assert_string_equal(b->type_text, "bytes");
    assert_int_equal(b->init.type, MS_TYPE_BYTES);
    assert_int_equal(b->init.u.buf.len, 4);
    assert_memory_equal(b->init.u.buf.ptr, "ab\0c", 4);

    const ms_tagdesc *l = ms_tagdesc_find(&t, "Levels");
    assert_int_equal(l->type, MS_TYPE_JSON);
    assert_string_equal(l->type_text, "list");
    check_json(l, "[1,\"two\",3.5,true,null,-1e100,0.1]");

    const ms_tagdesc *d = ms_tagdesc_find(&t, "Select");
    assert_string_equal(d->type_text, "dict");
    check_json(d, "{\"labels\":[\"A\",\"B\"],\"values\":[0.1,0.2],"
                  "\"locks\":[1,0],\"nested\":{\"on\":\"on\",\"n\":null,"
                  "\"e\":{}}}");

    const ms_tagdesc *g = ms_tagdesc_find(&t, "Big");
    check_double(g->min, -1e100);
    check_double(g->max, 1e100);
    assert_string_equal(g->units, "°C");

    /* A tag with no properties gets every default. */
    const ms_tagdesc *e = ms_tagdesc_find(&t, "Empty");
    assert_string_equal(e->desc, "");
    assert_int_equal(e->type, MS_TYPE_FLOAT);
    assert_string_equal(e->type_text, "float");
    assert_null(e->units);
    assert_int_equal(e->dp, -1);
    assert_false(e->has_min);
    assert_false(e->has_max);
    check_double(e->deadband, 0);
    assert_false(e->has_init);
    assert_int_equal(e->init.type, MS_TYPE_NONE);
    assert_null(e->init_buf);
    assert_null(e->multi);
    assert_int_equal(e->nmulti, 0);
    assert_int_equal(e->format, MS_TAGFMT_NONE);
    assert_int_equal(e->line, 42);
    assert_int_equal(e->col, 1);

    assert_null(ms_tagdesc_find(&t, "Nope"));
    assert_null(ms_tagdesc_find(&t, "flowrate"));
    ms_tagdescs_free(&t);
    assert_null(t.tags);
    assert_int_equal(t.n, 0);
    ms_tagdescs_free(&t); /* twice is harmless */
}

static void test_defaults_and_nulls(void **state)
{
    (void)state;
    ms_tagdescs t;
    /* Empty values count as absent, as pymscada's None. */
    tags_ok("A:\n  desc:\n  units: ~\n  dp:\n  init:\nB: {}\n", &t);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.tags[0].desc, "");
    assert_null(t.tags[0].units);
    assert_int_equal(t.tags[0].dp, -1);
    assert_false(t.tags[0].has_init);
    assert_string_equal(t.tags[1].type_text, "float");
    ms_tagdescs_free(&t);

    /* An empty file: no tags. */
    tags_ok("", &t);
    assert_int_equal(t.n, 0);
    assert_null(t.tags);
    ms_tagdescs_free(&t);

    /* A quoted empty init of a str tag is an empty string, not absent. */
    tags_ok("S: {type: str, init: ''}\n", &t);
    assert_true(t.tags[0].has_init);
    assert_int_equal(t.tags[0].init.u.buf.len, 0);
    ms_tagdescs_free(&t);
}

static void test_multi(void **state)
{
    (void)state;
    ms_tagdescs t;
    capture c;
    capture_begin(&c);
    int rc;
    ms_conf_error err;
    rc = tags_from("Mode:\n"
                   "  type: int\n"
                   "  multi:\n"
                   "  - 'Off'\n"
                   "  - On\n"
                   "  - Off\n"
                   "  - 3\n"
                   "  init: 2\n",
                   &t, &err);
    char *out = capture_end(&c);
    if (rc)
        fail_msg("%s", err.text);
    assert_int_equal(t.tags[0].nmulti, 4);
    assert_string_equal(t.tags[0].multi[0], "Off");
    assert_string_equal(t.tags[0].multi[1], "On");
    assert_string_equal(t.tags[0].multi[2], "Off");
    assert_string_equal(t.tags[0].multi[3], "3");
    check_double(t.tags[0].max, 3);
    assert_int_equal(t.tags[0].init.u.i, 2); /* a number wins over a name */
    /* Bare On and Off warn (pymscada reads them as booleans); 'Off' not. */
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "tags.yaml:5:5: multi state On is taken as "
                                "text here, but pymscada's YAML 1.1 reads a "
                                "bare On as a boolean: quote it ('On')\n"));
    assert_non_null(strstr(out, "tags.yaml:6:5: multi state Off is taken"));
    free(out);
    ms_tagdescs_free(&t);

    /* min and max of a multi tag come from its states. */
    capture_begin(&c);
    rc = tags_from("M: {multi: [a, b], min: 5, max: 9}\n", &t, &err);
    out = capture_end(&c);
    assert_int_equal(rc, 0);
    check_double(t.tags[0].min, 0);
    check_double(t.tags[0].max, 1);
    assert_non_null(strstr(out, "tags.yaml:1:25: min is ignored for a multi "
                                "tag (it is 0)\n"));
    assert_non_null(strstr(out, "tags.yaml:1:33: max is ignored for a multi "
                                "tag (it is the last state's number)\n"));
    free(out);
    ms_tagdescs_free(&t);
}

static void test_unknown_keys_warn(void **state)
{
    (void)state;
    ms_tagdescs t;
    ms_conf_error err;
    capture c;
    capture_begin(&c);
    /* pymscada's alarm and group keys pass quietly; a typo warns with the
     * key it is near, anything else plainly. */
    int rc = tags_from("Level:\n"
                       "  desc: Tank level\n"
                       "  alarm: '> 90'\n"
                       "  group: tanks\n"
                       "  unit: m\n"
                       "Other: {desc: x, colour: red}\n",
                       &t, &err);
    char *out = capture_end(&c);
    assert_int_equal(rc, 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "tags.yaml:5:3: unknown key 'unit' in tag "
                                "Level (ignored): did you mean 'units'?\n"));
    assert_non_null(strstr(out, "tags.yaml:6:18: unknown key 'colour' in tag "
                                "Other (ignored)\n"));
    free(out);
    ms_tagdescs_free(&t);
}

/* ---- errors ---------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    tags_fail("A: {desc: x}\nT:\n  min: abc\n",
              "tags.yaml:3:8: min must be a number");
    tags_fail("T:\n  max: [1]\n", "tags.yaml:2:8: max must be a number");
    tags_fail("T:\n  min: .nan\n", "tags.yaml:2:8: min must be a number");
    tags_fail("T:\n  min: 10\n  max: 0\n",
              "tags.yaml:3:8: max (0) must not be less than min (10)");
    tags_fail("T:\n  deadband: -1\n",
              "tags.yaml:2:13: deadband must be a number >= 0");
    tags_fail("T:\n  deadband: x\n",
              "tags.yaml:2:13: deadband must be a number >= 0");
    tags_fail("T:\n  dp: -1\n",
              "tags.yaml:2:7: dp must be an integer from 0 to 64");
    tags_fail("T:\n  dp: 1.5\n",
              "tags.yaml:2:7: dp must be an integer from 0 to 64");
    tags_fail("T:\n  type: double\n",
              "tags.yaml:2:9: type must be one of int, float, str, bytes, "
              "list, dict");
    tags_fail("T:\n  type: [int]\n",
              "tags.yaml:2:9: type must be one of int, float, str, bytes, "
              "list, dict");
    tags_fail("T:\n  format: datetime\n",
              "tags.yaml:2:11: format applies only to int tags");
    tags_fail("T:\n  type: int\n  format: year\n",
              "tags.yaml:3:11: format must be date, time or datetime");
    tags_fail("T:\n  desc: {a: 1}\n",
              "tags.yaml:2:9: desc must be text, not a map");
    tags_fail("T:\n  units: [m]\n",
              "tags.yaml:2:10: units must be text, not a list");
    tags_fail("T:\n  type: int\n  init: abc\n",
              "tags.yaml:3:9: init must be an integer");
    tags_fail("T:\n  init: abc\n", "tags.yaml:2:9: init must be a number");
    tags_fail("T:\n  type: str\n  init: [a]\n",
              "tags.yaml:3:9: init must be text, not a list");
    tags_fail("T:\n  type: list\n  init: {a: 1}\n",
              "tags.yaml:3:9: init must be a list for a list tag");
    tags_fail("T:\n  type: dict\n  init: [1]\n",
              "tags.yaml:3:9: init must be a map for a dict tag");
    tags_fail("T:\n  type: list\n  init: [1, .inf]\n",
              "tags.yaml:3:13: init: this value has no JSON form (not "
              "UTF-8, or .inf/.nan)");
    tags_fail("T:\n  multi: Off\n",
              "tags.yaml:2:10: multi must be a list of state names");
    tags_fail("T:\n  multi: []\n",
              "tags.yaml:2:10: multi must list at least one state");
    tags_fail("T:\n  type: float\n  multi: [a, b]\n",
              "tags.yaml:2:9: type must be int for a multi tag");
    tags_fail("T:\n  multi: [a, ~]\n",
              "tags.yaml:2:14: multi state must not be empty");
    tags_fail("T:\n  multi: [a, [b]]\n",
              "tags.yaml:2:14: multi state must be text, not a list");
    tags_fail("T:\n  multi: [a, b]\n  init: 2\n",
              "tags.yaml:3:9: init must be a state name or an integer from "
              "0 to 1");
    tags_fail("T:\n  multi: [a, b]\n  init: c\n",
              "tags.yaml:3:9: init must be a state name or an integer from "
              "0 to 1");
    tags_fail("T: 5\n", "tags.yaml:1:4: tag T must be a map of properties");
    tags_fail("T: [a]\n", "tags.yaml:1:4: tag T must be a map of properties");
    tags_fail("- A\n- B\n", "tags.yaml:1:1: the tags file must be a map of "
                            "tag names to their properties");
    tags_fail("A: {}\nT:\n  min: 1\n  min: 2\n",
              "tags.yaml:4:3: duplicate key 'min' (first at line 3 column 3)");
}

static void test_tag_names(void **state)
{
    (void)state;
    tags_fail("'a b': {}\n", "tags.yaml:1:1: tag name 'a b' must not contain "
                             "spaces or control characters");
    tags_fail("\"a\\tb\": {}\n", "tags.yaml:1:1: tag name 'a\tb' must not "
                                 "contain spaces or control characters");
    tags_fail("OK: {}\n'': {}\n",
              "tags.yaml:2:1: tag name must not be empty or null");
    tags_fail("~: {}\n", "tags.yaml:1:1: tag name must not be empty or null");
    char big[400];
    memset(big, 'x', 256);
    strcpy(big + 256, ": {}\n");
    tags_fail(big, "tags.yaml:1:1: tag name is longer than 255 bytes");
    /* 255 bytes is fine, and so are UTF-8 and punctuation. */
    big[255] = '\0';
    strcat(big, ": {}\nΔp_1.x: {}\n__bus__: {type: str}\n");
    ms_tagdescs t;
    tags_ok(big, &t);
    assert_int_equal(t.n, 3);
    assert_int_equal(strlen(t.tags[0].name), 255);
    assert_non_null(ms_tagdesc_find(&t, "Δp_1.x"));
    ms_tagdescs_free(&t);
}

/* ---- files ---------------------------------------------------------------- */

static void test_load(void **state)
{
    (void)state;
    char path[64] = "/tmp/mscada_tags_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    const char *text = "FlowRate:\n  desc: Flow\n  units: m3/h\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    ms_tagdescs t;
    ms_conf_error err;
    assert_int_equal(ms_tagdesc_load(path, false, &t, &err), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.tags[0].units, "m3/h");
    ms_tagdescs_free(&t);

    /* Errors name the real file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    text = "FlowRate:\n  dp: many\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(ms_tagdesc_load(path, false, &t, &err), MS_ECONFIG);
    char want[128];
    snprintf(want, sizeof want, "%s:2:7: dp must be an integer from 0 to 64",
             path);
    assert_string_equal(err.text, want);
    assert_int_equal(t.n, 0);
    unlink(path);

    /* Missing: an error unless missing_ok. */
    assert_int_equal(ms_tagdesc_load(path, false, &t, &err), MS_ENOENT);
    assert_non_null(strstr(err.text, "cannot open"));
    assert_int_equal(t.n, 0);
    assert_int_equal(ms_tagdesc_load(path, true, &t, &err), 0);
    assert_int_equal(t.n, 0);
    assert_null(t.tags);
    assert_string_equal(err.text, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults_and_nulls),
        cmocka_unit_test(test_multi),
        cmocka_unit_test(test_unknown_keys_warn),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tag_names),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
