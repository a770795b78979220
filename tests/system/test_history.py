"""`mscada history` against a live bus: values set on the bus are recorded
(clamped, past the deadband); RTA requests on __history__ come back with
the right header, rta_id and records, then six zero bytes; SIGTERM loses
nothing; after kill -9 at most the flush interval is missing and a restart
duplicates nothing; torn tails are cut; bad configs exit 2; history-export
writes exact CSV."""

import math
import os
import signal
import struct
import time

import mshelp as h
from mshelp import Bus, check, check_eq

TAGS_YAML = """\
Flow:
  type: float
  units: m3/h
Count:
  type: int
Level:
  type: float
  min: 0
  max: 10
  deadband: 1
Mode:
  type: int
  min: 0
  max: 3
Note:
  type: str
"""

ZERO = bytes([h.BYTES]) + b'\0' * 6


class History(h.Module):
    """One `mscada history` process (an h.Module): history.yaml from cfg,
    tags.yaml, records under its dir's data/."""

    def __init__(self, bus, tags=TAGS_YAML, start=True, **cfg):
        super().__init__('history', '', tags=tags, start=False)
        self.path = os.path.join(self.dir, 'data')
        self.cfg = {'bus_ip': '127.0.0.1', 'bus_port': bus.port,
                    'path': self.path}
        self.cfg.update(cfg)
        if start:
            self.start()

    def write_config(self):
        self.config = h.yaml_text(self.cfg)
        super().write_config()

    def start(self, wait=True):
        super().start()
        if wait:
            self.wait_logged('history: recording')
            # Answering an RTA means it has set __history__, which its
            # client does only after every recorded tag's SUB was answered:
            # from here on no value set on the bus is missed.
            q = Querier(self.cfg['bus_port'])
            q.query({'tagname': 'Flow', 'start_us': 0, 'end_us': 1})
            q.c.close()
        return self

    def run_once(self):
        """Runs it in the foreground (a config it refuses): (status,
        stdout, stderr)."""
        self.write_config()
        return h.run_cmd([h.MSCADA, 'history', '--config', self.config_path,
                          '--tags', self.tags_path])

    def files(self, tag):
        out = []
        for name in os.listdir(self.path):
            stem, _, t = name[:-4].rpartition('_')
            if name.endswith('.dat') and stem == tag and t.isdigit():
                out.append((int(t), name))
        return [os.path.join(self.path, n) for _, n in sorted(out)]

    def disk(self, tag, fmt='>Qd'):
        """Every record of tag on disk, in file then write order."""
        recs = []
        for p in self.files(tag):
            with open(p, 'rb') as f:
                data = f.read()
            check(len(data) % 16 == 0, '%s: %d bytes', p, len(data))
            recs += [struct.unpack_from(fmt, data, i)
                     for i in range(0, len(data), 16)]
        return recs

    def export(self, *args):
        return h.run_cmd([h.MSCADA, 'history-export', '--config',
                          self.config_path, '--tags', self.tags_path] +
                         list(args))


class Querier:
    """A raw client that asks __history__ for ranges."""

    def __init__(self, port):
        self.c = h.Client(port)
        self.hid = self.c.id('__history__')
        self.c.sub(self.hid)
        self.next_id = 1

    def query(self, req, rta_id=None, timeout=h.TIMEOUT):
        """Sends req (a dict; __rta_id__ added); returns (rta_id, tag_id,
        packtype, records bytes). Retries while the bus has no author."""
        if rta_id is None:
            rta_id = self.next_id
            self.next_id += 1
        req = dict(req)
        req['__rta_id__'] = rta_id
        deadline = time.monotonic() + 60
        while True:
            self.c.sync()
            self.c.rta(self.hid, req, time_us=h.now_us())
            m = self.c.expect(
                lambda m: m.tag_id == self.hid and (
                    m.cmd == h.CMD_ERR or m.cmd == h.CMD_SET and
                    len(m.data) >= 7 and m.data[0] == h.BYTES and
                    struct.unpack('>H', m.data[1:3])[0] == rta_id),
                'reply to %r' % req, timeout)
            if m.cmd == h.CMD_SET:
                break
            check(time.monotonic() < deadline, 'RTA refused: %r', m)
            time.sleep(0.1)
        z = self.c.expect(lambda m: m.cmd == h.CMD_SET and
                          m.tag_id == self.hid, 'the reset', timeout)
        check_eq(z.data, ZERO, 'value of __history__ after the reply')
        rid, tid, pt = struct.unpack('>HHH', m.data[1:7])
        return rid, tid, pt, m.data[7:]


def recs_bytes(recs, fmt='>Qd'):
    return b''.join(struct.pack(fmt, t, v) for t, v in recs)


def parse(data, fmt='>Qd'):
    return [struct.unpack_from(fmt, data, i) for i in range(0, len(data), 16)]


def wait_records(q, tag, a, b, n, fmt='>Qd'):
    """Queries until n records are there (the SETs reach history through
    the bus; the query includes buffered records)."""
    got = []

    def enough():
        nonlocal got
        got = parse(q.query({'tagname': tag, 'start_us': a,
                             'end_us': b})[3], fmt)
        return len(got) >= n
    h.wait_until(enough, '%d records of %s' % (n, tag), interval=0.2)
    return got


def test_record_and_query():
    bus = Bus()
    hist = History(bus, flush_interval=1)
    c = bus.client()
    flow, count, level = c.id('Flow'), c.id('Count'), c.id('Level')
    t0 = (h.now_us() // 1000000 - 3600) * 1000000
    sent = [(t0 + i * 1000, 1.5 * i) for i in range(100)]
    for t, v in sent:
        c.set_value(flow, v, h.FLOAT, t)
    for i in range(10):
        c.set_value(count, i * 7 - 20, h.INT, t0 + i)
    q = Querier(bus.port)
    wait_records(q, 'Flow', t0, t0 + 10**9, 100)
    rid, tid, pt, data = q.query({'tagname': 'Flow', 'start_us': t0,
                                  'end_us': t0 + 100 * 1000}, rta_id=4321)
    check_eq((rid, tid, pt), (4321, flow, 2), 'header')
    check_eq(data, recs_bytes(sent), 'records of Flow')
    # A <= time < B
    _, _, _, data = q.query({'tagname': 'Flow', 'start_us': t0 + 10 * 1000,
                             'end_us': t0 + 20 * 1000})
    check_eq(data, recs_bytes(sent[10:20]), 'Flow [10, 20)')
    # ms form, end -1 = now; int tag, packtype 1
    wait_records(q, 'Count', t0, t0 + 100, 10, '>Qq')
    rid, tid, pt, data = q.query({'tagname': 'Count',
                                  'start_ms': t0 // 1000, 'end_ms': -1})
    check_eq((tid, pt), (count, 1), 'Count header')
    check_eq(data, recs_bytes([(t0 + i, i * 7 - 20) for i in range(10)],
                              '>Qq'), 'records of Count')
    # end absent = now
    _, _, _, data = q.query({'tagname': 'Flow', 'start_us': t0 + 99000})
    check_eq(data, recs_bytes(sent[99:]), 'Flow, end absent')
    # deadband and limits: a value at a limit is always recorded
    lv = [(0, 5.0), (1, 5.5), (2, 6.2), (3, 12.0), (4, 12.0), (5, 9.5),
          (6, -3.0), (7, 0.4)]
    for dt, v in lv:
        c.set_value(level, v, h.FLOAT, t0 + dt)
    want = [(t0, 5.0), (t0 + 2, 6.2), (t0 + 3, 10.0), (t0 + 4, 10.0),
            (t0 + 6, 0.0)]
    got = wait_records(q, 'Level', t0, t0 + 100, len(want))
    h.wait_until(lambda: len(parse(q.query(
        {'tagname': 'Level', 'start_us': t0, 'end_us': t0 + 100})[3])) >=
        len(want), 'Level records')
    got = parse(q.query({'tagname': 'Level', 'start_us': t0,
                         'end_us': t0 + 100})[3])
    check_eq(got, want, 'Level after deadband and clamping')
    # a request for an unknown tag or bad JSON gets no reply; history lives
    q.c.rta(q.hid, {'tagname': 'Nope', '__rta_id__': 9})
    q.c.rta(q.hid, b'\x05{"tagname": 3')
    _, _, _, data = q.query({'tagname': 'Flow', 'start_us': t0,
                             'end_us': t0 + 2000})
    check_eq(data, recs_bytes(sent[:2]), 'Flow after bad requests')
    check_eq(hist.stop(), 0, 'exit status on SIGTERM')
    check_eq(hist.disk('Flow'), sent, 'Flow on disk')
    check_eq(hist.disk('Level'), want, 'Level on disk')
    check('Note' not in ' '.join(os.listdir(hist.path)),
          'a str tag was recorded')


def test_max_points_and_reply_cap():
    bus = Bus()
    hist = History(bus, max_reply=2048)
    c = bus.client()
    flow = c.id('Flow')
    t0 = (h.now_us() // 1000000 - 3600) * 1000000
    sent = [(t0 + i * 1000, math.sin(i / 30.0) * 100 + (500 if i == 777
                                                        else 0))
            for i in range(1000)]
    for t, v in sent:
        c.set_value(flow, v, h.FLOAT, t)
    q = Querier(bus.port)
    # every value sent arrived: the last one is in a bounded query
    wait_records(q, 'Flow', t0 + 999000, t0 + 10**9, 1)
    _, _, _, data = q.query({'tagname': 'Flow', 'start_us': t0,
                             'end_us': t0 + 10**9})
    got = parse(data)
    check(len(got) <= (2048 - 7) // 16, 'reply of %d records over the cap',
          len(got))
    check(max(v for _, v in got) == max(v for _, v in sent),
          'the peak was lost')
    check(min(v for _, v in got) == min(v for _, v in sent),
          'the trough was lost')
    check('downsampled' in hist.log(), 'no log line for the downsampling')
    _, _, _, data = q.query({'tagname': 'Flow', 'start_us': t0,
                             'end_us': t0 + 10**9, 'max_points': 40})
    got = parse(data)
    check(4 <= len(got) <= 40, '%d records for max_points 40', len(got))
    check(max(v for _, v in got) == max(v for _, v in sent), 'peak lost')
    check(got == sorted(got), 'not in time order')
    check(set(got) <= set(sent), 'records not sent')
    hist.stop()


def test_sigterm_loses_nothing():
    bus = Bus()
    hist = History(bus, flush_interval=3600)
    c = bus.client()
    flow, count = c.id('Flow'), c.id('Count')
    t0 = (h.now_us() // 1000000 - 60) * 1000000
    sent = [(t0 + i, float(i)) for i in range(3000)]
    for t, v in sent:
        c.set_value(flow, v, h.FLOAT, t)
    c.set_value(count, 5, h.INT, t0)
    q = Querier(bus.port)
    wait_records(q, 'Flow', t0, t0 + 10**9, 3000)
    check_eq(hist.stop(), 0, 'exit status on SIGTERM')
    check_eq(hist.disk('Flow'), sent, 'Flow on disk after SIGTERM')
    check_eq(hist.disk('Count', '>Qq'), [(t0, 5)], 'Count on disk')


def test_restart_no_duplicates_torn_tail():
    bus = Bus()
    hist = History(bus, flush_interval=1)
    c = bus.client()
    flow = c.id('Flow')
    t0 = (h.now_us() // 1000000 - 60) * 1000000
    first = [(t0 + i, float(i)) for i in range(50)]
    for t, v in first:
        c.set_value(flow, v, h.FLOAT, t)
    q = Querier(bus.port)
    wait_records(q, 'Flow', t0, t0 + 10**9, 50)
    hist.stop()
    check_eq(hist.disk('Flow'), first, 'first run on disk')
    # a torn record and a zero-filled tail, as a crash might leave them
    path = hist.files('Flow')[-1]
    with open(path, 'ab') as f:
        f.write(b'\0' * 32 + b'\x01\x02\x03')
    hist.start()
    # the bus hands back (t0+49, 49.0) on subscribe: not a new record
    second = [(t0 + 100 + i, -float(i)) for i in range(20)]
    for t, v in second:
        c.set_value(flow, v, h.FLOAT, t)
    wait_records(q, 'Flow', t0 + 100, t0 + 10**9, 20)
    check_eq(hist.stop(), 0, 'exit status')
    check_eq(hist.disk('Flow'), first + second,
             'records after a restart over a torn tail')
    check('cut' in hist.log(), 'no log line about the cut tail')


def test_kill9_loses_at_most_flush_interval():
    bus = Bus()
    hist = History(bus, flush_interval=1)
    c = bus.client()
    flow = c.id('Flow')
    q = Querier(bus.port)
    sent, when = [], []
    t_end = time.monotonic() + 4
    i = 0
    while time.monotonic() < t_end:
        t = c.set_value(flow, float(i), h.FLOAT)
        sent.append((t, float(i)))
        when.append(time.monotonic())
        i += 1
        time.sleep(0.01)
    # every value reached history before the kill
    wait_records(q, 'Flow', sent[-1][0], sent[-1][0] + 1, 1)
    killed_at = time.monotonic()
    hist.stop(signal.SIGKILL)
    disk = hist.disk('Flow')
    check_eq(disk, sent[:len(disk)], 'records on disk (a prefix of those '
             'sent, in order)')
    lost = sent[len(disk):]
    # the flush timer runs every 1 s; allow 2 s more for a slow machine
    if lost:
        first_lost = when[len(disk)]
        check(killed_at - first_lost < 1 + 2.0,
              '%d records lost, the first sent %.1f s before the kill',
              len(lost), killed_at - first_lost)
    hist.start()
    more = [(sent[-1][0] + 1000 + k, 1000.0 + k) for k in range(10)]
    for t, v in more:
        c.set_value(flow, v, h.FLOAT, t)
    wait_records(q, 'Flow', more[0][0], more[-1][0] + 1, 10)
    hist.stop()
    after = hist.disk('Flow')
    times = [t for t, _ in after]
    check_eq(len(times), len(set(times)), 'duplicate times on disk')
    check(after[:len(disk)] == disk, 'the first run\'s records changed')
    # the bus's last value (lost in the kill) comes back on subscribe
    tail = after[len(disk):]
    check(tail == ([sent[-1]] if lost else []) + more,
          'after restart: %r', tail[:5])


def iso(t):
    s, us = divmod(t, 1000000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(s)) + \
        '.%06dZ' % us


def test_export_csv():
    bus = Bus()
    hist = History(bus, flush_interval=1)
    c = bus.client()
    flow, count = c.id('Flow'), c.id('Count')
    t0 = 1700000000000000  # 2023-11-14T22:13:20Z
    fl = [(t0 + i * 250000, v) for i, v in
          enumerate([0.0, 1.5, -2.25, 0.1, 1e-7, 123456789.125, 3.0, 10.0,
                     1e20, 1000.0])]
    for t, v in fl:
        c.set_value(flow, v, h.FLOAT, t)
    ct = [(t0 + 86400 * 10**6 * d, v) for d, v in
          enumerate([5, -7, 2**62, 0])]
    for t, v in ct:
        c.set_value(count, v, h.INT, t)
    q = Querier(bus.port)
    wait_records(q, 'Flow', t0, t0 + 10**9, len(fl))
    wait_records(q, 'Count', t0, t0 + 10**12, len(ct), '>Qq')
    hist.stop()
    st, out, err = hist.export('Flow')
    check_eq(st, 0, 'exit status of history-export Flow (%s)' % err)
    want = 'time,Flow\n' + ''.join(
        '%s,%s\n' % (iso(t), txt) for (t, _), txt in
        zip(fl, ['0', '1.5', '-2.25', '0.1', '1e-7', '123456789.125', '3',
                 '10', '1e20', '1000']))
    check_eq(out, want, 'CSV of Flow')
    st, out, err = hist.export('Count', '--from', '2023-11-15',
                               '--to', str(t0 + 3 * 86400 * 10**6))
    check_eq(st, 0, 'exit status (%s)' % err)
    check_eq(out, 'time,Count\n%s,-7\n%s,%d\n' % (
        iso(ct[1][0]), iso(ct[2][0]), 2**62), 'CSV of Count, a range')
    st, out, err = hist.export('Count', '--from', '2023-11-17T22:13:20Z')
    check_eq(out, 'time,Count\n%s,0\n' % iso(ct[3][0]), 'from ISO time')
    st, out, err = hist.export('Count', '--from', '2023-13-01')
    check_eq(st, 2, 'exit status for a bad --from')
    check('--from' in err and '2023-13-01' in err, 'error: %r', err)
    st, out, err = hist.export('Note')
    check_eq(st, 2, 'exit status for a str tag')
    check('Note: not an int or float tag' in err, 'says why: %r', err)
    st, out, err = hist.export('Nope')
    check_eq(st, 2, 'exit status for a tag tags.yaml lacks')
    check('Nope: not in tags.yaml' in err, 'says why: %r', err)
    st, out, err = hist.export()
    check_eq(st, 2, 'exit status without TAG')
    # Several tags: a row per time any has a record, empty cells elsewhere.
    st, out, err = hist.export('Count', 'Flow', '--to',
                               str(t0 + 86400 * 10**6 + 1))
    check_eq(st, 0, 'exit status for two tags (%s)' % err)
    want = 'time,Count,Flow\n%s,5,0\n' % iso(t0) + ''.join(
        '%s,,%s\n' % (iso(t), txt) for (t, _), txt in
        zip(fl[1:], ['1.5', '-2.25', '0.1', '1e-7', '123456789.125', '3',
                     '10', '1e20', '1000'])) + '%s,-7,\n' % iso(ct[1][0])
    check_eq(out, want, 'CSV of Count and Flow')
    # Relative times: the records are from 2023, so the last hour is empty.
    st, out, err = hist.export('Flow', 'Count', '--from', '-1h')
    check_eq((st, out), (0, 'time,Flow,Count\n'), 'the last hour')
    st, out, err = hist.export('Flow', '--from', '-1y')
    check_eq(st, 2, 'a unit that is not s, m, h, d or w')
    check('before now' in err, 'says what a relative time is: %r', err)
    # Without a tags.yaml the files can't be read: say so.
    st, out, err = h.run_cmd([h.MSCADA, 'history-export', '--config',
                              hist.config_path, 'Flow'], cwd=h.tmpdir())
    check_eq(st, 2, 'exit status without tags.yaml')
    check('Flow: no tags.yaml here: give --tags FILE' in err, err)


def test_bad_configs_exit_2():
    bus = Bus()
    d = h.tmpdir()
    cases = [
        ('Bad/Name:\n  type: float\n', 'Bad/Name'),
        ('%s:\n  type: int\n' % ('x' * 201), '200'),
    ]
    for tags, word in cases:
        hist = History(bus, tags=tags, start=False)
        st, out, err = hist.run_once()
        check_eq(st, 2, 'exit status for tags %r' % tags[:40])
        check(hist.tags_path + ':1:1:' in err and word in err,
              'error does not say where/what: %r', err)
    blocker = os.path.join(d, 'file')
    open(blocker, 'w').close()
    hist = History(bus, start=False, path=os.path.join(blocker, 'sub'))
    st, out, err = hist.run_once()
    check_eq(st, 2, 'exit status for a path under a file')
    check(hist.config_path + ':3:' in err and 'sub' in err,
          'error does not name the path: %r', err)
    hist = History(bus, start=False, flush_interval='soon')
    st, out, err = hist.run_once()
    check_eq(st, 2, 'exit status for flush_interval: soon')
    check('flush_interval' in err, 'error: %r', err)


if __name__ == '__main__':
    h.main(globals())
