/* The bus server's tag table: names -> tags (hash) and ids -> tags (array),
 * and each tag's type when the bus knows tags.yaml. Ids run from 1 to 65535
 * and are never reused while the table lives. */
#ifndef MS_BUS_TAGS_H
#define MS_BUS_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/htab.h"
#include "mscada/tagdesc.h"
#include "mscada/value.h"

#define MS_BUS_MAX_ID 65535

typedef struct ms_bus_conn ms_bus_conn;

typedef struct {
    char *name; /* NUL-terminated; validated by ms_tag_name_valid */
    size_t name_len;
    uint16_t id;
    uint64_t time_us;
    uint8_t *value; /* wire form: type byte + value; len 0 = never set */
    size_t len, alloc;
    ms_type type;   /* from tags.yaml: SETs must fit it; NONE: any */
    ms_bus_conn *author; /* connection that last set it; NULL: the bus */
    ms_bus_conn **subs;  /* subscribers, in no particular order */
    uint32_t nsubs, asubs;
} ms_bus_tag;

typedef struct {
    ms_bus_tag **by_id; /* nby_id slots, > every id in use; doubles */
    size_t nby_id;
    ms_bus_tag **slots; /* open addressing by name hash */
    size_t nslots, count;
    uint32_t next_id;
    ms_htab types; /* name -> its ms_tagdesc, when the bus has tags.yaml */
} ms_bus_tags;

int ms_bus_tags_init(ms_bus_tags *t);
void ms_bus_tags_free(ms_bus_tags *t);
ms_bus_tag *ms_bus_tags_find(const ms_bus_tags *t, const uint8_t *name,
                             size_t len);
static inline ms_bus_tag *ms_bus_tags_get(const ms_bus_tags *t, uint16_t id)
{
    return id < t->nby_id ? t->by_id[id] : NULL;
}
/* Creates a tag with the next id (or `id` when non-zero, for a snapshot
 * restore). Returns NULL with *err MS_EFULL (no ids left), MS_EINVAL (id
 * taken) or MS_ENOMEM. The name must not exist yet. */
ms_bus_tag *ms_bus_tags_add(ms_bus_tags *t, const uint8_t *name, size_t len,
                            uint16_t id, int *err);
/* Gives every tag that descs describes, now and when added later, the
 * type tags.yaml gives it (a multi is an int). descs must outlive the
 * table. Returns 0 or MS_ENOMEM. */
int ms_bus_tags_set_types(ms_bus_tags *t, const ms_tagdescs *descs);
/* Replaces a tag's value (copied). */
int ms_bus_tag_store(ms_bus_tag *tag, const uint8_t *value, size_t len,
                     uint64_t time_us);

#endif
