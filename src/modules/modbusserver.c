/* `mscada modbusserver`: a Modbus "mailbox" (docs/design.md §8): serve blocks any
 * master may read and write, mapped to bus tags both ways.
 * modbusserver.yaml + tags.yaml -> ms_mbs_start -> run the loop until
 * SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/modbusserver/mbs_run.h"
#include "modules/module.h"

static int mbs_load(const char *path, void *cfg, ms_conf_error *err)
{
    return ms_mbs_config_load(path, cfg, err);
}

static void mbs_config_free(void *cfg)
{
    ms_mbs_config_free(cfg);
}

static int mbs_start(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                     void **rt)
{
    ms_mbs_config *c = cfg;
    ms_mbs *mbs = NULL;
    c->bus.tagdescs = descs; /* the bus tags' limits and deadbands */
    int rc = ms_mbs_start(loop, c, &mbs);
    *rt = mbs;
    return rc;
}

static void mbs_stop(void *mbs)
{
    ms_mbs_stop(mbs);
}

static const ms_cli_driver mbs_driver = {
    .load = mbs_load, .config_free = mbs_config_free,
    .start = mbs_start, .stop = mbs_stop,
    .start_logs = true,    /* ms_mbs_start logs why it can't */
    .raise_nofile = true}; /* many masters may connect */

static int mbs_run(const ms_module *m, int argc, char **argv)
{
    ms_mbs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return ms_cli_driver_run(m, argc, argv, &mbs_driver, &cfg);
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
