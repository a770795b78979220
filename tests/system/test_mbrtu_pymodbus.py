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
from mshelp import Bus, check

SLAVE = r'''
import logging, sys
from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusSlaveContext,
                                ModbusServerContext)
logging.basicConfig(level=logging.WARNING)
kind, where = sys.argv[1], sys.argv[2]

def unit(base):
    hr = [base + i for i in range(20)]
    return ModbusSlaveContext(di=ModbusSequentialDataBlock(0, [1, 0] * 8),
                              co=ModbusSequentialDataBlock(0, [0] * 16),
                              hr=ModbusSequentialDataBlock(0, hr),
                              ir=ModbusSequentialDataBlock(0, [7] * 8),
                              zero_mode=True)

ctx = ModbusServerContext(slaves={1: unit(100), 2: unit(200)}, single=False)
if kind == 'serial':
    from pymodbus.server import StartSerialServer
    from pymodbus.transaction import ModbusRtuFramer
    StartSerialServer(context=ctx, framer=ModbusRtuFramer, port=where,
                      baudrate=19200, parity='N', stopbits=1, bytesize=8,
                      ignore_missing_slaves=True)
else:
    from pymodbus.server import StartUdpServer
    StartUdpServer(context=ctx, address=('127.0.0.1', int(where)),
                   ignore_missing_slaves=True)
'''


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
        self.port = h.free_port()
        self.proc = h.spawn(['socat', 'TCP-LISTEN:%d,bind=127.0.0.1,'
                             'reuseaddr,fork' % self.port,
                             'FILE:%s,raw,echo=0' % path],
                            os.path.join(d, 'relay.log'))
        h.wait_until(self.accepting, 'socat relay on %d' % self.port, 30)

    def accepting(self):
        # Not by connecting: each connection forks a relay child that
        # would read the line too, racing the real one for the answers.
        with open('/proc/net/tcp') as f:
            for line in f.read().splitlines()[1:]:
                local, st = line.split()[1], line.split()[3]
                if st == '0A' and int(local.split(':')[1], 16) == self.port:
                    return True
        return False

    def stop(self):
        h.stop_pid(self.proc, h.signal.SIGTERM, 10)
        os.close(self.hold)


def udp_answers(port):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(bytes.fromhex('000100000006010300000001'),
                 ('127.0.0.1', port))
        return len(s.recv(300)) == 11
    except OSError:
        return False
    finally:
        s.close()


def start_slave(d, kind, where):
    script = os.path.join(d, 'slave.py')
    with open(script, 'w') as f:
        f.write(SLAVE)
    return h.spawn(['/usr/bin/python3', script, kind, str(where)],
                   os.path.join(d, 'slave.log'))


def write_config(d, bus_port, link):
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
    path = os.path.join(d, 'modbusclient.yaml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


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


def exercise(d, bus, link):
    from test_mbclient_pymodbus import Watcher
    conf = write_config(d, bus.port, link)
    log = os.path.join(d, 'modbusclient.log')
    mbc = h.spawn([h.MSCADA, 'modbusclient', '--config', conf, '--verbose'],
                  log)
    try:
        w = Watcher(bus, ['U1', 'U1B', 'U2', 'D2', 'W2', 'W2R', 'R_status'])
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
        with open(log) as f:
            text = f.read()
        check('unit 3 does not answer' in text, 'unit 3 marked down:\n%s',
              text)
        check(st['requests'] > 0, 'status: %r', st)
        check(h.stop_pid(mbc) == 0, 'modbusclient exit status')
    except Exception:
        with open(log) as f:
            sys.stdout.write('---- modbusclient log:\n' + f.read()[-4000:])
        raise
    finally:
        h.stop_pid(mbc)


def test_serial_pymodbus():
    bus = Bus()
    d = h.tmpdir('mscada-rtu-')
    pty = PtyPair(d)
    slave = start_slave(d, 'serial', pty.b)
    try:
        exercise(d, bus, ['tcp_udp: serial', 'device: ' + pty.a,
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
    slave = start_slave(d, 'serial', pty.b)
    relay = Relay(d, pty.a)
    try:
        exercise(d, bus, ['ip: 127.0.0.1', 'port: %d' % relay.port,
                          'tcp_udp: rtu-over-tcp'])
    finally:
        relay.stop()
        h.stop_pid(slave, h.signal.SIGKILL, 10)
        pty.stop()


def test_udp_pymodbus():
    bus = Bus()
    d = h.tmpdir('mscada-udp-')
    port = h.free_port()
    slave = start_slave(d, 'udp', port)
    h.wait_until(lambda: udp_answers(port), 'pymodbus udp server', 30)
    try:
        exercise(d, bus, ['ip: 127.0.0.1', 'port: %d' % port,
                          'tcp_udp: udp'])
    finally:
        h.stop_pid(slave, h.signal.SIGKILL, 10)


def test_modbusserver_udp():
    """modbusserver with tcp_udp: udp, read and written by pymodbus' UDP
    client; a datagram with bytes left over gets no answer; an unknown unit
    gets exception 11."""
    import socket
    bus = Bus()
    d = h.tmpdir('mscada-udpsrv-')
    port = h.free_port()
    conf = os.path.join(d, 'modbusserver.yaml')
    with open(conf, 'w') as f:
        f.write('bus_ip: 127.0.0.1\nbus_port: %d\nrtus:\n'
                '- name: U\n  ip: 127.0.0.1\n  port: %d\n  tcp_udp: udp\n'
                '  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n'
                'tags:\n  T5: {addr: \'U:1:4x:5\', type: uint16}\n'
                % (bus.port, port))
    log = os.path.join(d, 'modbusserver.log')
    srv = h.spawn([h.MSCADA, 'modbusserver', '--config', conf], log)
    try:
        h.wait_until(lambda: udp_answers(port), 'modbusserver on udp', 30)
        from pymodbus.client import ModbusUdpClient
        c = ModbusUdpClient('127.0.0.1', port=port, timeout=1)
        c.connect()
        r = c.write_register(4, 4242, slave=1)
        check(not r.isError(), 'write: %r', r)
        r = c.read_holding_registers(0, 10, slave=1)
        check(not r.isError() and r.registers[4] == 4242, 'read: %r', r)
        c.close()
        from test_mbclient_pymodbus import Watcher
        Watcher(bus, ['T5']).wait('T5', lambda v: v == 4242,
                                  'T5 == 4242 on the bus')
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
        check(h.stop_pid(srv) == 0, 'modbusserver exit status')
    except Exception:
        with open(log) as f:
            sys.stdout.write('---- modbusserver log:\n' + f.read()[-3000:])
        raise
    finally:
        h.stop_pid(srv)


if __name__ == '__main__':
    h.main(globals())
