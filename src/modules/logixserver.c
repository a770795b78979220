/* `mscada logixserver`: a Logix "mailbox" any EtherNet/IP client reads and
 * writes, its elements tied to bus tags (docs/logix.md). logixserver.yaml
 * -> ms_lgxs_start -> run the loop until SIGTERM/SIGINT. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "apps/logixserver/lgxs_app.h"
#include "modules/module.h"
#include "mscada/log.h"

static int lgxs_start(uv_loop_t *loop, void *arg, void **rt)
{
    ms_lgxs *p = NULL;
    int rc = ms_lgxs_start(loop, arg, &p);
    *rt = p;
    return rc; /* what failed is logged */
}

static void lgxs_stop(void *p)
{
    ms_lgxs_stop(p);
}

static int lgxs_main(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc == MS_CLI_HELP)
        return MS_EXIT_OK;
    if (rc >= 0)
        return rc;
    ms_lgxs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ms_tagdescs descs = {0};
    ms_conf_error err;
    ms_conf_doc *doc = NULL;
    rc = ms_conf_load(cli.config, &doc, &err);
    if (rc == 0)
        rc = ms_lgxs_config_from_conf(ms_conf_root(doc), &cfg, &err);
    ms_conf_free(doc);
    if (rc == 0) {
        rc = ms_tagdesc_load(cli.tags, !cli.tags_given, &descs, &err);
        cfg.bus.tagdescs = &descs;
    }
    if (rc < 0) {
        ms_cli_config_failed(m, &cli, rc, &err);
        ms_lgxs_config_free(&cfg);
        ms_tagdescs_free(&descs);
        return MS_EXIT_USAGE;
    }
    ms_cli_runtime r = {lgxs_start, lgxs_stop, &cfg, "stopping"};
    rc = ms_cli_run(&r);
    ms_lgxs_config_free(&cfg);
    ms_tagdescs_free(&descs);
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
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
