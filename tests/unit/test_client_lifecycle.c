/* The bus client's lifecycle rule (docs/design.md §10): config_init sets
 * every default and every value is taken as it is (0 is never "the
 * default"); ms_client_new and ms_client_thread_start refuse a bad setting
 * with MS_EINVAL, *out NULL and nothing made, and ms_client_config_check
 * names it; a config file sets only the keys it has. Leaks: the ASan
 * build. */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#include "client/client_int.h"
#include "mscada/client.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/log.h"

/* ---- each bad setting named --------------------------------------------- */

typedef struct {
    const char *what;
    void (*spoil)(ms_client_config *c);
    const char *why;
} bad_setting;

#define SPOIL(name, stmt)                                                     \
    static void name(ms_client_config *c) { stmt; }
SPOIL(no_host, c->host[0] = 0)
SPOIL(long_host, memset(c->host, 'h', sizeof c->host))
SPOIL(port_0, c->port = 0)
SPOIL(port_65536, c->port = 65536)
SPOIL(long_name, memset(c->name, 'n', sizeof c->name))
SPOIL(no_payload, c->max_payload = 0)
SPOIL(no_high_water, c->queue_high_water = 0)
SPOIL(no_hard_cap, c->queue_hard_cap = 0)
SPOIL(no_backoff, c->backoff_min = 0)
SPOIL(negative_backoff, c->backoff_min = -1)
SPOIL(nan_backoff, c->backoff_min = NAN)
SPOIL(huge_backoff, (c->backoff_min = 1e6, c->backoff_max = 1e6))
SPOIL(no_backoff_max, c->backoff_max = 0)
SPOIL(backoff_upside_down, c->backoff_max = 0.05)
SPOIL(huge_backoff_max, c->backoff_max = INFINITY)
SPOIL(no_connect_timeout, c->connect_timeout = 0)
SPOIL(huge_connect_timeout, c->connect_timeout = 86401)

static const bad_setting bad_settings[] = {
    {"host ''", no_host, "host must be an address or a name"},
    {"host unterminated", long_host, "host must be shorter than 256 bytes"},
    {"port 0", port_0, "port must be from 1 to 65535 (is 0)"},
    {"port 65536", port_65536, "port must be from 1 to 65535 (is 65536)"},
    {"name unterminated", long_name, "name must be shorter than 64 bytes"},
    {"max_payload 0", no_payload, "max_payload must be at least 1 byte (is 0)"},
    {"queue_high_water 0", no_high_water,
     "queue_high_water must be at least 1 byte (is 0)"},
    {"queue_hard_cap 0", no_hard_cap,
     "queue_hard_cap must be at least 1 byte (is 0)"},
    {"backoff_min 0", no_backoff,
     "backoff_min must be more than 0 and at most 86400 seconds (is 0)"},
    {"backoff_min -1", negative_backoff,
     "backoff_min must be more than 0 and at most 86400 seconds (is -1)"},
    {"backoff_min NaN", nan_backoff,
     "backoff_min must be more than 0 and at most 86400 seconds (is nan)"},
    {"backoff_min a million", huge_backoff,
     "backoff_min must be more than 0 and at most 86400 seconds (is 1e+06)"},
    {"backoff_max 0", no_backoff_max,
     "backoff_max must be from backoff_min (0.1) to 86400 seconds (is 0)"},
    {"backoff_max < min", backoff_upside_down,
     "backoff_max must be from backoff_min (0.1) to 86400 seconds (is 0.05)"},
    {"backoff_max inf", huge_backoff_max,
     "backoff_max must be from backoff_min (0.1) to 86400 seconds (is inf)"},
    {"connect_timeout 0", no_connect_timeout,
     "connect_timeout must be more than 0 and at most 86400 seconds (is 0)"},
    {"connect_timeout 86401", huge_connect_timeout,
     "connect_timeout must be more than 0 and at most 86400 seconds (is "
     "86401)"},
};

static void test_bad_settings(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_client_config cfg;
    char why[200];
    ms_client_config_init(&cfg);
    assert_int_equal(ms_client_config_check(&cfg, why, sizeof why), 0);
    for (size_t i = 0; i < sizeof bad_settings / sizeof bad_settings[0];
         i++) {
        const bad_setting *b = &bad_settings[i];
        ms_client_config_init(&cfg);
        b->spoil(&cfg);
        why[0] = 0;
        int rc = ms_client_config_check(&cfg, why, sizeof why);
        if (rc != MS_EINVAL || strcmp(why, b->why))
            fail_msg("%s: rc %d, why '%s' (want '%s')", b->what, rc, why,
                     b->why);
        /* No why buffer: the same answer. */
        assert_int_equal(ms_client_config_check(&cfg, NULL, 0), MS_EINVAL);
        ms_client *c = (ms_client *)&cfg; /* must be set to NULL */
        assert_int_equal(ms_client_new(&loop, &cfg, &c), MS_EINVAL);
        assert_null(c);
        ms_client_thread *th = (ms_client_thread *)&cfg;
        assert_int_equal(ms_client_thread_start(&cfg, &th), MS_EINVAL);
        assert_null(th);
    }
    /* No loop, no config, nowhere to put it. */
    ms_client_config_init(&cfg);
    ms_client *c = (ms_client *)&cfg;
    assert_int_equal(ms_client_new(NULL, &cfg, &c), MS_EINVAL);
    assert_null(c);
    c = (ms_client *)&cfg;
    assert_int_equal(ms_client_new(&loop, NULL, &c), MS_EINVAL);
    assert_null(c);
    assert_int_equal(ms_client_new(&loop, &cfg, NULL), MS_EINVAL);
    assert_int_equal(ms_client_thread_start(&cfg, NULL), MS_EINVAL);
    assert_int_equal(ms_client_config_check(NULL, why, sizeof why),
                     MS_EINVAL);
    assert_string_equal(why, "no config");
    /* Nothing was made: the loop has nothing to run. */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- values taken as they are ------------------------------------------- */

static void test_values_as_given(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    /* The least and the most each setting may be. */
    cfg.port = 1; /* nobody listens: it keeps trying until closed */
    cfg.max_payload = 1;
    cfg.queue_high_water = 1;
    cfg.queue_hard_cap = 1;
    cfg.backoff_min = MS_CLIENT_SECONDS_MAX;
    cfg.backoff_max = MS_CLIENT_SECONDS_MAX;
    cfg.connect_timeout = MS_CLIENT_SECONDS_MAX;
    assert_int_equal(ms_client_config_check(&cfg, NULL, 0), 0);
    ms_client *c = NULL;
    assert_int_equal(ms_client_new(&loop, &cfg, &c), 0);
    assert_non_null(c);
    /* Kept as given, none replaced by a default. */
    assert_int_equal(c->cfg.max_payload, 1);
    assert_int_equal(c->cfg.queue_high_water, 1);
    assert_int_equal(c->cfg.queue_hard_cap, 1);
    assert_true(c->cfg.backoff_min == MS_CLIENT_SECONDS_MAX);
    assert_true(c->cfg.connect_timeout == MS_CLIENT_SECONDS_MAX);
    /* One teardown: close, and the loop runs dry. */
    ms_client_close(c);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    /* A backoff_max below backoff_min was once raised quietly: no more. */
    ms_client_config_init(&cfg);
    cfg.backoff_min = 10;
    c = (ms_client *)&cfg;
    assert_int_equal(ms_client_new(&loop, &cfg, &c), MS_EINVAL);
    assert_null(c);
    cfg.backoff_max = 10;
    cfg.port = 1;
    assert_int_equal(ms_client_new(&loop, &cfg, &c), 0);
    assert_true(c->cfg.backoff_min == 10 && c->cfg.backoff_max == 10);
    ms_client_close(c);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* The same config in a thread; stopped, joined, freed. */
    ms_client_thread *th = NULL;
    assert_int_equal(ms_client_thread_start(&cfg, &th), 0);
    assert_non_null(th);
    ms_client_thread_stop(th);
}

/* ---- a config file sets only the keys it has ---------------------------- */

static int from_yaml(const char *yaml, ms_client_config *cfg)
{
    ms_conf_doc *doc;
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("m.yaml", yaml, strlen(yaml), &doc, &err),
                     0);
    int rc = ms_client_config_from_conf(cfg, ms_conf_root(doc), &err);
    ms_conf_free(doc);
    return rc;
}

static void test_from_conf_keeps_the_rest(void **state)
{
    (void)state;
    ms_client_config dflt, cfg;
    ms_client_config_init(&dflt);
    /* Neither key: every field as _init left it. */
    ms_client_config_init(&cfg);
    assert_int_equal(from_yaml("other: 1\n", &cfg), 0);
    assert_memory_equal(&cfg, &dflt, sizeof cfg);
    /* A program's own settings survive the file. */
    cfg.backoff_max = 1.0;
    cfg.queue_high_water = 512;
    assert_int_equal(from_yaml("bus_port: 1400\n", &cfg), 0);
    assert_int_equal(cfg.port, 1400);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_true(cfg.backoff_max == 1.0);
    assert_int_equal(cfg.queue_high_water, 512);
    assert_int_equal(cfg.max_payload, dflt.max_payload);
    assert_int_equal(ms_client_config_check(&cfg, NULL, 0), 0);
    assert_int_equal(from_yaml("bus_ip: 10.1.2.3\n", &cfg), 0);
    assert_string_equal(cfg.host, "10.1.2.3");
    assert_int_equal(cfg.port, 1400);
}

int main(void)
{
    ms_log_setup(NULL, MS_LOG_ERROR); /* "closing" lines are no news */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_values_as_given),
        cmocka_unit_test(test_from_conf_keeps_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
