"""`mscada bus` under load and abuse, with real processes on free loopback
ports: fan-out, RTA, large values, garbage input, slow subscribers and
conflation, many connections, the `allow` list."""

import random
import resource
import socket
import struct
import threading

import mshelp as h
from mshelp import (Bus, CMD_ERR, CMD_RTA, CMD_SET, check, check_eq)


def test_fanout_to_ten_subscribers_in_order():
    bus = Bus()
    pub = bus.client()
    tags = [pub.id('fan_%d' % i) for i in range(4)]
    subs = [bus.client() for _ in range(10)]
    for s in subs + [pub]:
        for tid in tags:
            r = s.sub(tid)
            check_eq((r.cmd, r.data), (CMD_SET, b''), 'SUB reply')
    sent = []
    out = bytearray()
    base = h.now_us()
    for i in range(1000):
        tid = tags[i % len(tags)]
        data = h.encode_value(i)
        out += h.frame(CMD_SET, tid, base + i, data)
        sent.append(h.Msg(CMD_SET, tid, base + i, data))
    pub.send_raw(bytes(out))
    check_eq(pub.sync(), [], 'the publisher (subscribed too) got its own '
             'SETs back')
    for n, s in enumerate(subs):
        got = [s.recv_msg() for _ in range(1000)]
        if got != sent:
            bad = next(i for i in range(1000) if got[i] != sent[i])
            raise AssertionError('subscriber %d: message %d is %r, expected '
                                 '%r' % (n, bad, got[bad], sent[bad]))
        check_eq(s.sync(), [], 'subscriber %d: more than 1000 messages' % n)


def test_rta_round_trip_and_author_gone():
    bus = Bus()
    author, asker = bus.client(), bus.client()
    tid = author.id('pump_cmd')
    check_eq(asker.id('pump_cmd'), tid, 'id')
    author.set_value(tid, {'state': 'idle'})
    author.sync()
    asker.sub(tid)
    for n in range(5):
        req = h.encode_value({'__rta_id__': n, 'action': 'start'}, h.JSON)
        asker.send(CMD_RTA, tid, 0, req)
        m = author.expect(lambda m: m.cmd == CMD_RTA, 'RTA at the author')
        check_eq((m.tag_id, m.data), (tid, req), 'RTA at the author')
        # The author answers by setting the tag, as pymscada modules do.
        t = author.set_value(tid, {'__rta_id__': n, 'state': 'running'})
        m = asker.expect(lambda m: m.cmd == CMD_SET, 'the answer')
        check_eq((m.tag_id, m.time_us, m.value()),
                 (tid, t, (h.JSON, {'__rta_id__': n, 'state': 'running'})),
                 'answer to RTA %d' % n)
    author.close()

    def err_seen():
        asker.rta(tid, {'action': 'stop'})
        got = asker.sync()
        check(all(m.cmd == CMD_ERR and m.tag_id == tid for m in got),
              'replies to an RTA after the author left: %r', got)
        return bool(got)
    h.wait_until(err_seen, 'ERR for an RTA whose author has gone', 60, 0.1)
    check(bus.alive(), 'bus exited')


def test_five_megabyte_bytes_value():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('blob')
    b.sub(tid)
    blob = random.Random(5).randbytes(5 * 1024 * 1024)
    data = bytes([h.BYTES]) + blob
    t = a.set_data(tid, data)
    m = b.expect(lambda m: m.cmd == CMD_SET, 'the 5 MB value', 120)
    check_eq((m.tag_id, m.time_us, len(m.data)), (tid, t, len(data)),
             '5 MB value at the subscriber (tag, time, size)')
    check(m.data == data, '5 MB value at the subscriber is corrupted')
    c = bus.client()
    r = c.get(tid, 120)
    check_eq((r.cmd, r.time_us, len(r.data)), (CMD_SET, t, len(data)),
             'GET of the 5 MB value (cmd, time, size)')
    check(r.data == data, 'GET of the 5 MB value is corrupted')
    check_eq(a.sync(), [], 'the setter got messages')


def _garbage_inputs():
    rnd = random.Random(1234)
    yield 'random bytes', rnd.randbytes(4096)
    yield 'random bytes after a valid ID', \
        h.frame(h.CMD_ID, 0, 0, b'g1') + rnd.randbytes(10000)
    yield 'bad version 7', h.frame(h.CMD_ID, 0, 0, b'x', version=7)
    yield 'header only, promising 65535 bytes', \
        struct.pack('>BBHHQ', 1, h.CMD_SET, 3, 65535, 0)
    yield 'truncated header', b'\x01\x02\x00'
    yield 'SET with a bad type byte', h.frame(h.CMD_SET, 3, 0, b'\x63abc')
    yield 'SET INT with 3 bytes', h.frame(h.CMD_SET, 3, 0, b'\x01abc')
    yield 'ID with invalid UTF-8 and NULs', \
        h.frame(h.CMD_ID, 0, 0, b'\xff\xfe\x00bad')
    yield 'ID of an empty name', h.frame(h.CMD_ID, 0, 0, b'')
    yield 'ID of a 300-byte name', h.frame(h.CMD_ID, 0, 0, b'n' * 300)
    yield 'LOG of 70000 bytes', h.frames(h.CMD_LOG, 0, 0, b'L' * 70000)
    yield 'many MAX_LEN chunks then close', \
        b''.join(h.frame(h.CMD_SET, 3, 0, b'\x04' + b'z' * (h.MAX_LEN - 1))
                 for _ in range(20))
    for n in range(20):
        # Valid headers with random fields and random bodies.
        size = rnd.randrange(0, 300)
        tag = rnd.randrange(65536)
        tag = 3 if tag == 2 else tag  # leave "steady" alone
        yield 'random frame %d' % n, struct.pack(
            '>BBHHQ', 1, rnd.randrange(256), tag, size,
            rnd.getrandbits(64)) + rnd.randbytes(size)


def test_garbage_does_not_disturb_others():
    bus = Bus()
    a, w = bus.client(), bus.client()
    tid = a.id('steady')
    junk = a.id('junk')
    # The garbage below aims its SETs at tag 3 ("junk"), never at "steady".
    check(tid == 2 and junk == 3, 'this test expects ids 2 and 3, got %d '
          'and %d' % (tid, junk))
    w.sub(tid)
    n = 0
    for what, raw in _garbage_inputs():
        g = bus.client()
        try:
            g.send_raw(raw)
        except OSError:
            pass  # closed by the bus while sending: fine
        g.close()
        n += 1
        t = a.set_value(tid, n)
        a.sync()
        got = w.sync()
        check_eq(got, [h.Msg(CMD_SET, tid, t, h.encode_value(n))],
                 'the working subscriber after "%s"' % what)
        check(bus.alive(), 'the bus exited after "%s"' % what)
    # Garbage that keeps the connection open while others work.
    g = bus.client()
    g.send_raw(struct.pack('>BBHHQ', 1, h.CMD_SET, tid, 65535, 0) + b'\x01')
    t = a.set_value(tid, -1)
    a.sync()
    check_eq(w.sync(), [h.Msg(CMD_SET, tid, t, h.encode_value(-1))],
             'the working subscriber while a half message is pending')
    g.close()
    check_eq(w.get(tid).value(), (h.INT, -1), 'GET at the end')
    check(bus.alive(), 'the bus exited')


def _parse_sets(buf, pos, last, counts, tags_index):
    """Parses as many whole messages from buf[pos:] as there are; records
    for each tag the sequence numbers seen (they must increase). Returns
    the new pos. Assumes small, unchunked SETs."""
    n = len(buf)
    unpack = h.HEADER.unpack_from
    while n - pos >= h.HEADER_LEN:
        ver, cmd, tid, size, t = unpack(buf, pos)
        if n - pos < h.HEADER_LEN + size:
            break
        body = bytes(buf[pos + h.HEADER_LEN:pos + h.HEADER_LEN + size])
        pos += h.HEADER_LEN + size
        if cmd != CMD_SET or tid not in tags_index:
            raise AssertionError('unexpected message cmd %d tag %d data %r'
                                 % (cmd, tid, body[:40]))
        if not body:
            continue  # the SUB reply (never set)
        seq = int(body[1:].split(b' ', 1)[0])
        i = tags_index[tid]
        if seq <= last[i]:
            raise AssertionError('tag %d: value %d after %d (out of order)'
                                 % (tid, seq, last[i]))
        last[i] = seq
        counts[i] += 1
    return pos


class Reader(threading.Thread):
    """Reads a subscriber socket and tracks the latest sequence per tag."""

    def __init__(self, sock, tags_index, paused=False):
        super().__init__(daemon=True)
        self.sock = sock
        self.tags_index = tags_index
        self.last = [-1] * len(tags_index)
        self.counts = [0] * len(tags_index)
        self.error = None
        self.closed = False
        self.go = threading.Event()
        if not paused:
            self.go.set()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        buf = bytearray()
        pos = 0
        try:
            self.go.wait()
            self.sock.settimeout(0.5)
            while not self.stop.is_set():
                try:
                    chunk = self.sock.recv(1 << 20)
                except socket.timeout:
                    continue
                if not chunk:
                    self.closed = True
                    return
                buf += chunk
                with self.lock:
                    pos = _parse_sets(buf, pos, self.last, self.counts,
                                      self.tags_index)
                if pos > (1 << 20):
                    del buf[:pos]
                    pos = 0
        except ConnectionResetError:
            self.closed = True
        except Exception as e:  # reported by the test thread
            self.error = e

    def snapshot(self):
        with self.lock:
            return list(self.last)


def test_slow_subscriber_conflates_and_bounds_memory():
    ntags, rounds = 100, 2000          # 200,000 SETs
    high_water, hard_cap = 65536, 8 * 1024 * 1024
    # The bus insists that queue_hard_cap >= max_payload + headers +
    # queue_high_water (else the largest value could never be queued).
    bus = Bus(queue_high_water=high_water, queue_hard_cap=hard_cap,
              max_payload=1024 * 1024, stats_interval=0.5)
    pub = bus.client()
    tags = [pub.id('slow_%03d' % i) for i in range(ntags)]
    tags_index = {t: i for i, t in enumerate(tags)}
    stats_id = pub.id('__bus_stats__')

    fast = bus.client()
    slow = bus.client(rcvbuf=4096)
    for cl in (fast, slow):
        for t in tags:
            cl.sub(t)
        check_eq(cl.sync(), [], 'extra messages after SUB')
    mon = bus.client()
    mon.sub(stats_id)
    mon.sync()
    stats_seen = []

    def watch_stats():
        try:
            while True:
                m = mon.recv_msg(3600)
                if m.cmd == CMD_SET and m.tag_id == stats_id and m.data:
                    stats_seen.append(m.value()[1])
        except Exception:
            pass
    threading.Thread(target=watch_stats, daemon=True).start()

    fast_r = Reader(fast.sock, tags_index)
    slow_r = Reader(slow.sock, tags_index, paused=True)
    fast_r.start()
    slow_r.start()
    base_rss = bus.rss_kb()
    # Each value is a 200-byte STR beginning with its sequence number, so
    # the stream (about 43 MB per subscriber) is far more than the kernel
    # buffers and the hard cap: without conflation the slow connection's
    # queue would pass the cap and be closed.
    pad = b'x' * 200
    base_t = h.now_us()
    max_rss = base_rss
    for r in range(rounds):
        out = bytearray()
        for i, tid in enumerate(tags):
            seq = r * ntags + i
            out += h.frame(CMD_SET, tid, base_t + seq,
                           b'\x03' + (b'%d ' % seq) + pad)
        pub.send_raw(bytes(out))
        if r % 100 == 0:
            max_rss = max(max_rss, bus.rss_kb())
            check(fast_r.error is None, 'fast reader: %s', fast_r.error)
    final = [(rounds - 1) * ntags + i for i in range(ntags)]
    h.wait_until(lambda: fast_r.error or fast_r.closed or
                 fast_r.snapshot() == final,
                 'the fast subscriber to get the last round', 240, 0.2)
    check(fast_r.error is None, 'fast subscriber: %s', fast_r.error)
    check(not fast_r.closed, 'the bus closed the fast subscriber')
    max_rss = max(max_rss, bus.rss_kb())
    bound = base_rss + (2 * hard_cap) // 1024 + 64 * 1024
    if h.is_sanitized():
        # ASan keeps up to 256 MB of freed memory in quarantine and maps
        # shadow memory: allow for it rather than fail on it.
        bound += 320 * 1024
    check(max_rss < bound, 'bus RSS %d kB, over the bound %d kB (base %d kB '
          '+ 2 x queue_hard_cap + 64 MB%s)', max_rss, bound, base_rss,
          ' + ASan allowance' if h.is_sanitized() else '')
    check(not slow_r.closed, 'slow subscriber closed before it read')
    # Now the slow one reads: it must end with the latest of every tag.
    slow_r.go.set()
    h.wait_until(lambda: slow_r.error or slow_r.closed or
                 slow_r.snapshot() == final,
                 'the slow subscriber to end with the latest of every tag',
                 240, 0.2)
    check(slow_r.error is None, 'slow subscriber: %s', slow_r.error)
    check(not slow_r.closed, 'the bus closed the slow subscriber (queue '
          'over the hard cap: SETs did not conflate?)')
    got_slow = sum(slow_r.counts)
    check(got_slow < rounds * ntags, 'the slow subscriber got all %d values:'
          ' nothing was conflated', got_slow)
    check(bus.alive(), 'the bus exited')

    def conflated_reported():
        return any(isinstance(s, dict) and
                   isinstance(s.get('conflated'), int) and
                   s['conflated'] > 0 for s in stats_seen)
    h.wait_until(conflated_reported, '__bus_stats__ reporting conflated > 0 '
                 '(seen: %r)' % stats_seen[-3:], 60, 0.2)
    keys = {'connections', 'tags', 'msgs_in_per_s', 'msgs_out_per_s',
            'bytes_queued', 'conflated', 'dropped'}
    check(keys <= set(stats_seen[-1]), '__bus_stats__ keys: %r',
          sorted(stats_seen[-1]))
    fast_r.stop.set()
    slow_r.stop.set()
    print('  slow subscriber: %d of %d values (conflated); fast: %d; RSS '
          'base %d kB, max %d kB' % (got_slow, rounds * ntags,
                                     sum(fast_r.counts), base_rss, max_rss))


def test_thousand_connections():
    bus = Bus()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1000 + 200
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(hard, want)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        check(new >= want, 'RLIMIT_NOFILE hard limit %d is below %d',
              hard, want)
    pub = bus.client()
    tid = pub.id('many')
    conns = []
    try:
        for n in range(1000):
            c = bus.client()
            conns.append(c)
            check_eq(c.id('many'), tid, 'id at connection %d' % n)
            r = c.sub(tid)
            check_eq((r.cmd, r.data), (CMD_SET, b''),
                     'SUB reply at connection %d' % n)
        t = pub.set_value(tid, 'to all')
        want_msg = h.Msg(CMD_SET, tid, t, h.encode_value('to all'))
        for n, c in enumerate(conns):
            m = c.recv_msg()
            check_eq(m, want_msg, 'value at connection %d' % n)
        check(bus.alive(), 'the bus exited')
    finally:
        for c in conns:
            c.close()
    # And it still answers once they are gone.
    check_eq(pub.get(tid).value(), (h.STR, 'to all'), 'GET afterwards')


def _refused(port, source):
    """True when a connection from source gets closed without an answer
    to an ID request."""
    c = h.Client(port, source=source)
    try:
        try:
            c.send(h.CMD_ID, 0, 0, b'allow_tag')
        except OSError:
            return True
        try:
            got = c.wait_closed(30)
        except h.Timeout:
            return False
        check(not any(m.cmd == h.CMD_ID for m in got),
              'connection from %s was answered before the close: %r',
              source, got)
        return True
    finally:
        c.close()


def _allowed(port, source):
    c = h.Client(port, source=source)
    try:
        return c.id('allow_tag') > 0
    finally:
        c.close()


def test_allow_list_single_address():
    bus = Bus(allow=['127.0.0.2'])
    check(_refused(bus.port, '127.0.0.1'),
          'a connection from 127.0.0.1 was not closed (allow: [127.0.0.2])')
    check(_allowed(bus.port, '127.0.0.2'),
          'a connection from 127.0.0.2 was refused (allow: [127.0.0.2])')
    check(bus.alive(), 'bus exited')


def test_allow_list_cidr():
    bus = Bus(allow=['127.0.0.4/30', '10.1.2.3'])
    check(_allowed(bus.port, '127.0.0.5'),
          'a connection from 127.0.0.5 was refused (allow: 127.0.0.4/30)')
    check(_refused(bus.port, '127.0.0.1'),
          'a connection from 127.0.0.1 was accepted (allow: 127.0.0.4/30)')
    check(_refused(bus.port, '127.0.0.8'),
          'a connection from 127.0.0.8 was accepted (allow: 127.0.0.4/30)')


class BlobReader(threading.Thread):
    """Reads whole messages from a Client in a thread; keeps them."""

    def __init__(self, client, paused=False):
        super().__init__(daemon=True)
        self.client = client
        self.msgs = []
        self.closed = False
        self.error = None
        self.go = threading.Event()
        if not paused:
            self.go.set()
        self.stop = threading.Event()

    def run(self):
        self.go.wait()
        try:
            while not self.stop.is_set():
                m = self.client.poll_msg(0.5)
                if m is not None:
                    self.msgs.append(m)
        except h.Closed:
            self.closed = True
        except Exception as e:
            self.error = e


def test_bytes_values_never_conflate():
    # A slow subscriber past the high-water mark: plain SETs conflate, but
    # every BYTES value (RTA replies such as history data) arrives.
    bus = Bus(queue_high_water=65536, queue_hard_cap=32 * 1024 * 1024,
              max_payload=1024 * 1024)
    pub = bus.client()
    blob_id, plain_id = pub.id('hist_blob'), pub.id('plain')
    slow = bus.client(rcvbuf=4096)
    slow.sub(blob_id)
    slow.sub(plain_id)
    slow.sync()
    reader = BlobReader(slow, paused=True)
    reader.start()
    rnd = random.Random(7)
    blobs = []
    for n in range(60):  # 6 MB of BYTES, 6000 plain SETs
        data = bytes([h.BYTES]) + struct.pack('>I', n) + rnd.randbytes(100000)
        t = pub.set_data(blob_id, data)
        blobs.append((t, data))
        out = bytearray()
        for k in range(100):
            out += h.frame(CMD_SET, plain_id, t + k,
                           h.encode_value(n * 100 + k))
        pub.send_raw(bytes(out))
    last_plain = 59 * 100 + 99
    pub.sync()
    reader.go.set()

    def done():
        check(reader.error is None, 'reader: %s', reader.error)
        check(not reader.closed, 'the bus closed the slow subscriber')
        plain = [m for m in reader.msgs if m.tag_id == plain_id]
        return plain and plain[-1].value() == (h.INT, last_plain) and \
            sum(1 for m in reader.msgs if m.tag_id == blob_id) >= 60
    h.wait_until(done, 'the slow subscriber to catch up', 180, 0.2)
    reader.stop.set()
    reader.join(10)
    got = [(m.time_us, m.data) for m in reader.msgs if m.tag_id == blob_id]
    check_eq(len(got), 60, 'BYTES values at the slow subscriber')
    for n, (g, want) in enumerate(zip(got, blobs)):
        check(g == want, 'BYTES value %d differs (got %d bytes, time %d; '
              'expected %d bytes, time %d)', n, len(g[1]), g[0],
              len(want[1]), want[0])
    plain = [m.value()[1] for m in reader.msgs if m.tag_id == plain_id]
    check(plain == sorted(plain), 'plain values out of order')
    check(len(plain) < 6000, 'no plain SET was conflated (%d of 6000): the '
          'subscriber was never past the high-water mark?', len(plain))


def test_hard_cap_closes_slow_subscriber():
    cap = 2 * 1024 * 1024
    bus = Bus(queue_high_water=65536, queue_hard_cap=cap,
              max_payload=512 * 1024)
    pub = bus.client()
    tid = pub.id('cap_blob')
    fast = bus.client()
    slow = bus.client(rcvbuf=4096)
    slow_port = slow.sock.getsockname()[1]
    for c in (fast, slow):
        c.sub(tid)
        c.sync()
    log_before = len(bus.log().splitlines())
    fast_r = BlobReader(fast)
    slow_r = BlobReader(slow, paused=True)
    fast_r.start()
    slow_r.start()
    sent = []
    rnd = random.Random(8)
    for n in range(200):  # 20 MB of BYTES: never conflated
        data = bytes([h.BYTES]) + struct.pack('>I', n) + rnd.randbytes(100000)
        sent.append((pub.set_data(tid, data), data))
        if n % 5 == 4:
            # Keep pace with the fast reader (500 KB at a time, well under
            # the 2 MB cap) so that only the paused one can pass the cap,
            # however slowly this machine runs the reader thread.
            h.wait_until(lambda: fast_r.error or fast_r.closed or
                         len(fast_r.msgs) >= n + 1,
                         'the fast subscriber to keep up', 120, 0.01)
    pub.sync()
    h.wait_until(lambda: fast_r.error or fast_r.closed or
                 len(fast_r.msgs) >= 200, 'the fast subscriber', 180, 0.2)
    check(fast_r.error is None and not fast_r.closed,
          'fast subscriber: error %s, closed %s', fast_r.error,
          fast_r.closed)
    got = [(m.time_us, m.data) for m in fast_r.msgs]
    check(got == sent, 'the fast subscriber did not get the 200 values '
          'intact and in order (%d messages)', len(got))
    slow_r.go.set()
    h.wait_until(lambda: slow_r.error or slow_r.closed,
                 'the bus to close the subscriber past queue_hard_cap '
                 '(it got %d of 200 values so far)' % len(slow_r.msgs),
                 120, 0.2)
    check(slow_r.error is None, 'slow subscriber: %s', slow_r.error)
    check(len(slow_r.msgs) < 200, 'the slow subscriber got all values')
    got = [(m.time_us, m.data) for m in slow_r.msgs]
    check(got == sent[:len(got)], 'what the slow subscriber got before the '
          'close is not a prefix of what was sent')
    check(bus.alive(), 'the bus exited')
    check_eq(pub.get(tid).data, sent[-1][1], 'GET after the close')
    new = bus.log().splitlines()[log_before:]
    peer = '127.0.0.1:%d' % slow_port
    check(any(peer in line and w in line.lower() for line in new
              for w in ('cap', 'queue', 'slow', 'drop', 'clos')),
          'no log line naming %s and why it was closed:\n%s', peer,
          '\n'.join(new[-20:]))


def test_ipv6_listen_and_allow():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(('::1', 0))
        s.close()
    except OSError:
        print('  skipped: no IPv6 loopback here')
        return
    bus = Bus(ip='::1', allow=['::1'])
    c = h.Client(bus.port, host='::1')
    check(c.id('v6') > 1, 'ID over IPv6')
    c.close()


def test_bus_stats_reports_connections():
    bus = Bus(stats_interval=0.5)
    mon = bus.client()
    sid = mon.id('__bus_stats__')
    mon.sub(sid)
    others = [bus.client() for _ in range(2)]
    tid = others[0].id('stats_tag')
    seen = []

    def latest():
        while True:
            m = mon.poll_msg(0.2)
            if m is None:
                return seen[-1] if seen else None
            check(m.cmd == CMD_SET and m.tag_id == sid,
                  'unexpected message %r', m)
            if m.data:
                vt, v = m.value()
                check(vt == h.JSON and isinstance(v, dict),
                      '__bus_stats__ is not a JSON object: %r', m)
                seen.append(v)

    def has(cond):
        return lambda: (latest() is not None and cond(seen[-1]))
    h.wait_until(has(lambda v: v.get('connections') == 3),
                 '__bus_stats__ connections == 3 (last %r)'
                 % (seen[-1:],), 60, 0.1)
    v = seen[-1]
    for k in ('connections', 'tags', 'msgs_in_per_s', 'msgs_out_per_s',
              'bytes_queued', 'conflated', 'dropped'):
        check(isinstance(v.get(k), (int, float)),
              '__bus_stats__ key %s missing or not a number: %r', k, v)
    check(v['tags'] >= 3, '__bus_stats__ tags %r, expected >= 3 '
          '(__bus__, __bus_stats__, stats_tag)', v['tags'])
    out = bytearray()
    for n in range(2000):
        out += h.frame(CMD_SET, tid, n + 1, h.encode_value(n))
    others[0].send_raw(bytes(out))
    others[0].sync()
    h.wait_until(lambda: latest() is not None and
                 any(s.get('msgs_in_per_s', 0) > 0 for s in seen),
                 '__bus_stats__ msgs_in_per_s > 0 after 2000 SETs', 60, 0.1)
    others[1].close()
    h.wait_until(has(lambda v: v.get('connections') == 2),
                 '__bus_stats__ connections == 2 after a close', 60, 0.1)


if __name__ == '__main__':
    h.main(globals())
