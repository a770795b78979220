/* `mscada snmpclient`: polls SNMP agents into bus tags and sends SETs of
 * bus changes (docs/snmp.md). snmpclient.yaml + tags.yaml ->
 * ms_snmpc_start -> run the loop until SIGTERM/SIGINT. */
#include <string.h>
#include <uv.h>

#include "apps/snmpclient/snmpc_run.h"
#include "snmp/snmp_session.h"
#include "modules/module.h"

static int snmpc_from_conf(const ms_conf_node *root, void *cfg,
                           ms_conf_error *err)
{
    return ms_snmpc_config_from_conf(root, cfg, err);
}

static void snmpc_config_free(void *cfg)
{
    ms_snmpc_config_free(cfg);
    ms_snmp_lib_shutdown();
}

static int snmpc_start(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                       void **rt)
{
    ms_snmpc *p = NULL;
    int rc = ms_snmpc_start(loop, cfg, descs, &p);
    *rt = p;
    return rc;
}

static void snmpc_stop(void *rt)
{
    ms_snmpc_stop(rt);
}

static const ms_cli_driver snmpc_driver = {
    .from_conf = snmpc_from_conf, .config_free = snmpc_config_free,
    .start = snmpc_start, .stop = snmpc_stop};

static int snmpc_main(const ms_module *mod, int argc, char **argv)
{
    ms_snmpc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    return ms_cli_driver_run(mod, argc, argv, &snmpc_driver, &cfg);
}

const ms_module ms_module_snmpclient = {
    .name = "snmpclient",
    .summary = "polls SNMP agents (v1, v2c, v3) into bus tags",
    .usage =
        "Polls every agent's OIDs (GET, in PDUs of max_oids_per_pdu) and\n"
        "walks (GETBULK) at its rate, publishes tags whose value changed,\n"
        "and sends an SNMP SET for bus changes of tags with a write OID.\n"
        "Each agent has an <name>_status JSON tag (docs/snmp.md). Runs\n"
        "until SIGTERM or SIGINT.\n\n"
        "snmpclient.yaml (pymscada's keys, and more):\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  mibs: ''                  # MIBs for OIDs by name, e.g. IF-MIB\n"
        "  rtus:\n"
        "  - name: router\n"
        "    ip: 172.26.3.254\n"
        "    port: 161\n"
        "    version: 2c             # 1 | 2c | 3\n"
        "    community: public\n"
        "    write_community: private  # for SET; default: community\n"
        "    rate: 10                # poll period, seconds\n"
        "    timeout: 1.0            # per try, seconds\n"
        "    retries: 1\n"
        "    max_oids_per_pdu: 32\n"
        "    max_repetitions: 20     # GETBULK rows per request of a walk\n"
        "    # version 3: user, auth_protocol (MD5, SHA, SHA-256, ...),\n"
        "    # auth_password, priv_protocol (AES, DES), priv_password,\n"
        "    # context; passwords may be ${ENV_VAR}\n"
        "    poll:\n"
        "    - '1.3.6.1.2.1.31.1.1.1.6.1'\n"
        "    - {walk: '1.3.6.1.2.1.2.2.1.10', tag: 'router_in_{index}',\n"
        "       type: rate}\n"
        "  tags:\n"
        "    Router_eth1_bytes_in: {type: int_roc,\n"
        "                           read: 'router:1.3.6.1.2.1.31.1.1.1.6.1'}\n"
        "    Router_name: {type: str, read: 'router:1.3.6.1.2.1.1.5.0',\n"
        "                  write: 'router:1.3.6.1.2.1.1.5.0'}\n"
        "Types: int, float, str, bytes, int_roc (delta per poll), rate\n"
        "(delta per second); snmp_type: the type a write is sent as.\n",
    .run = snmpc_main,
};
