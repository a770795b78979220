"""`mscada modbusclient`'s <rtu>_status says what its log says, against a
real peer (pymodbus 3.0 in its own process group, stopped by pid):

- frozen with SIGSTOP: connected but not answering, unit 1 listed, the
  log's 'unit 1 does not answer' as last_error with its time; a write then
  fails as 'unit not answering: refused until its next probe' (log and
  status: write_errors, last_write_error with tag, reason and time);
  SIGCONT: answering again, last_error cleared into last_recovered;
- killed (its port closed): not connected, 'cannot connect: connection
  refused' as the log says; started again: recovered;
- an RTU whose port was never open says so from the start.

And clamping: a device value outside tags.yaml's min/max is published as
the device has it (pymscada's modbusclient), clamped only where `clamp:
true` asks (per module or per tag, a tag's own key first)."""

import os
import signal
import sys

import mshelp as h
from mshelp import Bus, check, check_eq
from test_mbclient_pymodbus import Slave

EDOWN = 'unit not answering: refused until its next probe'
REFUSED = 'cannot connect: connection refused'


def read_log(path):
    with open(path) as f:
        return f.read()


def run_mbc(d, lines, tags_yaml=None):
    conf = os.path.join(d, 'modbusclient.yaml')
    with open(conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    argv = [h.MSCADA, 'modbusclient', '--config', conf]
    if tags_yaml is not None:
        tpath = os.path.join(d, 'tags.yaml')
        with open(tpath, 'w') as f:
            f.write(tags_yaml)
        argv += ['--tags', tpath]
    log = os.path.join(d, 'modbusclient.log')
    return h.spawn(argv, log), log


def is_time(t):
    return isinstance(t, str) and t.endswith('Z') and 'T' in t


def test_status_frozen_refused_and_writes():
    bus = Bus()
    d = h.tmpdir('mscada-mbstat-')
    hold, closed = h.refused_port()
    slave = Slave(d)
    slave.start(i16=5)
    port = slave.port
    mbc, log = run_mbc(d, [
        'bus_ip: 127.0.0.1', 'bus_port: %d' % bus.port, 'rtus:',
        '- {name: P, ip: 127.0.0.1, port: %d, rate: 0.1, timeout: 0.3,'
        ' retries: 0,' % port,
        '   reads: [{unit: 1, file: 4x, start: 1, end: 40}],',
        '   writes: [{unit: 1, file: 4x, start: 31, end: 40}]}',
        '- {name: Q, ip: 127.0.0.1, port: %d, rate: 0.1,' % closed,
        '   reads: [{unit: 1, file: 4x, start: 1, end: 2}]}',
        'tags:',
        "  I16: {type: int16, read: 'P:1:4x:1'}",
        "  W: {type: int16, write: 'P:1:4x:31'}",
        "  QI: {type: int16, read: 'Q:1:4x:1'}"])
    try:
        w = h.Watch(bus, ['I16', 'W', 'P_status', 'Q_status'])
        w.wait('I16', lambda v: v == 5, 'I16 polled')
        st = w.wait('P_status', lambda v: v.get('answering') is True,
                    'P answering')
        check(st['connected'] is True and st['units_down'] == [] and
              st['last_error'] is None and st['last_recovered'] is None and
              st['write_errors'] == 0 and st['last_write_error'] is None,
              'a well RTU: %r', st)

        # A port never open: not connected, refused, as the log says.
        st = w.wait('Q_status', lambda v: v.get('last_error'),
                    'Q refused')
        check(st['connected'] is False and st['answering'] is False,
              'Q: %r', st)
        check_eq(st['last_error']['text'], REFUSED, 'Q last_error')
        check(is_time(st['last_error']['time']), 'Q error time: %r', st)
        check('Q: ' + REFUSED in read_log(log), 'Q refusal logged')

        # Frozen: the socket stays up, nothing answers.
        os.kill(slave.proc.pid, signal.SIGSTOP)
        st = w.wait('P_status', lambda v: v.get('answering') is False,
                    'P not answering once frozen')
        check(st['connected'] is True and st['units_down'] == [1],
              'frozen: connected, unit 1 down: %r', st)
        check_eq(st['last_error']['text'], 'unit 1 does not answer',
                 'frozen: last_error')
        check(is_time(st['last_error']['time']), 'error time: %r', st)
        check('P: unit 1 does not answer' in read_log(log),
              'the log says the same')

        # A write to the frozen unit fails for what it is (a write that
        # happens to be the due probe times out instead: write again).
        vals = iter(range(100, 10000))

        def refused_write():
            w.pump()
            s = w.vals['P_status']
            e = s.get('last_write_error') or {}
            if e.get('reason') == EDOWN:
                return True
            w.c.set_value(w.ids['W'], next(vals))
            return False
        h.wait_until(refused_write, 'a write refused as not answering', 30,
                     interval=0.2)
        st = w.vals['P_status']
        check(st['write_errors'] >= 1 and
              st['last_write_error']['tag'] == 'W' and
              is_time(st['last_write_error']['time']),
              'write failure in the status: %r', st)
        check('P: write of W failed: ' + EDOWN in read_log(log),
              'the write failure logged with its cause')
        check('would recurse' not in read_log(log), 'no busy text')

        # Thawed: answering again (at the next probe), the fault moves to
        # last_recovered; the write failure stays on record.
        os.kill(slave.proc.pid, signal.SIGCONT)
        st = w.wait('P_status', lambda v: v.get('answering') is True,
                    'P answering again', timeout=30)
        check(st['last_error'] is None and st['units_down'] == [],
              'recovered: %r', st)
        rec = st['last_recovered']
        check_eq(rec['text'], 'unit 1 does not answer', 'recovered from')
        check(is_time(rec['time']) and is_time(rec['error_time']) and
              rec['error_time'] <= rec['time'], 'recovery times: %r', rec)
        check_eq(st['last_write_error']['reason'], EDOWN, 'kept on record')
        check('P: unit 1 answers again' in read_log(log), 'recovery logged')

        # The port closed: not connected, refused, as the log says.
        slave.stop()
        st = w.wait('P_status', lambda v: (v.get('last_error') or {})
                    .get('text') == REFUSED, 'P refused once killed')
        check(st['connected'] is False and st['answering'] is False,
              'killed: %r', st)
        check('P: connection lost' in read_log(log), 'loss logged')
        check(REFUSED in read_log(log), 'refusal logged')

        slave.start(i16=6)
        w.wait('I16', lambda v: v == 6, 'I16 after the restart')
        st = w.wait('P_status', lambda v: v.get('last_error') is None,
                    'P recovered')
        check(st['connected'] is True and st['answering'] is True,
              'restarted: %r', st)
        check_eq(st['last_recovered']['text'], REFUSED, 'recovered from')
        check_eq(h.stop_pid(mbc), 0, 'modbusclient exit status')
    except Exception:
        sys.stdout.write('---- modbusclient log:\n' + read_log(log)[-4000:])
        raise
    finally:
        if slave.proc and slave.proc.poll() is None:
            os.kill(slave.proc.pid, signal.SIGCONT)
        h.stop_pid(mbc)
        slave.stop()
        hold.close()


def test_clamp_is_opt_in():
    bus = Bus()
    d1, d2 = h.tmpdir('mscada-mbclamp-'), h.tmpdir('mscada-mbclamp-')
    slave = Slave(d1)
    slave.start(i16=321)  # outside tags.yaml's 0..100
    tags_yaml = ''.join('%s: {type: int, min: 0, max: 100}\n' % n
                        for n in ('A', 'B', 'C', 'D'))
    head = ['bus_ip: 127.0.0.1', 'bus_port: %d' % bus.port]

    def rtu(name):
        return ['rtus:',
                '- {name: %s, ip: 127.0.0.1, port: %d, rate: 0.1,' % (
                    name, slave.port),
                '   reads: [{unit: 1, file: 4x, start: 1, end: 2}]}']
    # The default: as the device has it; B asks for the clamp.
    m1, log1 = run_mbc(d1, head + rtu('R1') + [
        'tags:', "  A: {type: int16, read: 'R1:1:4x:1'}",
        "  B: {type: int16, read: 'R1:1:4x:1', clamp: true}"], tags_yaml)
    # clamp for the whole module; C opts out.
    m2, log2 = run_mbc(d2, head + ['clamp: true'] + rtu('R2') + [
        'tags:', "  C: {type: int16, read: 'R2:1:4x:1', clamp: false}",
        "  D: {type: int16, read: 'R2:1:4x:1'}"], tags_yaml)
    try:
        w = h.Watch(bus, ['A', 'B', 'C', 'D'])
        for name, want in (('A', 321), ('B', 100), ('C', 321), ('D', 100)):
            w.wait(name, lambda v, want=want: v == want,
                   '%s == %d' % (name, want))
        check_eq(h.stop_pid(m1), 0, 'modbusclient 1 exit status')
        check_eq(h.stop_pid(m2), 0, 'modbusclient 2 exit status')
    except Exception:
        for log in (log1, log2):
            sys.stdout.write('---- %s:\n%s' % (log, read_log(log)[-3000:]))
        raise
    finally:
        h.stop_pid(m1)
        h.stop_pid(m2)
        slave.stop()


def test_clamp_config():
    d = h.tmpdir('mscada-mbclamp-')
    conf = os.path.join(d, 'modbusclient.yaml')
    # Asked for on a tag tags.yaml gives no limits: said at start.
    mbc, log = run_mbc(d, [
        'bus_port: %d' % h.free_port(), 'rtus:',
        '- {name: R, port: %d, reads: [{unit: 1, file: 4x, start: 1,'
        ' end: 1}]}' % h.free_port(), 'tags:',
        "  E: {type: int16, read: 'R:1:4x:1', clamp: true}"],
        'E: {type: int}\n')
    try:
        h.wait_until(lambda: 'E: clamp is on but tags.yaml gives it no min '
                     'or max' in read_log(log), 'the warning', 30)
    finally:
        check_eq(h.stop_pid(mbc), 0, 'modbusclient exit status')
    rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--config', conf])
    check_eq(rc, 0, 'validate (%s%s)' % (out, err))
    # Only a bool, module or tag.
    for text, where in (
            ('clamp: 2\nrtus:\n- {name: R}\n', ':1:8:'),
            ("rtus:\n- {name: R}\ntags:\n  T: {read: 'R:1:4x:1', "
             "clamp: 3}\n", ':4:')):
        with open(conf, 'w') as f:
            f.write(text)
        rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--config', conf])
        check(rc == 2 and where in err and 'clamp' in err,
              'a clamp that is no bool refused at %s: %s%s', where, out,
              err)


if __name__ == '__main__':
    h.main(globals())
