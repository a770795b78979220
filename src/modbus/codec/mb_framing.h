/* The interface every Modbus ADU framing backend implements (internal to
 * src/modbus): MBAP in mb_mbap.c, RTU in mb_rtu.c. mb_adu.c picks one by
 * ms_mb_framing; a new framing (e.g. ASCII) is one more of these. */
#ifndef MS_MODBUS_MB_FRAMING_H
#define MS_MODBUS_MB_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "mscada/modbus.h"

typedef struct {
    const char *name;
    size_t head; /* bytes before the PDU */
    size_t tail; /* bytes after it */
    /* As ms_mb_adu_decode. */
    int (*decode)(ms_mb_dir dir, const uint8_t *buf, size_t len,
                  ms_mb_adu *adu);
    /* Writes head and tail around the pdu_len bytes at out + head. */
    void (*wrap)(uint16_t tid, uint8_t unit, uint8_t *out, size_t pdu_len);
} ms_mb_framer;

/* One CRC-16/MODBUS step (mb_rtu.c's table), for the scanner's running CRC
 * and ms_mb_crc16_add alike. */
extern const uint16_t ms_mb_crc16_table[256];
static inline uint16_t ms_mb_crc16_step(uint16_t crc, uint8_t byte)
{
    return (uint16_t)((crc >> 8) ^ ms_mb_crc16_table[(crc ^ byte) & 0xFF]);
}

extern const ms_mb_framer ms_mb_framer_mbap;
extern const ms_mb_framer ms_mb_framer_rtu;

#endif
