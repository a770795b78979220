"""`mscada modbusclient` against pymodbus 3.0 (an independent Modbus TCP
server, run by /usr/bin/python3 in its own process; it loses pipelined
requests, so max_in_flight stays 1): every type in both word orders, bits,
coils, inputs, scale/offset on a real `mscada bus`, checked with a raw bus
client; writes from the bus read back from the server with pymodbus' own
client; the server killed and started again -> reconnect and resume."""

import struct

import mshelp as h
import pmslave
from mshelp import Bus, check, check_eq

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
    """pymodbus' TCP server (pmslave.py), one context for every unit, on
    a port the system picks at the first start (self.port), started again
    on that port after stop()."""

    def __init__(self, d):
        self.d, self.port, self.proc = d, 0, None

    def start(self, i16=None):
        ir = words('i', -5) + [0, 0]
        co = [0, 1, 0, 0, 0, 0, 0, 0]
        di = [0, 0, 1, 0, 0, 0, 0, 0]
        self.proc = pmslave.start(self.d, 'tcp', self.port, {'any': {
            'hr': holding(i16), 'ir': ir, 'co': co, 'di': di}})
        self.port = self.proc.port

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


def client_config(bus_port, port):
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
    return '\n'.join(lines) + '\n'


def close_enough(want):
    if isinstance(want, float):
        return lambda v: abs(v - want) <= abs(want) * 1e-6
    return lambda v: v == want


def test_pymodbus_read_write_reconnect():
    bus = Bus()
    d = h.tmpdir('mscada-mbc-')
    slave = Slave(d)
    slave.start()
    port = slave.port
    mbc = h.Module('modbusclient', client_config(bus.port, port))
    try:
        names = [x[0] for x in LAYOUT + READS_EXTRA] + list(WRITES) + \
            ['P_status']
        w = h.Watch(bus, names)
        for name, spec, word, regs, want in LAYOUT:
            w.wait(name, close_enough(want), '%s == %r' % (name, want))
        for name, spec, want in READS_EXTRA:
            w.wait(name, close_enough(want), '%s == %r' % (name, want))

        # Writes from the bus, read back from the server by another client.
        w.set('W_I16', -300)
        h.wait_until(lambda: peer_regs(port, 31, 1) == [(-300) & 0xffff],
                     'W_I16 written', 20)
        w.set('W_F32L', 6.5)
        h.wait_until(lambda: peer_regs(port, 32, 2) == words('f', 6.5, True),
                     'W_F32L written', 20)
        w.set('W_BIT', 1)
        h.wait_until(lambda: peer_regs(port, 34, 1) == [0x8005],
                     'W_BIT written by FC22', 20)
        w.set('W_U64', 2 ** 40 + 7)
        h.wait_until(lambda: peer_regs(port, 35, 4) ==
                     words('Q', 2 ** 40 + 7), 'W_U64 written', 20)
        w.set('W_C5', 1)
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
        check_eq(mbc.stop(), 0, 'modbusclient exit status')
    finally:
        slave.stop()


if __name__ == '__main__':
    h.main(globals())
