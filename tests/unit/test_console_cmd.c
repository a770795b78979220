/* Console command lines and values as text (src/modules/console_cmd.c,
 * console_fmt.c): parsing every command, LIST matching, what Tab
 * completes, readable values with tags.yaml descriptions, typed values
 * from text. The module's pure files are compiled in here: they live in
 * the executable, not in libmscada. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modules/console.h"
#include "modules/console_cmd.c"
#include "modules/console_fmt.c"

static int parse(const char *text, ms_con_line *pl, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", text);
    return ms_con_parse(buf, pl);
}

static void test_parse_commands(void **state)
{
    (void)state;
    char b[256];
    ms_con_line pl;
    assert_int_equal(parse("  ", &pl, b, sizeof b), 0);
    assert_int_equal(pl.cmd, MS_CON_NONE);
    assert_int_equal(parse("# comment", &pl, b, sizeof b), 0);
    assert_int_equal(pl.cmd, MS_CON_NONE);

    assert_int_equal(parse("get A B", &pl, b, sizeof b), 0);
    assert_int_equal(pl.cmd, MS_CON_GET);
    assert_int_equal(pl.nwords, 2);
    assert_string_equal(pl.words[1], "B");
    assert_int_equal(parse("get", &pl, b, sizeof b), -1);
    assert_non_null(strstr(pl.err, "usage: get"));

    assert_int_equal(parse("set S  hello  world ", &pl, b, sizeof b), 0);
    assert_int_equal(pl.cmd, MS_CON_SET);
    assert_string_equal(pl.words[0], "S");
    assert_string_equal(pl.rest, "hello  world");
    assert_int_equal(pl.type, MS_TYPE_NONE);
    assert_int_equal(parse("set S int 5", &pl, b, sizeof b), 0);
    assert_int_equal(pl.type, MS_TYPE_INT);
    assert_string_equal(pl.rest, "5");
    assert_int_equal(parse("set S str", &pl, b, sizeof b), 0);
    assert_int_equal(pl.type, MS_TYPE_NONE); /* the text "str" */
    assert_string_equal(pl.rest, "str");
    assert_int_equal(parse("set S str \"\"", &pl, b, sizeof b), 0);
    assert_int_equal(pl.type, MS_TYPE_STR);
    assert_string_equal(pl.rest, "");
    assert_int_equal(parse("set S", &pl, b, sizeof b), -1);

    assert_int_equal(parse("list", &pl, b, sizeof b), 0);
    assert_string_equal(pl.rest, "");
    assert_int_equal(parse("list ^Ab", &pl, b, sizeof b), 0);
    assert_string_equal(pl.rest, "^Ab");
    assert_int_equal(parse("list -t 60", &pl, b, sizeof b), 0);
    assert_true(pl.since_s == 60.0);
    assert_int_equal(parse("list -t x", &pl, b, sizeof b), -1);
    assert_int_equal(parse("list a b", &pl, b, sizeof b), -1);

    assert_int_equal(parse("watch ^F", &pl, b, sizeof b), 0);
    assert_string_equal(pl.rest, "^F");
    assert_int_equal(parse("rta T {\"a\": 1}", &pl, b, sizeof b), 0);
    assert_string_equal(pl.rest, "{\"a\": 1}");
    assert_int_equal(parse("rta T", &pl, b, sizeof b), -1);
    assert_int_equal(parse("log  two words ", &pl, b, sizeof b), 0);
    assert_string_equal(pl.rest, "two words");
    assert_int_equal(parse("unsub", &pl, b, sizeof b), 0);
    assert_int_equal(pl.nwords, 0);
    assert_int_equal(parse("help set", &pl, b, sizeof b), 0);
    assert_int_equal(parse("help nosuch", &pl, b, sizeof b), -1);
    assert_int_equal(parse("EXIT", &pl, b, sizeof b), 0);
    assert_int_equal(pl.cmd, MS_CON_QUIT);
    assert_int_equal(parse("frob x", &pl, b, sizeof b), -1);
    assert_non_null(strstr(pl.err, "unknown command 'frob'"));
}

static void test_name_match(void **state)
{
    (void)state;
    assert_true(ms_con_name_match("", "x"));
    assert_true(ms_con_name_match("^", "x"));
    assert_true(ms_con_name_match("^Fl", "Flow"));
    assert_false(ms_con_name_match("^Fl", "AFlow"));
    assert_true(ms_con_name_match("ow$", "Flow"));
    assert_false(ms_con_name_match("ow$", "Flows"));
    assert_true(ms_con_name_match("lo", "Flow"));
    assert_false(ms_con_name_match("xx", "Flow"));
}

static void test_complete_what(void **state)
{
    (void)state;
    assert_int_equal(ms_con_complete_what("ge", 0), MS_CON_COMPLETE_COMMAND);
    assert_int_equal(ms_con_complete_what("get Fl", 4), MS_CON_COMPLETE_TAG);
    assert_int_equal(ms_con_complete_what("sub A B", 6), MS_CON_COMPLETE_TAG);
    assert_int_equal(ms_con_complete_what("set A i", 6),
                     MS_CON_COMPLETE_TYPE_OR_NOTHING);
    assert_int_equal(ms_con_complete_what("set A int 5", 10),
                     MS_CON_COMPLETE_NOTHING);
    assert_int_equal(ms_con_complete_what("help s", 5),
                     MS_CON_COMPLETE_COMMAND);
    assert_int_equal(ms_con_complete_what("log x", 4),
                     MS_CON_COMPLETE_NOTHING);
    assert_int_equal(ms_con_complete_what("nosuch x", 7),
                     MS_CON_COMPLETE_NOTHING);
}

static void check_fmt(const ms_value *v, const ms_tagdesc *d,
                      const char *want)
{
    char *s = ms_con_format(v, d);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void test_format(void **state)
{
    (void)state;
    ms_value v = ms_value_float(12.345);
    check_fmt(&v, NULL, "12.345");
    v = ms_value_float(0.1);
    check_fmt(&v, NULL, "0.1");
    ms_tagdesc d;
    memset(&d, 0, sizeof d);
    d.dp = 1;
    d.units = "m3/h";
    v = ms_value_float(12.345);
    check_fmt(&v, &d, "12.3 m3/h");
    v = ms_value_int(7);
    check_fmt(&v, &d, "7 m3/h");

    char *states[] = {"Off", "Manual", "Auto"};
    memset(&d, 0, sizeof d);
    d.dp = -1;
    d.multi = states;
    d.nmulti = 3;
    v = ms_value_int(2);
    check_fmt(&v, &d, "Auto");
    v = ms_value_int(5); /* out of range: the number */
    check_fmt(&v, &d, "5");

    memset(&d, 0, sizeof d);
    d.dp = -1;
    d.format = MS_TAGFMT_DATETIME;
    v = ms_value_int(1767323045);
    check_fmt(&v, &d, "2026-01-02T03:04:05Z");
    d.format = MS_TAGFMT_DATE;
    check_fmt(&v, &d, "2026-01-02");
    d.format = MS_TAGFMT_TIME;
    check_fmt(&v, &d, "03:04:05Z");

    v = ms_value_buf(MS_TYPE_STR, "a\tb\n", 4);
    check_fmt(&v, NULL, "a\\tb\\n");
    uint8_t bytes[40];
    for (int i = 0; i < 40; i++)
        bytes[i] = (uint8_t)i;
    v = ms_value_buf(MS_TYPE_BYTES, bytes, 2);
    check_fmt(&v, NULL, "bytes[2] 0001");
    v = ms_value_buf(MS_TYPE_BYTES, bytes, 40);
    check_fmt(&v, NULL, "bytes[40] 000102030405060708090a0b0c0d0e0f1011121314"
                        "15161718191a1b1c1d1e1f...");
    v = ms_value_buf(MS_TYPE_JSON, "[1, {\"a\": 2}]", 13);
    check_fmt(&v, NULL, "[1,{\"a\":2}]");
    v = ms_value_none();
    check_fmt(&v, NULL, "(no value)");
}

static void test_guess_and_parse(void **state)
{
    (void)state;
    assert_int_equal(ms_con_guess_type("5"), MS_TYPE_INT);
    assert_int_equal(ms_con_guess_type("-5"), MS_TYPE_INT);
    assert_int_equal(ms_con_guess_type("5.0"), MS_TYPE_FLOAT);
    assert_int_equal(ms_con_guess_type("1e3"), MS_TYPE_FLOAT);
    assert_int_equal(ms_con_guess_type("nan"), MS_TYPE_STR);
    assert_int_equal(ms_con_guess_type("[1, 2]"), MS_TYPE_JSON);
    assert_int_equal(ms_con_guess_type("[1, 2"), MS_TYPE_STR);
    assert_int_equal(ms_con_guess_type("hello"), MS_TYPE_STR);

    ms_value v;
    char *owned;
    const char *why;
    assert_int_equal(ms_con_parse_value(MS_TYPE_INT, "42", NULL, &v, &owned,
                                        &why), 0);
    assert_int_equal(v.u.i, 42);
    assert_int_equal(ms_con_parse_value(MS_TYPE_INT, "4.2", NULL, &v, &owned,
                                        &why), -1);
    assert_int_equal(ms_con_parse_value(MS_TYPE_FLOAT, "4", NULL, &v,
                                        &owned, &why), 0);
    assert_int_equal(v.type, MS_TYPE_FLOAT);
    assert_true(v.u.f == 4.0);
    assert_int_equal(ms_con_parse_value(MS_TYPE_BYTES, "0x00fF", NULL, &v,
                                        &owned, &why), 0);
    assert_int_equal(v.u.buf.len, 2);
    assert_int_equal(v.u.buf.ptr[1], 0xff);
    free(owned);
    assert_int_equal(ms_con_parse_value(MS_TYPE_BYTES, "abc", NULL, &v,
                                        &owned, &why), -1);
    assert_int_equal(ms_con_parse_value(MS_TYPE_JSON, "3", NULL, &v,
                                        &owned, &why), -1);

    char *states[] = {"Off", "Manual", "Auto"};
    ms_tagdesc d;
    memset(&d, 0, sizeof d);
    d.multi = states;
    d.nmulti = 3;
    assert_int_equal(ms_con_parse_value(MS_TYPE_INT, "manual", &d, &v,
                                        &owned, &why), 0);
    assert_int_equal(v.u.i, 1);
    assert_int_equal(ms_con_parse_value(MS_TYPE_INT, "Fast", &d, &v, &owned,
                                        &why), -1);
    memset(&d, 0, sizeof d);
    d.format = MS_TAGFMT_DATETIME;
    assert_int_equal(ms_con_parse_value(MS_TYPE_INT, "2026-01-02T03:04:05Z",
                                        &d, &v, &owned, &why), 0);
    assert_int_equal(v.u.i, 1767323045);
    assert_int_equal(ms_con_parse_value(MS_TYPE_INT, "2026-01-02", &d, &v,
                                        &owned, &why), 0);
    assert_int_equal(v.u.i, 1767312000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_commands),
        cmocka_unit_test(test_name_match),
        cmocka_unit_test(test_complete_what),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_guess_and_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
