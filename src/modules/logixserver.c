/* `mscada logixserver`: a Logix "mailbox" any EtherNet/IP client reads and
 * writes, its elements tied to bus tags (docs/logix.md). logixserver.yaml
 * -> ms_lgxs_start -> run the loop until SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "apps/logixserver/lgxs_app.h"
#include "modules/module.h"
#include "mscada/log.h"

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
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    if (ms_cli_loop_init(&loop) != 0) {
        ms_lgxs_config_free(&cfg);
        ms_tagdescs_free(&descs);
        return MS_EXIT_FAIL;
    }
    ms_lgxs *s = NULL;
    rc = ms_lgxs_start(&loop, &cfg, &s);
    ms_cli_stopper stopper;
    ms_cli_stopper_start(&stopper, &loop, "stopping", lgxs_stop, s);
    if (rc < 0)
        ms_cli_stopper_fire(&stopper);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        ms_log_warn("handles left open at exit");
    ms_lgxs_config_free(&cfg);
    ms_tagdescs_free(&descs);
    ms_log_info("stopped");
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
