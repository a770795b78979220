"""`mscada modbusclient` against pymodbus 3.0 (an independent Modbus TCP
server, run by /usr/bin/python3 in its own process; it loses pipelined
requests, so max_in_flight stays 1): every type in both word orders, bits,
coils, inputs, scale/offset on a real `mscada bus`, checked with a raw bus
client; writes from the bus read back from the server with pymodbus' own
client; the server killed and started again -> reconnect and resume."""

import os
import struct
import sys
import time

import mshelp as h
from mshelp import Bus, CMD_SET, check, check_eq

SLAVE = r'''
import logging, struct, sys
from pymodbus.server import StartTcpServer
from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusSlaveContext,
                                ModbusServerContext)
logging.basicConfig(level=logging.WARNING)
port = int(sys.argv[1])
hr = [int(x) for x in sys.argv[2].split(',')]
ir = [int(x) for x in sys.argv[3].split(',')]
co = [int(x) for x in sys.argv[4].split(',')]
di = [int(x) for x in sys.argv[5].split(',')]
store = ModbusSlaveContext(di=ModbusSequentialDataBlock(0, di),
                           co=ModbusSequentialDataBlock(0, co),
                           hr=ModbusSequentialDataBlock(0, hr),
                           ir=ModbusSequentialDataBlock(0, ir),
                           zero_mode=True)
StartTcpServer(context=ModbusServerContext(slaves=store, single=True),
               address=('127.0.0.1', port), allow_reuse_address=True)
'''


def words(fmt, value, little=False):
    b = struct.pack('>' + fmt, value)
    w = [int.from_bytes(b[i:i + 2], 'big') for i in range(0, len(b), 2)]
    return w[::-1] if little else w


# (tag name, tag spec, word (1-based), registers, expected bus value)
LAYOUT = [
    ('I16', "{type: int16, read: 'P:1:4x:1'}", 1, words('h', -1234), -1234),
    ('U16', "{type: uint16, read: 'P:1:4x:2'}", 2, [54321], 54321),
    ('I32', "{type: int32, read: 'P:1:4x:3'}", 3, words('i', -7654321),
     -7654321),
    ('U32L', "{type: uint32, read: 'P:1:4x:5', word_order: little}", 5,
     words('I', 4000000001, True), 4000000001),
    ('I64', "{type: int64, read: 'P:1:4x:7'}", 7,
     words('q', -98765432109876), -98765432109876),
    ('U64L', "{type: uint64, read: 'P:1:4x:11', word_order: little}", 11,
     words('Q', 1234567890123456789, True), 1234567890123456789),
    ('F32', "{type: float32, read: 'P:1:4x:15'}", 15, words('f', -0.75),
     -0.75),
    ('F32L', "{type: float32, read: 'P:1:4x:17', word_order: little}", 17,
     words('f', 2.5, True), 2.5),
    ('F64', "{type: float64, read: 'P:1:4x:19'}", 19, words('d', 1e100),
     1e100),
    ('F64L', "{type: float64, read: 'P:1:4x:23', word_order: little}", 23,
     words('d', -3.25e-5, True), -3.25e-5),
    ('B7', "{type: bool, read: 'P:1:4x:27.7'}", 27, [0x0080], 1),
    ('SC', "{type: uint16, read: 'P:1:4x:28', scale: 0.01, offset: -1}", 28,
     [250], 1.5),
]
READS_EXTRA = [
    ('C2', "{type: bool, read: 'P:1:0x:2'}", 1),
    ('DI3', "{type: bool, read: 'P:1:1x:3'}", 1),
    ('IR1', "{type: int32, read: 'P:1:3x:1'}", -5),
]
WRITES = {
    'W_I16': "{type: int16, read: 'P:1:4x:31', write: 'P:1:4x:31'}",
    'W_F32L': "{type: float32, write: 'P:1:4x:32', word_order: little}",
    'W_BIT': "{type: bool, read: 'P:1:4x:34.2', write: 'P:1:4x:34.2'}",
    'W_U64': "{type: uint64, write: 'P:1:4x:35'}",
    'W_C5': "{type: bool, read: 'P:1:0x:5', write: 'P:1:0x:5'}",
}


def holding(i16=None):
    hr = [0] * 50
    for name, spec, word, regs, value in LAYOUT:
        hr[word - 1:word - 1 + len(regs)] = regs
    if i16 is not None:
        hr[0] = i16 & 0xffff
    hr[33] = 0x8001  # 4x:34: other bits set around bit 2
    return hr


class Slave:
    def __init__(self, d, port):
        self.d, self.port, self.proc = d, port, None
        self.script = os.path.join(d, 'slave.py')
        with open(self.script, 'w') as f:
            f.write(SLAVE)

    def start(self, i16=None):
        ir = words('i', -5) + [0, 0]
        co = [0, 1, 0, 0, 0, 0, 0, 0]
        di = [0, 0, 1, 0, 0, 0, 0, 0]
        argv = ['/usr/bin/python3', self.script, str(self.port),
                ','.join(map(str, holding(i16))), ','.join(map(str, ir)),
                ','.join(map(str, co)), ','.join(map(str, di))]
        self.proc = h.spawn(argv, os.path.join(self.d, 'slave.log'))
        h.wait_until(self.accepting, 'pymodbus server on %d' % self.port, 30)

    def accepting(self):
        import socket
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(('127.0.0.1', self.port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc:
            h.stop_pid(self.proc, h.signal.SIGKILL, 10)


def peer_client(port):
    from pymodbus.client import ModbusTcpClient
    c = ModbusTcpClient('127.0.0.1', port=port)
    check(c.connect(), 'pymodbus client could not connect')
    return c


def peer_regs(port, word, count):
    c = peer_client(port)
    try:
        r = c.read_holding_registers(word - 1, count, slave=1)
        check(not r.isError(), 'peer read failed: %r', r)
        return list(r.registers)
    finally:
        c.close()


def peer_coil(port, n):
    c = peer_client(port)
    try:
        r = c.read_coils(n - 1, 1, slave=1)
        check(not r.isError(), 'peer read failed: %r', r)
        return bool(r.bits[0])
    finally:
        c.close()


class Watcher:
    """A raw bus client subscribed to tags, keeping their latest values."""

    def __init__(self, bus, names):
        self.c = bus.client()
        self.ids = {}
        self.vals = {}
        for n in names:
            tid = self.c.id(n)
            self.ids[n] = tid
            self.names_by_id = {v: k for k, v in self.ids.items()}
            m = self.c.sub(tid)
            self.take(m)

    def take(self, m):
        if m.cmd == CMD_SET and m.tag_id in self.names_by_id:
            d = h.decode_value(m.data)
            if d is not None:
                self.vals[self.names_by_id[m.tag_id]] = d[1]

    def pump(self):
        while True:
            m = self.c.poll_msg(0.05)
            if m is None:
                return
            self.take(m)

    def wait(self, name, pred, what, timeout=30):
        def ok():
            self.pump()
            return name in self.vals and pred(self.vals[name])
        h.wait_until(ok, what, timeout, interval=0.01)
        return self.vals[name]


def write_config(d, bus_port, port):
    lines = ['bus_ip: 127.0.0.1', 'bus_port: %d' % bus_port, 'rtus:',
             '- name: P', '  ip: 127.0.0.1', '  port: %d' % port,
             '  rate: 0.1', '  timeout: 0.5', '  max_in_flight: 1',
             '  reads:',
             '  - {unit: 1, file: 4x, start: 1, end: 40}',
             '  - {unit: 1, file: 0x, start: 1, end: 8}',
             '  - {unit: 1, file: 1x, start: 1, end: 8}',
             '  - {unit: 1, file: 3x, start: 1, end: 4}',
             '  writes:',
             '  - {unit: 1, file: 4x, start: 31, end: 40}',
             '  - {unit: 1, file: 0x, start: 5, end: 5}',
             'tags:']
    for name, spec, *_ in LAYOUT + READS_EXTRA:
        lines.append('  %s: %s' % (name, spec))
    for name, spec in WRITES.items():
        lines.append('  %s: %s' % (name, spec))
    path = os.path.join(d, 'modbusclient.yaml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def close_enough(want):
    if isinstance(want, float):
        return lambda v: abs(v - want) <= abs(want) * 1e-6
    return lambda v: v == want


def test_pymodbus_read_write_reconnect():
    bus = Bus()
    d = h.tmpdir('mscada-mbc-')
    port = h.free_port()
    slave = Slave(d, port)
    slave.start()
    conf = write_config(d, bus.port, port)
    log = os.path.join(d, 'modbusclient.log')
    mbc = h.spawn([h.MSCADA, 'modbusclient', '--config', conf], log)
    try:
        names = [x[0] for x in LAYOUT + READS_EXTRA] + list(WRITES) + \
            ['P_status']
        w = Watcher(bus, names)
        for name, spec, word, regs, want in LAYOUT:
            w.wait(name, close_enough(want), '%s == %r' % (name, want))
        for name, spec, want in READS_EXTRA:
            w.wait(name, close_enough(want), '%s == %r' % (name, want))

        # Writes from the bus, read back from the server by another client.
        def set_(name, value):
            w.c.set_value(w.ids[name], value)

        set_('W_I16', -300)
        h.wait_until(lambda: peer_regs(port, 31, 1) == [(-300) & 0xffff],
                     'W_I16 written', 20)
        set_('W_F32L', 6.5)
        h.wait_until(lambda: peer_regs(port, 32, 2) == words('f', 6.5, True),
                     'W_F32L written', 20)
        set_('W_BIT', 1)
        h.wait_until(lambda: peer_regs(port, 34, 1) == [0x8005],
                     'W_BIT written by FC22', 20)
        set_('W_U64', 2 ** 40 + 7)
        h.wait_until(lambda: peer_regs(port, 35, 4) ==
                     words('Q', 2 ** 40 + 7), 'W_U64 written', 20)
        set_('W_C5', 1)
        h.wait_until(lambda: peer_coil(port, 5), 'W_C5 written', 20)

        st = w.wait('P_status', lambda v: v.get('connected') is True,
                    'status connected')
        check(st['requests'] > 0, 'status: %r', st)

        # Kill the server, start it again with another value.
        slave.stop()
        w.wait('P_status', lambda v: v.get('connected') is False,
               'status disconnected')
        slave.start(i16=4321)
        w.wait('I16', lambda v: v == 4321, 'I16 after the restart')
        w.wait('P_status', lambda v: v.get('connected') is True and
               v.get('connects') == 2, 'status connected again')
        check_eq(h.stop_pid(mbc), 0, 'modbusclient exit status')
    except Exception:
        with open(log) as f:
            sys.stdout.write('---- modbusclient log:\n' + f.read()[-4000:])
        raise
    finally:
        h.stop_pid(mbc)
        slave.stop()


if __name__ == '__main__':
    h.main(globals())
