/* Fuzz target for the RTU stream scanner with resync (ms_mb_rtu_scanner,
 * modbus/codec/mb_rtu_scan.h): bytes arrive in pieces, as a serial line
 * delivers them, into a buffer that is scanned after each piece the way
 * mb_serial.c does (drop the garbage it names, take a frame, go on), by one
 * scanner that carries what it tried from call to call.
 *
 * Input layout:
 *   byte 0     bit 0 direction (0 requests: a slave; 1 responses: a master);
 *              bits 1-7 piece size - 1
 *   the rest   the line's bytes
 *
 * Checks (abort()): each call says what the scanner did before it
 * remembered anything (tests/unit/mb_rtu_ref.h) says on the same bytes
 * (the same length, skip and frame);
 * skip and frame lie inside the buffer; every frame has a valid CRC and a
 * PDU of 1..253 bytes starting right after its unit byte; a frame of a
 * function whose length is known decodes as an ADU of the same length,
 * unless it is a request whose byte count disagrees with it, which a slave
 * answers with exception 3; bytes held waiting never grow past what a
 * transport bounds.
 *
 * Speed: the scanner's own work is a quarter of an input's; the rest is
 * the reference, which tries every offset held afresh on each call, up to
 * 256 bytes each (what every call cost before the scanner remembered), so
 * an input costs about its length times what is held times 256. Holding at
 * most what mb_serial.c holds (2 ADUs) and inputs of at most 320 bytes
 * (the longest frame and some noise) keep it to about a millisecond.
 *
 * fuzz-options: -max_len=320 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/mb_rtu_ref.h"
#include "modbus/codec/mb_rtu_scan.h"
#include "mscada/mbserial.h"

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "fuzz_mbrtu: %s:%d: check failed: %s\n",         \
                    __FILE__, __LINE__, #c);                                 \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* As mb_serial.c: input held past 2 ADUs is dropped. */
#define BUF_MAX (2 * MS_MB_ADU_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ms_mb_dir dir = (data[0] & 1) ? MS_MB_RESPONSE : MS_MB_REQUEST;
    size_t piece = (size_t)(data[0] >> 1) + 1;
    data++;
    size--;
    uint8_t buf[BUF_MAX + 256];
    size_t len = 0;
    ms_mb_rtu_scanner sc; /* one per line, as mb_serial.c keeps */
    ms_mb_rtu_scanner_init(&sc, dir);
    for (size_t at = 0; at < size;) {
        size_t n = size - at < piece ? size - at : piece;
        memcpy(buf + len, data + at, n);
        len += n;
        at += n;
        for (;;) {
            ms_mb_adu adu;
            size_t skip = (size_t)-1;
            int rc = ms_mb_rtu_scanner_scan(&sc, buf, len, &adu, &skip);
            ms_mb_adu fresh;
            size_t fresh_skip = (size_t)-1;
            CHECK(mb_ref_scan(dir, buf, len, &fresh, &fresh_skip) == rc);
            CHECK(fresh_skip == skip);
            CHECK(rc == 0 || (fresh.pdu == adu.pdu &&
                              fresh.pdu_len == adu.pdu_len &&
                              fresh.unit == adu.unit));
            CHECK(skip <= len);
            CHECK(rc >= 0);
            if (rc > 0) {
                size_t f = (size_t)rc;
                CHECK(skip + f <= len);
                CHECK(f >= 4 && f <= 1 + MS_MB_PDU_MAX + 2);
                const uint8_t *p = buf + skip;
                CHECK(adu.pdu == p + 1 && adu.unit == p[0]);
                CHECK(adu.pdu_len == f - 3 && adu.pdu_len >= 1);
                uint16_t crc = ms_mb_crc16(p, f - 2);
                CHECK(p[f - 2] == (uint8_t)crc &&
                      p[f - 1] == (uint8_t)(crc >> 8));
                ms_mb_adu again;
                ms_mb_request q;
                if (ms_mb_fc_name(p[1] & 0x7f) &&
                    ms_mb_adu_decode(MS_MB_FRAMING_RTU, dir, p, f,
                                     &again) != rc)
                    CHECK(dir == MS_MB_REQUEST &&
                          ms_mb_request_decode(adu.pdu, adu.pdu_len, &q) ==
                              ms_mb_exc_err(p[1],
                                            MS_MB_EX_ILLEGAL_DATA_VALUE));
                skip += f;
            }
            memmove(buf, buf + skip, len - skip);
            len -= skip;
            if (rc == 0)
                break;
        }
        if (len > BUF_MAX) {
            len = 0;
            ms_mb_rtu_scanner_reset(&sc);
        }
    }
    return 0;
}
