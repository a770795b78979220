/* modbusclient.yaml (docs/modbus.md, "modbusclient"): bus_ip, bus_port,
 * clamp, rtus with their connection, poll (or reads) and writes blocks, and
 * tags with read/write addresses, type, word order, scale, offset and
 * clamp. Every error names file:line:column. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv_conf.h"
#include "apps/modbusclient/mbc_plan.h"
#include "mscada/error.h"

static int get_double(const ms_conf_node *m, const char *key, double min,
                      double max, double *out, ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(m, key);
    if (!n)
        return 0;
    MS_TRY(ms_conf_double(n, key, out, err));
    if (!(*out >= min && *out <= max))
        return ms_conf_fail(err, n, "%s must be from %g to %g", key, min, max);
    return 0;
}

static int get_int(const ms_conf_node *m, const char *key, int64_t min,
                   int64_t max, int64_t *out, ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(m, key);
    return n ? ms_conf_int(n, key, min, max, out, err) : 0;
}

static int get_order(const ms_conf_node *m, ms_mb_word_order *o,
                     ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(m, "word_order");
    const char *s;
    if (!n)
        return 0;
    MS_TRY(ms_conf_str(n, "word_order", &s, err));
    if (ms_mb_word_order_parse(s, o) < 0)
        return ms_conf_fail(err, n, "word_order must be big or little");
    return 0;
}

static int parse_blocks(const ms_conf_node *seq, const char *what,
                        ms_mbc_block **out, size_t *nout, ms_conf_error *err)
{
    static const char *const known[] = {"unit", "file", "start", "end", NULL};
    MS_TRY(ms_conf_want(seq, MS_CONF_SEQ, what, err));
    *out = calloc(seq->n ? seq->n : 1, sizeof **out);
    if (!*out)
        return MS_ENOMEM;
    for (size_t i = 0; i < seq->n; i++) {
        const ms_conf_node *b = seq->items[i];
        ms_mbc_block *k = &(*out)[i];
        int64_t unit = 1, start, end;
        const char *file;
        MS_TRY(ms_conf_want(b, MS_CONF_MAP, what, err));
        ms_conf_warn_unknown(b, known, what);
        MS_TRY(get_int(b, "unit", 0, 255, &unit, err));
        const ms_conf_node *f = ms_conf_get(b, "file");
        const ms_conf_node *s = ms_conf_get(b, "start");
        const ms_conf_node *e = ms_conf_get(b, "end");
        if (!f || !s || !e)
            return ms_conf_fail(err, b, "a %s block needs file, start and "
                                        "end", what);
        MS_TRY(ms_conf_str(f, "file", &file, err));
        if (ms_mb_file_parse(file, &k->file) < 0)
            return ms_conf_fail(err, f, "file must be 0x, 1x, 3x or 4x");
        MS_TRY(ms_conf_int(s, "start", 1, 65536, &start, err));
        MS_TRY(ms_conf_int(e, "end", start, 65536, &end, err));
        k->unit = (uint8_t)unit;
        k->start = (uint16_t)(start - 1);
        k->end = (uint16_t)(end - 1);
        (*nout)++;
    }
    return 0;
}

static int parse_rtu(const ms_conf_node *m, ms_mbc_rtu *r, ms_conf_error *err)
{
    static const char *const known[] = {
        "name", "ip", "port", "tcp_udp", "rate", "timeout", "retries",
        "max_in_flight", "word_order", "poll", "reads", "writes",
        "write_on_reconnect", "connect_timeout", "device", "baud", "parity",
        "data_bits", "stop_bits", NULL};
    const ms_conf_node *n;
    const char *s;
    MS_TRY(ms_conf_want(m, MS_CONF_MAP, "an rtu", err));
    ms_conf_warn_unknown(m, known, "an rtu");
    ms_mb_client_config_init(&r->net);
    r->rate = 1.0;
    MS_TRY(ms_drv_conf_rtu_name(m, MS_MB_RTU_NAME_MAX, &s, err));
    snprintf(r->name, sizeof r->name, "%s", s);
    snprintf(r->net.name, sizeof r->net.name, "%s", s);
    if ((n = ms_conf_get(m, "ip"))) {
        MS_TRY(ms_conf_str(n, "ip", &s, err));
        if (!*s || strlen(s) >= sizeof r->net.host)
            return ms_conf_fail(err, n, "ip must be an address or host name");
        snprintf(r->net.host, sizeof r->net.host, "%s", s);
    }
    int64_t v;
    if (ms_conf_get(m, "port")) {
        MS_TRY(get_int(m, "port", 1, 65535, &v, err));
        r->net.port = (int)v;
    }
    if ((n = ms_conf_get(m, "tcp_udp"))) {
        MS_TRY(ms_conf_str(n, "tcp_udp", &s, err));
        if (!strcmp(s, "tcp"))
            r->net.framing = MS_MB_FRAMING_MBAP;
        else if (!strcmp(s, "rtu-over-tcp"))
            r->net.framing = MS_MB_FRAMING_RTU;
        else if (!strcmp(s, "udp"))
            r->net.transport = MS_MB_TRANSPORT_UDP;
        else if (!strcmp(s, "serial"))
            r->net.transport = MS_MB_TRANSPORT_SERIAL;
        else
            return ms_conf_fail(err, n, "tcp_udp must be tcp, udp, "
                                        "rtu-over-tcp or serial (got '%s')",
                                s);
        if (r->net.transport == MS_MB_TRANSPORT_SERIAL)
            MS_TRY(ms_mb_serial_conf(m, &r->net.serial, err));
    }
    if (r->net.transport != MS_MB_TRANSPORT_SERIAL &&
        (n = ms_conf_get(m, "device")))
        return ms_conf_fail(err, n, "device needs tcp_udp: serial");
    MS_TRY(get_double(m, "rate", 0.001, 86400, &r->rate, err));
    MS_TRY(get_double(m, "timeout", 0.001, 3600, &r->net.timeout, err));
    MS_TRY(get_double(m, "connect_timeout", 0.001, 3600,
                      &r->net.connect_timeout, err));
    if (ms_conf_get(m, "retries")) {
        MS_TRY(get_int(m, "retries", 0, MS_MB_RETRIES_MAX, &v, err));
        r->net.retries = (unsigned)v;
    }
    if (ms_conf_get(m, "max_in_flight")) {
        MS_TRY(get_int(m, "max_in_flight", 1, MS_MB_IN_FLIGHT_MAX, &v, err));
        r->net.max_in_flight = (unsigned)v;
    }
    MS_TRY(get_order(m, &r->order, err));
    if ((n = ms_conf_get(m, "write_on_reconnect")))
        MS_TRY(ms_conf_bool(n, "write_on_reconnect", &r->write_on_reconnect,
                            err));
    const ms_conf_node *poll = ms_conf_get(m, "poll");
    const ms_conf_node *reads = ms_conf_get(m, "reads");
    if (poll && reads)
        return ms_conf_fail(err, reads, "give poll or reads, not both");
    if (poll || reads)
        MS_TRY(parse_blocks(poll ? poll : reads, poll ? "poll" : "reads",
                            &r->reads, &r->nreads, err));
    if ((n = ms_conf_get(m, "writes")))
        MS_TRY(parse_blocks(n, "writes", &r->writes, &r->nwrites, err));
    return 0;
}

static int parse_addr(const ms_conf_node *rtus, const ms_conf_node *n,
                      const char *what, ms_mb_addr *a, size_t *rtu,
                      ms_conf_error *err)
{
    const char *s;
    char msg[200];
    MS_TRY(ms_conf_str(n, what, &s, err));
    if (ms_mb_addr_parse(s, a, msg, sizeof msg) < 0)
        return ms_conf_fail(err, n, "%s", msg);
    return ms_drv_conf_rtu_find(rtus, n, what, a->rtu, strlen(a->rtu), rtu,
                                err);
}

static bool in_blocks(const ms_mbc_block *b, size_t n, const ms_mb_addr *a,
                      unsigned nregs)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].unit == a->unit && b[i].file == a->file &&
            a->addr >= b[i].start && (uint32_t)a->addr + nregs - 1 <= b[i].end)
            return true;
    return false;
}

static int parse_tag(ms_mbc_config *cfg, const ms_conf_node *rtus,
                     const ms_conf_node *key, const ms_conf_node *m,
                     ms_mbc_tag *t, ms_conf_error *err)
{
    static const char *const known[] = {"type", "read", "write",
                                        "word_order", "scale", "offset",
                                        "desc", "clamp", NULL};
    const ms_conf_node *n;
    const char *s;
    char msg[200];
    MS_TRY(ms_conf_want(m, MS_CONF_MAP, "a tag", err));
    ms_conf_warn_unknown(m, known, "a tag");
    t->name = strdup(key->text);
    if (!t->name)
        return MS_ENOMEM;
    t->conv = ms_mb_conv_make(MS_MB_INT16);
    if ((n = ms_conf_get(m, "type"))) {
        ms_mb_type ty;
        MS_TRY(ms_conf_str(n, "type", &s, err));
        if (ms_mb_type_parse(s, &ty) < 0)
            return ms_conf_fail(err, n, "type must be bool, int16, uint16, "
                                        "int32, uint32, int64, uint64, "
                                        "float32 or float64");
        t->conv = ms_mb_conv_make(ty);
    }
    const ms_conf_node *rd = ms_conf_get(m, "read");
    const ms_conf_node *wr = ms_conf_get(m, "write");
    if (!rd && !wr)
        return ms_conf_fail(err, m, "tag %s needs read, write or both",
                            t->name);
    if (rd) {
        MS_TRY(parse_addr(rtus, rd, "read", &t->read, &t->rtu_r, err));
        t->has_read = true;
    }
    if (wr) {
        MS_TRY(parse_addr(rtus, wr, "write", &t->write, &t->rtu_w, err));
        t->has_write = true;
        if (t->write.file == MS_MB_DISCRETE_INPUTS ||
            t->write.file == MS_MB_INPUT_REGISTERS)
            return ms_conf_fail(err, wr, "write: %s is read-only",
                                ms_mb_file_name(t->write.file));
    }
    t->conv.order = cfg->rtus[rd ? t->rtu_r : t->rtu_w].order;
    MS_TRY(get_order(m, &t->conv.order, err));
    const ms_conf_node *sc = ms_conf_get(m, "scale");
    const ms_conf_node *of = ms_conf_get(m, "offset");
    if (sc || of) {
        t->conv.scaled = true;
        t->conv.scale = 1;
        t->conv.offset = 0;
        if (sc)
            MS_TRY(ms_conf_double(sc, "scale", &t->conv.scale, err));
        if (of)
            MS_TRY(ms_conf_double(of, "offset", &t->conv.offset, err));
    }
    t->clamp = cfg->clamp;
    if ((n = ms_conf_get(m, "clamp")))
        MS_TRY(ms_conf_bool(n, "clamp", &t->clamp, err));
    if (rd) {
        t->conv.bit = t->read.bit;
        if (ms_mb_conv_check(&t->conv, &t->read, msg, sizeof msg) < 0)
            return ms_conf_fail(err, rd, "%s", msg);
    }
    if (wr) {
        ms_mb_conv c = t->conv;
        c.bit = t->write.bit;
        if (ms_mb_conv_check(&c, &t->write, msg, sizeof msg) < 0)
            return ms_conf_fail(err, wr, "%s", msg);
        const ms_mbc_rtu *r = &cfg->rtus[t->rtu_w];
        unsigned nregs = c.type == MS_MB_BOOL ? 1 : ms_mb_type_regs(c.type);
        if (r->nwrites && !in_blocks(r->writes, r->nwrites, &t->write, nregs))
            return ms_conf_fail(err, wr, "write: not inside a writes block "
                                         "of %s", r->name);
        if (rd && (t->write.bit < 0) != (t->read.bit < 0))
            return ms_conf_fail(err, wr, "write: read and write must both "
                                         "be bits, or neither");
    }
    return 0;
}

int ms_mbc_config_from_conf(const ms_conf_node *root, ms_mbc_config *cfg,
                            ms_conf_error *err)
{
    static const char *const known[] = {"bus_ip", "bus_port", "rtus",
                                        "tags", "clamp", NULL};
    const ms_conf_node *n;
    memset(cfg, 0, sizeof *cfg);
    MS_TRY(ms_drv_conf_open(root, known, "modbusclient", &cfg->bus, err));
    if ((n = ms_conf_get(root, "clamp")))
        MS_TRY(ms_conf_bool(n, "clamp", &cfg->clamp, err));
    const ms_conf_node *rtus, *tags;
    MS_TRY(ms_drv_conf_rtus(root, &rtus, err));
    cfg->rtus = calloc(rtus->n ? rtus->n : 1, sizeof *cfg->rtus);
    if (!cfg->rtus)
        return MS_ENOMEM;
    for (size_t i = 0; i < rtus->n; i++) {
        cfg->nrtus++; /* counted first: a half-read rtu is freed too */
        MS_TRY(parse_rtu(rtus->items[i], &cfg->rtus[i], err));
        MS_TRY(ms_drv_conf_rtu_unique(rtus, i, err));
    }
    MS_TRY(ms_drv_conf_tags(root, &tags, err));
    if (tags) {
        cfg->tags = calloc(tags->n ? tags->n : 1, sizeof *cfg->tags);
        if (!cfg->tags)
            return MS_ENOMEM;
        for (size_t i = 0; i < tags->n; i++) {
            cfg->ntags++;
            MS_TRY(parse_tag(cfg, rtus, tags->keys[i], tags->items[i],
                             &cfg->tags[i], err));
            if (strlen(cfg->tags[i].name) > 255 || !cfg->tags[i].name[0])
                return ms_conf_fail(err, tags->keys[i], "a tag name must be "
                                    "1-255 bytes");
        }
    }
    return ms_mbc_plan(cfg);
}

void ms_mbc_config_free(ms_mbc_config *cfg)
{
    for (size_t i = 0; i < cfg->nrtus; i++) {
        ms_mbc_rtu *r = &cfg->rtus[i];
        for (size_t k = 0; k < r->nreq; k++) {
            free(r->req[k].vals);
            free(r->req[k].tags);
        }
        free(r->req);
        free(r->reads);
        free(r->writes);
    }
    free(cfg->rtus);
    for (size_t i = 0; i < cfg->ntags; i++)
        free(cfg->tags[i].name);
    free(cfg->tags);
    memset(cfg, 0, sizeof *cfg);
}
