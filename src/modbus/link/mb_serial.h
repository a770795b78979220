/* A serial line carrying RTU frames (internal to src/modbus): the device
 * opened raw with the configured baud, parity, data and stop bits, a
 * uv_poll on its fd, whole frames found by an RTU scanner kept with the
 * input (mb_rtu_scan.h) however the bytes arrive, and the 3.5-character
 * silence used only to throw away the partial frame left after garbage.
 * Used by the serial master (mb_link_serial.c) and the serial slave
 * (server/mb_serial_server.c). */
#ifndef MS_MODBUS_MB_SERIAL_H
#define MS_MODBUS_MB_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "modbus/codec/mb_rtu_scan.h"
#include "mscada/mbserial.h"

typedef struct ms_mb_line ms_mb_line;

/* A whole frame (raw: unit, PDU, CRC) arrived; adu points into it. The
 * callback may send or close the line. */
typedef void (*ms_mb_line_frame_cb)(ms_mb_line *l, const ms_mb_adu *adu,
                                    void *arg);
/* The line failed (the device went away: a USB adapter unplugged, the
 * other end of a pty closed); close it and open it again later. */
typedef void (*ms_mb_line_error_cb)(ms_mb_line *l, int err, void *arg);

struct ms_mb_line {
    uv_loop_t *loop;
    ms_mb_serial_config cfg;
    ms_mb_dir dir;         /* of the frames received */
    int fd;
    uv_poll_t poll;
    uv_timer_t silence;
    int events;            /* polled for now */
    bool closing;
    bool failed;           /* on_error called: waiting to be closed */
    int handles;
    ms_buf in, out;
    ms_mb_rtu_scanner scanner; /* in step with in: reset when it is emptied */
    uint64_t garbage;      /* bytes thrown away */
    uint64_t frames;       /* frames received */
    ms_mb_line_frame_cb on_frame;
    ms_mb_line_error_cb on_error;
    void *arg;
};

/* ms_mb_serial_config_check, with why (cap bytes, may be NULL) naming the
 * setting that is wrong and what it may be. */
int ms_mb_serial_config_why(const ms_mb_serial_config *cfg, char *why,
                            size_t cap);

/* Opens cfg->device as a raw line. Returns 0, MS_EINVAL (settings),
 * MS_ENOMEM, or a libuv error (UV_ENOENT, UV_EACCES, ...) from opening or
 * setting the device. */
int ms_mb_line_open(uv_loop_t *loop, const ms_mb_serial_config *cfg,
                    ms_mb_dir dir, ms_mb_line_frame_cb on_frame,
                    ms_mb_line_error_cb on_error, void *arg,
                    ms_mb_line **out);
/* Writes a frame (queued behind any unwritten one). Returns 0, MS_ENOMEM,
 * or MS_ECLOSED when the line is closing. */
int ms_mb_line_send(ms_mb_line *l, const uint8_t *p, size_t len);
/* Forgets bytes received so far: a master sends a new request, and
 * nothing before it can be its answer. */
void ms_mb_line_flush_input(ms_mb_line *l);
/* Closes the fd; l is freed once the loop has run the close callbacks. */
void ms_mb_line_close(ms_mb_line *l);

#endif
