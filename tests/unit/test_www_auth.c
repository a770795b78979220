/* The wwwserver's login logic without I/O (src/www/codec): the users file
 * and the write rules (viewer, operator with patterns and pages, admin;
 * which rtas write), the login form and Cookie header parsing, the session
 * token (round trip, tampering, another key), Origin hosts, the redirect
 * after login, failed-login rate limiting, and the audit line and its CSV
 * row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mscada/error.h"
#include "mscada/log.h"
#include "www/codec/www_auditline.h"
#include "www/codec/www_limit.h"
#include "www/codec/www_login.h"
#include "www/codec/www_users.h"

static int parse_users(const char *yaml, ms_www_users *u, ms_conf_error *err)
{
    ms_conf_doc *d;
    if (ms_conf_parse("users.yaml", yaml, strlen(yaml), &d, err) < 0)
        return -99;
    int rc = ms_www_users_parse(ms_conf_root(d), u, err);
    ms_conf_free(d);
    return rc;
}

static const char users_yaml[] =
    "v: {role: viewer, hash: '$argon2id$x'}\n"
    "o: {role: operator, hash: '$argon2id$y'}\n"
    "n:\n  role: operator\n  hash: '$argon2id$z'\n  write: [North_*, Pump?]\n"
    "p: {role: operator, hash: '$a$', pages: [North page]}\n"
    "a: {role: admin, hash: '$b$'}\n"
    "nohash: {role: admin}\n";

static void test_users_rules(void **state)
{
    (void)state;
    ms_www_users u;
    ms_conf_error err;
    assert_int_equal(parse_users(users_yaml, &u, &err), 0);
    assert_int_equal(u.n, 6);
    const ms_www_user *v = ms_www_users_find(&u, "v"),
                      *o = ms_www_users_find(&u, "o"),
                      *n = ms_www_users_find(&u, "n"),
                      *p = ms_www_users_find(&u, "p"),
                      *a = ms_www_users_find(&u, "a");
    assert_non_null(v);
    assert_null(ms_www_users_find(&u, "nobody"));
    assert_null(ms_www_users_find(&u, "nohash")->hash);
    assert_string_equal(n->hash, "$argon2id$z");
    json_t *pages = json_loads(
        "[{\"name\": \"North page\", \"items\": [{\"type\": \"h1\"}, "
        "{\"type\": \"setpoint\", \"tagname\": \"Gate1\"}]}, {\"name\": "
        "\"Other\", \"items\": [{\"tagname\": \"Gate2\"}]}]", 0, NULL);
    ms_www_users_resolve_pages(&u, pages);
    json_decref(pages);
    const char *why;
    assert_false(ms_www_user_may_write(v, "X", &why));
    assert_string_equal(why, "viewers may not write");
    assert_false(ms_www_user_may_write(NULL, "X", &why));
    assert_true(ms_www_user_may_write(o, "anything", &why));
    assert_null(why);
    assert_true(ms_www_user_may_write(a, "anything", &why));
    assert_true(ms_www_user_may_write(n, "North_Set", &why));
    assert_true(ms_www_user_may_write(n, "Pump1", &why));
    assert_false(ms_www_user_may_write(n, "Pump12", &why));
    assert_false(ms_www_user_may_write(n, "South_Set", &why));
    assert_non_null(strstr(why, "operator"));
    assert_true(ms_www_user_may_write(p, "Gate1", &why));
    assert_false(ms_www_user_may_write(p, "Gate2", &why));
    ms_www_users_free(&u);

    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"x: {role: boss, hash: '$a'}\n", "role must be"},
        {"x: {hash: '$a'}\n", "role must be"},
        {"x: {role: viewer, hash: secret}\n", "not a password hash"},
        {"x: {role: viewer, write: [A]}\n", "for operators"},
        {"'a b': {role: viewer}\n", "without spaces"},
        {"- x\n", "users file"},
        {"x: 3\n", "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_users(bad[i].yaml, &u, &err), MS_ECONFIG);
        if (!strstr(err.text, bad[i].want))
            fail_msg("%s: %s", bad[i].yaml, err.text);
        ms_www_users_free(&u);
    }
    assert_int_equal(parse_users("{}\n", &u, &err), 0);
    assert_int_equal(u.n, 0);
    ms_www_users_free(&u);
    assert_int_equal(ms_www_role_parse("admin"), MS_WWW_ADMIN);
    assert_int_equal(ms_www_role_parse("Admin"), 0);
    assert_string_equal(ms_www_role_name(MS_WWW_OPERATOR), "operator");
}

static void test_rta_kinds(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s}", "action", "ADD");
    assert_true(ms_www_rta_is_write("__opnotes__", v));
    assert_false(ms_www_rta_is_write("__history__", v));
    json_object_set_new(v, "action", json_string("BULK HISTORY"));
    assert_false(ms_www_rta_is_write("__opnotes__", v));
    json_object_set_new(v, "action", json_string("GET CONFIG"));
    assert_false(ms_www_rta_is_write("callout", v));
    json_decref(v);
    assert_true(ms_www_rta_is_write("x", NULL)); /* unknown: a write */
}

static void test_form(void **state)
{
    (void)state;
    const char *b = "name=op%20one&password=a+b%26c%3D&next=%2Fx&empty=";
    char out[32];
    assert_int_equal(ms_www_form_get(b, strlen(b), "name", out, sizeof out),
                     6);
    assert_string_equal(out, "op one");
    assert_int_equal(ms_www_form_get(b, strlen(b), "password", out,
                                     sizeof out), 6);
    assert_string_equal(out, "a b&c=");
    assert_int_equal(ms_www_form_get(b, strlen(b), "empty", out, sizeof out),
                     0);
    assert_int_equal(ms_www_form_get(b, strlen(b), "nam", out, sizeof out),
                     -1);
    assert_int_equal(ms_www_form_get(b, strlen(b), "x", out, sizeof out), -1);
    assert_int_equal(ms_www_form_get("a=%0", 4, "a", out, sizeof out), -1);
    assert_int_equal(ms_www_form_get("a=%zz", 5, "a", out, sizeof out), -1);
    assert_int_equal(ms_www_form_get("a=%00x", 6, "a", out, sizeof out), -1);
    assert_int_equal(ms_www_form_get("a=12345", 7, "a", out, 5), -1);
    assert_int_equal(ms_www_form_get("a=1234", 6, "a", out, 5), 4);
    assert_int_equal(ms_www_form_get("", 0, "a", out, sizeof out), -1);
    /* only the length given counts */
    assert_int_equal(ms_www_form_get("a=1&b=2", 3, "b", out, sizeof out), -1);
}

static void test_cookie(void **state)
{
    (void)state;
    const char *h = "theme=dark; mscada_session=1.abc.2; x=\"q\"";
    char out[32];
    assert_int_equal(ms_www_cookie_get(h, strlen(h), "mscada_session", out,
                                       sizeof out), 7);
    assert_string_equal(out, "1.abc.2");
    assert_int_equal(ms_www_cookie_get(h, strlen(h), "x", out, sizeof out),
                     1);
    assert_string_equal(out, "q");
    assert_int_equal(ms_www_cookie_get(h, strlen(h), "mscada", out,
                                       sizeof out), -1);
    assert_int_equal(ms_www_cookie_get(h, strlen(h), "theme", out, 4), -1);
    assert_int_equal(ms_www_cookie_get("", 0, "a", out, sizeof out), -1);
    assert_int_equal(ms_www_cookie_get("a=x\0y", 5, "a", out, sizeof out),
                     -1);
}

static void test_token(void **state)
{
    (void)state;
    uint8_t key[MS_WWW_KEY_LEN], key2[MS_WWW_KEY_LEN];
    memset(key, 7, sizeof key);
    memset(key2, 8, sizeof key2);
    ms_www_token t = {.created_s = 1796626865};
    for (int i = 0; i < MS_WWW_SID_LEN; i++)
        t.sid[i] = (uint8_t)(i * 37);
    strcpy(t.user, "ops_north");
    char tok[MS_WWW_TOKEN_MAX];
    int n = ms_www_token_make(key, &t, tok, sizeof tok);
    assert_true(n > 0 && n == (int)strlen(tok));
    assert_null(strpbrk(tok, ";, \"=")); /* a cookie value as it is */
    ms_www_token back;
    assert_int_equal(ms_www_token_parse(key, tok, (size_t)n, &back), 0);
    assert_memory_equal(back.sid, t.sid, MS_WWW_SID_LEN);
    assert_int_equal(back.created_s, t.created_s);
    assert_string_equal(back.user, "ops_north");
    assert_int_equal(ms_www_token_parse(key2, tok, (size_t)n, &back), -1);
    for (int i = 0; i < n; i++) { /* any byte changed: refused */
        char bad[MS_WWW_TOKEN_MAX];
        memcpy(bad, tok, (size_t)n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(ms_www_token_parse(key, bad, (size_t)n, &back), -1);
    }
    assert_int_equal(ms_www_token_parse(key, tok, (size_t)n - 1, &back), -1);
    {   /* a byte outside base64url, even where decoding might stop */
        char bad[MS_WWW_TOKEN_MAX];
        memcpy(bad, tok, (size_t)n + 1);
        bad[n - 8] = (char)0xa5;
        assert_int_equal(ms_www_token_parse(key, bad, (size_t)n, &back), -1);
        bad[n - 8] = '=';
        assert_int_equal(ms_www_token_parse(key, bad, (size_t)n, &back), -1);
    }
    assert_int_equal(ms_www_token_parse(key, "1.", 2, &back), -1);
    assert_int_equal(ms_www_token_parse(key, "", 0, &back), -1);
    t.user[0] = 0;
    assert_int_equal(ms_www_token_make(key, &t, tok, sizeof tok), -1);
}

static void test_origin_next(void **state)
{
    (void)state;
    assert_string_equal(ms_www_origin_host("http://h:8324"), "h:8324");
    assert_string_equal(ms_www_origin_host("https://hmi.example"),
                        "hmi.example");
    assert_null(ms_www_origin_host("null"));
    assert_null(ms_www_origin_host("http://h/x"));
    assert_null(ms_www_origin_host("ftp://h"));
    assert_null(ms_www_origin_host("http://"));
    assert_string_equal(ms_www_login_next("/#/North"), "/#/North");
    assert_string_equal(ms_www_login_next("//evil.example/"), "/");
    assert_string_equal(ms_www_login_next("/\\evil.example"), "/");
    assert_string_equal(ms_www_login_next("https://evil.example/"), "/");
    assert_string_equal(ms_www_login_next("/logout"), "/");
    assert_string_equal(ms_www_login_next(NULL), "/");
    size_t len;
    char *page = ms_www_login_page("<b>no</b>", "/a\"b", &len);
    assert_non_null(page);
    assert_int_equal(strlen(page), len);
    assert_non_null(strstr(page, "&lt;b&gt;no&lt;/b&gt;"));
    assert_non_null(strstr(page, "value=\"/a&quot;b\""));
    assert_null(strstr(page, "<b>"));
    free(page);
}

static void test_limit(void **state)
{
    (void)state;
    ms_www_limit *l = ms_www_limit_new();
    uint64_t t = 1000;
    for (int i = 0; i < MS_WWW_LIMIT_FREE; i++) {
        assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4", t), 0);
        ms_www_limit_fail(l, "addr 1.2.3.4", t);
    }
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4", t),
                     MS_WWW_LIMIT_LOCK_S);
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.5", t), 0);
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4", t + 10),
                     MS_WWW_LIMIT_LOCK_S - 10);
    t += MS_WWW_LIMIT_LOCK_S;
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4", t), 0);
    ms_www_limit_fail(l, "addr 1.2.3.4", t); /* the next doubles */
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4", t),
                     2 * MS_WWW_LIMIT_LOCK_S);
    for (int i = 0; i < 20; i++)
        ms_www_limit_fail(l, "addr 1.2.3.4", t);
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4", t),
                     MS_WWW_LIMIT_MAX_S);
    /* forgotten after a quiet while; cleared by a success */
    assert_int_equal(ms_www_limit_wait(l, "addr 1.2.3.4",
                                       t + MS_WWW_LIMIT_FORGET_S), 0);
    for (int i = 0; i < MS_WWW_LIMIT_FREE; i++)
        ms_www_limit_fail(l, "user x", t);
    assert_true(ms_www_limit_wait(l, "user x", t) > 0);
    ms_www_limit_clear(l, "user x");
    assert_int_equal(ms_www_limit_wait(l, "user x", t), 0);
    /* bounded: a flood of keys drops the oldest, the table holds */
    for (int i = 0; i < MS_WWW_LIMIT_KEYS + 100; i++) {
        char k[32];
        snprintf(k, sizeof k, "addr %d", i);
        ms_www_limit_fail(l, k, t + (uint64_t)i);
    }
    ms_www_limit_free(l);
}

static void test_audit_line(void **state)
{
    (void)state;
    json_t *o = json_real(10.5), *n = json_string("on, \"x\"");
    ms_www_audit_rec r = {.time_us = 1796626865600831ull,
                          .event = "set",
                          .user = "op",
                          .role = "operator",
                          .peer = "127.0.0.1:5000",
                          .tag = "North_Set",
                          .old_value = o,
                          .new_value = n,
                          .accepted = false,
                          .why = "viewers may not write"};
    char *line = ms_www_audit_line(&r);
    assert_string_equal(
        line, "{\"time\":\"2026-12-07T07:01:05.600831Z\",\"time_us\":"
              "1796626865600831,\"event\":\"set\",\"user\":\"op\",\"role\":"
              "\"operator\",\"peer\":\"127.0.0.1:5000\",\"tag\":"
              "\"North_Set\",\"old\":10.5,\"new\":\"on, \\\"x\\\"\","
              "\"result\":\"refused\",\"why\":\"viewers may not write\"}\n");
    char *row;
    assert_int_equal(ms_www_audit_csv(line, strlen(line), 0, UINT64_MAX,
                                      &row), 1);
    assert_string_equal(row, "2026-12-07T07:01:05.600831Z,set,op,operator,"
                             "127.0.0.1:5000,North_Set,10.5,\"\"\"on, "
                             "\\\"\"x\\\"\"\"\"\",refused,viewers may not "
                             "write\n");
    free(row);
    assert_int_equal(ms_www_audit_csv(line, strlen(line),
                                      1796626865600832ull, UINT64_MAX, &row),
                     0);
    assert_int_equal(ms_www_audit_csv(line, strlen(line), 0,
                                      1796626865600831ull, &row), 0);
    assert_int_equal(ms_www_audit_csv("{}", 2, 0, UINT64_MAX, &row), -1);
    assert_int_equal(ms_www_audit_csv("xx", 2, 0, UINT64_MAX, &row), -1);
    free(line);
    json_decref(o);
    json_decref(n);
    ms_www_audit_rec login = {.time_us = 1, .event = "login", .user = "x",
                              .accepted = true};
    line = ms_www_audit_line(&login);
    assert_non_null(strstr(line, "\"role\":null,\"peer\":null,\"tag\":null,"
                                 "\"old\":null,\"new\":null,\"result\":"
                                 "\"accepted\",\"why\":null}\n"));
    assert_int_equal(ms_www_audit_csv(line, strlen(line), 0, 2, &row), 1);
    assert_string_equal(row, "1970-01-01T00:00:00.000001Z,login,x,,,,,,"
                             "accepted,\n");
    free(row);
    free(line);
    assert_string_equal(ms_www_audit_csv_header(),
                        "time,event,user,role,peer,tag,old,new,result,why\n");
}

int main(void)
{
    ms_log_setup("test_www_auth", MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_rules), cmocka_unit_test(test_rta_kinds),
        cmocka_unit_test(test_form),        cmocka_unit_test(test_cookie),
        cmocka_unit_test(test_token),       cmocka_unit_test(test_origin_next),
        cmocka_unit_test(test_limit),       cmocka_unit_test(test_audit_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
