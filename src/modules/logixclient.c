/* `mscada logixclient`: polls Allen-Bradley Logix PLCs (EtherNet/IP, CIP)
 * into bus tags and writes bus changes back (docs/logix.md).
 * logixclient.yaml + tags.yaml -> ms_lgxc_start -> run the loop until
 * SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/logixclient/lgxc_app.h"
#include "modules/module.h"

static int lgxc_from_conf(const ms_conf_node *root, void *cfg,
                          ms_conf_error *err)
{
    return ms_lgxc_config_from_conf(root, cfg, err);
}

static void lgxc_config_free(void *cfg)
{
    ms_lgxc_config_free(cfg);
}

/* tags.yaml is read (a bad one is a config error) but not handed on. */
static int lgxc_start(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                      void **rt)
{
    ms_lgxc *p = NULL;
    (void)descs;
    int rc = ms_lgxc_start(loop, cfg, &p);
    *rt = p;
    return rc;
}

static void lgxc_stop(void *rt)
{
    ms_lgxc_stop(rt);
}

static const ms_cli_driver lgxc_driver = {
    .from_conf = lgxc_from_conf, .config_free = lgxc_config_free,
    .start = lgxc_start, .stop = lgxc_stop,
    .start_logs = true}; /* ms_lgxc_start logs what failed */

static int lgxc_main(const ms_module *m, int argc, char **argv)
{
    ms_lgxc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return ms_cli_driver_run(m, argc, argv, &lgxc_driver, &cfg);
}

const ms_module ms_module_logixclient = {
    .name = "logixclient",
    .summary = "polls Allen-Bradley Logix PLCs (EtherNet/IP) into bus tags",
    .usage =
        "Polls each PLC's poll entries at its rate, packed into Multiple\n"
        "Service Packets of the connection size (arrays larger than it by\n"
        "Read Tag Fragmented), publishes tags whose value changed, and\n"
        "writes bus changes of tags with a write address (bits by\n"
        "Read-Modify-Write). Each PLC has an <name>_status JSON tag\n"
        "(docs/logix.md). Runs until SIGTERM or SIGINT.\n\n"
        "logixclient.yaml (pymscada's keys, and more):\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  rtus:\n"
        "  - name: Ani\n"
        "    ip: 172.26.7.196         # also ip/slot, ip/route\n"
        "    port: 44818\n"
        "    path: '1,0'              # route to the CPU; '' for Micro800\n"
        "    rate: 0.2                # poll period, seconds\n"
        "    timeout: 2.0\n"
        "    connection_size: 0       # 0: large forward open, then 504\n"
        "    write_on_reconnect: false\n"
        "    poll:\n"
        "    - {addr: Fout, type: 'REAL[]', start: 0, end: 99}\n"
        "    - {addr: OutVar, type: REAL}\n"
        "  tags:\n"
        "    Ani_Fin_20: {type: float32, read: 'Ani:Fout[20]',\n"
        "                 write: 'Ani:Fin[20]'}\n"
        "    Ani_Iin_21_0: {type: bool, read: 'Ani:Iout[21].0',\n"
        "                   write: 'Ani:Iin[21].0'}\n"
        "Types: int8/16/32/64, uint8/16/32/64, float32/64, bool, string.\n",
    .run = lgxc_main,
};
