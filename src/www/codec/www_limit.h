/* Failed-login rate limiting, keyed by address or by user name, without
 * I/O or clocks (time is given): after MS_WWW_LIMIT_FREE failures a key
 * must wait MS_WWW_LIMIT_LOCK_S after its last failure, after the next one
 * twice that, and so on up to MS_WWW_LIMIT_MAX_S (tries while it waits are
 * refused unchecked and not counted); a success clears it, a key quiet for
 * MS_WWW_LIMIT_FORGET_S is forgotten. The table is bounded: when full, the
 * key quiet longest is dropped. */
#ifndef MS_WWW_LIMIT_H
#define MS_WWW_LIMIT_H

#include <stdint.h>

#define MS_WWW_LIMIT_FREE 5
#define MS_WWW_LIMIT_LOCK_S 30
#define MS_WWW_LIMIT_MAX_S 300
#define MS_WWW_LIMIT_FORGET_S 900
#define MS_WWW_LIMIT_KEYS 4096

typedef struct ms_www_limit ms_www_limit;

ms_www_limit *ms_www_limit_new(void);
void ms_www_limit_free(ms_www_limit *l);
/* Seconds key must still wait at now_s (0: it may try). */
unsigned ms_www_limit_wait(ms_www_limit *l, const char *key, uint64_t now_s);
void ms_www_limit_fail(ms_www_limit *l, const char *key, uint64_t now_s);
void ms_www_limit_clear(ms_www_limit *l, const char *key);

#endif
