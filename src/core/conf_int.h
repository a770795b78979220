/* Shared by the config tree's files, internal to libmscada: conf.c builds
 * the tree from libyaml's events, conf_env.c expands ${ENV_VAR} in its
 * scalars, conf_read.c reads typed values from it (mscada/conf.h). */
#ifndef MS_CORE_CONF_INT_H
#define MS_CORE_CONF_INT_H

#include <stddef.h>

#include "mscada/conf.h"

/* "a single value", "a list", "a map": a node kind in messages. */
const char *ms_conf_kind_name(ms_conf_kind k);

/* Copies the len bytes at s, replacing each ${NAME} by the environment's
 * value; `$$` and a `$` not followed by `{` are kept as written. Returns 0
 * with *out (malloc'd, NUL-terminated, *out_len bytes), MS_ENOMEM, or
 * MS_ECONFIG with why (cap bytes) saying what is wrong. */
int ms_conf_env_expand(const char *s, size_t len, char **out, size_t *out_len,
                       char *why, size_t cap);

#endif
