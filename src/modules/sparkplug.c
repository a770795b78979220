/* `mscada sparkplug`: MQTT Sparkplug B 3.0, as an edge node publishing
 * bus tags or as a host mirroring nodes onto bus tags (docs/sparkplug.md).
 * sparkplug.yaml + tags.yaml -> ms_spb_edge_start / ms_spb_host_start ->
 * run the loop until SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/sparkplug/spb_run.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

typedef struct {
    ms_spb_config *cfg;
    ms_tagdescs *descs;
} spb_args;

static int spb_start(uv_loop_t *loop, void *arg, void **rt)
{
    spb_args *a = arg;
    int rc;
    if (a->cfg->host) {
        ms_spb_host *h = NULL;
        rc = ms_spb_host_start(loop, a->cfg, &h);
        *rt = h;
    } else {
        ms_spb_edge *e = NULL;
        rc = ms_spb_edge_start(loop, a->cfg, a->descs, &e);
        *rt = e;
    }
    if (rc < 0)
        ms_log_error("cannot start: %s", ms_strerror(rc));
    return rc;
}

static bool spb_host_mode;

static void spb_stop(void *rt)
{
    if (spb_host_mode)
        ms_spb_host_stop(rt);
    else
        ms_spb_edge_stop(rt);
}

static int spb_main(const ms_module *mod, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(mod, argc, argv, &cli);
    if (rc >= 0)
        return rc;
    ms_spb_config cfg;
    ms_tagdescs descs;
    memset(&cfg, 0, sizeof cfg);
    memset(&descs, 0, sizeof descs);
    ms_conf_error err;
    ms_conf_doc *doc = NULL;
    rc = ms_conf_load(cli.config, &doc, &err);
    if (rc == 0)
        rc = ms_spb_config_from_conf(ms_conf_root(doc), &cfg, &err);
    ms_conf_free(doc);
    /* An edge publishes tags.yaml's tags; a host needs none. */
    if (rc == 0)
        rc = ms_tagdesc_load(cli.tags, cfg.host || !cli.tags_given, &descs,
                             &err);
    if (rc < 0) {
        ms_cli_config_failed(mod, &cli, rc, &err);
        ms_spb_config_free(&cfg);
        ms_tagdescs_free(&descs);
        return MS_EXIT_USAGE;
    }
    spb_host_mode = cfg.host;
    ms_cli_runtime r = {spb_start, spb_stop, &(spb_args){&cfg, &descs},
                        "stopping"};
    rc = ms_cli_run(&r);
    ms_spb_config_free(&cfg);
    ms_tagdescs_free(&descs);
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
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
