"""`mscada modbusclient` against hostile Modbus TCP slaves: a fake slave
written here (standard library, raw sockets, a thread per connection, one
slave per scenario on a free loopback port) misbehaves in one way per test,
in front of a real `mscada bus` + `mscada modbusclient` whose config the
test writes; tag values are watched on the bus with mshelp's raw Client.

(a) garbage instead of a reply -> logged with the peer, reconnect, polling
    resumes; (b) wrong byte count / wrong PDU length / wrong transaction id
    -> that request fails (its bogus data is never published), the status
    tag counts it, later good replies are published; (c) half a reply then
    silence -> timeout, reconnect, while a second RTU of the same process
    keeps being polled; (d) replies one byte per send -> decoded right;
    (e) FC22 refused with exception 1 -> bits written by FC3 + FC6, other
    bits kept, also for two bits of one register written at once;
    (f) max_in_flight 4 against a slave that answers in reverse order ->
    never more than 4 outstanding, values right; (g) a dead unit behind a
    gateway -> the other unit on the same socket keeps updating, the status
    tag counts the timeouts; (h) a slave that answers one register short at
    every poll (pymscada 2024's server: 49 for a read of 50) -> logged once,
    counted, and its recovery logged with the count.

No timing thresholds: every wait is for an event, with a generous deadline.
"""

import select
import socket
import struct
import threading
import time

import mshelp as h
from mshelp import Bus, check, check_eq

FC_READ_HOLDING, FC_WRITE_SINGLE, FC_WRITE_MULTIPLE, FC_MASK_WRITE = \
    3, 6, 16, 22


# ---------------------------------------------------------------- fake slave

def recv_exact(sock, n):
    b = b''
    while len(b) < n:
        try:
            chunk = sock.recv(n - len(b))
        except OSError:
            return None
        if not chunk:
            return None
        b += chunk
    return b


def recv_req(sock):
    """(tid, unit, pdu) of the next MBAP request, None at EOF."""
    head = recv_exact(sock, 7)
    if head is None:
        return None
    tid, pid, length, unit = struct.unpack('>HHHB', head)
    check(pid == 0 and 2 <= length <= 254, 'bad request header %r', head)
    pdu = recv_exact(sock, length - 1)
    if pdu is None:
        return None
    return tid, unit, pdu


def mbap(tid, unit, pdu, length=None):
    if length is None:
        length = len(pdu) + 1
    return struct.pack('>HHHB', tid, 0, length, unit) + pdu


class Slave:
    """A Modbus TCP slave with holding registers per unit. serve(slave,
    sock, conn_no) runs for each accepted connection in its own thread;
    the default answers every request correctly."""

    def __init__(self, serve=None, units=(1,), nregs=300):
        self.lock = threading.Lock()
        self.regs = {u: [0] * nregs for u in units}
        self.serve = serve or Slave.serve_well
        self.conns = 0
        self.log = []          # (conn_no, unit, fc, addr) of every request
        self.answers = {}      # unit -> answers sent
        self.socks = []
        self.stopping = False
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.th = threading.Thread(target=self._accept, daemon=True)
        self.th.start()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns += 1
                n = self.conns
                self.socks.append(s)
            threading.Thread(target=self._run, args=(s, n),
                             daemon=True).start()

    def _run(self, s, n):
        try:
            self.serve(self, s, n)
        except (OSError, AssertionError):
            pass
        finally:
            s.close()

    def stop(self):
        self.stopping = True
        self.ls.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def requests(self, s, n):
        """(tid, unit, pdu) of each request on connection n, noted, until
        it closes."""
        while True:
            r = recv_req(s)
            if r is None:
                return
            self.note(n, r[1], r[2])
            yield r

    def note(self, conn_no, unit, pdu):
        addr = struct.unpack('>H', pdu[1:3])[0] if len(pdu) >= 3 else -1
        with self.lock:
            self.log.append((conn_no, unit, pdu[0], addr))

    def fcs(self, unit=None):
        with self.lock:
            return [fc for c, u, fc, a in self.log
                    if unit is None or u == unit]

    def count(self, unit):
        with self.lock:
            return sum(1 for c, u, fc, a in self.log if u == unit)

    def reg(self, unit, word):
        with self.lock:
            return self.regs[unit][word - 1]

    def set_reg(self, unit, word, v):
        with self.lock:
            self.regs[unit][word - 1] = v & 0xffff

    def answer(self, unit, pdu):
        """The correct response PDU (registers as this slave holds them)."""
        fc = pdu[0]
        with self.lock:
            self.answers[unit] = self.answers.get(unit, 0) + 1
            regs = self.regs.get(unit)
            if regs is None:
                return bytes([fc | 0x80, 11])
            if fc == FC_READ_HOLDING:
                a, n = struct.unpack('>HH', pdu[1:5])
                if a + n > len(regs):
                    return bytes([fc | 0x80, 2])
                return bytes([fc, 2 * n]) + b''.join(
                    struct.pack('>H', v) for v in regs[a:a + n])
            if fc == FC_WRITE_SINGLE:
                a, v = struct.unpack('>HH', pdu[1:5])
                regs[a] = v
                return pdu[:5]
            if fc == FC_WRITE_MULTIPLE:
                a, n = struct.unpack('>HH', pdu[1:5])
                for i in range(n):
                    regs[a + i] = struct.unpack('>H', pdu[6 + 2 * i:
                                                         8 + 2 * i])[0]
                return pdu[:5]
            if fc == FC_MASK_WRITE:
                a, am, om = struct.unpack('>HHH', pdu[1:7])
                regs[a] = (regs[a] & am) | (om & ~am & 0xffff)
                return pdu[:7]
            return bytes([fc | 0x80, 1])

    @staticmethod
    def serve_well(sl, s, n):
        for tid, unit, pdu in sl.requests(s, n):
            s.sendall(mbap(tid, unit, sl.answer(unit, pdu)))


# ---------------------------------------------------------------- harness

def rtu_lines(name, port, reads, writes=(), **kw):
    """One RTU of modbusclient.yaml. reads/writes: (unit, start, end) of
    4x blocks."""
    opts = {'rate': 0.05, 'timeout': 0.5, 'retries': 1, 'max_in_flight': 1}
    opts.update(kw)
    lines = ['- name: %s' % name, '  ip: 127.0.0.1', '  port: %d' % port,
             '  tcp_udp: tcp']
    lines += ['  %s: %s' % (k, v) for k, v in opts.items()]
    lines.append('  poll:')
    lines += ['  - {unit: %d, file: 4x, start: %d, end: %d}' % b
              for b in reads]
    if writes:
        lines.append('  writes:')
        lines += ['  - {unit: %d, file: 4x, start: %d, end: %d}' % b
                  for b in writes]
    return lines


class Rig(h.Module):
    """A bus, a modbusclient (an h.Module: its log is printed when the test
    fails) with the given RTUs and tags, an h.Watch on the tags and each
    RTU's status tag."""

    def __init__(self, rtus, tags):
        self.bus = Bus()
        lines = ['bus_ip: 127.0.0.1', 'bus_port: %d' % self.bus.port,
                 'rtus:']
        names = []
        for r in rtus:
            lines += r
            names.append(r[0].split(': ')[1] + '_status')
        lines.append('tags:')
        for n, spec in tags.items():
            lines.append('  %s: %s' % (n, spec))
            names.append(n)
        super().__init__('modbusclient', '\n'.join(lines) + '\n')
        self.w = h.Watch(self.bus, names)

    def status(self, rtu):
        self.w.pump()
        return self.w.vals.get(rtu + '_status') or {}

    def wait_status(self, rtu, pred, what, timeout=30):
        return self.w.wait(rtu + '_status', pred, what, timeout)

    def finish(self):
        """modbusclient still runs (no crash) and stops cleanly."""
        check(self.proc.poll() is None, 'modbusclient died: status %r',
              self.proc.returncode)
        check_eq(self.stop(), 0, 'modbusclient exit status')


def scenario(fn):
    """Runs fn(rig, slave) with Rig and a Slave maker whose slaves are
    stopped at the end."""
    def run():
        slaves = []

        def slave(*a, **kw):
            s = Slave(*a, **kw)
            slaves.append(s)
            return s
        try:
            fn(Rig, slave)
        finally:
            for s in slaves:
                s.stop()
    run.__name__ = fn.__name__
    return run


# ---------------------------------------------------------------- (a)

def _test_garbage(rig, slave):
    def serve(sl, s, n):
        if n == 1:
            r = recv_req(s)
            if r is None:
                return
            sl.note(n, r[1], r[2])
            # Not Modbus at all: protocol id 0xbeef, absurd length.
            s.sendall(b'\xde\xad\xbe\xef\xff\xff\x01\x03\x02\x00\x01')
            while recv_exact(s, 1) is not None:
                pass
            return
        Slave.serve_well(sl, s, n)

    sl = slave(serve)
    sl.set_reg(1, 5, 4242)
    r = rig([rtu_lines('GA', sl.port, [(1, 1, 10)])],
            {'V': "{type: uint16, read: 'GA:1:4x:5'}"})
    r.w.wait('V', lambda v: v == 4242, 'V from the second connection')
    check(sl.conns >= 2, 'a reconnect: %d connections', sl.conns)
    log = r.log()
    check('GA (127.0.0.1:%d): garbled stream' % sl.port in log,
          'garbled stream logged with the peer:\n%s', log)
    check('connected again' in log, 'reconnect logged:\n%s', log)
    # Polling goes on: a new value arrives.
    sl.set_reg(1, 5, 4343)
    r.w.wait('V', lambda v: v == 4343, 'V polled after the reconnect')
    check(4242 in r.w.hist['V'] and
          all(v in (4242, 4343) for v in r.w.hist['V']),
          'V took only good values: %r', r.w.hist['V'])
    r.finish()


test_garbage = scenario(_test_garbage)


# ---------------------------------------------------------------- (b)

BAD = 0x0bad


def _test_bad_replies(rig, slave):
    faults = ['byte_count', 'pdu_long', 'pdu_short', 'tid']
    state = {'i': 0}

    def serve(sl, s, n):
        for tid, unit, pdu in sl.requests(s, n):
            good = sl.answer(unit, pdu)
            cnt = struct.unpack('>H', pdu[3:5])[0]
            with sl.lock:
                i = state['i']
                state['i'] += 1
            # Reply 0 good, then one of each fault, then good ones again.
            fault = faults[i - 1] if 1 <= i <= len(faults) else None
            bad_regs = struct.pack('>H', BAD) * cnt
            if fault == 'byte_count':
                # One register more than asked, byte count to match.
                out = mbap(tid, unit, bytes([3, 2 * cnt + 2]) + bad_regs +
                           struct.pack('>H', BAD))
            elif fault == 'pdu_long':
                # Byte count right, two stray bytes after the data (the
                # MBAP length covers them: framing stays intact).
                out = mbap(tid, unit, bytes([3, 2 * cnt]) + bad_regs +
                           b'\x0b\xad')
            elif fault == 'pdu_short':
                # Byte count right, one register missing.
                out = mbap(tid, unit, bytes([3, 2 * cnt]) + bad_regs[:-2])
            elif fault == 'tid':
                out = mbap(tid ^ 0x5a5a, unit, bytes([3, 2 * cnt]) + bad_regs)
            else:
                out = mbap(tid, unit, good)
            s.sendall(out)

    sl = slave(serve)
    sl.set_reg(1, 2, 100)
    r = rig([rtu_lines('GB', sl.port, [(1, 1, 4)], rate=0.05, timeout=0.5,
                       retries=1)],
            {'V': "{type: uint16, read: 'GB:1:4x:2'}"})
    r.w.wait('V', lambda v: v == 100, 'the first good reply')
    h.wait_until(lambda: state['i'] > len(faults) + 1, 'the bad replies', 30)
    sl.set_reg(1, 2, 200)
    r.w.wait('V', lambda v: v == 200, 'a good reply after the bad ones')
    check(BAD not in r.w.hist['V'], 'bogus data published: %r',
          r.w.hist['V'])
    st = r.wait_status('GB', lambda v: v.get('errors', 0) >= 3 and
                       v.get('timeouts', 0) >= 1,
                       'status: 3 errors and the timeout of the wrong tid')
    check(st['connected'] is True, 'status %r', st)
    check_eq(sl.conns, 1, 'connections (a bad answer keeps the stream)')
    log = r.log()
    check(log.count('does not fit the request') >= 3,
          'each bad answer logged:\n%s', log)
    r.finish()


test_bad_replies = scenario(_test_bad_replies)


# ---------------------------------------------------------------- (c)

def _test_half_reply(rig, slave):
    stalled = threading.Event()
    mark = {}

    def serve_a(sl, s, n):
        if n == 1:
            r = recv_req(s)
            if r is None:
                return
            tid, unit, pdu = r
            sl.note(n, unit, pdu)
            whole = mbap(tid, unit, sl.answer(unit, pdu))
            s.sendall(whole[:len(whole) // 2])
            mark['b_at_stall'] = sb.count(1)
            stalled.set()
            # Reads and never answers again.
            while recv_req(s) is not None:
                pass
            return
        mark.setdefault('b_at_reconnect', sb.count(1))
        Slave.serve_well(sl, s, n)

    sb = slave()
    sa = slave(serve_a)
    sa.set_reg(1, 3, 333)
    sb.set_reg(1, 1, 1)
    r = rig([rtu_lines('HA', sa.port, [(1, 1, 10)], timeout=2.0, retries=1,
                       rate=0.2),
             rtu_lines('HB', sb.port, [(1, 1, 2)], rate=0.05)],
            {'A': "{type: uint16, read: 'HA:1:4x:3'}",
             'B': "{type: uint16, read: 'HB:1:4x:1'}"})
    r.w.wait('B', lambda v: v == 1, 'B polled')
    check(stalled.wait(30), 'A stalled mid-frame')
    # While A sits mid-frame, B's value changes and is published.
    sb.set_reg(1, 1, 2)
    r.w.wait('B', lambda v: v == 2, 'B while A is stalled')
    r.w.wait('A', lambda v: v == 333, 'A after the reconnect', 60)
    check(sa.conns >= 2, 'A reconnected: %d connections', sa.conns)
    polled = mark['b_at_reconnect'] - mark['b_at_stall']
    # A stalled for at least one whole 2 s timeout; B polls every 50 ms.
    check(polled >= 5, 'B polled %d times while A was stalled', polled)
    st = r.wait_status('HA', lambda v: v.get('timeouts', 0) >= 1,
                       'HA status counts the timeout')
    log = r.log()
    check('HA: connection lost' in log, 'A dropped the stalled stream:\n%s',
          log)
    check('HB: connection lost' not in log, 'B lost nothing:\n%s', log)
    r.finish()


test_half_reply = scenario(_test_half_reply)


# ---------------------------------------------------------------- (d)

def _test_byte_at_a_time(rig, slave):
    def serve(sl, s, n):
        for tid, unit, pdu in sl.requests(s, n):
            for b in mbap(tid, unit, sl.answer(unit, pdu)):
                s.sendall(bytes([b]))
                time.sleep(0.002)

    sl = slave(serve)
    f32 = struct.unpack('>HH', struct.pack('>f', -12.5))
    i32 = struct.unpack('>HH', struct.pack('>i', -7654321))
    f64 = struct.unpack('>HHHH', struct.pack('>d', 6.02e23))
    for i, v in enumerate(f32 + i32 + f64):
        sl.set_reg(1, 1 + i, v)
    sl.set_reg(1, 30, 0x0010)
    r = rig([rtu_lines('BD', sl.port, [(1, 1, 10), (1, 30, 31)],
                       max_in_flight=2, timeout=2.0)],
            {'F32': "{type: float32, read: 'BD:1:4x:1'}",
             'I32': "{type: int32, read: 'BD:1:4x:3'}",
             'F64': "{type: float64, read: 'BD:1:4x:5'}",
             'BIT': "{type: bool, read: 'BD:1:4x:30.4'}"})
    r.w.wait('F32', lambda v: v == -12.5, 'F32')
    r.w.wait('I32', lambda v: v == -7654321, 'I32')
    r.w.wait('F64', lambda v: v == 6.02e23, 'F64')
    r.w.wait('BIT', lambda v: v == 1, 'BIT')
    sl.set_reg(1, 30, 0)
    r.w.wait('BIT', lambda v: v == 0, 'BIT cleared, polled again')
    for name in ('F32', 'I32', 'F64'):
        check_eq(len(set(r.w.hist[name])), 1, '%s values' % name)
    check_eq(sl.conns, 1, 'connections')
    check('garbled' not in r.log(), 'no garbled stream:\n%s', r.log())
    r.finish()


test_byte_at_a_time = scenario(_test_byte_at_a_time)


# ---------------------------------------------------------------- (e)

def _test_no_fc22(rig, slave):
    def serve(sl, s, n):
        for tid, unit, pdu in sl.requests(s, n):
            if pdu[0] == FC_MASK_WRITE:
                out = bytes([FC_MASK_WRITE | 0x80, 1])
            else:
                if pdu[0] == FC_READ_HOLDING and \
                        struct.unpack('>H', pdu[1:3])[0] == 19:
                    # The read of a read-then-write: slow, so that two
                    # writes of one register overlap.
                    time.sleep(0.05)
                out = sl.answer(unit, pdu)
            s.sendall(mbap(tid, unit, out))

    sl = slave(serve)
    sl.set_reg(1, 10, 0x8001)
    sl.set_reg(1, 20, 0x4000)
    r = rig([rtu_lines('FE', sl.port, [(1, 1, 10)], [(1, 1, 30)],
                       rate=0.2)],
            {'B5': "{type: bool, read: 'FE:1:4x:10.5', "
                   "write: 'FE:1:4x:10.5'}",
             'R10': "{type: uint16, read: 'FE:1:4x:10'}",
             'X1': "{type: bool, write: 'FE:1:4x:20.1'}",
             'X2': "{type: bool, write: 'FE:1:4x:20.2'}",
             'X3': "{type: bool, write: 'FE:1:4x:20.3'}"})
    r.w.wait('B5', lambda v: v == 0, 'B5 read')
    r.w.set('B5', 1)
    h.wait_until(lambda: sl.reg(1, 10) == 0x8021, 'bit 5 set, others kept',
                 30)
    fcs = sl.fcs()
    i22 = fcs.index(FC_MASK_WRITE)
    check(FC_WRITE_SINGLE in fcs[i22:] and
          FC_READ_HOLDING in fcs[i22:fcs.index(FC_WRITE_SINGLE, i22)],
          'FC22, then FC3, then FC6: %r', fcs)
    # The bus doesn't echo our own set: watch the register as the device
    # has it, polled into another tag.
    r.w.wait('R10', lambda v: v == 0x8021, 'R10 polled back')
    n22 = fcs.count(FC_MASK_WRITE)
    r.w.set('B5', 0)
    h.wait_until(lambda: sl.reg(1, 10) == 0x8001, 'bit 5 cleared', 30)
    check_eq(sl.fcs().count(FC_MASK_WRITE), n22, 'FC22 not tried again')
    # Three bits of one register at once: none may be lost.
    r.w.set('X1', 1)
    r.w.set('X2', 1)
    r.w.set('X3', 1)
    h.wait_until(lambda: sl.reg(1, 20) & 0x000e == 0x000e,
                 'bits 1, 2, 3 of 4x:20 all set', 30)
    check_eq(sl.reg(1, 20), 0x400e, '4x:20')
    r.w.set('X2', 0)
    h.wait_until(lambda: sl.reg(1, 20) == 0x400a, 'bit 2 cleared only', 30)
    st = r.status('FE')
    check_eq(st.get('write_errors'), 0, 'write errors in %r' % st)
    r.finish()


test_no_fc22 = scenario(_test_no_fc22)


# ---------------------------------------------------------------- (f)

def _test_max_in_flight(rig, slave):
    seen = {'max': 0, 'answered': 0}

    def serve(sl, s, n):
        pending = []
        while True:
            if select.select([s], [], [], 0.05)[0]:
                r = recv_req(s)
            else:
                r = 'quiet'
            if r is None:
                return
            if r != 'quiet':
                pending.append(r)
                sl.note(n, r[1], r[2])
                with sl.lock:
                    seen['max'] = max(seen['max'], len(pending))
                continue
            # Nothing more comes: answer what waits, last first.
            while pending:
                tid, unit, pdu = pending.pop()
                time.sleep(0.005)
                s.sendall(mbap(tid, unit, sl.answer(unit, pdu)))
                with sl.lock:
                    seen['answered'] += 1

    sl = slave(serve)
    blocks = [(1, 1 + 10 * k, 4 + 10 * k) for k in range(10)]
    tags = {}
    for k in range(10):
        tags['T%d' % k] = "{type: int16, read: 'MF:1:4x:%d'}" % (2 + 10 * k)
        sl.set_reg(1, 2 + 10 * k, 1000 + k)
    r = rig([rtu_lines('MF', sl.port, blocks, max_in_flight=4, rate=0.05,
                       timeout=5.0)], tags)
    for k in range(10):
        r.w.wait('T%d' % k, lambda v, k=k: v == 1000 + k, 'T%d' % k)
    for k in range(10):
        sl.set_reg(1, 2 + 10 * k, -(2000 + k))
    for k in range(10):
        r.w.wait('T%d' % k, lambda v, k=k: v == -(2000 + k), 'T%d again' % k)
    for k in range(10):
        check_eq(r.w.hist['T%d' % k], [1000 + k, -(2000 + k)],
                 'values of T%d' % k)
    with sl.lock:
        mx = seen['max']
    check(mx <= 4, 'at most 4 outstanding, the slave saw %d', mx)
    check(mx >= 2, 'requests pipelined: at most %d outstanding seen', mx)
    check_eq(sl.conns, 1, 'connections')
    st = r.status('MF')
    check_eq(st.get('errors'), 0, 'errors in %r' % st)
    r.finish()


test_max_in_flight = scenario(_test_max_in_flight)


# ---------------------------------------------------------------- (g)

def _test_dead_unit(rig, slave):
    def serve(sl, s, n):
        for tid, unit, pdu in sl.requests(s, n):
            if unit == 2:
                continue  # the gateway's target never answers
            with sl.lock:
                sl.regs[1][0] = (sl.regs[1][0] + 1) & 0x7fff  # a counter
            s.sendall(mbap(tid, unit, sl.answer(unit, pdu)))

    sl = slave(serve, units=(1, 2))
    r = rig([rtu_lines('GW', sl.port, [(1, 1, 2), (2, 1, 2)], rate=0.05,
                       timeout=0.3, retries=1, max_in_flight=1)],
            {'GOOD': "{type: int16, read: 'GW:1:4x:1'}",
             'DEAD': "{type: int16, read: 'GW:2:4x:1'}"})
    # Unit 2 timed out at least twice (a try and its retry) ...
    r.wait_status('GW', lambda v: v.get('timeouts', 0) >= 2,
                  'two timeouts of unit 2')
    r.w.pump()
    n0 = len(r.w.hist['GOOD'])
    u2 = sl.count(2)
    # ... and while its probes keep failing, unit 1 keeps updating.
    r.w.wait_for(lambda: len(r.w.hist['GOOD']) >= n0 + 20,
                 '20 more updates of unit 1')
    r.w.wait_for(lambda: sl.count(2) > u2 and
                 r.status('GW').get('timeouts', 0) >= 3,
                 'a probe of unit 2 timed out')
    n1 = len(r.w.hist['GOOD'])
    r.w.wait_for(lambda: len(r.w.hist['GOOD']) >= n1 + 5,
                 'unit 1 updates after the probe')
    st = r.status('GW')
    check(st.get('errors', 0) >= 1 and st.get('connected') is True,
          'status %r', st)
    # Connected, but not everything answers: the status says which unit.
    check(st.get('answering') is False and st.get('units_down') == [2],
          'status names unit 2 as not answering: %r', st)
    check((st.get('last_error') or {}).get('text') ==
          'unit 2 does not answer', 'last_error as the log says: %r', st)
    check('DEAD' not in r.w.vals, 'unit 2 published %r', r.w.vals)
    hist = r.w.hist['GOOD']
    check(hist == sorted(hist) and len(set(hist)) == len(hist),
          'unit 1 counter only went up: %r', hist)
    check('GW: unit 2 does not answer' in r.log(), 'unit 2 logged down')
    check_eq(sl.conns, 1, 'connections')
    r.finish()


test_dead_unit = scenario(_test_dead_unit)


# ---------------------------------------------------------------- (h)

def _test_short_every_poll(rig, slave):
    state = {'short': True, 'polls': 0}

    def serve(sl, s, n):
        for tid, unit, pdu in sl.requests(s, n):
            good = sl.answer(unit, pdu)
            with sl.lock:
                short = state['short']
                state['polls'] += short
            if short:  # one register short, byte count to match
                good = bytes([3, good[1] - 2]) + good[2:-2]
            s.sendall(mbap(tid, unit, good))

    sl = slave(serve)
    sl.set_reg(1, 2, 321)
    r = rig([rtu_lines('SH', sl.port, [(1, 1, 50)], rate=0.05)],
            {'V': "{type: uint16, read: 'SH:1:4x:2'}"})
    r.wait_status('SH', lambda v: v.get('errors', 0) >= 20,
                  'status: 20 short answers counted')
    log = r.log()
    check_eq(log.count('does not fit the request'), 1,
             'short answers logged (log:\n%s)' % log)
    check_eq(log.count('SH: unit 1 4x 1-50: reading failed'), 1,
             'failed reads logged (log:\n%s)' % log)
    check('V' not in r.w.vals, 'a value published from a short answer')
    with sl.lock:
        state['short'] = False
    r.w.wait('V', lambda v: v == 321, 'the value once answers fit')
    h.wait_until(lambda: 'SH: unit 1 4x 1-50: reading works again' in
                 r.log(), 'the recovery logged', 30)
    line = [ln for ln in r.log().splitlines() if 'works again' in ln][0]
    n = int(line.split('(')[1].split()[0])
    check(n >= 20, 'failures counted in the recovery line: %r', line)
    r.finish()


test_short_every_poll = scenario(_test_short_every_poll)


if __name__ == '__main__':
    h.main(globals())
