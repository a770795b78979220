/* `mscada modbusserver`: a Modbus "mailbox" (docs/design.md §8): serve blocks any
 * master may read and write, mapped to bus tags both ways.
 * modbusserver.yaml + tags.yaml -> ms_mbs_start -> run the loop until
 * SIGTERM/SIGINT. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "apps/modbusserver/mbs_run.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

static int mbs_start(uv_loop_t *loop, void *cfg, void **rt)
{
    ms_mbs *mbs = NULL;
    int rc = ms_mbs_start(loop, cfg, &mbs); /* logs why it can't */
    *rt = mbs;
    return rc;
}

static void mbs_stop(void *mbs)
{
    ms_mbs_stop(mbs);
}

static int mbs_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc >= 0)
        return rc;
    ms_mbs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ms_conf_error err;
    rc = ms_mbs_config_load(cli.config, &cfg, &err);
    ms_tagdescs descs = {0};
    if (rc == 0) {
        rc = ms_tagdesc_load(cli.tags, !cli.tags_given, &descs, &err);
        cfg.bus.tagdescs = &descs;
    }
    if (rc < 0) {
        ms_cli_config_failed(m, &cli, rc, &err);
        ms_mbs_config_free(&cfg);
        ms_tagdescs_free(&descs);
        return MS_EXIT_USAGE;
    }
    ms_cli_raise_nofile();
    ms_cli_runtime r = {mbs_start, mbs_stop, &cfg, "stopping"};
    rc = ms_cli_run(&r);
    ms_mbs_config_free(&cfg);
    ms_tagdescs_free(&descs);
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
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
