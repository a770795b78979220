/* The bus snapshot: the name, id, time and last value of every tag that
 * has a value, so that a restarted bus keeps ids and values. Format
 * (big-endian):
 *   "MSCADA-SNAPSHOT 1\n"  u32 count
 *   count x { u16 id, u16 name_len, name, u64 time_us, u32 len, value }
 *   u32 CRC-32 of everything before it */
#ifndef MS_BUS_SNAPSHOT_H
#define MS_BUS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus_tags.h"
#include "core/buf.h"

int ms_bus_snapshot_encode(const ms_bus_tags *t, ms_buf *out);
/* The tags a snapshot of t keeps: those with a value. */
size_t ms_bus_snapshot_count(const ms_bus_tags *t);
/* Restores into an empty table, skipping records without a value (older
 * snapshots have them). On MS_EPROTO, why says what is wrong and
 * the table may hold part of the file: free and re-init it. */
int ms_bus_snapshot_decode(const uint8_t *p, size_t len, ms_bus_tags *t,
                           char *why, size_t whycap);

#endif
