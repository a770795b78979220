"""`mscada modbusserver` against independent masters other than libmodbus:
mbpoll (reads, writes, floats, coils, an unknown unit) and pymodbus 3.0 via
/usr/bin/python3 (FC43/14 device identification with the stream-access
rules, FC23, FC22; one request in flight, as docs/design.md §4 says pymodbus needs;
its request classes take `unit=`, its read helpers `slave=`); FC17 report
server id by default and as configured (server_id, run_status), and units
0 and 255 as "this device" with unit_any (pymodbus and mbpoll -a 255).
Values written by a master appear on the bus and bus values in registers;
a bad config exits 2 with file:line:column."""

import os
import re
import time

import mshelp as h
from mshelp import Bus, check, check_eq

PY = '/usr/bin/python3'


class Server(h.Module):
    """One `mscada modbusserver` (an h.Module) told port 0, once it says
    which port it serves (self.port)."""

    def __init__(self, bus, extra='', rtu=''):
        super().__init__('modbusserver', lambda port: CONFIG % (
            bus.port, port, rtu) + extra, start=False)
        self.serve('serving Modbus/TCP on 127.0.0.1:{port}')

    def stop(self):
        check_eq(super().stop(), 0, 'modbusserver exit status on SIGTERM')


CONFIG = """bus_ip: 127.0.0.1
bus_port: %d
rtus:
- name: RTU
  ip: 127.0.0.1
  port: %d
  tcp_udp: tcp
%s  serve:
  - {unit: 1, file: 4x, start: 1, end: 100}
  - {unit: 1, file: 3x, start: 1, end: 10}
  - {unit: 1, file: 0x, start: 1, end: 16}
tags:
  p_int: {type: int16, addr: 'RTU:1:4x:1'}
  p_float: {type: float32, addr: 'RTU:1:4x:3'}
  p_time: {type: uint64, addr: 'RTU:1:4x:9'}
  p_coil: {type: bool, addr: 'RTU:1:0x:2'}
  p_ireg: {type: uint16, addr: 'RTU:1:3x:1'}
"""


def run_mbpoll(port, opts, values=()):
    argv = ['mbpoll', '-m', 'tcp', '-p', str(port), '-1'] + list(opts) + \
        ['127.0.0.1']
    if values:  # after --, so that -42 is a value, not an option
        argv += ['--'] + [str(v) for v in values]
    return h.run_cmd(argv, timeout=30)


def bus_value(bus, name, want, timeout=30):
    """Waits until the bus holds want for name."""
    with h.Client(bus.port) as c:
        tid = c.id(name)
        end = time.time() + timeout
        last = None
        while time.time() < end:
            m = c.get(tid)
            last = m.value()[1] if m.data else None
            if last is not None and abs(float(last) - want) < 1e-9:
                return
            time.sleep(0.05)
        raise AssertionError('%s: bus holds %r, want %r' % (name, last, want))


def set_bus(bus, name, value):
    with h.Client(bus.port) as c:
        tid = c.id(name)
        c.set_value(tid, value)
        c.sync()


def test_mbpoll_both_ways():
    bus = Bus()
    srv = Server(bus)
    try:
        # mbpoll writes 16-bit registers unsigned: 65494 is int16 -42.
        st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '1'], [65494])
        check_eq(st, 0, 'mbpoll write: %s %s' % (out, err))
        bus_value(bus, 'p_int', -42)
        st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '3', '-t',
                                             '4:float', '-B'], [2.75])
        check_eq(st, 0, 'mbpoll float write: %s %s' % (out, err))
        bus_value(bus, 'p_float', 2.75)
        st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '2', '-t', '0'],
                                  [1])
        check_eq(st, 0, 'mbpoll coil write: %s %s' % (out, err))
        bus_value(bus, 'p_coil', 1)
        set_bus(bus, 'p_float', -0.5)
        end = time.time() + 30
        while True:
            st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '3', '-t',
                                                 '4:float', '-B'])
            if st == 0 and re.search(r'\[3\]:\s+-0\.5', out):
                break
            check(time.time() < end, 'mbpoll never read -0.5: %s %s', out,
                  err)
            time.sleep(0.1)
        set_bus(bus, 'p_ireg', 4321)
        end = time.time() + 30
        while True:
            st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '1', '-t',
                                                 '3'])
            if st == 0 and re.search(r'\[1\]:\s+4321', out):
                break
            check(time.time() < end, 'mbpoll never read 4321: %s', out)
            time.sleep(0.1)
        # Outside every block, and an unknown unit: exceptions, not hangs.
        st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '99', '-c',
                                             '5'])
        check('xception' in out + err or 'Illegal data address' in out + err,
              'mbpoll past the block: %s %s', out, err)
        st, out, err = run_mbpoll(srv.port, ['-a', '7', '-r', '1'])
        check('arget' in out + err or 'xception' in out + err,
              'mbpoll to unit 7: %s %s', out, err)
        # mbpoll leaves; the server still answers.
        st, out, err = run_mbpoll(srv.port, ['-a', '1', '-r', '1', '-c',
                                             '100'])
        check_eq(st, 0, 'mbpoll read of 100: %s %s' % (out, err))
        srv.stop()
    finally:
        h.stop_pid(srv.proc)
        bus.stop()


PYMODBUS = r'''
import sys
from pymodbus.client import ModbusTcpClient
from pymodbus.mei_message import ReadDeviceInformationRequest
c = ModbusTcpClient('127.0.0.1', port=int(sys.argv[1]), timeout=10)
assert c.connect()
def devid(code, obj=0):
    r = c.execute(ReadDeviceInformationRequest(read_code=code, object_id=obj,
                                               unit=1))
    assert not r.isError(), r
    return r
r = devid(1)
print('basic', sorted(r.information.items()), r.conformity, r.more_follows)
r = devid(2)
print('regular', sorted(r.information.items()))
r = devid(4, 1)
print('specific', sorted(r.information.items()))
r = devid(1, 0x55)  # outside basic: the stream restarts at 0
print('restart', sorted(r.information.keys()))
r = c.execute(ReadDeviceInformationRequest(read_code=4, object_id=0x55,
                                           unit=1))
print('missing', r.isError(), getattr(r, 'exception_code', None))
r = c.readwrite_registers(read_address=0, read_count=4, write_address=20,
                          write_registers=[7, 8, 9], unit=1)
assert not r.isError(), r
print('rw', r.registers)
r = c.readwrite_registers(read_address=20, read_count=3, write_address=0,
                          write_registers=[11], unit=1)
print('rw2', r.registers)
r = c.mask_write_register(address=30, and_mask=0xF2, or_mask=0x25, unit=1)
assert not r.isError(), r
r = c.read_holding_registers(30, 1, slave=1)
print('mask', r.registers)
r = c.read_holding_registers(0, 101, slave=1)
print('outside', r.isError(), getattr(r, 'exception_code', None))
r = c.read_holding_registers(0, 1, slave=5)
print('unit5', r.isError(), getattr(r, 'exception_code', None))
c.close()
'''


def test_pymodbus_devid_and_fc23():
    bus = Bus()
    srv = Server(bus)
    try:
        script = os.path.join(srv.dir, 'pm.py')
        with open(script, 'w') as f:
            f.write(PYMODBUS)
        st, out, err = h.run_cmd([PY, script, str(srv.port)], timeout=120)
        check_eq(st, 0, 'pymodbus script: %s\n%s' % (out, err))
        lines = dict(l.split(' ', 1) for l in out.strip().splitlines())
        check("(0, b'mscada')" in lines['basic'], 'vendor: %s', out)
        check("(1, b'mscada-modbusserver')" in lines['basic'],
              'product code: %s', out)
        check(re.search(r"\(2, b'\d", lines['basic']), 'version: %s', out)
        check('(4,' not in lines['basic'], 'basic has regular objects: %s',
              out)
        check("(4, b'mscada modbusserver')" in lines['regular'],
              'product name: %s', out)
        check_eq(lines['specific'], "[(1, b'mscada-modbusserver')]",
                 'specific object 1')
        check_eq(lines['restart'], '[0, 1, 2]', 'stream restart')
        check_eq(lines['missing'], 'True 2', 'a missing object')
        check_eq(lines['rw2'], '[7, 8, 9]', 'FC23 read after write')
        check_eq(lines['mask'], '[5]', 'FC22 (0 & 0xF2) | (0x25 & ~0xF2)')
        check_eq(lines['outside'], 'True 2', 'read past the block')
        check_eq(lines['unit5'], 'True 11', 'an unknown unit')
        bus_value(bus, 'p_int', 11)
        srv.stop()
    finally:
        h.stop_pid(srv.proc)
        bus.stop()


REPORT = r'''
import sys
from pymodbus.client import ModbusTcpClient
from pymodbus.other_message import ReportSlaveIdRequest
c = ModbusTcpClient('127.0.0.1', port=int(sys.argv[1]), timeout=10)
assert c.connect()
r = c.execute(ReportSlaveIdRequest(unit=1))
assert not r.isError(), r
print('id', r.identifier, r.status)
for unit in (0, 255):
    r = c.read_holding_registers(0, 1, slave=unit)
    print('unit%d' % unit, r.isError(), getattr(r, 'exception_code', None),
          getattr(r, 'registers', None))
c.close()
'''


def run_report(srv):
    script = os.path.join(srv.dir, 'report.py')
    with open(script, 'w') as f:
        f.write(REPORT)
    st, out, err = h.run_cmd([PY, script, str(srv.port)], timeout=120)
    check_eq(st, 0, 'pymodbus script: %s\n%s' % (out, err))
    return dict(l.split(' ', 1) for l in out.strip().splitlines())


def test_report_server_id_default():
    bus = Bus()
    srv = Server(bus)
    try:
        lines = run_report(srv)
        # The unit, then the run indicator (pymodbus keeps it as the id's
        # last byte).
        check_eq(lines['id'], "b'\\x01\\xff' True", 'FC17 by default')
        check_eq(lines['unit0'], 'True 11 None', 'unit 0 without unit_any')
        check_eq(lines['unit255'], 'True 11 None',
                 'unit 255 without unit_any')
        srv.stop()
    finally:
        h.stop_pid(srv.proc)
        bus.stop()


def test_report_server_id_and_unit_any():
    bus = Bus()
    srv = Server(bus, rtu="  server_id: 'plant-7'\n  run_status: false\n"
                 "  unit_any: true\n")
    try:
        # mbpoll writes unit 255, which is unit 1: the tag hears of it.
        st, out, err = run_mbpoll(srv.port, ['-a', '255', '-r', '1'], [321])
        check_eq(st, 0, 'mbpoll write to unit 255: %s %s' % (out, err))
        bus_value(bus, 'p_int', 321)
        st, out, err = run_mbpoll(srv.port, ['-a', '0', '-r', '1'])
        check(st == 0 and re.search(r'\[1\]:\s+321', out),
              'mbpoll read of unit 0: %s %s', out, err)
        lines = run_report(srv)
        check_eq(lines['id'], "b'plant-7\\x00' False", 'FC17 as configured')
        check_eq(lines['unit0'], 'False None [321]', 'unit 0 with unit_any')
        check_eq(lines['unit255'], 'False None [321]',
                 'unit 255 with unit_any')
        # Other units are still unknown.
        st, out, err = run_mbpoll(srv.port, ['-a', '7', '-r', '1'])
        check(st != 0, 'mbpoll to unit 7 succeeded: %s', out)
        srv.stop()
    finally:
        h.stop_pid(srv.proc)
        bus.stop()


def test_bad_config_exits_2():
    bus = Bus(start=False)
    d = h.tmpdir('mscada-mbs-')
    cases = [
        ("rtus:\n- name: R\n  port: 1502\n  serve:\n"
         "  - {unit: 1, file: 5x, start: 1, end: 10}\n", r':5:\d+: file must'),
        ("rtus:\n- name: R\n  port: 1502\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n"
         "tags:\n  a: {type: int16, addr: 'R:1:4x:11'}\n",
         r':7:\d+: .*not inside a serve block'),
        ("rtus:\n- name: R\n  port: 1502\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n"
         "tags:\n  a: {type: int16, addr: 'R:1:4x:0'}\n",
         r':7:\d+: .*WORD must be'),
        ("rtus:\n- name: R\n  port: 1502\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n"
         "tags:\n  a: {type: real, addr: 'R:1:4x:1'}\n",
         r':7:\d+: type must be'),
        ("rtus:\n- name: R\n  port: 1502\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n"
         "tags:\n  a: {type: int16, addr: 'X:1:4x:1'}\n",
         r"no rtu named 'X'"),
        ("rtus:\n- name: R\n  tcp_udp: serial\n  device: /dev/null\n"
         "  unit_any: true\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n",
         r':5:13: unit_any is for tcp and udp: on a serial line unit 0 is '
         r'broadcast'),
        ("rtus:\n- name: R\n  port: 1502\n  server_id: 42\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n",
         r":4:14: server_id: write text in quotes \('42'\) or bytes as a "
         r"list \(\[42\]\)"),
        ("rtus:\n- name: R\n  port: 1502\n  server_id: [1, 256]\n"
         "  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n",
         r':4:18: a server_id byte must be an integer from 0 to 255'),
        ("rtus:\n- name: R\n  port: 1502\n  server_id: '%s'\n  serve:\n"
         "  - {unit: 1, file: 4x, start: 1, end: 10}\n" % ('x' * 251),
         r':4:14: server_id has 251 bytes; at most 250'),
        ("rtus:\n- name: R\n  port: 1502\n  run_status: maybe\n"
         "  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n",
         r':4:15: run_status'),
    ]
    for i, (text, pattern) in enumerate(cases):
        p = os.path.join(d, 'bad%d.yaml' % i)
        with open(p, 'w') as f:
            f.write(text)
        st, out, err = h.run_cmd([h.MSCADA, 'modbusserver', '--config', p])
        check_eq(st, 2, 'exit status for bad config %d (%s)' % (i, err))
        check(re.search(re.escape(p) + r'.*' + pattern, err) or
              re.search(pattern, err), 'config %d: %r lacks %r', i, err,
              pattern)
    del bus


if __name__ == '__main__':
    h.main(globals())
