/* Bus snapshot codec. Pure; bus_server.c does the file I/O. Only tags
 * with a value are kept: a name that was only asked for (a reader's ID, a
 * typo) is forgotten at the next restart. */
#include <stdio.h>
#include <string.h>

#include "bus/bus_snapshot.h"
#include "core/file.h"
#include "mscada/error.h"
#include "mscada/value.h"

static const char magic[] = "MSCADA-SNAPSHOT 1\n";
#define MAGIC_LEN (sizeof magic - 1)

size_t ms_bus_snapshot_count(const ms_bus_tags *t)
{
    size_t count = 0;
    for (uint32_t id = 1; id < t->next_id && id <= MS_BUS_MAX_ID; id++) {
        const ms_bus_tag *tag = ms_bus_tags_get(t, (uint16_t)id);
        count += tag && tag->len;
    }
    return count;
}

int ms_bus_snapshot_encode(const ms_bus_tags *t, ms_buf *out)
{
    uint8_t hdr[16];
    if (ms_buf_append(out, magic, MAGIC_LEN) < 0)
        return MS_ENOMEM;
    ms_put_u32(hdr, (uint32_t)ms_bus_snapshot_count(t));
    if (ms_buf_append(out, hdr, 4) < 0)
        return MS_ENOMEM;
    for (uint32_t id = 1; id < t->next_id && id <= MS_BUS_MAX_ID; id++) {
        const ms_bus_tag *tag = ms_bus_tags_get(t, (uint16_t)id);
        if (!tag || !tag->len)
            continue; /* named but never set: nothing to keep */
        ms_put_u16(hdr, tag->id);
        ms_put_u16(hdr + 2, (uint16_t)tag->name_len);
        if (ms_buf_append(out, hdr, 4) < 0 ||
            ms_buf_append(out, tag->name, tag->name_len) < 0)
            return MS_ENOMEM;
        ms_put_u64(hdr, tag->time_us);
        ms_put_u32(hdr + 8, (uint32_t)tag->len);
        if (ms_buf_append(out, hdr, 12) < 0 ||
            ms_buf_append(out, tag->value, tag->len) < 0)
            return MS_ENOMEM;
    }
    ms_put_u32(hdr, ms_crc32(0, ms_buf_head(out), ms_buf_size(out)));
    return ms_buf_append(out, hdr, 4);
}

#define FAIL(...)                                                          \
    do {                                                                   \
        snprintf(why, whycap, __VA_ARGS__);                                \
        return MS_EPROTO;                                                  \
    } while (0)

int ms_bus_snapshot_decode(const uint8_t *p, size_t len, ms_bus_tags *t,
                           char *why, size_t whycap)
{
    if (len < MAGIC_LEN + 8 || memcmp(p, magic, MAGIC_LEN))
        FAIL("not an mscada snapshot (bad header)");
    if (ms_crc32(0, p, len - 4) != ms_get_u32(p + len - 4))
        FAIL("checksum mismatch (damaged file)");
    size_t end = len - 4;
    size_t off = MAGIC_LEN;
    uint32_t count = ms_get_u32(p + off);
    off += 4;
    for (uint32_t i = 0; i < count; i++) {
        if (end - off < 4)
            FAIL("record %u truncated", i);
        uint16_t id = ms_get_u16(p + off);
        size_t nl = ms_get_u16(p + off + 2);
        off += 4;
        if (end - off < nl + 12)
            FAIL("record %u truncated", i);
        const uint8_t *name = p + off;
        off += nl;
        uint64_t time_us = ms_get_u64(p + off);
        size_t vl = ms_get_u32(p + off + 8);
        off += 12;
        if (end - off < vl)
            FAIL("record %u truncated", i);
        if (id == 0 || !ms_tag_name_valid(name, nl))
            FAIL("record %u has a bad id or name", i);
        if (ms_bus_tags_find(t, name, nl) || ms_bus_tags_get(t, id))
            FAIL("record %u repeats a name or id", i);
        if (vl == 0) {
            /* Never set (an older bus kept those): dropped, its id not
             * reused. */
            if (id >= t->next_id)
                t->next_id = (uint32_t)id + 1;
            continue;
        }
        int err = 0;
        ms_bus_tag *tag = ms_bus_tags_add(t, name, nl, id, &err);
        if (!tag || ms_bus_tag_store(tag, p + off, vl, time_us) < 0)
            FAIL("out of memory");
        off += vl;
    }
    if (off != end)
        FAIL("%zu stray bytes after the last record", end - off);
    return 0;
}
