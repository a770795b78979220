/* ms_client_config (src/client/client_config.c): defaults, "HOST:PORT" in
 * its forms, and bus_ip / bus_port from a module's config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mscada/client.h"
#include "mscada/error.h"

static void test_defaults(void **state)
{
    (void)state;
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 1324);
    assert_int_equal(cfg.max_payload, 64u * 1024 * 1024);
    assert_true(cfg.backoff_min == 0.1 && cfg.backoff_max == 5.0);
    assert_false(cfg.use_init);
    assert_string_equal(ms_client_state_name(MS_CLIENT_CONNECTED),
                        "connected");
}

static void test_set_bus(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        const char *host;
        int port;
    } cases[] = {
        {"10.0.0.5:1400", 0, "10.0.0.5", 1400},
        {"busbox", 0, "busbox", 1324},
        {":1500", 0, "127.0.0.1", 1500},
        {"[::1]:1600", 0, "::1", 1600},
        {"[fe80::1]", 0, "fe80::1", 1324},
        {"::1", 0, "::1", 1324},
        {"h:0", MS_EINVAL, NULL, 0},
        {"h:65536", MS_EINVAL, NULL, 0},
        {"h:12x", MS_EINVAL, NULL, 0},
        {"h:", MS_EINVAL, NULL, 0},
        {"", MS_EINVAL, NULL, 0},
        {"[::1", MS_EINVAL, NULL, 0},
        {"[]:1", MS_EINVAL, NULL, 0},
        {"[::1]x", MS_EINVAL, NULL, 0},
        {"a b:1", MS_EINVAL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_client_config cfg;
        ms_client_config_init(&cfg);
        int rc = ms_client_config_set_bus(&cfg, cases[i].in);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0) {
            assert_string_equal(cfg.host, cases[i].host);
            assert_int_equal(cfg.port, cases[i].port);
        } else {
            assert_string_equal(cfg.host, "127.0.0.1"); /* untouched */
            assert_int_equal(cfg.port, 1324);
        }
    }
}

static int from_yaml(const char *yaml, ms_client_config *cfg,
                     ms_conf_error *err)
{
    ms_conf_doc *doc;
    assert_int_equal(ms_conf_parse("m.yaml", yaml, strlen(yaml), &doc, err),
                     0);
    ms_client_config_init(cfg);
    int rc = ms_client_config_from_conf(cfg, ms_conf_root(doc), err);
    ms_conf_free(doc);
    return rc;
}

static void test_from_conf(void **state)
{
    (void)state;
    ms_client_config cfg;
    ms_conf_error err;
    assert_int_equal(from_yaml("bus_ip: 10.1.2.3\nbus_port: 1400\n", &cfg,
                               &err), 0);
    assert_string_equal(cfg.host, "10.1.2.3");
    assert_int_equal(cfg.port, 1400);
    assert_int_equal(from_yaml("other: 1\n", &cfg, &err), 0);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(from_yaml("bus_port: 70000\n", &cfg, &err),
                     MS_ECONFIG);
    assert_non_null(strstr(err.text, "m.yaml:1:11"));
    assert_int_equal(from_yaml("bus_ip: [1]\n", &cfg, &err), MS_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_bus),
        cmocka_unit_test(test_from_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
