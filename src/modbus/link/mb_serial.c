/* A serial line carrying RTU frames (mb_serial.h): termios set-up, a
 * uv_poll on the fd, framing by content (an RTU scanner kept with the
 * input) and resync after garbage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "modbus/link/mb_serial.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define READ_CHUNK 512

static void on_poll(uv_poll_t *h, int status, int events);

void ms_mb_serial_config_init(ms_mb_serial_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->baud = 9600;
    cfg->parity = 'N';
    cfg->data_bits = 8;
    cfg->stop_bits = 1;
}

static const struct {
    unsigned baud;
    speed_t speed;
} speeds[] = {
    {1200, B1200},     {2400, B2400},     {4800, B4800},
    {9600, B9600},     {19200, B19200},   {38400, B38400},
    {57600, B57600},   {115200, B115200}, {230400, B230400},
#ifdef B460800
    {460800, B460800},
#endif
#ifdef B921600
    {921600, B921600},
#endif
};

static int speed_of(unsigned baud, speed_t *out)
{
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].baud == baud) {
            *out = speeds[i].speed;
            return 0;
        }
    return MS_EINVAL;
}

int ms_mb_serial_config_why(const ms_mb_serial_config *cfg, char *why,
                            size_t cap)
{
    speed_t sp;
    char none[1];
    if (!why || !cap) {
        why = none;
        cap = sizeof none;
    }
    if (!cfg->device[0] || !memchr(cfg->device, 0, sizeof cfg->device))
        snprintf(why, cap, "device must be a path to a serial device");
    else if (speed_of(cfg->baud, &sp) < 0)
        snprintf(why, cap, "baud %u is not one a line can be set to (1200, "
                 "2400, ... 115200, 230400)", cfg->baud);
    else if (!(cfg->parity == 'N' || cfg->parity == 'E' ||
               cfg->parity == 'O'))
        snprintf(why, cap, "parity must be N, E or O");
    else if (!(cfg->data_bits == 7 || cfg->data_bits == 8))
        snprintf(why, cap, "data_bits must be 7 or 8");
    else if (!(cfg->stop_bits == 1 || cfg->stop_bits == 2))
        snprintf(why, cap, "stop_bits must be 1 or 2");
    else
        return 0;
    return MS_EINVAL;
}

int ms_mb_serial_config_check(const ms_mb_serial_config *cfg)
{
    return ms_mb_serial_config_why(cfg, NULL, 0);
}

unsigned ms_mb_serial_silence_us(const ms_mb_serial_config *cfg)
{
    /* A character: start bit, data, parity, stop bits. Above 19200 baud the
     * spec fixes 1.75 ms, as timers can't resolve less. */
    if (!cfg->baud || cfg->baud > 19200)
        return 1750;
    unsigned bits = 1 + cfg->data_bits + (cfg->parity != 'N') +
                    cfg->stop_bits;
    return (unsigned)((3.5 * bits * 1e6) / cfg->baud + 0.5);
}

/* Raw mode: no echo, no line editing, no signals, no CR/LF mapping, no
 * flow control; reads return what has arrived. */
static int set_line(int fd, const ms_mb_serial_config *cfg)
{
    struct termios t;
    speed_t sp;
    if (speed_of(cfg->baud, &sp) < 0)
        return MS_EINVAL;
    if (tcgetattr(fd, &t) < 0)
        return uv_translate_sys_error(errno);
    cfmakeraw(&t);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= CLOCAL | CREAD | (cfg->data_bits == 7 ? CS7 : CS8);
    if (cfg->parity != 'N')
        t.c_cflag |= PARENB | (cfg->parity == 'O' ? PARODD : 0);
    if (cfg->stop_bits == 2)
        t.c_cflag |= CSTOPB;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY | INPCK | IGNPAR);
    if (cfg->parity != 'N')
        t.c_iflag |= INPCK | IGNPAR; /* drop bytes with parity errors */
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    if (tcsetattr(fd, TCSANOW, &t) < 0)
        return uv_translate_sys_error(errno);
    tcflush(fd, TCIOFLUSH);
    return 0;
}

static void maybe_free(ms_mb_line *l)
{
    if (l->handles > 0)
        return;
    if (l->fd >= 0)
        close(l->fd);
    ms_buf_free(&l->in);
    ms_buf_free(&l->out);
    free(l);
}

static void on_closed(uv_handle_t *h)
{
    ms_mb_line *l = h->data;
    l->handles--;
    maybe_free(l);
}

void ms_mb_line_close(ms_mb_line *l)
{
    if (!l || l->closing)
        return;
    l->closing = true;
    uv_close((uv_handle_t *)&l->poll, on_closed);
    uv_close((uv_handle_t *)&l->silence, on_closed);
}

static void fail(ms_mb_line *l, int err)
{
    if (l->closing)
        return;
    if (l->failed)
        return;
    l->failed = true; /* once: the owner closes it and opens a new one */
    uv_poll_stop(&l->poll);
    uv_timer_stop(&l->silence);
    l->on_error(l, err, l->arg);
}

static void set_events(ms_mb_line *l, int events)
{
    if (l->closing || l->failed || events == l->events)
        return;
    l->events = events;
    uv_poll_start(&l->poll, events, on_poll);
}

static void try_write(ms_mb_line *l)
{
    while (ms_buf_size(&l->out)) {
        ssize_t n = write(l->fd, ms_buf_head(&l->out), ms_buf_size(&l->out));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            fail(l, uv_translate_sys_error(errno));
            return;
        }
        ms_buf_consume(&l->out, (size_t)n);
    }
    if (!ms_buf_size(&l->out))
        ms_buf_shrink(&l->out, 1024);
    set_events(l, UV_READABLE | (ms_buf_size(&l->out) ? UV_WRITABLE : 0));
}

int ms_mb_line_send(ms_mb_line *l, const uint8_t *p, size_t len)
{
    if (l->closing || l->failed)
        return MS_ECLOSED;
    if (ms_buf_append(&l->out, p, len) < 0)
        return MS_ENOMEM;
    try_write(l);
    return 0;
}

void ms_mb_line_flush_input(ms_mb_line *l)
{
    l->garbage += ms_buf_size(&l->in);
    l->in.off = l->in.len = 0;
    ms_mb_rtu_scanner_reset(&l->scanner);
    uv_timer_stop(&l->silence);
}

static void on_silence(uv_timer_t *t)
{
    ms_mb_line *l = t->data;
    /* The line went quiet after garbage: what is held can't be the start
     * of a frame any more. */
    if (ms_buf_size(&l->in))
        ms_log_debug("%s: %zu bytes of a partial frame dropped after silence",
                     l->cfg.device, ms_buf_size(&l->in));
    ms_mb_line_flush_input(l);
}

/* Hands every whole frame in the input to the owner. */
static void scan(ms_mb_line *l)
{
    bool resync = false;
    while (!l->closing && !l->failed && ms_buf_size(&l->in)) {
        ms_mb_adu adu;
        size_t skip = 0;
        int n = ms_mb_rtu_scanner_scan(&l->scanner, ms_buf_head(&l->in),
                                       ms_buf_size(&l->in), &adu, &skip);
        if (skip) {
            l->garbage += skip;
            resync = true;
            ms_log_debug("%s: %zu bytes of garbage skipped", l->cfg.device,
                         skip);
            ms_buf_consume(&l->in, skip);
        }
        if (n <= 0)
            break;
        resync = false;
        l->frames++;
        /* adu points into the buffer; consume after the callback (which may
         * flush the input: it then holds nothing). */
        size_t before = ms_buf_size(&l->in);
        l->on_frame(l, &adu, l->arg);
        if (ms_buf_size(&l->in) == before)
            ms_buf_consume(&l->in, (size_t)n);
    }
    if (l->closing || l->failed)
        return;
    if (ms_buf_size(&l->in) > 2 * MS_MB_ADU_MAX) {
        ms_mb_line_flush_input(l); /* nothing this long can be pending */
        return;
    }
    if (resync && ms_buf_size(&l->in)) {
        unsigned ms = (ms_mb_serial_silence_us(&l->cfg) + 999) / 1000;
        uv_timer_start(&l->silence, on_silence, ms < 2 ? 2 : ms, 0);
    } else {
        uv_timer_stop(&l->silence);
    }
}

static void do_read(ms_mb_line *l)
{
    for (;;) {
        uint8_t *p = ms_buf_reserve(&l->in, READ_CHUNK);
        if (!p) {
            fail(l, MS_ENOMEM);
            return;
        }
        ssize_t n = read(l->fd, p, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            fail(l, uv_translate_sys_error(errno));
            return;
        }
        if (n == 0)
            break;
        ms_buf_commit(&l->in, (size_t)n);
        if (n < READ_CHUNK)
            break;
    }
    scan(l);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    ms_mb_line *l = h->data;
    if (l->closing || l->failed)
        return;
    if (status < 0) {
        /* libuv reports POLLERR as UV_EBADF, but the fd is fine: the device
         * hung up (USB adapter unplugged, the pty's other end closed), and
         * a write would get EIO. Log that, not "bad file descriptor". */
        fail(l, status == UV_EBADF ? UV_EIO : status);
        return;
    }
    if (events & UV_WRITABLE)
        try_write(l);
    if (!l->closing && !l->failed && (events & UV_READABLE))
        do_read(l);
}

int ms_mb_line_open(uv_loop_t *loop, const ms_mb_serial_config *cfg,
                    ms_mb_dir dir, ms_mb_line_frame_cb on_frame,
                    ms_mb_line_error_cb on_error, void *arg,
                    ms_mb_line **out)
{
    if (ms_mb_serial_config_check(cfg) < 0)
        return MS_EINVAL;
    /* O_NOCTTY: a serial line must never become our controlling tty. */
    int fd = open(cfg->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    int rc = set_line(fd, cfg);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    ms_mb_line *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return MS_ENOMEM;
    }
    l->loop = loop;
    l->cfg = *cfg;
    l->dir = dir;
    ms_mb_rtu_scanner_init(&l->scanner, dir);
    l->fd = fd;
    l->on_frame = on_frame;
    l->on_error = on_error;
    l->arg = arg;
    rc = uv_poll_init(loop, &l->poll, fd);
    if (rc < 0) {
        close(fd);
        free(l);
        return rc;
    }
    uv_timer_init(loop, &l->silence);
    l->poll.data = l->silence.data = l;
    l->handles = 2;
    l->events = UV_READABLE;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    *out = l;
    return 0;
}
