/* A tag's insides, shared by the tag files alone (none else sees struct
 * ms_tag): tag_table.c (the table) is below tag_value.c (values, sets,
 * publishing), which is below tag_sync.c (the bus's side: ids, values from
 * it, callbacks, RTA); tag_look.c (look-only tags) asks LIST before ID. */
#ifndef MS_CLIENT_TAG_INT_H
#define MS_CLIENT_TAG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client_int.h"
#include "mscada/tag.h"
#include "mscada/tagdesc.h"
#include "mscada/value.h"

#define MS_TAG_RTAQ_MAX 16 /* RTAs queued per tag while it has no id */

typedef struct {
    ms_tag_cb cb;
    void *arg;
    bool dead; /* removed during a callback; compacted afterwards */
} ms_tag_watcher;

typedef struct {
    uint8_t *data; /* type byte + body */
    size_t len;
} ms_tag_rtaq;

struct ms_tag {
    ms_client *c;
    char *name;
    size_t name_len;
    ms_type type;          /* NONE: any */
    uint16_t id;           /* on the current connection; 0 = not yet */
    bool subbed;           /* the SUB reply came on this connection */
    bool own;              /* the value is our own set: we are its author */
    bool dirty;            /* our latest value is not yet sent */
    bool in_backlog;       /* on c->backlog */
    bool bad_logged;       /* a mismatched value from the bus was logged */
    /* Look-only (ms_tag_look): its id is asked only once LIST shows the
     * name, so that looking never creates it (tag_look.c). */
    bool look;
    bool look_asked;       /* that LIST is on its way */
    bool absent;           /* the last LIST did not have it */
    ms_tag_cb absent_cb;
    void *absent_arg;
    int in_cb;             /* change callbacks running (no set then) */
    /* The value in wire form (type byte + body) with a NUL after it, and
     * the decoded view pointing into it. */
    uint8_t *wire;
    size_t wire_len, wire_alloc;
    ms_value value;
    uint64_t time_us;
    /* From the tag description, if any. */
    const ms_tagdesc *desc;
    bool has_min, has_max;
    double min, max, deadband;
    ms_tag_watcher *watchers;
    size_t nwatchers, awatchers;
    ms_tag_rta_cb rta_cb;
    void *rta_arg;
    ms_tag_err_cb err_cb;
    void *err_arg;
    ms_tag_cb id_cb;       /* ms_tag_on_id */
    void *id_arg;
    /* RTAs set before the tag had an id: MS_TAG_RTAQ_MAX of them,
     * allocated by the first (inline they were half of every tag). */
    ms_tag_rtaq *rtaq;
    size_t nrtaq;
    void *data;
    ms_tag *hnext;         /* name hash chain */
    ms_tag *bnext;         /* backlog list */
};

/* ---- tag_table.c ---------------------------------------------------------- */
ms_tag *ms_tags_find(const ms_client *c, const char *name, size_t len);
/* Finds or makes the tag (as ms_tag_new) without asking the bus anything:
 * *made says whether it is new. */
int ms_tags_get(ms_client *c, const char *name, ms_type type, ms_tag **out,
                bool *made);
ms_tag *ms_tags_by_id(const ms_client *c, uint16_t id);
int ms_tags_by_id_put(ms_client *c, uint16_t id, ms_tag *t);

/* ---- tag_value.c ---------------------------------------------------------- */
/* Stores a copy of v (the caller has checked it) as the tag's value. */
int ms_tag_store(ms_tag *t, const ms_value *v, uint64_t time_us);
/* A list or an object at the top, as docs/design.md §5 says. */
bool ms_tag_json_ok(const uint8_t *p, size_t len);
/* Fits v to the tag's type: an INT becomes a FLOAT for a FLOAT tag. */
bool ms_tag_type_fit(const ms_tag *t, ms_value *v);
/* Checks v against the tag (converting INT for FLOAT tags): 0, MS_EINVAL,
 * MS_ETYPE. */
int ms_tag_check_value(const ms_tag *t, ms_value *v);
/* Clamps to min/max; true when the change is within the deadband. */
bool ms_tag_limit(const ms_tag *t, ms_value *v);
/* Sends our latest value when possible; otherwise it stays dirty. */
void ms_tag_publish(ms_tag *t);

#endif
