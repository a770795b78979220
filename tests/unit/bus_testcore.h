/* A bus core driven by hand in a unit test (test_bus_core, test_bus_text):
 * one with given limits or the bus's defaults, freed by core_del, and
 * connections on it speaking a given protocol (frames or text). Include
 * after cmocka.h. */
#ifndef MS_TEST_BUS_TESTCORE_H
#define MS_TEST_BUS_TESTCORE_H

#include <stdlib.h>

#include "bus/bus_core.h"

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

#endif
