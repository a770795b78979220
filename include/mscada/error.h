/* mscada's error space (docs/errors.md): every fallible call returns 0 (or
 * a count) on success and one negative int on failure, from one space that
 * ms_strerror() names whatever the code's origin:
 *
 *   -1 .. -4095            system and libuv errors: UV_E* (on Unix -errno,
 *                          e.g. UV_ECONNREFUSED, UV_EADDRINUSE, UV_ENOENT)
 *   -20001 .. -20099       mscada's own, MS_E* below (MS_EBASE + n, as
 *                          libmodbus keeps its codes above MODBUS_ENOBASE)
 *   -65536 .. -98303       a Modbus exception response (mscada/modbus.h:
 *                          ms_mb_exc_err; ms_mb_strerror names the function
 *                          and the exception)
 *
 * So a call may pass a libuv error through unchanged and a caller tells the
 * kinds apart by value. Compare with the names, never with numbers. */
#ifndef MSCADA_ERROR_H
#define MSCADA_ERROR_H

#include "mscada/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_EBASE 20000

/* XX(name, n, text): MS_<name> is -(MS_EBASE + n) and ms_strerror's text.
 * One list, so that no code goes without its text (libuv's UV_ERRNO_MAP). */
#define MS_ERRNO_MAP(XX)                                                   \
    XX(EAGAIN, 1, "need more data")                                        \
    XX(EPROTO, 2, "protocol error")                                        \
    XX(ETOOBIG, 3, "too big")                                              \
    XX(ENOMEM, 4, "out of memory")                                         \
    XX(EINVAL, 5, "invalid argument")                                      \
    XX(ETYPE, 6, "wrong value type")                                       \
    XX(ENOENT, 7, "not found")                                             \
    XX(EFULL, 8, "table full") /* e.g. all 65535 tag ids used */           \
    XX(EIO, 9, "I/O error") /* errno has details */                        \
    XX(ECONFIG, 10, "bad configuration")                                   \
    XX(ERANGE, 11, "out of range")                                         \
    XX(ECLOSED, 12, "connection closed")                                   \
    XX(ETIMEDOUT, 13, "timed out")                                         \
    XX(EBUSY, 14, "refused: a tag can't be set from its own change "       \
                  "callback (it would recurse)")                           \
    XX(EDOWN, 15, "unit not answering: refused until its next probe")      \
    XX(ERUNNING, 16, "already running: declare and configure before "      \
                     "starting")

enum {
    MS_OK = 0,
#define MS_ERRNO_XX(name, n, text) MS_##name = -(MS_EBASE + (n)),
    MS_ERRNO_MAP(MS_ERRNO_XX)
#undef MS_ERRNO_XX
};

/* A short English description of any code of the space above: ours, a
 * libuv or system error, or a Modbus exception. Never NULL; a static string
 * (thread-safe). 0 and positive values (counts) are "ok". */
MS_EXTERN const char *ms_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
