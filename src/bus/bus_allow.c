/* `allow` lists: parse addresses and CIDR networks, match peers. Pure. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/bus.h"
#include "mscada/error.h"

int ms_bus_allow_parse(const char *text, ms_bus_allow *out)
{
    char buf[80];
    memset(out, 0, sizeof *out);
    if (strlen(text) >= sizeof buf)
        return MS_EINVAL;
    strcpy(buf, text);
    int prefix = -1;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end || p < 0 || p > 128)
            return MS_EINVAL;
        prefix = (int)p;
    }
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        if (prefix > 32)
            return MS_EINVAL;
        out->prefix = prefix < 0 ? 32 : prefix;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->prefix = prefix < 0 ? 128 : prefix;
    } else {
        return MS_EINVAL;
    }
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool ms_bus_allow_match(const ms_bus_allow *a, const struct sockaddr *sa)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *addr;
    int family = sa->sa_family;
    if (family == AF_INET) {
        addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (family == AF_INET6) {
        addr = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (a->family == AF_INET && !memcmp(addr, mapped, 12)) {
            addr += 12;
            family = AF_INET;
        }
    } else {
        return false;
    }
    return family == a->family && prefix_equal(addr, a->addr, a->prefix);
}
