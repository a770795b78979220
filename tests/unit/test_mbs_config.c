/* modbusserver.yaml's errors (apps/modbusserver/mbs_config.c) and the
 * serial keys both Modbus configs share (modbus/link/mb_serialconf.c): a
 * table of bad configs, each loaded from a file, refused with MS_ECONFIG
 * and a message naming file:line:column and what to change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "apps/modbusclient/mbc_plan.h"
#include "apps/modbusserver/mbs_run.h"
#include "mscada/error.h"

/* One RTU and the lines that follow it. */
#define RTU \
    "rtus:\n- name: R\n  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n"
#define SERIAL "rtus:\n- name: R\n  tcp_udp: serial\n"

typedef struct {
    const char *yaml;
    const char *where_what; /* the message after "FILE:" */
} bad_case;

static const bad_case server_cases[] = {
    {"- a\n",
     "1:1: the config must be a map"},
    {"bus_port: 1\n",
     "1:1: no 'rtus' to serve"},
    {"rtus: 5\n",
     "1:7: rtus must be a list"},
    {"rtus:\n- 5\n",
     "2:3: an rtu must be a map"},
    {"rtus:\n- {port: 1}\n",
     "2:3: missing 'name'"},
    {"rtus:\n- {name: 'a:b'}\n",
     "2:10: name must be 1-63 characters without ':'"},
    {"rtus:\n- {name: R, port: 70000}\n",
     "2:19: port must be an integer from 0 to 65535"},
    {"rtus:\n- {name: R, tcp_udp: tcpp}\n",
     "2:22: tcp_udp must be tcp, udp or serial (got 'tcpp')"},
    {"rtus:\n- {name: R, timeout: 0}\n",
     "2:22: timeout must be a positive number of seconds"},
    {"rtus:\n- {name: R, max_conns: 0}\n",
     "2:24: max_conns must be an integer from 1 to 1000000"},
    {"rtus:\n- {name: R, word_order: middle}\n",
     "2:25: word_order must be big or little"},
    {"rtus:\n- {name: R}\n",
     "2:3: rtu 'R' has no 'serve' blocks"},
    {"rtus:\n- {name: R, serve: 1}\n",
     "2:20: serve must be a list"},
    {"rtus:\n- {name: R, serve: [1]}\n",
     "2:21: a serve block must be a map"},
    {"rtus:\n- {name: R, serve: [{file: 4x, start: 1, end: 2}]}\n",
     "2:21: serve block needs 'unit'"},
    {"rtus:\n- {name: R, serve: [{unit: 300, file: 4x, start: 1, end: 2}]}\n",
     "2:28: unit must be an integer from 0 to 255"},
    {"rtus:\n- {name: R, serve: [{unit: 1, file: 5x, start: 1, end: 2}]}\n",
     "2:37: file must be 0x, 1x, 3x or 4x"},
    {"rtus:\n- {name: R, serve: [{unit: 1, file: 4x, end: 2}]}\n",
     "2:21: serve block needs 'start'"},
    {"rtus:\n- {name: R, serve: [{unit: 1, file: 4x, start: 0, end: 2}]}\n",
     "2:48: start must be an integer from 1 to 65536"},
    {"rtus:\n- {name: R, serve: [{unit: 1, file: 4x, start: 5, end: 2}]}\n",
     "2:56: end must be an integer from 5 to 65536"},
    {RTU "- name: R\n  serve: []\n",
     "5:3: two rtus named 'R'"},
    {RTU "tags: [1]\n",
     "5:7: tags must be a map"},
    {RTU "tags:\n  'a b': {addr: 'R:1:4x:1'}\n",
     "6:3: 'a b' is no valid tag name"},
    {RTU "tags:\n  T: 5\n",
     "6:6: a tag must be a map"},
    {RTU "tags:\n  T: {type: int16}\n",
     "6:6: missing 'addr'"},
    {RTU "tags:\n  T: {addr: 'R:1:9x:1'}\n",
     "6:13: 'R:1:9x:1': FILE must be 0x (coils), 1x (discrete inputs), 3x "
     "(input registers) or 4x (holding registers)"},
    {RTU "tags:\n  T: {addr: 'S:1:4x:1'}\n",
     "6:13: 'S:1:4x:1': no rtu named 'S'"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:1', type: int12}\n",
     "6:31: type must be bool, int16, uint16, int32, uint32, int64, uint64, "
     "float32 or float64"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:1', word_order: middle}\n",
     "6:37: word_order must be big or little"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:1', scale: x}\n",
     "6:32: scale must be a number"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:1', type: float32, offset: [1]}\n",
     "6:48: offset must be a number"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:10', type: float32}\n",
     "6:13: R:1:4x:10: not inside a serve block of rtu 'R'"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:20'}\n",
     "6:13: R:1:4x:20: not inside a serve block of rtu 'R'"},
    {RTU "tags:\n  T: {addr: 'R:1:4x:1', type: float32, word_order: big}\n"
         "  U: {addr: 'R:1:4x:2.3', type: float32}\n",
     "7:6: R:1:4x:2.3: a register bit holds a bool, not float32"},
    /* the serial keys */
    {SERIAL "  serve: []\n",
     "2:3: tcp_udp: serial needs a device (e.g. /dev/ttyUSB0)"},
    {SERIAL "  device: ''\n",
     "4:11: device must be a path to a serial device"},
    {SERIAL "  device: /dev/ttyS0\n  baud: 1234\n",
     "5:9: baud 1234 is not one a line can be set to (1200, 2400, ... "
     "115200, 230400)"},
    {SERIAL "  device: /dev/ttyS0\n  baud: -1\n",
     "5:9: baud must be an integer from 0 to 10000000"},
    {SERIAL "  device: /dev/ttyS0\n  parity: X\n",
     "5:11: parity must be N, E or O"},
    {SERIAL "  device: /dev/ttyS0\n  parity: [N]\n",
     "5:11: parity must be text, not a list"},
    {SERIAL "  device: /dev/ttyS0\n  data_bits: 6\n",
     "5:14: data_bits must be 7 or 8"},
    {SERIAL "  device: /dev/ttyS0\n  stop_bits: 3\n",
     "5:14: stop_bits must be 1 or 2"},
    {SERIAL "  device: [a]\n",
     "4:11: device must be text, not a list"},
};

/* modbusclient.yaml reads the same serial keys, and a few of its own. */
#define CRTU "rtus:\n- name: P\n"
static const bad_case client_cases[] = {
    {CRTU "  device: /dev/ttyS0\n",
     "3:11: device needs tcp_udp: serial"},
    {CRTU "  tcp_udp: serial\n",
     "2:3: tcp_udp: serial needs a device (e.g. /dev/ttyUSB0)"},
    {CRTU "  tcp_udp: serial\n  device: /dev/ttyS0\n  baud: 300\n",
     "5:9: baud 300 is not one a line can be set to (1200, 2400, ... "
     "115200, 230400)"},
    {CRTU "  tcp_udp: serial\n  device: /dev/ttyS0\n  parity: even\n"
          "  stop_bits: 0\n",
     "6:14: stop_bits must be 1 or 2"},
    {CRTU "  tcp_udp: rtu\n",
     "3:12: tcp_udp must be tcp, udp, rtu-over-tcp or serial (got 'rtu')"},
    {CRTU "  retries: 101\n",
     "3:12: retries must be an integer from 0 to 100"},
    {"clamp: 1\n" CRTU, "1:8: clamp must be true or false"},
    {CRTU "tags:\n  T: {read: 'P:1:4x:1', clamp: maybe}\n",
     "4:32: clamp must be true or false"},
};

static char dir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_mbs_config.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/m.yaml", dir);
    unlink(p);
    return rmdir(dir);
}

static void test_server_bad_configs(void **state)
{
    (void)state;
    char path[128], want[600];
    snprintf(path, sizeof path, "%s/m.yaml", dir);
    size_t failed = 0;
    for (size_t i = 0; i < sizeof server_cases / sizeof server_cases[0];
         i++) {
        const bad_case *c = &server_cases[i];
        write_file(path, c->yaml);
        ms_mbs_config cfg;
        ms_conf_error err;
        memset(&cfg, 0, sizeof cfg);
        memset(&err, 0, sizeof err);
        int rc = ms_mbs_config_load(path, &cfg, &err);
        ms_mbs_config_free(&cfg);
        snprintf(want, sizeof want, "%s:%s", path, c->where_what);
        if (rc != MS_ECONFIG || strcmp(err.text, want)) {
            fprintf(stderr, "case %zu:\n%s  rc %d\n  got  %s\n  want %s\n",
                    i, c->yaml, rc, err.text, want);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_client_bad_configs(void **state)
{
    (void)state;
    char want[600];
    size_t failed = 0;
    for (size_t i = 0; i < sizeof client_cases / sizeof client_cases[0];
         i++) {
        const bad_case *c = &client_cases[i];
        ms_conf_doc *doc;
        ms_conf_error err;
        ms_mbc_config cfg;
        memset(&err, 0, sizeof err);
        assert_int_equal(ms_conf_parse("m.yaml", c->yaml, strlen(c->yaml),
                                       &doc, &err), 0);
        int rc = ms_mbc_config_from_conf(ms_conf_root(doc), &cfg, &err);
        ms_mbc_config_free(&cfg);
        ms_conf_free(doc);
        snprintf(want, sizeof want, "m.yaml:%s", c->where_what);
        if (rc != MS_ECONFIG || strcmp(err.text, want)) {
            fprintf(stderr, "case %zu:\n%s  rc %d\n  got  %s\n  want %s\n",
                    i, c->yaml, rc, err.text, want);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_bad_configs),
        cmocka_unit_test(test_client_bad_configs),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
