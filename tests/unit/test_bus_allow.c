/* The bus `allow` list (src/bus/bus_allow.c): parsing addresses and CIDR
 * networks, and matching IPv4, IPv6 and IPv4-mapped IPv6 peers, with the
 * prefix boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "mscada/bus.h"
#include "mscada/error.h"

static ms_bus_allow entry(const char *text)
{
    ms_bus_allow a;
    int rc = ms_bus_allow_parse(text, &a);
    if (rc != 0)
        fail_msg("'%s' was refused (%d)", text, rc);
    return a;
}

static bool match4(const ms_bus_allow *a, const char *ip)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(40000);
    assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
    return ms_bus_allow_match(a, (const struct sockaddr *)&sin);
}

static bool match6(const ms_bus_allow *a, const char *ip)
{
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(40000);
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
    return ms_bus_allow_match(a, (const struct sockaddr *)&sin6);
}

/* Either family, by the look of the text. */
static bool match(const char *net, const char *ip)
{
    ms_bus_allow a = entry(net);
    return strchr(ip, ':') ? match6(&a, ip) : match4(&a, ip);
}

static void test_parse_accepts(void **state)
{
    (void)state;
    ms_bus_allow a = entry("127.0.0.1");
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.prefix, 32);
    assert_memory_equal(a.addr, "\x7f\0\0\x01", 4);

    a = entry("10.0.0.0/8");
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.prefix, 8);
    assert_memory_equal(a.addr, "\x0a\0\0\0", 4);

    a = entry("::1");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.prefix, 128);
    assert_memory_equal(a.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);

    a = entry("fe80::/10");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.prefix, 10);
    assert_int_equal(a.addr[0], 0xfe);
    assert_int_equal(a.addr[1], 0x80);

    a = entry("0.0.0.0/0");
    assert_int_equal(a.prefix, 0);
    a = entry("192.168.1.4/31");
    assert_int_equal(a.prefix, 31);
    a = entry("1.2.3.4/32");
    assert_int_equal(a.prefix, 32);
    a = entry("::/0");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.prefix, 0);
    a = entry("2001:db8::/32");
    assert_int_equal(a.prefix, 32);
    a = entry("::4/127");
    assert_int_equal(a.prefix, 127);
    a = entry("::ffff:10.0.0.0/104");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.prefix, 104);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "10.0.0.0/33", "abc",          "1.2.3.4/",      "",
        "/8",          "1.2.3",        "1.2.3.4.5",     "256.1.1.1",
        "1.2.3.4/x",   "1.2.3.4/8x",   "1.2.3.4/8/8",   "::1/129",
        "fe80::/200",  ":::1",         "10.0.0.0/1000", "10.0.0.0/-1",
        "localhost",   "1.2.3.4 ",     "g::1",
        /* Longer than any address. */
        ("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:"
         "eeee:ffff:0000"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_bus_allow a;
        int rc = ms_bus_allow_parse(bad[i], &a);
        if (rc != MS_EINVAL)
            fail_msg("'%s' was accepted (%d)", bad[i], rc);
    }
}

static void test_match_ipv4(void **state)
{
    (void)state;
    assert_true(match("10.0.0.0/8", "10.0.0.0"));
    assert_true(match("10.0.0.0/8", "10.1.2.3"));
    assert_true(match("10.0.0.0/8", "10.255.255.255"));
    assert_false(match("10.0.0.0/8", "11.0.0.0"));
    assert_false(match("10.0.0.0/8", "9.255.255.255"));
    assert_true(match("127.0.0.1", "127.0.0.1"));
    assert_false(match("127.0.0.1", "127.0.0.2"));
    assert_false(match("127.0.0.1", "128.0.0.1"));
    /* Not on a byte boundary. */
    assert_true(match("10.128.0.0/9", "10.200.0.1"));
    assert_false(match("10.128.0.0/9", "10.127.255.255"));
    assert_true(match("172.16.0.0/12", "172.31.255.255"));
    assert_false(match("172.16.0.0/12", "172.32.0.0"));
    /* Host bits in the entry do not matter. */
    assert_true(match("10.1.2.3/8", "10.9.9.9"));
    /* /0: everything IPv4. */
    assert_true(match("0.0.0.0/0", "1.2.3.4"));
    assert_true(match("0.0.0.0/0", "255.255.255.255"));
    assert_true(match("0.0.0.0/0", "::ffff:8.8.8.8"));
    /* /31: two addresses. */
    assert_true(match("192.168.1.4/31", "192.168.1.4"));
    assert_true(match("192.168.1.4/31", "192.168.1.5"));
    assert_false(match("192.168.1.4/31", "192.168.1.3"));
    assert_false(match("192.168.1.4/31", "192.168.1.6"));
    /* /32 and /1. */
    assert_false(match("192.168.1.4/32", "192.168.1.5"));
    assert_true(match("128.0.0.0/1", "200.0.0.0"));
    assert_false(match("128.0.0.0/1", "127.255.255.255"));
}

static void test_match_ipv6(void **state)
{
    (void)state;
    assert_true(match("::1", "::1"));
    assert_false(match("::1", "::2"));
    assert_true(match("fe80::/10", "fe80::1"));
    assert_true(match("fe80::/10", "febf:ffff::1"));
    assert_false(match("fe80::/10", "fec0::1"));
    assert_false(match("fe80::/10", "fe7f::1"));
    /* /0: everything IPv6. */
    assert_true(match("::/0", "2001:db8::1"));
    assert_true(match("::/0", "::"));
    /* /127: two addresses. */
    assert_true(match("::4/127", "::4"));
    assert_true(match("::4/127", "::5"));
    assert_false(match("::4/127", "::6"));
    assert_false(match("::4/127", "::3"));
    /* /128 against the very last bit. */
    assert_false(match("2001:db8::ffff/128", "2001:db8::fffe"));
    assert_true(match("2001:db8::/32", "2001:db8:ffff::"));
    assert_false(match("2001:db8::/32", "2001:db9::"));
}

static void test_match_mapped_and_families(void **state)
{
    (void)state;
    /* IPv4-mapped IPv6 peers (a dual-stack listener) match IPv4 entries. */
    assert_true(match("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_false(match("10.0.0.0/8", "::ffff:11.1.2.3"));
    assert_true(match("127.0.0.1", "::ffff:127.0.0.1"));
    assert_false(match("127.0.0.1", "::ffff:127.0.0.2"));
    assert_true(match("192.168.1.4/31", "::ffff:192.168.1.5"));
    /* Not mapped: no IPv4 match, even with the same low bytes. */
    assert_false(match("10.0.0.0/8", "::10.1.2.3"));
    assert_false(match("10.0.0.0/8", "::fffe:10.1.2.3"));
    assert_false(match("0.0.0.0/0", "::1"));
    /* IPv6 entries do not match IPv4 peers. */
    assert_false(match("::/0", "1.2.3.4"));
    assert_false(match("::1", "127.0.0.1"));
    /* IPv6 entry written as mapped matches the mapped peer. */
    assert_true(match("::ffff:10.0.0.0/104", "::ffff:10.9.9.9"));
    /* Other families never match. */
    ms_bus_allow a = entry("0.0.0.0/0");
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    assert_false(ms_bus_allow_match(&a, (const struct sockaddr *)&sun));
    a = entry("::/0");
    assert_false(ms_bus_allow_match(&a, (const struct sockaddr *)&sun));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_match_ipv4),
        cmocka_unit_test(test_match_ipv6),
        cmocka_unit_test(test_match_mapped_and_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
