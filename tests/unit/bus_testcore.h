/* A bus core driven by hand in a unit test (test_bus_core, test_bus_text):
 * one with given limits or the bus's defaults, freed by core_del,
 * connections on it speaking a given protocol (frames or text), and its tag
 * table filled to the last id. Include
 * after cmocka.h. */
#ifndef MS_TEST_BUS_TESTCORE_H
#define MS_TEST_BUS_TESTCORE_H

#include <stdio.h>
#include <stdlib.h>

#include "bus/bus_core.h"
#include "bus/bus_tags.h"

static inline ms_bus_core *core_new(size_t max_payload, size_t high_water,
                                    size_t hard_cap)
{
    ms_bus_core *c = calloc(1, sizeof *c);
    assert_non_null(c);
    ms_bus_limits lim = {max_payload, high_water, hard_cap};
    assert_int_equal(ms_bus_core_init(c, &lim), 0);
    assert_int_equal(ms_bus_core_start(c), 0);
    return c;
}

static inline ms_bus_core *core_default(void)
{
    return core_new(4u << 20, 1u << 20, 64u << 20);
}

static inline void core_del(ms_bus_core *c)
{
    ms_bus_core_free(c);
    free(c);
}

static inline ms_bus_conn *core_conn(ms_bus_core *c, const char *peer,
                                     const ms_bus_proto *proto)
{
    ms_bus_conn *conn = ms_bus_core_conn_new(c, peer, NULL, proto);
    assert_non_null(conn);
    return conn;
}

/* Fills c's tag table with t<id> names until one id (the last) is left. */
static inline void core_fill_tags(ms_bus_core *c)
{
    char name[32];
    while (c->tags.next_id < MS_BUS_MAX_ID) {
        int n = snprintf(name, sizeof name, "t%u", (unsigned)c->tags.next_id);
        int err = 0;
        assert_non_null(ms_bus_tags_add(&c->tags, (const uint8_t *)name,
                                        (size_t)n, 0, &err));
    }
}

#endif
