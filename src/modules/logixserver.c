/* `mscada logixserver`: a Logix "mailbox" any EtherNet/IP client reads and
 * writes, its elements tied to bus tags (docs/logix.md). logixserver.yaml
 * -> ms_lgxs_start -> run the loop until SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/logixserver/lgxs_app.h"
#include "modules/module.h"

static int lgxs_from_conf(const ms_conf_node *root, void *cfg,
                          ms_conf_error *err)
{
    return ms_lgxs_config_from_conf(root, cfg, err);
}

static void lgxs_config_free(void *cfg)
{
    ms_lgxs_config_free(cfg);
}

static int lgxs_start(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                      void **rt)
{
    ms_lgxs_config *c = cfg;
    ms_lgxs *p = NULL;
    c->bus.tagdescs = descs; /* the bus tags' limits and deadbands */
    int rc = ms_lgxs_start(loop, c, &p);
    *rt = p;
    return rc;
}

static void lgxs_stop(void *rt)
{
    ms_lgxs_stop(rt);
}

static const ms_cli_driver lgxs_driver = {
    .from_conf = lgxs_from_conf, .config_free = lgxs_config_free,
    .start = lgxs_start, .stop = lgxs_stop,
    .start_logs = true}; /* ms_lgxs_start logs what failed */

static int lgxs_main(const ms_module *m, int argc, char **argv)
{
    ms_lgxs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return ms_cli_driver_run(m, argc, argv, &lgxs_driver, &cfg);
}

const ms_module ms_module_logixserver = {
    .name = "logixserver",
    .summary = "a Logix (EtherNet/IP) tag server whose elements are bus tags",
    .usage =
        "Serves Logix tags to any EtherNet/IP client (Read/Write Tag,\n"
        "fragmented, Read-Modify-Write, Multiple Service Packet, Forward\n"
        "Open, the Symbol instance list) with the status codes a Logix\n"
        "controller answers; mapped elements are bus tags both ways\n"
        "(docs/logix.md). Runs until SIGTERM or SIGINT.\n\n"
        "logixserver.yaml:\n"
        "  bus_ip: 127.0.0.1          # '' : no bus, a plain Logix memory\n"
        "  bus_port: 1324\n"
        "  ip: 0.0.0.0\n"
        "  port: 44818\n"
        "  max_conns: 64\n"
        "  plc:                       # the Logix tags served\n"
        "    Fout: {type: REAL, dims: [100]}\n"
        "    M: {type: DINT, dims: [4, 5, 6]}\n"
        "    Name: {type: STRING}\n"
        "  tags:                      # bus tags tied to elements\n"
        "    Ani_Fin_20: {type: float32, addr: 'Fout[20]'}\n"
        "    Run: {type: bool, addr: 'M[0,0,1].3'}\n",
    .run = lgxs_main,
};
