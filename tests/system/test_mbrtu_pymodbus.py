"""`mscada modbusclient` beyond Modbus TCP, against pymodbus 3.0 (run by
/usr/bin/python3 in its own process; its serial server needs python3-serial
and python3-serial-asyncio):

- tcp_udp: serial over a pseudo-terminal pair made by socat, pymodbus's RTU
  slave on the other end serving units 1 and 2; unit 3 is absent (pymodbus
  stays silent for it, as a dead drop on RS-485 would): its per-unit
  timeouts must not starve units 1 and 2;
- tcp_udp: rtu-over-tcp through a socat relay from a TCP port to that pty
  pair, so a real RTU slave answers (a serial-to-Ethernet gateway);
- tcp_udp: udp against pymodbus's UDP server, and modbusserver serving
  UDP to pymodbus's UDP client.

Values are checked on a real `mscada bus` with a raw bus client; writes
from the bus are read back by polling."""

import os
import sys

import mshelp as h
import pmslave
from mshelp import Bus, check

def unit(base):
    """A unit's tables for pmslave."""
    return {'di': [1, 0] * 8, 'co': [0] * 16,
            'hr': [base + i for i in range(20)], 'ir': [7] * 8}


# units 1 and 2; unit 3 is absent
UNITS = {1: unit(100), 2: unit(200)}


class PtyPair:
    """Two linked pseudo-terminals made by socat: $d/a and $d/b."""

    def __init__(self, d):
        self.a = os.path.join(d, 'a')
        self.b = os.path.join(d, 'b')
        self.proc = h.spawn(['socat', '-d', '-d',
                             'pty,raw,echo=0,link=' + self.a,
                             'pty,raw,echo=0,link=' + self.b],
                            os.path.join(d, 'socat.log'))
        h.wait_until(lambda: os.path.exists(self.a) and
                     os.path.exists(self.b), 'socat pty links', 30)

    def stop(self):
        h.stop_pid(self.proc, h.signal.SIGTERM, 10)


class Relay:
    """A TCP port bridged to one end of a pty pair (an RTU gateway)."""

    def __init__(self, d, path):
        # socat ends the pair when the last holder of a side closes it, as
        # each relay child does with its connection: hold it open.
        self.hold = os.open(path, os.O_RDWR | os.O_NOCTTY)
        log = os.path.join(d, 'relay.log')

        def start(port):
            mark = h.log_size(log)
            return h.spawn(['socat', '-d', '-d',
                            'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork'
                            % port, 'FILE:%s,raw,echo=0' % path],
                           log), log, mark
        # Ready by its line, not by connecting: each connection forks a
        # relay child that would read the line too, racing the real one
        # for the answers. socat names the port it was given, not the one
        # it bound: a free port, another one if that was taken meanwhile.
        self.proc, self.port = h.serve(start, 'listening on AF=2 '
                                       '127.0.0.1:{port}', port=None,
                                       what='socat relay')

    def stop(self):
        h.stop_pid(self.proc, h.signal.SIGTERM, 10)
        os.close(self.hold)


def client_config(bus_port, link):
    lines = ['bus_ip: 127.0.0.1', 'bus_port: %d' % bus_port, 'rtus:',
             '- name: R'] + ['  ' + x for x in link] + [
        '  rate: 0.1', '  timeout: 0.3', '  retries: 0',
        '  reads:',
        '  - {unit: 1, file: 4x, start: 1, end: 10}',
        '  - {unit: 2, file: 4x, start: 1, end: 10}',
        '  - {unit: 3, file: 4x, start: 1, end: 10}',
        '  - {unit: 1, file: 1x, start: 1, end: 4}',
        '  writes:',
        '  - {unit: 2, file: 4x, start: 5, end: 6}',
        '  - {unit: 1, file: 0x, start: 3, end: 3}',
        'tags:',
        "  U1: {type: int16, read: 'R:1:4x:1'}",
        "  U1B: {type: uint32, read: 'R:1:4x:3'}",
        "  U2: {type: int16, read: 'R:2:4x:2'}",
        "  U3: {type: int16, read: 'R:3:4x:1'}",
        "  D2: {type: bool, read: 'R:1:1x:2'}",
        "  W2: {type: uint16, write: 'R:2:4x:5'}",
        "  W2R: {type: uint16, read: 'R:2:4x:5'}",
        "  WC: {type: bool, write: 'R:1:0x:3'}"]
    return '\n'.join(lines) + '\n'


def write_until(w, value):
    """Sets W2 until it reads back: a write to a unit that is down at that
    moment (the peers themselves lose frames after a request to an absent
    unit) fails at once, and only a later set is written."""
    def ok():
        w.c.set_value(w.ids['W2'], value)
        try:
            w.wait('W2R', lambda v: v == value, 'W2R == %d' % value, 3)
            return True
        except AssertionError:
            return False
    h.wait_until(ok, 'W2 written and polled back as %d' % value, 40)


def exercise(bus, link):
    mbc = h.Module('modbusclient', client_config(bus.port, link),
                   args=['--verbose'])
    w = h.Watch(bus, ['U1', 'U1B', 'U2', 'D2', 'W2', 'W2R', 'R_status'])
    w.wait('U1', lambda v: v == 100, 'U1 == 100 (unit 1)')
    w.wait('U1B', lambda v: v == (102 << 16) | 103, 'U1B (unit 1)')
    w.wait('U2', lambda v: v == 201, 'U2 == 201 (unit 2)')
    w.wait('D2', lambda v: v == 0, 'D2 (discrete input)')
    w.wait('W2R', lambda v: v == 204, 'W2R before the write')
    write_until(w, 4321)
    # Unit 3 never answers: it is down, and units 1 and 2 go on.
    st = w.wait('R_status', lambda v: v.get('connected') is True,
                'status connected')
    write_until(w, 77)  # while unit 3 is down
    text = mbc.log()
    check('unit 3 does not answer' in text, 'unit 3 marked down:\n%s',
          text)
    check(st['requests'] > 0, 'status: %r', st)
    check(mbc.stop() == 0, 'modbusclient exit status')


def test_serial_pymodbus():
    bus = Bus()
    d = h.tmpdir('mscada-rtu-')
    pty = PtyPair(d)
    slave = pmslave.start(d, 'serial', pty.b, UNITS)
    try:
        exercise(bus, ['tcp_udp: serial', 'device: ' + pty.a,
                       'baud: 19200', 'parity: N', 'stop_bits: 1'])
    except Exception:
        with open(os.path.join(d, 'slave.log')) as f:
            sys.stdout.write('---- slave log:\n' + f.read()[-3000:])
        raise
    finally:
        h.stop_pid(slave, h.signal.SIGKILL, 10)
        pty.stop()


def test_rtu_over_tcp_pymodbus():
    bus = Bus()
    d = h.tmpdir('mscada-rtutcp-')
    pty = PtyPair(d)
    slave = pmslave.start(d, 'serial', pty.b, UNITS)
    relay = Relay(d, pty.a)
    try:
        exercise(bus, ['ip: 127.0.0.1', 'port: %d' % relay.port,
                       'tcp_udp: rtu-over-tcp'])
    finally:
        relay.stop()
        h.stop_pid(slave, h.signal.SIGKILL, 10)
        pty.stop()


def test_udp_pymodbus():
    bus = Bus()
    d = h.tmpdir('mscada-udp-')
    slave = pmslave.start(d, 'udp', 0, UNITS)
    port = slave.port
    try:
        exercise(bus, ['ip: 127.0.0.1', 'port: %d' % port,
                       'tcp_udp: udp'])
    finally:
        h.stop_pid(slave, h.signal.SIGKILL, 10)


def test_modbusserver_udp():
    """modbusserver with tcp_udp: udp, read and written by pymodbus' UDP
    client; a datagram with bytes left over gets no answer; an unknown unit
    gets exception 11."""
    import socket
    bus = Bus()
    srv = h.Module('modbusserver', lambda port:
                   'bus_ip: 127.0.0.1\nbus_port: %d\nrtus:\n'
                   '- name: U\n  ip: 127.0.0.1\n  port: %d\n  tcp_udp: udp\n'
                   '  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n'
                   'tags:\n  T5: {addr: \'U:1:4x:5\', type: uint16}\n'
                   % (bus.port, port), start=False)
    port = srv.serve('serving Modbus over UDP on 127.0.0.1:{port}').port
    # bound first: a late answer to a request pymodbus sent again cannot
    # reach this socket on a port recycled from pymodbus' closed one
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    from pymodbus.client import ModbusUdpClient
    c = ModbusUdpClient('127.0.0.1', port=port, timeout=10)
    c.connect()
    r = c.write_register(4, 4242, slave=1)
    check(not r.isError(), 'write: %r', r)
    r = c.read_holding_registers(0, 10, slave=1)
    check(not r.isError() and r.registers[4] == 4242, 'read: %r', r)
    c.close()
    h.Watch(bus, ['T5']).wait('T5', lambda v: v == 4242,
                              'T5 == 4242 on the bus')
    s.settimeout(0.5)
    try:
        s.sendto(bytes.fromhex('000700000006010300000001ff'),
                 ('127.0.0.1', port))
        try:
            s.recv(300)
            check(False, 'a datagram with a byte left over was answered')
        except socket.timeout:
            pass
        s.sendto(bytes.fromhex('000800000006090300000001'),
                 ('127.0.0.1', port))
        check(s.recv(300) == bytes.fromhex('000800000003098302')[:-1] +
              b'\x0b', 'unknown unit -> exception 11')
    finally:
        s.close()
    check(srv.stop() == 0, 'modbusserver exit status')


if __name__ == '__main__':
    h.main(globals())
