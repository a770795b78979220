/* modbusserver.yaml (docs/modbus.md, "modbusserver"): bus_ip, bus_port,
 * rtus with their transport (tcp, udp or a serial line), word order, what
 * they report (server_id, run_status), unit_any and serve blocks (the
 * memory masters see), and tags with an address inside
 * a serve block, type, word order, scale and offset. Every error names
 * file:line:column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/modbusserver/mbs_run.h"
#include "mscada/error.h"

static int get_str(const ms_conf_node *map, const char *key, bool need,
                   const char **out, ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(map, key);
    if (!n || n->null) {
        if (need)
            return ms_conf_fail(err, map, "missing '%s'", key);
        return 0;
    }
    return ms_conf_str(n, key, out, err);
}

static int load_serve(ms_mbs_rtu *r, const ms_conf_node *blocks,
                      ms_conf_error *err)
{
    static const char *const known[] = {"unit", "file", "start", "end", NULL};
    if (ms_conf_want(blocks, MS_CONF_SEQ, "serve", err) < 0)
        return MS_ECONFIG;
    for (size_t i = 0; i < blocks->n; i++) {
        const ms_conf_node *b = blocks->items[i];
        if (ms_conf_want(b, MS_CONF_MAP, "a serve block", err) < 0)
            return MS_ECONFIG;
        ms_conf_warn_unknown(b, known, "serve block");
        int64_t unit, start, end;
        const char *file;
        ms_mb_file f;
        const ms_conf_node *n;
        if (!(n = ms_conf_get(b, "unit")))
            return ms_conf_fail(err, b, "serve block needs 'unit'");
        if (ms_conf_int(n, "unit", 0, 255, &unit, err) < 0)
            return MS_ECONFIG;
        if (get_str(b, "file", true, &file, err) < 0)
            return MS_ECONFIG;
        if (ms_mb_file_parse(file, &f) < 0)
            return ms_conf_fail(err, ms_conf_get(b, "file"),
                                "file must be 0x, 1x, 3x or 4x");
        if (!(n = ms_conf_get(b, "start")))
            return ms_conf_fail(err, b, "serve block needs 'start'");
        if (ms_conf_int(n, "start", 1, 65536, &start, err) < 0)
            return MS_ECONFIG;
        if (!(n = ms_conf_get(b, "end")))
            return ms_conf_fail(err, b, "serve block needs 'end'");
        if (ms_conf_int(n, "end", start, 65536, &end, err) < 0)
            return MS_ECONFIG;
        if (ms_mb_mem_add(&r->mem, (uint8_t)unit, f, (uint16_t)(start - 1),
                          (uint16_t)(end - 1)) < 0)
            return ms_conf_fail(err, b, "out of memory");
    }
    return 0;
}

/* server_id: 'text' (its bytes) or [bytes]; a bare number is neither. */
static int load_server_id(ms_mbs_rtu *r, const ms_conf_node *n,
                          ms_conf_error *err)
{
    r->server_id_set = true;
    if (n->kind == MS_CONF_SEQ) {
        if (n->n > MS_MB_MAX_SERVER_ID)
            return ms_conf_fail(err, n, "server_id has %zu bytes; at most %d "
                                "fit an answer", n->n, MS_MB_MAX_SERVER_ID);
        for (size_t i = 0; i < n->n; i++) {
            int64_t b;
            if (ms_conf_int(n->items[i], "a server_id byte", 0, 255, &b,
                            err) < 0)
                return MS_ECONFIG;
            r->server_id[i] = (uint8_t)b;
        }
        r->server_id_len = n->n;
        return 0;
    }
    ms_conf_error scratch;
    int64_t b;
    if (n->kind == MS_CONF_SCALAR && !n->quoted &&
        ms_conf_int(n, "server_id", INT64_MIN, INT64_MAX, &b, &scratch) == 0)
        return ms_conf_fail(err, n, "server_id: write text in quotes "
                            "('%s') or bytes as a list ([%s])", n->text,
                            n->text);
    const char *s;
    if (ms_conf_str(n, "server_id", &s, err) < 0)
        return MS_ECONFIG;
    if (n->len > MS_MB_MAX_SERVER_ID)
        return ms_conf_fail(err, n, "server_id has %zu bytes; at most %d "
                            "fit an answer", n->len, MS_MB_MAX_SERVER_ID);
    memcpy(r->server_id, s, n->len);
    r->server_id_len = n->len;
    return 0;
}

static int load_rtu(ms_mbs_rtu *r, const ms_conf_node *m, ms_conf_error *err)
{
    static const char *const known[] = {"name", "ip", "port", "tcp_udp",
                                        "serve", "timeout", "word_order",
                                        "max_conns", "device", "baud",
                                        "parity", "data_bits", "stop_bits",
                                        "server_id", "run_status", "unit_any",
                                        NULL};
    if (ms_conf_want(m, MS_CONF_MAP, "an rtu", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(m, known, "rtu");
    ms_mb_server_config_init(&r->net);
    ms_mb_mem_init(&r->mem);
    const char *s = NULL;
    const ms_conf_node *n;
    int64_t i;
    if (get_str(m, "name", true, &r->name, err) < 0)
        return MS_ECONFIG;
    if (!r->name[0] || strchr(r->name, ':') ||
        strlen(r->name) > MS_MB_RTU_NAME_MAX)
        return ms_conf_fail(err, ms_conf_get(m, "name"),
                            "name must be 1-63 characters without ':'");
    if (get_str(m, "ip", false, &s, err) < 0)
        return MS_ECONFIG;
    if (s) {
        if (strlen(s) >= sizeof r->net.ip)
            return ms_conf_fail(err, ms_conf_get(m, "ip"), "ip too long");
        snprintf(r->net.ip, sizeof r->net.ip, "%s", s);
    }
    if ((n = ms_conf_get(m, "port")) && !n->null) {
        if (ms_conf_int(n, "port", 0, 65535, &i, err) < 0)
            return MS_ECONFIG;
        r->net.port = (int)i;
    }
    s = NULL;
    if (get_str(m, "tcp_udp", false, &s, err) < 0)
        return MS_ECONFIG;
    if (s && !strcmp(s, "serial")) {
        r->serial = true;
        if (ms_mb_serial_conf(m, &r->scfg, err) < 0)
            return MS_ECONFIG;
    } else if (s && !strcmp(s, "udp")) {
        r->udp = true;
    } else if (s && strcmp(s, "tcp")) {
        return ms_conf_fail(err, ms_conf_get(m, "tcp_udp"),
                            "tcp_udp must be tcp, udp or serial (got '%s')",
                            s);
    }
    if ((n = ms_conf_get(m, "timeout")) && !n->null) {
        double t;
        if (ms_conf_double(n, "timeout", &t, err) < 0)
            return MS_ECONFIG;
        if (!(t > 0 && t < 1e6))
            return ms_conf_fail(err, n, "timeout must be a positive number "
                                        "of seconds");
        r->net.timeout = t;
    }
    if ((n = ms_conf_get(m, "max_conns")) && !n->null) {
        if (ms_conf_int(n, "max_conns", 1, 1000000, &i, err) < 0)
            return MS_ECONFIG;
        r->net.max_conns = (unsigned)i;
    }
    s = NULL;
    if (get_str(m, "word_order", false, &s, err) < 0)
        return MS_ECONFIG;
    if (s && ms_mb_word_order_parse(s, &r->order) < 0)
        return ms_conf_fail(err, ms_conf_get(m, "word_order"),
                            "word_order must be big or little");
    if ((n = ms_conf_get(m, "server_id")) && !n->null &&
        load_server_id(r, n, err) < 0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(m, "run_status")) && !n->null) {
        bool on;
        if (ms_conf_bool(n, "run_status", &on, err) < 0)
            return MS_ECONFIG;
        r->run_off = !on;
    }
    if ((n = ms_conf_get(m, "unit_any")) && !n->null) {
        if (ms_conf_bool(n, "unit_any", &r->unit_any, err) < 0)
            return MS_ECONFIG;
        if (r->unit_any && r->serial)
            return ms_conf_fail(err, n, "unit_any is for tcp and udp: on a "
                                "serial line unit 0 is broadcast; remove it");
    }
    if (!(n = ms_conf_get(m, "serve")))
        return ms_conf_fail(err, m, "rtu '%s' has no 'serve' blocks", r->name);
    return load_serve(r, n, err);
}

static int load_tag(ms_mbs_config *mm, ms_mbs_tag *t,
                    const ms_conf_node *key, const ms_conf_node *m,
                    ms_conf_error *err)
{
    static const char *const known[] = {"addr", "type", "word_order", "scale",
                                        "offset", NULL};
    t->name = key->text;
    if (!ms_tag_name_valid((const uint8_t *)key->text, key->len))
        return ms_conf_fail(err, key, "'%s' is no valid tag name", key->text);
    if (ms_conf_want(m, MS_CONF_MAP, "a tag", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(m, known, "tag");
    const char *s;
    char msg[256];
    if (get_str(m, "addr", true, &s, err) < 0)
        return MS_ECONFIG;
    const ms_conf_node *an = ms_conf_get(m, "addr");
    if (ms_mb_addr_parse(s, &t->addr, msg, sizeof msg) < 0)
        return ms_conf_fail(err, an, "%s", msg);
    ms_mbs_rtu *rtu = NULL;
    for (size_t i = 0; i < mm->nrtus && !rtu; i++)
        if (!strcmp(mm->rtus[i].name, t->addr.rtu)) {
            rtu = &mm->rtus[i];
            t->rtu = i;
        }
    if (!rtu)
        return ms_conf_fail(err, an, "'%s': no rtu named '%s'", s,
                            t->addr.rtu);
    ms_mb_type type = ms_mb_file_is_bits(t->addr.file) || t->addr.bit >= 0
                          ? MS_MB_BOOL : MS_MB_INT16;
    s = NULL;
    if (get_str(m, "type", false, &s, err) < 0)
        return MS_ECONFIG;
    if (s && ms_mb_type_parse(s, &type) < 0)
        return ms_conf_fail(err, ms_conf_get(m, "type"),
                            "type must be bool, int16, uint16, int32, uint32, "
                            "int64, uint64, float32 or float64");
    t->conv = ms_mb_conv_make(type);
    t->conv.order = rtu->order;
    t->conv.bit = t->addr.bit;
    s = NULL;
    if (get_str(m, "word_order", false, &s, err) < 0)
        return MS_ECONFIG;
    if (s && ms_mb_word_order_parse(s, &t->conv.order) < 0)
        return ms_conf_fail(err, ms_conf_get(m, "word_order"),
                            "word_order must be big or little");
    const ms_conf_node *n;
    if ((n = ms_conf_get(m, "scale")) && !n->null) {
        if (ms_conf_double(n, "scale", &t->conv.scale, err) < 0)
            return MS_ECONFIG;
        t->conv.scaled = true;
    }
    if ((n = ms_conf_get(m, "offset")) && !n->null) {
        if (ms_conf_double(n, "offset", &t->conv.offset, err) < 0)
            return MS_ECONFIG;
        t->conv.scaled = true;
    }
    if (ms_mb_conv_check(&t->conv, &t->addr, msg, sizeof msg) < 0)
        return ms_conf_fail(err, m, "%s", msg);
    if (ms_mb_mem_lookup(&rtu->mem, t->addr.unit, t->addr.file,
                         t->addr.addr, ms_mb_type_regs(t->conv.type), NULL,
                         NULL) != 0)
        return ms_conf_fail(err, an, "%s: not inside a serve block of rtu "
                            "'%s'", ms_mb_addr_format(&t->addr, msg,
                                                     sizeof msg),
                            rtu->name);
    return 0;
}

int ms_mbs_config_load(const char *path, ms_mbs_config *mm,
                       ms_conf_error *err)
{
    static const char *const known[] = {"bus_ip", "bus_port", "rtus", "tags",
                                        NULL};
    ms_client_config_init(&mm->bus);
    snprintf(mm->bus.name, sizeof mm->bus.name, "modbusserver");
    int rc = ms_conf_load(path, &mm->doc, err);
    if (rc < 0)
        return rc;
    const ms_conf_node *root = ms_conf_root(mm->doc);
    if (ms_conf_want(root, MS_CONF_MAP, "the config", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(root, known, "modbusserver config");
    /* An empty bus_ip (pymscada: no bus) serves a plain Modbus memory. */
    const ms_conf_node *ip = ms_conf_get(root, "bus_ip");
    mm->no_bus = ip && ip->kind == MS_CONF_SCALAR &&
                 (ip->null || (ip->quoted && ip->len == 0));
    if (!mm->no_bus && ms_client_config_from_conf(&mm->bus, root, err) < 0)
        return MS_ECONFIG;
    const ms_conf_node *rtus = ms_conf_get(root, "rtus");
    if (!rtus)
        return ms_conf_fail(err, root, "no 'rtus' to serve");
    if (ms_conf_want(rtus, MS_CONF_SEQ, "rtus", err) < 0)
        return MS_ECONFIG;
    mm->rtus = calloc(rtus->n ? rtus->n : 1, sizeof *mm->rtus);
    if (!mm->rtus)
        return ms_conf_fail(err, rtus, "out of memory");
    for (size_t i = 0; i < rtus->n; i++) {
        mm->nrtus = i + 1;
        if (load_rtu(&mm->rtus[i], rtus->items[i], err) < 0)
            return MS_ECONFIG;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(mm->rtus[j].name, mm->rtus[i].name))
                return ms_conf_fail(err, rtus->items[i],
                                    "two rtus named '%s'", mm->rtus[i].name);
    }
    const ms_conf_node *tags = ms_conf_get(root, "tags");
    if (!tags || tags->null)
        return 0;
    if (ms_conf_want(tags, MS_CONF_MAP, "tags", err) < 0)
        return MS_ECONFIG;
    mm->tags = calloc(tags->n ? tags->n : 1, sizeof *mm->tags);
    if (!mm->tags)
        return ms_conf_fail(err, tags, "out of memory");
    for (size_t i = 0; i < tags->n; i++) {
        mm->ntags = i + 1;
        if (load_tag(mm, &mm->tags[i], tags->keys[i], tags->items[i], err) < 0)
            return MS_ECONFIG;
    }
    return 0;
}

void ms_mbs_config_free(ms_mbs_config *cfg)
{
    for (size_t i = 0; i < cfg->nrtus; i++)
        ms_mb_mem_free(&cfg->rtus[i].mem);
    free(cfg->rtus);
    free(cfg->tags);
    ms_conf_free(cfg->doc);
    memset(cfg, 0, sizeof *cfg);
}
