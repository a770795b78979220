/* ms_strerror: the text of every code in mscada's one error space
 * (mscada/error.h): ours from MS_ERRNO_MAP, libuv's and the system's from
 * libuv's own table, a Modbus exception by its range. Static strings only,
 * so it is safe from any thread and never allocates (uv_strerror does, for
 * a code it doesn't know). */
#include <string.h>
#include <uv.h>

#include "mscada/error.h"
#include "mscada/modbus.h"

/* A system errno libuv has no name for (Linux has ~130, libuv names ~80). */
static const char *sys_text(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
    return strerrordesc_np(-err);
#else
    (void)err;
    return NULL;
#endif
}

const char *ms_strerror(int err)
{
    if (err >= 0)
        return "ok";
    switch (err) {
#define MS_ERRNO_XX(name, n, text) case MS_##name: return text;
    MS_ERRNO_MAP(MS_ERRNO_XX)
#undef MS_ERRNO_XX
#define UV_ERRNO_XX(name, text) case UV_##name: return text;
    UV_ERRNO_MAP(UV_ERRNO_XX)
#undef UV_ERRNO_XX
    default: break;
    }
    if (ms_mb_err_is_exc(err))
        return "Modbus exception response (ms_mb_strerror names the "
               "function and exception)";
    const char *s = err > -4096 ? sys_text(err) : NULL;
    return s ? s : "unknown error code (not mscada's, libuv's or Modbus's)";
}
