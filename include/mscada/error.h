/* mscada error codes: every fallible call returns 0 (or a count) on success
 * and one of these negative codes on failure; ms_strerror() names them. */
#ifndef MSCADA_ERROR_H
#define MSCADA_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MS_OK = 0,
    MS_EAGAIN = -1,    /* need more bytes / try again later */
    MS_EPROTO = -2,    /* malformed input: the stream can't be trusted */
    MS_ETOOBIG = -3,   /* over a size cap */
    MS_ENOMEM = -4,    /* out of memory */
    MS_EINVAL = -5,    /* bad argument */
    MS_ETYPE = -6,     /* wrong or unknown value type */
    MS_ENOENT = -7,    /* no such tag / key / file */
    MS_EFULL = -8,     /* a table is full (e.g. all 65535 tag ids used) */
    MS_EIO = -9,       /* I/O error; errno has details */
    MS_ECONFIG = -10,  /* bad configuration */
    MS_ERANGE = -11,   /* value out of range */
    MS_ECLOSED = -12,  /* connection closed */
    MS_ETIMEDOUT = -13, /* timed out */
    MS_EBUSY = -14      /* not now: e.g. a tag set from its own callback */
};

/* A short English description of an MS_E* code (never NULL). */
const char *ms_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
