/* ms_strerror: the text of mscada's error codes. */
#include "mscada/error.h"

const char *ms_strerror(int err)
{
    switch (err) {
    case MS_OK: return "ok";
    case MS_EAGAIN: return "need more data";
    case MS_EPROTO: return "protocol error";
    case MS_ETOOBIG: return "too big";
    case MS_ENOMEM: return "out of memory";
    case MS_EINVAL: return "invalid argument";
    case MS_ETYPE: return "wrong value type";
    case MS_ENOENT: return "not found";
    case MS_EFULL: return "table full";
    case MS_EIO: return "I/O error";
    case MS_ECONFIG: return "bad configuration";
    case MS_ERANGE: return "out of range";
    case MS_ECLOSED: return "connection closed";
    case MS_ETIMEDOUT: return "timed out";
    case MS_EBUSY: return "busy (would recurse)";
    default: return "unknown error";
    }
}
