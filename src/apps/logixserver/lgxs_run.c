/* logixserver's runtime: the EtherNet/IP server on the db, and the bus
 * tags tied to its elements both ways. A client's write publishes each
 * changed mapped tag; a bus change (set after we connected to the bus)
 * writes the element, a bit keeping the rest of its word. */
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv.h"
#include "apps/logixserver/lgxs_app.h"
#include "logix/server/lgx_server.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

typedef struct {
    ms_lgxs *s;
    size_t i;
    ms_tag *tag;
} lgxs_tag;

struct ms_lgxs {
    ms_lgxs_config *cfg;
    ms_lgx_server *srv;
    ms_client *bus;
    lgxs_tag *tags;
};

/* Element -> bus, when it changed. */
static void publish(lgxs_tag *mt)
{
    const ms_lgxs_map *m = &mt->s->cfg->maps[mt->i];
    const ms_lgx_dbtag *t = &mt->s->cfg->db.tags[m->t];
    ms_value v, cur;
    if (ms_lgx_to_value(t->type, t->data + m->elem * t->esize, t->esize,
                        m->bit, &v) < 0)
        return;
    if (v.type == MS_TYPE_FLOAT && mt->tag && ms_tag_type(mt->tag) ==
                                                  MS_TYPE_INT)
        v = ms_value_int((int64_t)v.u.f);
    if (ms_tag_get(mt->tag, &cur) == 0 && ms_value_same(&cur, &v))
        return;
    int rc = ms_tag_set(mt->tag, &v, 0);
    if (rc < 0)
        ms_log_warn("%s: publishing a client's write: %s",
                    ms_tag_name(mt->tag), ms_strerror(rc));
}

static void on_db_write(ms_lgx_db *db, size_t t, size_t first, size_t count)
{
    ms_lgxs *s = db->arg;
    for (size_t i = 0; s->tags && i < s->cfg->nmaps; i++) {
        const ms_lgxs_map *m = &s->cfg->maps[i];
        if (m->t == t && m->elem >= first && m->elem < first + count &&
            s->tags[i].tag)
            publish(&s->tags[i]);
    }
}

static void on_bus_change(ms_tag *tag, void *arg)
{
    lgxs_tag *mt = arg;
    const ms_lgxs_map *m = &mt->s->cfg->maps[mt->i];
    ms_lgx_dbtag *t = &mt->s->cfg->db.tags[m->t];
    uint8_t *e = t->data + m->elem * t->esize;
    ms_value v;
    if (ms_tag_get(tag, &v) < 0 || ms_tag_is_own(tag))
        return;
    bool clamped;
    if (m->bit >= 0) {
        if (v.type != MS_TYPE_INT && v.type != MS_TYPE_FLOAT)
            return;
        bool on = v.type == MS_TYPE_INT ? v.u.i != 0 : v.u.f != 0;
        uint8_t *b = e + m->bit / 8;
        *b = (uint8_t)(on ? *b | 1u << (m->bit % 8)
                          : *b & ~(1u << (m->bit % 8)));
        return;
    }
    if (ms_lgx_from_value(t->type, t->esize, &v, e, t->esize, &clamped) < 0)
        ms_log_warn("%s: a %s can't be stored in %s", ms_tag_name(tag),
                    ms_type_name(v.type), t->name);
    else if (clamped)
        ms_log_warn("%s: value out of range of %s; clamped",
                    ms_tag_name(tag), t->name);
}

int ms_lgxs_start(uv_loop_t *loop, ms_lgxs_config *cfg, ms_lgxs **out)
{
    *out = NULL;
    ms_lgxs *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->cfg = cfg;
    cfg->db.on_write = on_db_write;
    cfg->db.arg = s;
    int rc = 0;
    if (!cfg->no_bus && cfg->nmaps) {
        rc = ms_client_new(loop, &cfg->bus, &s->bus);
        s->tags = calloc(cfg->nmaps, sizeof *s->tags);
        if (rc == 0 && !s->tags)
            rc = MS_ENOMEM;
        for (size_t i = 0; rc == 0 && i < cfg->nmaps; i++) {
            lgxs_tag *mt = &s->tags[i];
            mt->s = s;
            mt->i = i;
            rc = ms_drv_tag_new(s->bus, cfg->maps[i].name,
                                cfg->maps[i].type, on_bus_change, mt,
                                &mt->tag);
        }
    }
    if (rc == 0) {
        ms_lgx_server_config sc = {.ip = cfg->ip, .port = cfg->port,
                                   .max_conns = cfg->max_conns,
                                   .timeout = cfg->timeout,
                                   .db = &cfg->db};
        rc = ms_lgx_server_start(loop, &sc, &s->srv);
    }
    if (rc < 0) {
        ms_lgxs_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ms_lgxs_stop(ms_lgxs *s)
{
    if (!s)
        return;
    ms_lgx_server_stop(s->srv);
    ms_client_close(s->bus);
    s->cfg->db.on_write = NULL;
    free(s->tags);
    free(s);
}
