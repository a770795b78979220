/* JSON as pymscada's browser sees it: Python's json.dumps() text (", " and
 * ": " separators, non-ASCII as \uXXXX, floats in repr() form), and YAML
 * config nodes turned into the JSON PyYAML + json.dumps would give, so the
 * `config`, `pages` and `tag_info` messages are byte for byte pymscada's. */
#ifndef MS_WWW_JSON_H
#define MS_WWW_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "mscada/conf.h"

/* Appends json.dumps(j) to out. Returns 0 or MS_ENOMEM. */
int ms_www_json_dump(const json_t *j, ms_buf *out);
/* The same as a malloc'd NUL-terminated string (NULL when out of memory). */
char *ms_www_json_text(const json_t *j, size_t *len);
/* Python's repr() of a double ("2.0", "1e+100", "0.1", "inf"); buf holds
 * at least 32 bytes. Returns the length. */
int ms_www_float_repr(double d, char *buf);
/* The JSON value PyYAML would construct for a config node: plain null/~,
 * YAML 1.1 booleans, ints and floats resolved as PyYAML does, everything
 * else (and anything quoted) a string. NULL when out of memory. */
json_t *ms_www_conf_json(const ms_conf_node *n);

#endif
