/* modbusserver's runtime, the Modbus "mailbox" (docs/design.md §8): each RTU of
 * the config is served (TCP, UDP or a serial line) from its memory; tags
 * map addresses in it to bus tags both ways: a master's write sets the
 * tag, a bus change writes the registers. */
#include <stdlib.h>
#include <string.h>

#include "apps/modbusserver/mbs_run.h"
#include "mscada/error.h"
#include "mscada/log.h"

typedef struct {
    ms_mbs *s;
    size_t i;                    /* index in cfg->rtus */
    ms_mb_server *srv;
    ms_mb_serial_slave *slave;
    ms_mb_udp_server *usrv;
} mbs_rtu;

typedef struct {
    ms_mbs *s;
    size_t i;                    /* index in cfg->tags */
    ms_tag *tag;
} mbs_tag;

struct ms_mbs {
    ms_mbs_config *cfg;          /* borrowed */
    uv_loop_t *loop;
    mbs_rtu *rtus;
    mbs_tag *tags;
    ms_client *client;
};

/* ---- tags <-> memory -------------------------------------------------------- */

static void mbs_tag_load(const ms_mbs_config *cfg, const ms_mbs_tag *t,
                         uint16_t *regs)
{
    uint16_t *r;
    uint8_t *b;
    ms_mb_mem_lookup(&cfg->rtus[t->rtu].mem, t->addr.unit, t->addr.file,
                     t->addr.addr, ms_mb_type_regs(t->conv.type), &r, &b);
    if (b)
        regs[0] = b[0];
    else
        memcpy(regs, r, ms_mb_type_regs(t->conv.type) * sizeof *r);
}

/* A bus change: into the registers. */
static void on_tag_change(ms_tag *tag, void *arg)
{
    mbs_tag *mt = arg;
    ms_mbs_config *cfg = mt->s->cfg;
    const ms_mbs_tag *t = &cfg->tags[mt->i];
    ms_value v;
    if (ms_tag_get(tag, &v) < 0)
        return;
    uint16_t regs[4];
    mbs_tag_load(cfg, t, regs); /* a bit keeps the rest of its register */
    bool clamped;
    char at[96];
    int rc = ms_mb_encode(&t->conv, &v, regs, &clamped);
    if (rc < 0) {
        ms_log_warn("%s: a %s value can't go into %s %s (%s)", t->name,
                    ms_type_name(v.type), ms_mb_type_name(t->conv.type),
                    ms_mb_addr_format(&t->addr, at, sizeof at),
                    ms_strerror(rc));
        return;
    }
    if (clamped)
        ms_log_warn("%s: value out of %s range at %s; clamped", t->name,
                    ms_mb_type_name(t->conv.type),
                    ms_mb_addr_format(&t->addr, at, sizeof at));
    uint16_t *r;
    uint8_t *b;
    ms_mb_mem_lookup(&cfg->rtus[t->rtu].mem, t->addr.unit, t->addr.file,
                     t->addr.addr, ms_mb_type_regs(t->conv.type), &r, &b);
    if (b)
        b[0] = regs[0] != 0;
    else
        memcpy(r, regs, ms_mb_type_regs(t->conv.type) * sizeof *r);
}

/* A master's write: every tag it touched is set from memory. */
static void on_master_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                            uint16_t count, void *arg)
{
    mbs_rtu *mr = arg;
    ms_mbs *s = mr->s;
    const ms_mbs_config *cfg = s->cfg;
    uint32_t end = (uint32_t)addr + count;
    for (size_t i = 0; i < cfg->ntags; i++) {
        const ms_mbs_tag *t = &cfg->tags[i];
        ms_tag *tag = s->tags[i].tag;
        if (t->rtu != mr->i || t->addr.unit != unit || t->addr.file != file)
            continue;
        uint32_t a = t->addr.addr, e = a + ms_mb_type_regs(t->conv.type);
        if (e <= addr || a >= end || !tag)
            continue;
        uint16_t regs[4];
        mbs_tag_load(cfg, t, regs);
        ms_value v = ms_mb_decode(&t->conv, regs);
        ms_value old;
        if (ms_tag_get(tag, &old) == 0 && ms_value_same(&old, &v))
            continue; /* unchanged: a write of the same value isn't news */
        int rc = ms_tag_set(tag, &v, 0);
        if (rc < 0)
            ms_log_warn("%s: set from a master's write failed: %s", t->name,
                        ms_strerror(rc));
    }
}

/* ---- start and stop --------------------------------------------------------- */

static ms_type bus_type(const ms_mb_conv *c)
{
    if (c->scaled || c->type == MS_MB_FLOAT32 || c->type == MS_MB_FLOAT64)
        return MS_TYPE_FLOAT;
    return MS_TYPE_INT;
}

static int start(ms_mbs *s)
{
    ms_mbs_config *cfg = s->cfg;
    int rc = 0;
    if (cfg->no_bus) {
        if (cfg->ntags)
            ms_log_warn("bus_ip is empty: no bus, so the %zu tags are not "
                        "mapped; masters see the memory only (give bus_ip "
                        "to map them)", cfg->ntags);
        else
            ms_log_info("bus_ip is empty: no bus; serving the memory only");
    } else if ((rc = ms_client_new(s->loop, &cfg->bus, &s->client)) < 0) {
        ms_log_error("bus client: %s", ms_strerror(rc));
        return rc;
    }
    for (size_t i = 0; s->client && i < cfg->ntags; i++) {
        const ms_mbs_tag *t = &cfg->tags[i];
        mbs_tag *mt = &s->tags[i];
        mt->s = s;
        mt->i = i;
        rc = ms_tag_new(s->client, t->name, bus_type(&t->conv), &mt->tag);
        if (rc == MS_ETYPE) /* two addresses for one tag: any type */
            rc = ms_tag_new(s->client, t->name, MS_TYPE_NONE, &mt->tag);
        if (rc < 0 || ms_tag_watch(mt->tag, on_tag_change, mt) < 0) {
            ms_log_error("%s: %s", t->name, ms_strerror(rc));
            return rc < 0 ? rc : MS_ENOMEM;
        }
    }
    for (size_t i = 0; i < cfg->nrtus; i++) {
        ms_mbs_rtu *cr = &cfg->rtus[i];
        mbs_rtu *r = &s->rtus[i];
        r->s = s;
        r->i = i;
        ms_mb_handler h = {.mem = &cr->mem, .on_write = on_master_write,
                           .arg = r, .run_off = cr->run_off,
                           .unit_any = cr->unit_any};
        if (cr->server_id_set) {
            h.server_id = cr->server_id;
            h.server_id_len = cr->server_id_len;
        }
        if (cr->serial)
            rc = ms_mb_serial_slave_start(s->loop, &cr->scfg, &h, &r->slave);
        else if (cr->udp)
            rc = ms_mb_udp_server_start(s->loop, &cr->net, &h, &r->usrv);
        else
            rc = ms_mb_server_start(s->loop, &cr->net, &h, &r->srv);
        if (rc < 0)
            return rc; /* logged by the server */
    }
    return 0;
}

int ms_mbs_start(uv_loop_t *loop, ms_mbs_config *cfg, ms_mbs **out)
{
    *out = NULL;
    ms_mbs *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->cfg = cfg;
    s->loop = loop;
    s->rtus = calloc(cfg->nrtus ? cfg->nrtus : 1, sizeof *s->rtus);
    s->tags = calloc(cfg->ntags ? cfg->ntags : 1, sizeof *s->tags);
    int rc = s->rtus && s->tags ? start(s) : MS_ENOMEM;
    if (rc < 0) {
        ms_mbs_stop(s); /* what start made closes as the loop runs */
        return rc;
    }
    *out = s;
    return 0;
}

/* Nothing calls back into s once its servers and client are closed (they
 * free themselves as the loop runs), so s goes at once. */
void ms_mbs_stop(ms_mbs *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->rtus && i < s->cfg->nrtus; i++) {
        mbs_rtu *r = &s->rtus[i];
        ms_mb_server_stop(r->srv);
        ms_mb_serial_slave_stop(r->slave);
        ms_mb_udp_server_stop(r->usrv);
    }
    ms_client_close(s->client);
    free(s->rtus);
    free(s->tags);
    free(s);
}
