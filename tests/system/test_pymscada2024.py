"""mscada's modules on a bus that behaves like pymscada's 2024 one
(bus2024.py: it has no LOG, and stops reading a connection that sends a
command it does not know). Each module used to send LOG first and then sat
connected and silent; now none sends anything that bus can't take, and
history, modbusclient, modbusserver and the console all work on it. Also:
the stand-in really stops reading on LOG; a client whose IDs go unanswered
says so; modbusserver with an empty bus_ip (pymscada: no bus) serves its
memory; history answers a 2024 web client's `__rqs_id__`."""

import socket
import struct
import time

import mshelp as h
from mshelp import check, check_eq
from bus2024 import Bus2024
import test_console as console_tests
import test_history as history_tests

PY = '/usr/bin/python3'


def bus2024():
    b = Bus2024().start()
    _stand_ins.append(b)
    return b


_stand_ins = []


def no_log_sent(bus):
    """Nothing a 2024 bus can't take reached it."""
    check_eq(bus.dead_readers, [], 'connections whose reader died')


# ---------------------------------------------------------------- Modbus

def mb_req(port, unit, pdu, tid=1):
    """One Modbus/TCP request; returns the response PDU."""
    with socket.create_connection(('127.0.0.1', port), 10) as s:
        s.sendall(struct.pack('>HHHB', tid, 0, len(pdu) + 1, unit) + pdu)
        head = b''
        while len(head) < 7:
            head += s.recv(7 - len(head))
        n = struct.unpack('>H', head[4:6])[0] - 1
        body = b''
        while len(body) < n:
            body += s.recv(n - len(body))
        return body


def mb_write(port, word, value):
    check_eq(mb_req(port, 1, struct.pack('>BHH', 6, word - 1, value))[0], 6,
             'FC6 answer')


def mb_read(port, word):
    r = mb_req(port, 1, struct.pack('>BHH', 3, word - 1, 1))
    check_eq(r[:2], b'\x03\x02', 'FC3 answer')
    return struct.unpack('>H', r[2:4])[0]


class Proc(h.Module):
    """An mscada module (h.Module) whose stop must exit 0."""

    def stop(self):
        check_eq(super().stop(), 0, '%s exit status on SIGTERM' % self.module)


def serving(config):
    """modbusserver with config % port, told port 0, once it says which
    port it serves (its .port)."""
    p = Proc('modbusserver', lambda port: config % port, start=False)
    return p.serve('serving Modbus/TCP on 127.0.0.1:{port}')


def modbus_memory():
    """modbusserver without a bus (empty bus_ip): a plain Modbus memory."""
    return serving("""bus_ip:
rtus:
- name: MEM
  ip: 127.0.0.1
  port: %d
  serve:
  - {unit: 1, file: 4x, start: 1, end: 100}
""")


def bus_value(bus, name, want, what):
    def ok():
        v = bus.value(name)
        return v and v[1] and h.decode_value(v[1])[1] == want
    h.wait_until(ok, what, 30)


# ---------------------------------------------------------------- tests

def test_stand_in_stops_reading_after_log():
    bus = bus2024()
    with h.Client(bus.port) as c:
        check(c.id('Flow') > 1, 'an id')
        c.log('hello')
        c.send(h.CMD_ID, 0, 0, b'Level')
        check(c.poll_msg(1.0) is None, 'an answer after LOG')
    check_eq([cmd for _, cmd in bus.dead_readers], [h.CMD_LOG],
             'reader killed by')


def test_modbusserver_without_a_bus():
    p = modbus_memory()
    port = p.port
    mb_write(port, 5, 1234)
    check_eq(mb_read(port, 5), 1234, 'register 5 read back')
    check('no bus' in p.log(), 'log: %r', p.log())
    p.stop()


def test_history():
    bus = bus2024()
    hist = history_tests.History(bus, start=False, flush_interval=1)
    hist.start(wait=False)
    # it authors __history__ once every SUB is answered: on this bus too
    h.wait_until(lambda: (bus.value('__history__') or (0,))[0] > 0,
                 'history to set __history__ on the 2024 bus', 30)
    with h.Client(bus.port) as c:
        fid = c.id('Flow')
        t0 = h.now_us()
        c.set_value(fid, 12.5, h.FLOAT, t0)
        hid = c.id('__history__')
        c.sub(hid)

        def ask(key, rid):
            c.rta(hid, {key: rid, 'tagname': 'Flow', 'start_us': t0,
                        'end_us': t0 + 1})
            m = c.expect(lambda m: m.cmd == h.CMD_SET and m.tag_id == hid
                         and len(m.data) > 7, 'a reply', 10)
            return m.data

        deadline = time.monotonic() + 30
        while True:  # until the value is recorded
            try:
                d = ask('__rqs_id__', 77)
            except h.Timeout:
                d = b''
            if len(d) == 7 + 16 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    check_eq(struct.unpack('>H', d[1:3])[0], 77, 'the reply carries the '
             '__rqs_id__ of a 2024 web client')
    check_eq(struct.unpack('>Qd', d[7:23]), (t0, 12.5), 'the record')
    check('no answer' not in hist.log(), 'log: %s', hist.log())
    no_log_sent(bus)
    check_eq(hist.stop(), 0, 'history exit status')


def test_modbusclient():
    bus = bus2024()
    mem = modbus_memory()
    mport = mem.port
    mb_write(mport, 3, 321)
    mbc = Proc('modbusclient', """bus_ip: 127.0.0.1
bus_port: %d
rtus:
- name: PLC
  ip: 127.0.0.1
  port: %d
  rate: 0.05
  poll:
  - {unit: 1, file: 4x, start: 1, end: 10}
  writes:
  - {unit: 1, file: 4x, start: 1, end: 10}
tags:
  Level: {type: uint16, read: 'PLC:1:4x:3'}
  Setp:  {type: uint16, read: 'PLC:1:4x:4', write: 'PLC:1:4x:4'}
""" % (bus.port, mport))
    bus_value(bus, 'Level', 321, 'Level polled onto the 2024 bus')
    with h.Client(bus.port) as c:
        sid = c.id('Setp')
        c.sub(sid)
        c.set_value(sid, 55)
        h.wait_until(lambda: mb_read(mport, 4) == 55, 'Setp written', 30)
    no_log_sent(bus)
    mbc.stop()
    mem.stop()


def test_modbusserver():
    bus = bus2024()
    mbs = serving("""bus_ip: 127.0.0.1
bus_port: %d
rtus:
- name: RTU
  ip: 127.0.0.1
  port: %%d
  serve:
  - {unit: 1, file: 4x, start: 1, end: 10}
tags:
  In:  {type: uint16, addr: 'RTU:1:4x:1'}
  Out: {type: uint16, addr: 'RTU:1:4x:2'}
""" % bus.port)
    mport = mbs.port
    mb_write(mport, 1, 42)
    bus_value(bus, 'In', 42, "a master's write on the 2024 bus")
    with h.Client(bus.port) as c:
        oid = c.id('Out')
        c.set_value(oid, 7)
        h.wait_until(lambda: mb_read(mport, 2) == 7,
                     'a bus value in the registers', 30)
    no_log_sent(bus)
    mbs.stop()


def test_console():
    bus = bus2024()
    st, out, err = h.run_cmd([h.MSCADA, 'console', '--bus',
                              '127.0.0.1:%d' % bus.port, '-c', 'set X 5',
                              '-c', 'get X'])
    check_eq((st, out), (0, 'X 5\n'), 'set and get (stderr %r)' % err)
    console_tests.rta_then_sub(bus.port)
    no_log_sent(bus)


def test_unanswered_ids_are_reported():
    """A bus that accepts and never answers (as a 2024 bus after a LOG):
    the client says so in its log instead of sitting silent."""
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(4)
    try:
        hist = history_tests.History(type('B', (), {'port':
                                                   ls.getsockname()[1]}),
                                    start=False)
        hist.start(wait=False)
        try:
            h.wait_until(lambda: 'the bus is not reading this connection'
                         in hist.log(), 'the stall reported', 60)
        except AssertionError:
            print('---- history log:\n' + hist.log())
            raise
        check_eq(hist.stop(), 0, 'history exit status')
    finally:
        ls.close()


def _cleanup():
    while _stand_ins:
        _stand_ins.pop().stop()


if __name__ == '__main__':
    import atexit
    atexit.register(_cleanup)
    h.main(globals())
