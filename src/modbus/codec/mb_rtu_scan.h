/* The RTU stream scanner that remembers (internal to src/modbus): it
 * decides what ms_mb_rtu_scan (mscada/mbserial.h) decides on the same
 * bytes, but a transport calls it again each time bytes arrive, and it
 * does not try again what it already ruled out. A frame starting at an
 * offset is ruled in or out once MS_MB_RTU_FRAME_MAX bytes from there have
 * arrived, so at most that many offsets are still open at once; each keeps
 * how far it has got (the length its function implies, or the running CRC
 * of a request whose end only a CRC match tells). An arriving byte then
 * costs a step for each open offset, not a rescan of everything held. */
#ifndef MS_MODBUS_MB_RTU_SCAN_H
#define MS_MODBUS_MB_RTU_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "mscada/modbus.h"

/* The longest RTU frame: unit, PDU, CRC. */
#define MS_MB_RTU_FRAME_MAX (1 + MS_MB_PDU_MAX + 2)

/* An offset where a frame may still be arriving. */
typedef struct {
    size_t off;    /* from the start of what the caller holds */
    uint16_t need; /* END: the frame's length; CRC: the next end tried */
    uint16_t crc;  /* CRC: of the bytes before need */
    uint8_t how;   /* what it waits for (mb_rtu_scan.c) */
} ms_mb_rtu_open;

typedef struct {
    ms_mb_dir dir;
    size_t looked; /* offsets below it are open or ruled out */
    size_t nopen;
    ms_mb_rtu_open open[MS_MB_RTU_FRAME_MAX]; /* by offset */
} ms_mb_rtu_scanner;

/* For frames of direction dir, on an empty stream. */
void ms_mb_rtu_scanner_init(ms_mb_rtu_scanner *s, ms_mb_dir dir);
/* Forgets what was tried: call it when the caller drops bytes other than
 * what a scan told it to (a flush, an overflow). */
void ms_mb_rtu_scanner_reset(ms_mb_rtu_scanner *s);
/* As ms_mb_rtu_scan on the len bytes the caller holds. Before the next
 * call the caller drops the first *skip bytes, and the frame's rc bytes
 * after them when one was found, and appends what arrives at the end. */
int ms_mb_rtu_scanner_scan(ms_mb_rtu_scanner *s, const uint8_t *buf,
                           size_t len, ms_mb_adu *adu, size_t *skip);

#endif
