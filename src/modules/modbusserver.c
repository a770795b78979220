/* `mscada modbusserver`: a Modbus "mailbox" (DESIGN §8). Each RTU of the
 * config is a Modbus/TCP server whose `serve` blocks are memory any master
 * may read and write; tags map addresses in it to bus tags both ways: a
 * master's write sets the tag, a bus change writes the registers. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "modules/module.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbmap.h"
#include "mscada/mbserial.h"
#include "mscada/mbserver.h"

typedef struct mbs_rtu mbs_rtu;
typedef struct mbs_main mbs_main;

typedef struct {
    const char *name; /* owned by the config doc */
    ms_mb_addr addr;
    ms_mb_conv conv;
    mbs_rtu *rtu;
    ms_tag *tag;
    mbs_main *mm;
} mbs_tag;

struct mbs_rtu {
    const char *name;
    ms_mb_server_config cfg;
    ms_mb_word_order order;
    ms_mb_mem mem;
    ms_mb_server *srv;
    bool serial;                 /* tcp_udp: serial: a slave on a line */
    ms_mb_serial_config scfg;
    ms_mb_serial_slave *slave;
    bool udp;                    /* tcp_udp: udp */
    ms_mb_udp_server *usrv;
    mbs_main *mm;
};

struct mbs_main {
    ms_conf_doc *doc;
    mbs_rtu *rtus;
    size_t nrtus;
    mbs_tag *tags;
    size_t ntags;
    ms_client *client;
    uv_signal_t sigint, sigterm;
};

/* ---- config ---------------------------------------------------------------- */

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

static int load_serve(mbs_rtu *r, const ms_conf_node *blocks,
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

static int load_rtu(mbs_rtu *r, const ms_conf_node *m, ms_conf_error *err)
{
    static const char *const known[] = {"name", "ip", "port", "tcp_udp",
                                        "serve", "timeout", "word_order",
                                        "max_conns", "device", "baud",
                                        "parity", "data_bits", "stop_bits",
                                        NULL};
    if (ms_conf_want(m, MS_CONF_MAP, "an rtu", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(m, known, "rtu");
    ms_mb_server_config_init(&r->cfg);
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
        if (strlen(s) >= sizeof r->cfg.ip)
            return ms_conf_fail(err, ms_conf_get(m, "ip"), "ip too long");
        snprintf(r->cfg.ip, sizeof r->cfg.ip, "%s", s);
    }
    if ((n = ms_conf_get(m, "port")) && !n->null) {
        if (ms_conf_int(n, "port", 0, 65535, &i, err) < 0)
            return MS_ECONFIG;
        r->cfg.port = (int)i;
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
        r->cfg.timeout = t;
    }
    if ((n = ms_conf_get(m, "max_conns")) && !n->null) {
        if (ms_conf_int(n, "max_conns", 1, 1000000, &i, err) < 0)
            return MS_ECONFIG;
        r->cfg.max_conns = (unsigned)i;
    }
    s = NULL;
    if (get_str(m, "word_order", false, &s, err) < 0)
        return MS_ECONFIG;
    if (s && ms_mb_word_order_parse(s, &r->order) < 0)
        return ms_conf_fail(err, ms_conf_get(m, "word_order"),
                            "word_order must be big or little");
    if (!(n = ms_conf_get(m, "serve")))
        return ms_conf_fail(err, m, "rtu '%s' has no 'serve' blocks", r->name);
    return load_serve(r, n, err);
}

static int load_tag(mbs_main *mm, mbs_tag *t, const ms_conf_node *key,
                    const ms_conf_node *m, ms_conf_error *err)
{
    static const char *const known[] = {"addr", "type", "word_order", "scale",
                                        "offset", NULL};
    t->name = key->text;
    t->mm = mm;
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
    for (size_t i = 0; i < mm->nrtus && !t->rtu; i++)
        if (!strcmp(mm->rtus[i].name, t->addr.rtu))
            t->rtu = &mm->rtus[i];
    if (!t->rtu)
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
    t->conv.order = t->rtu->order;
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
    if (ms_mb_mem_lookup(&t->rtu->mem, t->addr.unit, t->addr.file,
                         t->addr.addr, ms_mb_type_regs(t->conv.type), NULL,
                         NULL) != 0)
        return ms_conf_fail(err, an, "%s: not inside a serve block of rtu "
                            "'%s'", ms_mb_addr_format(&t->addr, msg,
                                                     sizeof msg),
                            t->rtu->name);
    return 0;
}

static int load_config(mbs_main *mm, const char *path, ms_client_config *cc,
                       ms_conf_error *err)
{
    static const char *const known[] = {"bus_ip", "bus_port", "rtus", "tags",
                                        NULL};
    int rc = ms_conf_load(path, &mm->doc, err);
    if (rc < 0)
        return rc;
    const ms_conf_node *root = ms_conf_root(mm->doc);
    if (ms_conf_want(root, MS_CONF_MAP, "the config", err) < 0)
        return MS_ECONFIG;
    ms_conf_warn_unknown(root, known, "modbusserver config");
    if (ms_client_config_from_conf(cc, root, err) < 0)
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
        mm->rtus[i].mm = mm;
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

/* ---- tags <-> memory -------------------------------------------------------- */

static void mbs_tag_load(const mbs_tag *t, uint16_t *regs)
{
    uint16_t *r;
    uint8_t *b;
    ms_mb_mem_lookup(&t->rtu->mem, t->addr.unit, t->addr.file, t->addr.addr,
                     ms_mb_type_regs(t->conv.type), &r, &b);
    if (b)
        regs[0] = b[0];
    else
        memcpy(regs, r, ms_mb_type_regs(t->conv.type) * sizeof *r);
}

/* A bus change: into the registers. */
static void on_tag_change(ms_tag *tag, void *arg)
{
    mbs_tag *t = arg;
    ms_value v;
    if (ms_tag_get(tag, &v) < 0)
        return;
    uint16_t regs[4];
    mbs_tag_load(t, regs); /* a bit keeps the rest of its register */
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
    ms_mb_mem_lookup(&t->rtu->mem, t->addr.unit, t->addr.file, t->addr.addr,
                     ms_mb_type_regs(t->conv.type), &r, &b);
    if (b)
        b[0] = regs[0] != 0;
    else
        memcpy(r, regs, ms_mb_type_regs(t->conv.type) * sizeof *r);
}

/* A master's write: every tag it touched is set from memory. */
static void on_master_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                            uint16_t count, void *arg)
{
    mbs_rtu *r = arg;
    mbs_main *mm = r->mm;
    uint32_t end = (uint32_t)addr + count;
    for (size_t i = 0; i < mm->ntags; i++) {
        mbs_tag *t = &mm->tags[i];
        if (t->rtu != r || t->addr.unit != unit || t->addr.file != file)
            continue;
        uint32_t a = t->addr.addr, e = a + ms_mb_type_regs(t->conv.type);
        if (e <= addr || a >= end || !t->tag)
            continue;
        uint16_t regs[4];
        mbs_tag_load(t, regs);
        ms_value v = ms_mb_decode(&t->conv, regs);
        ms_value old;
        if (ms_tag_get(t->tag, &old) == 0 && old.type == v.type &&
            ((v.type == MS_TYPE_INT && old.u.i == v.u.i) ||
             (v.type == MS_TYPE_FLOAT && old.u.f == v.u.f)))
            continue; /* unchanged: a write of the same value isn't news */
        int rc = ms_tag_set(t->tag, &v, 0);
        if (rc < 0)
            ms_log_warn("%s: set from a master's write failed: %s", t->name,
                        ms_strerror(rc));
    }
}

/* ---- run -------------------------------------------------------------------- */

static void mbs_stop(mbs_main *mm)
{
    for (size_t i = 0; i < mm->nrtus; i++) {
        if (mm->rtus[i].srv)
            ms_mb_server_stop(mm->rtus[i].srv);
        ms_mb_serial_slave_stop(mm->rtus[i].slave);
        mm->rtus[i].slave = NULL;
        ms_mb_udp_server_stop(mm->rtus[i].usrv);
        mm->rtus[i].usrv = NULL;
        mm->rtus[i].srv = NULL;
    }
    if (mm->client)
        ms_client_close(mm->client);
    mm->client = NULL;
    if (!uv_is_closing((uv_handle_t *)&mm->sigint)) {
        uv_close((uv_handle_t *)&mm->sigint, NULL);
        uv_close((uv_handle_t *)&mm->sigterm, NULL);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    mbs_main *mm = s->data;
    ms_log_info("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    mbs_stop(mm);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            ms_log_warn("could not raise the open file limit");
    }
}

static void mbs_free(mbs_main *mm)
{
    for (size_t i = 0; i < mm->nrtus; i++)
        ms_mb_mem_free(&mm->rtus[i].mem);
    free(mm->rtus);
    free(mm->tags);
    ms_conf_free(mm->doc);
}

static ms_type bus_type(const ms_mb_conv *c)
{
    if (c->scaled || c->type == MS_MB_FLOAT32 || c->type == MS_MB_FLOAT64)
        return MS_TYPE_FLOAT;
    return MS_TYPE_INT;
}

static int mbs_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc == MS_CLI_HELP)
        return MS_EXIT_OK;
    if (rc >= 0)
        return rc;
    mbs_main mm;
    memset(&mm, 0, sizeof mm);
    ms_client_config cc;
    ms_client_config_init(&cc);
    snprintf(cc.name, sizeof cc.name, "modbusserver");
    ms_conf_error err;
    rc = load_config(&mm, cli.config, &cc, &err);
    ms_tagdescs descs = {0};
    if (rc == 0) {
        rc = ms_tagdesc_load(cli.tags, !cli.tags_given, &descs, &err);
        cc.tagdescs = &descs;
    }
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.text);
        if (rc == MS_ENOENT)
            fprintf(stderr, "mscada modbusserver: give the config with "
                            "--config FILE (example: "
                            "config/modbusserver.yaml)\n");
        mbs_free(&mm);
        ms_tagdescs_free(&descs);
        return MS_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    uv_loop_t loop;
    uv_loop_init(&loop);
    int status = MS_EXIT_OK;
    uv_signal_init(&loop, &mm.sigint);
    uv_signal_init(&loop, &mm.sigterm);
    mm.sigint.data = mm.sigterm.data = &mm;
    uv_signal_start(&mm.sigint, on_signal, SIGINT);
    uv_signal_start(&mm.sigterm, on_signal, SIGTERM);
    rc = ms_client_new(&loop, &cc, &mm.client);
    if (rc < 0) {
        ms_log_error("bus client: %s", ms_strerror(rc));
        status = MS_EXIT_FAIL;
        goto stop;
    }
    for (size_t i = 0; i < mm.ntags; i++) {
        mbs_tag *t = &mm.tags[i];
        rc = ms_tag_new(mm.client, t->name, bus_type(&t->conv), &t->tag);
        if (rc == MS_ETYPE) /* two addresses for one tag: any type */
            rc = ms_tag_new(mm.client, t->name, MS_TYPE_NONE, &t->tag);
        if (rc < 0 || ms_tag_watch(t->tag, on_tag_change, t) < 0) {
            ms_log_error("%s: %s", t->name, ms_strerror(rc));
            status = MS_EXIT_FAIL;
            goto stop;
        }
    }
    for (size_t i = 0; i < mm.nrtus; i++) {
        mbs_rtu *r = &mm.rtus[i];
        ms_mb_handler h = {.mem = &r->mem, .on_write = on_master_write,
                           .arg = r};
        if (r->serial)
            rc = ms_mb_serial_slave_start(&loop, &r->scfg, &h, &r->slave);
        else if (r->udp)
            rc = ms_mb_udp_server_start(&loop, &r->cfg, &h, &r->usrv);
        else
            rc = ms_mb_server_start(&loop, &r->cfg, &h, &r->srv);
        if (rc < 0) {
            r->srv = NULL;
            status = MS_EXIT_FAIL;
            goto stop;
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    goto done;
stop:
    mbs_stop(&mm);
    uv_run(&loop, UV_RUN_DEFAULT);
done:
    if (uv_loop_close(&loop) != 0)
        ms_log_warn("handles left open at exit");
    mbs_free(&mm);
    ms_tagdescs_free(&descs);
    ms_log_info("stopped");
    return status;
}

const ms_module ms_module_modbusserver = {
    .name = "modbusserver",
    .summary = "a Modbus/TCP server whose registers are bus tags",
    .usage =
        "Serves Modbus/TCP: every address inside a `serve` block is memory\n"
        "any master may read and write (outside: exception 2; unknown unit:\n"
        "exception 11). Mapped tags go both ways: a master's write sets the\n"
        "tag on the bus, a bus change updates the registers. docs/modbus.md.\n\n"
        "modbusserver.yaml:\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  rtus:\n"
        "  - name: RTU\n"
        "    ip: 0.0.0.0            default 127.0.0.1\n"
        "    port: 1502\n"
        "    timeout: 30            drop a master stuck mid-frame this long\n"
        "    word_order: big        default for its tags (big | little)\n"
        "    serve:\n"
        "    - {unit: 1, file: 4x, start: 1, end: 100}\n"
        "  tags:\n"
        "    FlowRate: {type: float32, addr: 'RTU:1:4x:3'}\n",
    .run = mbs_run,
};
