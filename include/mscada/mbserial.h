/* Modbus on serial lines (docs/modbus.md, "Serial lines"): line settings,
 * the RTU stream scanner that finds frames in a byte stream and
 * resynchronises after line noise, and a serial slave that serves a block
 * memory. The serial master is ms_mb_client with transport SERIAL
 * (mscada/mbclient.h).
 *
 * Every call and callback runs on the loop's thread. */
#ifndef MSCADA_MBSERIAL_H
#define MSCADA_MBSERIAL_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mscada/loop.h"

#include "mscada/conf.h"
#include "mscada/mbserver.h"
#include "mscada/modbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start from ms_mb_serial_config_init (9600 8N1, no device). */
typedef struct {
    char device[256];  /* e.g. /dev/ttyUSB0 */
    unsigned baud;     /* default 9600 */
    char parity;       /* 'N', 'E' or 'O'; default 'N' */
    unsigned data_bits; /* 7 or 8; default 8 */
    unsigned stop_bits; /* 1 or 2; default 1 */
} ms_mb_serial_config;

MS_EXTERN void ms_mb_serial_config_init(ms_mb_serial_config *cfg);
/* 0 when there is a device and baud, parity, data and stop bits are ones
 * a line can be set to, else MS_EINVAL. */
MS_EXTERN int ms_mb_serial_config_check(const ms_mb_serial_config *cfg);
/* Reads the serial keys of a config map m (an rtu): device (required),
 * baud, parity (N, E, O or none, even, odd), data_bits, stop_bits, into
 * cfg (defaults 9600 N 8 1). Returns 0 or MS_ECONFIG with err set. */
MS_EXTERN int ms_mb_serial_conf(const ms_conf_node *m, ms_mb_serial_config *cfg,
                      ms_conf_error *err);
/* The RTU inter-frame silence, 3.5 characters, in microseconds (1750 above
 * 19200 baud, as the spec fixes it). */
MS_EXTERN unsigned ms_mb_serial_silence_us(const ms_mb_serial_config *cfg);

/* Finds the next RTU frame in the len bytes at buf, a stream that may hold
 * garbage (line noise, a frame cut short, a peer's echo). Returns the
 * frame's length (> 0) with adu set: the frame starts *skip bytes in, and
 * the bytes before it are garbage. Returns 0 when no whole frame is there
 * yet: the first *skip bytes are garbage for sure and the rest may be the
 * start of a frame still arriving (only silence tells; see the transport).
 * A frame is one with a valid CRC whose length its function implies; for
 * requests (dir MS_MB_REQUEST) a function whose length can't be told (7, 8,
 * 11, 12, 17, 20, 21, 24, ...) ends where the CRC first matches, so a slave
 * can answer exception 1. Never fails. */
MS_EXTERN int ms_mb_rtu_scan(ms_mb_dir dir, const uint8_t *buf, size_t len,
                   ms_mb_adu *adu, size_t *skip);

/* ---- serial slave -------------------------------------------------------- */

typedef struct ms_mb_serial_slave ms_mb_serial_slave;

/* Opens the line and serves h (copied; h->mem borrowed) on it: answers
 * requests to units that have memory, stays silent for other units (other
 * slaves share the line), applies broadcasts (unit 0) to every unit without
 * answering. A line that fails is reopened every second. Returns 0,
 * MS_EINVAL (settings), MS_ENOMEM, or the error opening the device
 * (logged), with *out NULL and nothing left open. */
MS_EXTERN int ms_mb_serial_slave_start(uv_loop_t *loop, const ms_mb_serial_config *cfg,
                             const ms_mb_handler *h,
                             ms_mb_serial_slave **out);
/* Requests answered and bytes discarded as garbage since the start. */
MS_EXTERN uint64_t ms_mb_serial_slave_answered(const ms_mb_serial_slave *s);
MS_EXTERN uint64_t ms_mb_serial_slave_garbage(const ms_mb_serial_slave *s);
/* Closes the line; freed once the loop has run the close callbacks.
 * NULL-safe. */
MS_EXTERN void ms_mb_serial_slave_stop(ms_mb_serial_slave *s);

#ifdef __cplusplus
}
#endif
#endif
