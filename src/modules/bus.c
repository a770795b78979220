/* `mscada bus`: the tag bus server. Config -> ms_bus_start -> run the loop
 * until SIGTERM/SIGINT. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "modules/module.h"
#include "mscada/bus.h"
#include "mscada/error.h"
#include "mscada/log.h"

static int bus_start(uv_loop_t *loop, void *cfg, void **rt)
{
    ms_bus *bus = NULL;
    int rc = ms_bus_start(loop, cfg, &bus);
    /* (a port in use, a bad address or config: ms_bus_start said so) */
    if (rc < 0 && rc != UV_EADDRINUSE && rc != UV_EACCES &&
        rc != UV_EADDRNOTAVAIL && rc != MS_ECONFIG)
        ms_log_error("cannot start: %s", ms_strerror(rc));
    *rt = bus;
    return rc;
}

static void bus_stop(void *bus)
{
    ms_bus_stop(bus);
}

static int bus_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc >= 0)
        return rc;

    ms_bus_config cfg;
    ms_conf_error err;
    ms_bus_config_init(&cfg);
    rc = ms_bus_config_load(cli.config, &cfg, &err);
    /* --tags FILE (relative to here) wins over bus.yaml's `tags:`; a
     * tags.yaml that is merely present is not read (pymscada's bus types
     * nothing). */
    if (rc == 0 && cli.tags_given)
        rc = ms_bus_config_set_tags(&cfg, cli.tags, &err);
    if (rc < 0) {
        ms_cli_config_failed(m, &cli, rc, &err);
        ms_bus_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    ms_cli_raise_nofile();
    ms_cli_runtime r = {bus_start, bus_stop, &cfg, "stopping"};
    rc = ms_cli_run(&r);
    ms_bus_config_free(&cfg);
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
}

const ms_module ms_module_bus = {
    .name = "bus",
    .summary = "the tag bus server (pymscada-compatible, port 1324)",
    .usage =
        "Shares every tag between mscada modules, pymscada processes and\n"
        "anything else speaking the bus protocol (docs/bus.md). Runs until\n"
        "SIGTERM or SIGINT (Ctrl-C), then writes a last snapshot.\n\n"
        "bus.yaml keys (all optional):\n"
        "  ip: 127.0.0.1            address to listen on (0.0.0.0: all)\n"
        "  port: 1324               TCP port\n"
        "  text_port: 1325          line protocol for telnet/nc (off if absent)\n"
        "  allow: [10.0.0.0/8]      addresses or networks that may connect\n"
        "  snapshot: bus.snap       keep tag ids and values across restarts\n"
        "  snapshot_interval: 5     seconds between snapshot writes\n"
        "  stats_interval: 5        seconds between __bus_stats__ updates\n"
        "  max_payload: 64M         largest value accepted\n"
        "  queue_high_water: 1M     per client: past it, SETs conflate\n"
        "  queue_hard_cap: 128M     per client: past it, it is dropped\n"
        "  tags: tags.yaml          refuse (ERR) a SET whose value does not\n"
        "                           fit the tag's type there; relative to\n"
        "                           bus.yaml's folder. --tags FILE overrides\n"
        "                           it; without either, any value is taken\n",
    .run = bus_run,
};
