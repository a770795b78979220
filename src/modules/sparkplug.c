/* `mscada sparkplug`: MQTT Sparkplug B 3.0, as an edge node publishing
 * bus tags or as a host mirroring nodes onto bus tags (docs/sparkplug.md).
 * sparkplug.yaml + tags.yaml -> ms_spb_edge_start / ms_spb_host_start ->
 * run the loop until SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/sparkplug/spb_run.h"
#include "modules/module.h"

static int spb_from_conf(const ms_conf_node *root, void *cfg,
                         ms_conf_error *err)
{
    return ms_spb_config_from_conf(root, cfg, err);
}

static void spb_config_free(void *cfg)
{
    ms_spb_config_free(cfg);
}

/* An edge publishes tags.yaml's tags; a host needs none. */
static bool spb_tags_optional(const void *cfg)
{
    return ((const ms_spb_config *)cfg)->host;
}

static bool spb_host_mode; /* which runtime spb_stop is handed */

static int spb_start(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                     void **rt)
{
    ms_spb_config *c = cfg;
    int rc;
    spb_host_mode = c->host;
    if (c->host) {
        ms_spb_host *h = NULL;
        rc = ms_spb_host_start(loop, c, &h);
        *rt = h;
    } else {
        ms_spb_edge *e = NULL;
        rc = ms_spb_edge_start(loop, c, descs, &e);
        *rt = e;
    }
    return rc;
}

static void spb_stop(void *rt)
{
    if (spb_host_mode)
        ms_spb_host_stop(rt);
    else
        ms_spb_edge_stop(rt);
}

static const ms_cli_driver spb_driver = {
    .from_conf = spb_from_conf, .config_free = spb_config_free,
    .start = spb_start, .stop = spb_stop,
    .tags_optional = spb_tags_optional};

static int spb_main(const ms_module *mod, int argc, char **argv)
{
    ms_spb_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return ms_cli_driver_run(mod, argc, argv, &spb_driver, &cfg);
}

const ms_module ms_module_sparkplug = {
    .name = "sparkplug",
    .summary = "MQTT Sparkplug B 3.0 edge node or host (libmosquitto)",
    .usage =
        "As an edge node (mode: edge) publishes tags.yaml's tags as\n"
        "Sparkplug B metrics (NBIRTH/NDATA, DBIRTH/DDATA per device, NDEATH\n"
        "as the will) and takes NCMD/DCMD writes of writable tags as bus\n"
        "SETs; as a host (mode: host) mirrors every node's metrics onto bus\n"
        "tags, asks for a rebirth on a seq gap, publishes its STATE and\n"
        "sends bus SETs as NCMD/DCMD when write: true (docs/sparkplug.md).\n"
        "Runs until SIGTERM or SIGINT.\n\n"
        "sparkplug.yaml:\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  broker: 127.0.0.1          # MQTT broker\n"
        "  port: 1883\n"
        "  mqtt: 3.1.1                # or 5\n"
        "  keepalive: 30\n"
        "  # username: site1          # values may be ${ENV_VAR}\n"
        "  # password: ${MQTT_PASSWORD}\n"
        "  # ca_file: ca.crt          # TLS; cert_file, key_file: client\n"
        "  group: Plant               # Sparkplug group id\n"
        "  node: Site1                # edge node id\n"
        "  mode: edge                 # edge (default) or host\n"
        "  # edge:\n"
        "  tags: ['*']                # names or globs; default: all\n"
        "  devices:                   # DBIRTH/DDATA per device\n"
        "    PLC1: {tags: ['plc1_*'], status: plc1_status}\n"
        "  writable: ['plc1_setpoint']  # NCMD/DCMD may set these\n"
        "  primary_host: scada        # wait for its STATE online\n"
        "  queue: 10000               # values held while the broker is away\n"
        "  # host:\n"
        "  host_id: scada             # its STATE topic\n"
        "  groups: [Plant]            # default: group, else all\n"
        "  prefix: ''                 # before every bus tag name\n"
        "  names: {Plant/Site1/PLC1/temp: site1_temp}\n"
        "  write: false               # bus SETs -> NCMD/DCMD\n",
    .run = spb_main,
};
