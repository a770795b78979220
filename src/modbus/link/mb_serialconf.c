/* The serial keys of an rtu in modbusclient.yaml and modbusserver.yaml
 * (docs/modbus.md, "Serial lines"): device, baud, parity, data_bits,
 * stop_bits. */
#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/mbserial.h"

static int get_uint(const ms_conf_node *m, const char *key, unsigned *out,
                    ms_conf_error *err)
{
    const ms_conf_node *n = ms_conf_get(m, key);
    int64_t v;
    if (!n)
        return 0;
    if (ms_conf_int(n, key, 0, 10000000, &v, err) < 0)
        return MS_ECONFIG;
    *out = (unsigned)v;
    return 0;
}

int ms_mb_serial_conf(const ms_conf_node *m, ms_mb_serial_config *cfg,
                      ms_conf_error *err)
{
    const ms_conf_node *n;
    const char *s;
    ms_mb_serial_config_init(cfg);
    if (!(n = ms_conf_get(m, "device")))
        return ms_conf_fail(err, m, "tcp_udp: serial needs a device "
                                    "(e.g. /dev/ttyUSB0)");
    if (ms_conf_str(n, "device", &s, err) < 0)
        return MS_ECONFIG;
    if (!*s || strlen(s) >= sizeof cfg->device)
        return ms_conf_fail(err, n, "device must be a path to a serial "
                                    "device");
    snprintf(cfg->device, sizeof cfg->device, "%s", s);
    if (get_uint(m, "baud", &cfg->baud, err) < 0 ||
        get_uint(m, "data_bits", &cfg->data_bits, err) < 0 ||
        get_uint(m, "stop_bits", &cfg->stop_bits, err) < 0)
        return MS_ECONFIG;
    if ((n = ms_conf_get(m, "parity"))) {
        if (ms_conf_str(n, "parity", &s, err) < 0)
            return MS_ECONFIG;
        if (!strcmp(s, "N") || !strcmp(s, "none"))
            cfg->parity = 'N';
        else if (!strcmp(s, "E") || !strcmp(s, "even"))
            cfg->parity = 'E';
        else if (!strcmp(s, "O") || !strcmp(s, "odd"))
            cfg->parity = 'O';
        else
            return ms_conf_fail(err, n, "parity must be N, E or O");
    }
    ms_mb_serial_config probe = *cfg;
    snprintf(probe.device, sizeof probe.device, "x");
    probe.parity = 'N';
    probe.data_bits = 8;
    probe.stop_bits = 1;
    if (ms_mb_serial_config_check(&probe) < 0)
        return ms_conf_fail(err, ms_conf_get(m, "baud"),
                            "baud %u is not one a line can be set to "
                            "(1200, 2400, ... 115200, 230400)", cfg->baud);
    if (cfg->data_bits != 7 && cfg->data_bits != 8)
        return ms_conf_fail(err, ms_conf_get(m, "data_bits"),
                            "data_bits must be 7 or 8");
    if (cfg->stop_bits != 1 && cfg->stop_bits != 2)
        return ms_conf_fail(err, ms_conf_get(m, "stop_bits"),
                            "stop_bits must be 1 or 2");
    return 0;
}
