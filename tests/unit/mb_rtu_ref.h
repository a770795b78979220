/* The RTU stream scanner as it was before it remembered anything between
 * calls (src/modbus/codec/mb_rtu_scan.c before the scanner state): every
 * offset tried from the start of what is held, on every call. The
 * reference test_modbus_rtu_split.c and tests/fuzz/fuzz_mbrtu.c hold the
 * scanner to: the same answer on the same bytes. Slow on purpose. */
#ifndef MS_TEST_MB_RTU_REF_H
#define MS_TEST_MB_RTU_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modbus/codec/mb_framing.h"
#include "mscada/error.h"
#include "mscada/modbus.h"

#define MB_REF_FRAME_MAX (1 + MS_MB_PDU_MAX + 2)

/* A fuzz target wants no coverage feedback from the reference's loops. */
#if defined(__clang__) && __clang_major__ >= 13
#define MB_REF_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define MB_REF_NO_COVERAGE
#endif

MB_REF_NO_COVERAGE static inline int
mb_ref_frame_at(ms_mb_dir dir, const uint8_t *buf, size_t len, ms_mb_adu *adu)
{
    int rc = ms_mb_adu_decode(MS_MB_FRAMING_RTU, dir, buf, len, adu);
    if (rc != MS_EPROTO || dir != MS_MB_REQUEST || len < 2)
        return rc;
    uint8_t fc = buf[1];
    bool counted = fc == MS_MB_WRITE_MULTIPLE_COILS ||
                   fc == MS_MB_WRITE_MULTIPLE_REGISTERS ||
                   fc == MS_MB_READ_WRITE_REGISTERS;
    if (fc == 0 || fc > 127 || (ms_mb_fc_name(fc) && !counted))
        return MS_EPROTO;
    size_t end = len < MB_REF_FRAME_MAX ? len : MB_REF_FRAME_MAX;
    uint16_t crc = ms_mb_crc16(buf, 2);
    for (size_t n = 2; n + 2 <= end; n++) {
        if ((uint16_t)(buf[n] | buf[n + 1] << 8) == crc) {
            adu->tid = 0;
            adu->unit = buf[0];
            adu->pdu = buf + 1;
            adu->pdu_len = n - 1;
            return (int)(n + 2);
        }
        crc = ms_mb_crc16_step(crc, buf[n]);
    }
    return len >= MB_REF_FRAME_MAX ? MS_EPROTO : 0;
}

/* As ms_mb_rtu_scan. */
MB_REF_NO_COVERAGE static inline int
mb_ref_scan(ms_mb_dir dir, const uint8_t *buf, size_t len, ms_mb_adu *adu,
            size_t *skip)
{
    size_t hold = len;
    for (size_t i = 0; i < len; i++) {
        int rc = mb_ref_frame_at(dir, buf + i, len - i, adu);
        if (rc > 0) {
            *skip = i;
            return rc;
        }
        if (rc == 0 && hold == len)
            hold = i;
    }
    *skip = hold;
    return 0;
}

#endif
