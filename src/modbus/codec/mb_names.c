/* Names of Modbus function and exception codes, and the text of the errors
 * that carry an exception (ms_mb_strerror). */
#include <stdio.h>

#include "mscada/error.h"
#include "mscada/modbus.h"

const char *ms_mb_fc_name(uint8_t fc)
{
    switch (fc) {
    case MS_MB_READ_COILS: return "read coils";
    case MS_MB_READ_DISCRETE_INPUTS: return "read discrete inputs";
    case MS_MB_READ_HOLDING_REGISTERS: return "read holding registers";
    case MS_MB_READ_INPUT_REGISTERS: return "read input registers";
    case MS_MB_WRITE_SINGLE_COIL: return "write single coil";
    case MS_MB_WRITE_SINGLE_REGISTER: return "write single register";
    case MS_MB_WRITE_MULTIPLE_COILS: return "write multiple coils";
    case MS_MB_WRITE_MULTIPLE_REGISTERS: return "write multiple registers";
    case MS_MB_REPORT_SERVER_ID: return "report server id";
    case MS_MB_MASK_WRITE_REGISTER: return "mask write register";
    case MS_MB_READ_WRITE_REGISTERS: return "read/write multiple registers";
    case MS_MB_ENCAPSULATED: return "read device identification";
    default: return NULL;
    }
}

const char *ms_mb_exc_name(uint8_t exc)
{
    switch (exc) {
    case MS_MB_EX_ILLEGAL_FUNCTION: return "illegal function";
    case MS_MB_EX_ILLEGAL_DATA_ADDRESS: return "illegal data address";
    case MS_MB_EX_ILLEGAL_DATA_VALUE: return "illegal data value";
    case MS_MB_EX_SERVER_DEVICE_FAILURE: return "server device failure";
    case MS_MB_EX_ACKNOWLEDGE: return "acknowledge";
    case MS_MB_EX_SERVER_DEVICE_BUSY: return "server device busy";
    case MS_MB_EX_MEMORY_PARITY_ERROR: return "memory parity error";
    case MS_MB_EX_GATEWAY_PATH_UNAVAILABLE: return "gateway path unavailable";
    case MS_MB_EX_GATEWAY_TARGET_FAILED:
        return "gateway target device failed to respond";
    default: return NULL;
    }
}

const char *ms_mb_strerror(int err, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    if (!ms_mb_err_is_exc(err)) {
        snprintf(buf, cap, "%s", ms_strerror(err));
        return buf;
    }
    uint8_t fc = ms_mb_err_fc(err), exc = ms_mb_err_exc(err);
    const char *f = ms_mb_fc_name(fc), *e = ms_mb_exc_name(exc);
    snprintf(buf, cap, "FC%u %s: exception %u %s", fc,
             f ? f : "unknown function", exc, e ? e : "unknown exception");
    return buf;
}
