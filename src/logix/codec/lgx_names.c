/* Names of Logix atomic types (code, size, text) and of CIP general and
 * extended status codes, so every log line and status tag says what the
 * controller said in words. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "logix/codec/lgx_codec.h"

static const struct {
    uint16_t code;
    unsigned size;
    const char *name;
} TYPES[] = {
    {MS_LGX_BOOL, 1, "BOOL"},   {MS_LGX_SINT, 1, "SINT"},
    {MS_LGX_INT, 2, "INT"},     {MS_LGX_DINT, 4, "DINT"},
    {MS_LGX_LINT, 8, "LINT"},   {MS_LGX_USINT, 1, "USINT"},
    {MS_LGX_UINT, 2, "UINT"},   {MS_LGX_UDINT, 4, "UDINT"},
    {MS_LGX_ULINT, 8, "ULINT"}, {MS_LGX_REAL, 4, "REAL"},
    {MS_LGX_LREAL, 8, "LREAL"}, {MS_LGX_DWORD, 4, "DWORD"},
    {MS_LGX_TYPE_STRUCT, 0, "STRUCT"},
};

unsigned ms_lgx_type_size(uint16_t type)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if (TYPES[i].code == type)
            return TYPES[i].size;
    return 0;
}

const char *ms_lgx_type_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if (TYPES[i].code == type)
            return TYPES[i].name;
    return NULL;
}

uint16_t ms_lgx_type_code(const char *name, size_t len)
{
    if (len == 6 && !strncasecmp(name, "STRING", 6))
        return MS_LGX_TYPE_STRUCT;
    for (size_t i = 0; i + 1 < sizeof TYPES / sizeof *TYPES; i++)
        if (len == strlen(TYPES[i].name) &&
            !strncasecmp(name, TYPES[i].name, len))
            return TYPES[i].code;
    return 0;
}

static const char *general(uint8_t s)
{
    switch (s) {
    case 0x00: return "success";
    case 0x01: return "connection failure";
    case 0x02: return "resource unavailable";
    case 0x03: return "invalid parameter value";
    case 0x04: return "path segment error (the tag does not exist)";
    case 0x05: return "path destination unknown (no such member, element "
                      "or instance)";
    case 0x06: return "partial transfer";
    case 0x07: return "connection lost";
    case 0x08: return "service not supported";
    case 0x09: return "invalid attribute value";
    case 0x0A: return "attribute list error";
    case 0x0C: return "object state conflict";
    case 0x0E: return "attribute not settable";
    case 0x0F: return "privilege violation";
    case 0x10: return "device state conflict (e.g. in program mode)";
    case 0x11: return "reply data too large";
    case 0x13: return "not enough data";
    case 0x14: return "attribute not supported";
    case 0x15: return "too much data";
    case 0x1E: return "embedded service error";
    case 0x20: return "invalid parameter";
    case 0x26: return "path size invalid";
    case 0xFF: return "general error";
    default: return NULL;
    }
}

static const char *extended(uint8_t s, uint16_t ext)
{
    if (s == 0x01)
        switch (ext) {
        case 0x0100: return "connection in use or duplicate forward open";
        case 0x0103: return "transport class and trigger not supported";
        case 0x0106: return "ownership conflict";
        case 0x0107: return "target connection not found";
        case 0x0108: return "invalid network connection parameter";
        case 0x0109: return "invalid connection size";
        case 0x0113: return "out of connections";
        case 0x0203: return "connection timed out";
        case 0x0204: return "unconnected request timed out";
        case 0x0311: return "invalid port in the route";
        case 0x0312: return "invalid link address in the route";
        case 0x0315: return "invalid segment in the connection path";
        default: return NULL;
        }
    if (s == 0xFF)
        switch (ext) {
        case 0x2104: return "address out of range";
        case 0x2105: return "access beyond end of object";
        case 0x2106: return "data in use";
        case 0x2107: return "data type mismatch";
        default: return NULL;
        }
    return NULL;
}

const char *ms_lgx_status_text(uint8_t status, uint16_t ext, char *buf,
                               size_t cap)
{
    const char *g = general(status), *e = extended(status, ext);
    if (ext || status == 0xFF || status == 0x01)
        snprintf(buf, cap, "0x%02X/0x%04X %s", status, ext,
                 e ? e : g ? g : "unknown status");
    else
        snprintf(buf, cap, "0x%02X %s", status, g ? g : "unknown status");
    return buf;
}
