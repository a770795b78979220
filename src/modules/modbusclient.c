/* `mscada modbusclient`: polls Modbus devices and maps registers and bits
 * to bus tags, and writes bus changes back (docs/modbus.md).
 * modbusclient.yaml + tags.yaml -> ms_mbc_start -> run the loop until
 * SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/modbusclient/mbc_run.h"
#include "modules/module.h"

static int mbc_from_conf(const ms_conf_node *root, void *cfg,
                         ms_conf_error *err)
{
    return ms_mbc_config_from_conf(root, cfg, err);
}

static void mbc_config_free(void *cfg)
{
    ms_mbc_config_free(cfg);
}

static int mbc_start(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                     void **rt)
{
    ms_mbc *p = NULL;
    int rc = ms_mbc_start(loop, cfg, descs, &p);
    *rt = p;
    return rc;
}

static void mbc_stop(void *rt)
{
    ms_mbc_stop(rt);
}

static const ms_cli_driver mbc_driver = {
    .from_conf = mbc_from_conf, .config_free = mbc_config_free,
    .start = mbc_start, .stop = mbc_stop};

static int mbc_main(const ms_module *mod, int argc, char **argv)
{
    ms_mbc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return ms_cli_driver_run(mod, argc, argv, &mbc_driver, &cfg);
}

const ms_module ms_module_modbusclient = {
    .name = "modbusclient",
    .summary = "polls Modbus TCP devices; registers and bits as bus tags",
    .usage =
        "Polls the read blocks of every RTU at its rate, publishes tags\n"
        "whose value changed, and writes bus changes of tags that have a\n"
        "write address (docs/modbus.md). Runs until SIGTERM or SIGINT.\n"
        "Polled values are published as the device has them; tags.yaml's\n"
        "min/max clamp them only where clamp: true asks (the module's key,\n"
        "or a tag's own, which wins). <RTU>_status (JSON) says connected,\n"
        "answering, units_down, last_error {text, time}, last_recovered,\n"
        "write_errors, last_write_error {tag, reason, time} and counters.\n\n"
        "modbusclient.yaml:\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  clamp: false              # true: polled values kept in tags.yaml's\n"
        "                            # min/max (default: as the device has them)\n"
        "  rtus:\n"
        "  - name: PLC1\n"
        "    ip: 10.0.0.5\n"
        "    port: 502\n"
        "    tcp_udp: tcp            # tcp | udp | rtu-over-tcp | serial\n"
        "                            # serial: device, baud, parity, ...\n"
        "    rate: 0.2               # poll period, seconds\n"
        "    timeout: 1.0            # per request try, seconds\n"
        "    retries: 1\n"
        "    max_in_flight: 1        # raise for PLCs that pipeline\n"
        "    word_order: big         # big | little\n"
        "    write_on_reconnect: false\n"
        "    poll:                   # or reads:\n"
        "    - {unit: 1, file: 4x, start: 1, end: 100}\n"
        "    writes:                 # optional: where tags may write\n"
        "    - {unit: 1, file: 4x, start: 1, end: 10}\n"
        "  tags:\n"
        "    Flow: {type: float32, read: 'PLC1:1:4x:3', write: 'PLC1:1:4x:3'}\n"
        "    Run: {type: bool, read: 'PLC1:1:4x:7.3'}\n"
        "    Level: {type: int16, read: 'PLC1:1:4x:9', scale: 0.1, offset: 0,\n"
        "            clamp: true}   # this tag only\n",
    .run = mbc_main,
};
