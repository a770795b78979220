/* Fuzz target for the bus snapshot decoder (src/bus/bus_snapshot.c).
 *
 * Each input is decoded twice into fresh tables: as it is, and with its
 * last four bytes replaced by the right CRC-32, so that the fuzzer gets
 * past the checksum to the record parser. A decode that succeeds must give
 * a table of tags with values (records without one are dropped) that
 * encodes and decodes again to the same tags; one that fails must say
 * why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_snapshot.h"
#include "bus/bus_tags.h"
#include "core/buf.h"
#include "core/file.h"
#include "mscada/error.h"
#include "mscada/value.h"

#define MAGIC_LEN 18 /* "MSCADA-SNAPSHOT 1\n", then the u32 record count */

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_snapshot: invariant broken: %s\n", what);
        abort();
    }
}

/* b: a encoded and decoded again. A record without a value is dropped
 * on decode, its id still never given out again; so b's next id may only
 * be lower when a's highest id was such a record. */
static void same(const ms_bus_tags *a, const ms_bus_tags *b, bool skipped)
{
    check(a->count == b->count, "tag count changed");
    check(skipped ? b->next_id <= a->next_id : a->next_id == b->next_id,
          "next id changed");
    /* Ids in use are below next_id (the table's own invariant), and a's is
     * the larger: looking at those, not all 65536, keeps an input to
     * microseconds. */
    for (uint32_t id = 0; id < a->next_id && id <= MS_BUS_MAX_ID; id++) {
        const ms_bus_tag *x = ms_bus_tags_get(a, (uint16_t)id),
                         *y = ms_bus_tags_get(b, (uint16_t)id);
        check(!x == !y, "id set changed");
        if (!x)
            continue;
        check(x->id == id && y->id == id, "id mismatch");
        check(x->name_len == y->name_len &&
                  !memcmp(x->name, y->name, x->name_len),
              "name changed");
        check(ms_tag_name_valid((const uint8_t *)x->name, x->name_len),
              "restored an invalid name");
        check(ms_bus_tags_find(a, (const uint8_t *)x->name, x->name_len) ==
                  x,
              "name lookup fails");
        check(x->len != 0, "restored a tag without a value");
        check(x->time_us == y->time_us, "time changed");
        check(x->len == y->len &&
                  (!x->len || !memcmp(x->value, y->value, x->len)),
              "value changed");
    }
}

static void one(const uint8_t *p, size_t len)
{
    ms_bus_tags t;
    char why[128] = "";
    if (ms_bus_tags_init(&t) < 0)
        abort();
    int rc = ms_bus_snapshot_decode(p, len, &t, why, sizeof why);
    if (rc < 0) {
        check(rc == MS_EPROTO, "unexpected error code");
        check(why[0] != '\0', "failure without a reason");
        ms_bus_tags_free(&t);
        return;
    }
    check(rc == 0, "unexpected return value");
    ms_buf out = {0};
    check(ms_bus_snapshot_encode(&t, &out) == 0, "encode failed");
    /* The same records in id order, less those without a value: the same
     * length when there were none. */
    bool skipped = t.count != ms_get_u32(p + MAGIC_LEN);
    check(skipped ? ms_buf_size(&out) < len : ms_buf_size(&out) == len,
          "re-encoded length differs");
    ms_bus_tags u;
    if (ms_bus_tags_init(&u) < 0)
        abort();
    rc = ms_bus_snapshot_decode(ms_buf_head(&out), ms_buf_size(&out), &u, why,
                                sizeof why);
    check(rc == 0, "re-encoded snapshot does not decode");
    same(&t, &u, skipped);
    ms_bus_tags_free(&u);
    ms_buf_free(&out);
    ms_bus_tags_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    if (size >= 4) {
        uint8_t *copy = malloc(size);
        if (!copy)
            abort();
        memcpy(copy, data, size);
        ms_put_u32(copy + size - 4, ms_crc32(0, copy, size - 4));
        one(copy, size);
        free(copy);
    }
    return 0;
}
