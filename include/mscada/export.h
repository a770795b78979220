/* MS_EXTERN marks the functions of libmscada's public API. The library is
 * built with hidden visibility, so only what the headers in include/mscada
 * declare with MS_EXTERN is exported from libmscada.so: the ABI is what is
 * documented, never an internal helper by accident (as libuv's UV_EXTERN). */
#ifndef MSCADA_EXPORT_H
#define MSCADA_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define MS_EXTERN __attribute__((visibility("default")))
#else
#define MS_EXTERN
#endif

#endif
