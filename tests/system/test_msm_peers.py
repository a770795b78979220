"""Modbus shared memory examples against independent peers: `msm_master`
against a pymodbus 3.0 server holding the same layout (COUNTER read,
STATE=1 written; the server killed and started again -> reconnect and
read again), and `msm_slave` read and written by mbpoll and by a pymodbus
client (COUNTER increases, STATE changes printed)."""

import os
import re

import mshelp as h
import pmslave
from mshelp import check, check_eq

# what msm_slave prints once its worker serves the port
MSM_SLAVE_SERVING = 'serving 127.0.0.1:{port} unit 1'


def build_dir():
    return os.path.abspath(h.ARGS.build)


def pm_client(port):
    from pymodbus.client import ModbusTcpClient
    c = ModbusTcpClient('127.0.0.1', port=port, timeout=10)
    check(c.connect(), 'pymodbus client could not connect to %d', port)
    return c


def pm_regs(port, addr, count):
    c = pm_client(port)
    try:
        r = c.read_holding_registers(addr, count, slave=1)
        check(not r.isError(), 'pymodbus read: %r', r)
        return list(r.registers)
    finally:
        c.close()


def start_server(d, port, regs):
    return pmslave.start(d, 'tcp', port, {'any': {'hr': regs}}, 'server')


def last_master_line(path):
    lines = re.findall(r'^STATE (\d+) COUNTER (\d+)$', h.read_log(path), re.M)
    return tuple(map(int, lines[-1])) if lines else None


def test_master_against_pymodbus():
    d = h.tmpdir('mscada-msm-')
    # STATE 0, COUNTER 70000 = 0x00011170 high word first; on a port the
    # system picks, the restart on the same one
    srv = start_server(d, 0, [0, 1, 0x1170, 0, 0, 0, 0, 0])
    port = srv.port
    log = os.path.join(d, 'master.log')
    m = h.spawn([os.path.join(build_dir(), 'msm_master'), '127.0.0.1',
                 str(port)], log)
    try:
        h.wait_until(lambda: last_master_line(log) == (1, 70000),
                     'msm_master printing STATE 1 COUNTER 70000', 30)
        h.wait_until(lambda: pm_regs(port, 0, 1) == [1],
                     'STATE 1 written to the pymodbus server', 30)
        # The server goes and comes back with other values: read again.
        h.stop_pid(srv, h.signal.SIGKILL, 10)
        h.wait_until(lambda: 'not connected' in h.read_log(log),
                     'msm_master noticing the outage', 30)
        srv = start_server(d, port, [3, 0, 5, 0, 0, 0, 0, 0])
        h.wait_until(lambda: last_master_line(log) == (3, 5),
                     'msm_master reading STATE 3 COUNTER 5 after the '
                     'restart', 30)
        check_eq(h.stop_pid(m, h.signal.SIGINT), 0, 'msm_master exit')
    finally:
        h.stop_pid(m)
        h.stop_pid(srv, h.signal.SIGKILL, 10)


def mbpoll(port, opts, values=()):
    argv = ['mbpoll', '-m', 'tcp', '-p', str(port), '-1'] + list(opts) + \
        ['127.0.0.1']
    if values:
        argv += ['--'] + [str(v) for v in values]
    return h.run_cmd(argv, timeout=30)


def start_slave(d):
    """msm_slave on a free port (it takes no port 0), another one if that
    was taken before it bound it."""
    log = os.path.join(d, 'slave.log')

    def start(port):
        mark = h.log_size(log)
        return h.spawn([os.path.join(build_dir(), 'msm_slave'), str(port)],
                       log), log, mark
    p, port = h.serve(start, MSM_SLAVE_SERVING, port=None, what='msm_slave')
    return p, port, log


def test_slave_with_mbpoll():
    d = h.tmpdir('mscada-msm-')
    p, port, log = start_slave(d)
    try:
        # mbpoll's references are 1-based: COUNTER is 2-3, high word first.
        def counter():
            st, out, err = mbpoll(port, ['-a', '1', '-r', '2', '-t', '4:int',
                                         '-B'])
            check_eq(st, 0, 'mbpoll read: %s %s' % (out, err))
            return int(re.search(r'\[2\]:\s+(-?\d+)', out).group(1))
        c1 = counter()
        h.wait_until(lambda: counter() > c1,
                     'COUNTER increasing past %d' % c1, 30)
        st, out, err = mbpoll(port, ['-a', '1', '-r', '1'], [1234])
        check_eq(st, 0, 'mbpoll write: %s %s' % (out, err))
        h.wait_until(lambda: 'STATE 1234' in h.read_log(log),
                     'msm_slave printing STATE 1234', 30)
        check_eq(h.stop_pid(p, h.signal.SIGINT), 0, 'msm_slave exit')
    finally:
        h.stop_pid(p)


def test_slave_with_pymodbus():
    d = h.tmpdir('mscada-msm-')
    p, port, log = start_slave(d)
    try:
        def counter():
            r = pm_regs(port, 0, 3)
            return (r[1] << 16) | r[2]
        c1 = counter()
        h.wait_until(lambda: counter() > c1,
                     'COUNTER increasing past %d' % c1, 30)
        c = pm_client(port)
        try:
            w = c.write_register(0, 77, slave=1)
            check(not w.isError(), 'pymodbus write: %r', w)
            w = c.write_registers(0, [78], slave=1)
            check(not w.isError(), 'pymodbus FC16: %r', w)
            r = c.read_holding_registers(8, 1, slave=1)
            check(r.isError(), 'read past the 8 registers answered: %r', r)
        finally:
            c.close()
        h.wait_until(lambda: 'STATE 77\nSTATE 78' in h.read_log(log),
                     'msm_slave printing STATE 77 and 78', 30)
        check_eq(pm_regs(port, 0, 1), [78], 'STATE read back')
    finally:
        h.stop_pid(p)


if __name__ == '__main__':
    h.main(globals())
