/* tag_info for the browser: a tags.yaml entry standardised exactly as
 * pymscada's standardise_tag_info (name, id null, desc defaults to the
 * name, multi -> int, unknown type -> str, dp rules, deadband null), every
 * other key passed through in file order. */
#ifndef MS_WWW_TAGINFO_H
#define MS_WWW_TAGINFO_H

#include <jansson.h>

#include "mscada/conf.h"
#include "mscada/value.h"

/* entry: the tag's map in tags.yaml (NULL or not a map: an empty one).
 * Returns a new object, or NULL when out of memory. */
json_t *ms_www_taginfo(const char *name, const ms_conf_node *entry);
/* The bus type of a standardised tag_info: int, float, str, bytes, and
 * list/dict as JSON. */
ms_type ms_www_taginfo_type(const json_t *info);

#endif
