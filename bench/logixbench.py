"""logixclient against logixserver (docs/logix.md): issue 18's figures.

  /usr/bin/python3 bench/logixbench.py [BUILD_DIR] [--seconds 20]

A real bus; one `mscada logixserver` (no bus) serving 100 arrays A0..A99
of 100 DINT: 10,000 tags; a mover (this script, one raw EtherNet/IP
session, unconnected Write Tag of each whole array) giving every element
a new value once a second, so all 10,000 bus tags change every poll.

1. `mscada logixclient`, `rate: 1`, one poll entry per array and 10,000
   bus tags (one per element): its user+system CPU from /proc/PID/stat
   over the measured seconds, the requests per poll its log prints, and
   the requests its status tag counted.
2. The same logixclient with `rate: 0.001` (a poll starts as soon as the
   last is answered): MSPs per second on the one connection, the round
   trip per MSP (1 / that rate, and the status tag's last `rtt_ms`) and
   the tags per second it reads.
3. npm's st-ethernet-ip (tests/system/logix_node, `npm ci` there) reading
   the same 100 arrays back to back for the same seconds
   (bench/logixbench.js).

Every process runs in its own process group with output in a temp dir
and is stopped by pid.
"""

import json
import os
import shutil
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'system'))
import mshelp as h  # noqa: E402

NARR = 100
LEN = 100
NODE_DIR = os.path.join(HERE, '..', 'tests', 'system', 'logix_node')
HZ = os.sysconf('SC_CLK_TCK')


def cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        st = f.read().rsplit(')', 1)[1].split()
    return (int(st[11]) + int(st[12])) / HZ


class Mover:
    """Writes every array with new values once a second (SendRRData,
    Write Tag to the Message Router, no Unconnected Send wrapper)."""

    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.session = 0
        r = self.call(0x65, struct.pack('<HH', 1, 0))
        self.session = struct.unpack_from('<I', r, 4)[0]
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def call(self, cmd, body):
        self.s.sendall(struct.pack('<HHII8sI', cmd, len(body), self.session,
                                   0, b'\0' * 8, 0) + body)
        hdr = b''
        while len(hdr) < 24:
            hdr += self.s.recv(24 - len(hdr))
        n = struct.unpack_from('<H', hdr, 2)[0]
        data = b''
        while len(data) < n:
            data += self.s.recv(n - len(data))
        return hdr + data

    def write(self, name, values):
        sym = name.encode()
        path = bytes([0x91, len(sym)]) + sym + (b'\0' if len(sym) % 2 else b'')
        cip = (bytes([0x4D, len(path) // 2]) + path +
               struct.pack('<HH', 0xC4, len(values)) +
               struct.pack('<%di' % len(values), *values))
        body = (struct.pack('<IHH', 0, 5, 2) + struct.pack('<HH', 0, 0) +
                struct.pack('<HH', 0xB2, len(cip)) + cip)
        r = self.call(0x6F, body)
        if r[24 + 16 + 2] != 0:  # general status of the reply
            raise RuntimeError('mover: write of %s failed: status 0x%02x'
                               % (name, r[24 + 16 + 2]))

    def run(self):
        k = 0
        while not self.stop.is_set():
            k += 1
            for i in range(NARR):
                self.write('A%d' % i, [k * 1000 + j for j in range(LEN)])
            self.stop.wait(1.0)

    def close(self):
        self.stop.set()
        self.t.join()
        self.s.close()


def spawn(tmp, module, doc):
    cfg = os.path.join(tmp, module + '.yaml')
    with open(cfg, 'w') as f:
        json.dump(doc, f)
    tags = os.path.join(tmp, 'tags.yaml')
    with open(tags, 'w') as f:
        f.write('{}\n')
    log = os.path.join(tmp, module + '.log')
    p = h.spawn([h.MSCADA, module, '--config', cfg, '--tags', tags], log,
                cwd=tmp)
    return p, log


def wait_log(log, text, timeout=30):
    def ok():
        with open(log, errors='replace') as f:
            return text in f.read()
    h.wait_until(ok, '%r in %s' % (text, log), timeout)


def log_line(log, text):
    with open(log, errors='replace') as f:
        for line in f:
            if text in line:
                return line.strip()
    return ''


def status(c, sid):
    v = c.get(sid).value()[1]
    return v if isinstance(v, dict) else json.loads(v)


def client_run(tmp, bus, port, rate, seconds, watch):
    rtu = {'name': 'P', 'ip': '127.0.0.1', 'port': port, 'rate': rate,
           'timeout': 2,
           'poll': [{'addr': 'A%d' % i, 'type': 'DINT[]', 'start': 0,
                     'end': LEN - 1} for i in range(NARR)]}
    tags = {'P_A%d_%d' % (i, j): {'type': 'int32',
                                  'read': 'P:A%d[%d]' % (i, j)}
            for i in range(NARR) for j in range(LEN)}
    doc = {'bus_ip': '127.0.0.1', 'bus_port': bus.port, 'rtus': [rtu],
           'tags': tags}
    tmp = os.path.join(tmp, 'rate-%g' % rate)
    os.mkdir(tmp)
    p, log = spawn(tmp, 'logixclient', doc)
    try:
        wait_log(log, 'requests per poll')
        last = 'P_A%d_%d' % (NARR - 1, LEN - 1)
        lid = watch.id(last)
        h.wait_until(lambda: watch.get(lid).data, 'first poll', 30)
        sid = watch.id('P_status')
        time.sleep(3)  # settle
        v0 = watch.get(lid).value()[1]
        s0, c0, t0 = status(watch, sid), cpu_s(p.pid), time.monotonic()
        time.sleep(seconds)
        s1, c1, t1 = status(watch, sid), cpu_s(p.pid), time.monotonic()
        v1 = watch.get(lid).value()[1]
        return {'plan': log_line(log, 'requests per poll'),
                'connect': log_line(log, 'connected ('),
                'cpu': (c1 - c0) / (t1 - t0), 'wall': t1 - t0,
                'requests': s1['requests'] - s0['requests'],
                'errors': s1['errors'] - s0['errors'],
                'rtt_ms': s1.get('rtt_ms'), 'moved': (last, v0, v1)}
    finally:
        h.stop_pid(p)


def main():
    args = sys.argv[1:]
    seconds = 20.0
    if '--seconds' in args:
        i = args.index('--seconds')
        seconds = float(args[i + 1])
        del args[i:i + 2]
    build = args[0] if args else 'build'
    h.MSCADA = os.path.abspath(os.path.join(build, 'mscada'))
    tmp = h.tmpdir('mscada-logixbench-')
    print('logixbench: %d arrays of %d DINT = %d tags, %g s measured '
          '(%d CPUs)' % (NARR, LEN, NARR * LEN, seconds, os.cpu_count()))
    bus = h.Bus()
    port = h.free_port()
    srv, slog = spawn(tmp, 'logixserver', {
        'bus_ip': '', 'ip': '127.0.0.1', 'port': port,
        'plc': {'A%d' % i: {'type': 'DINT', 'dims': [LEN]}
                for i in range(NARR)}})
    mover = None
    try:
        wait_log(slog, 'serving EtherNet/IP')
        mover = Mover(port)
        watch = bus.client()
        sc0 = cpu_s(srv.pid)
        print('\n=== logixclient, rate 1 s, 10,000 bus tags, every element '
              'changing each second')
        r = client_run(tmp, bus, port, 1.0, seconds, watch)
        print('  %s\n  %s' % (r['connect'], r['plan']))
        # a reply of one whole array: 4-byte MSP offset + 2 (offset) +
        # 4 (reply header) + 2 (type) + LEN * 4
        one = 2 + 4 + 2 + LEN * 4
        fit = (4002 - 6) // one
        print('  fewest possible: %d (a reply holds %d whole arrays of %d '
              'bytes)' % (-(-NARR // fit), fit, one))
        print('  requests:  %d in %.1f s (%.1f/s), %d errors'
              % (r['requests'], r['wall'], r['requests'] / r['wall'],
                 r['errors']))
        print('  %s on the bus: %d at the start, %d at the end'
              % r['moved'])
        print('  logixclient cpu: %.2f%% of a core' % (100 * r['cpu']))
        print('\n=== logixclient, rate 0.001 s (polls back to back)')
        r = client_run(tmp, bus, port, 0.001, seconds, watch)
        plan = r['plan']
        per_poll = int(plan.split(' in ')[1].split()[0])
        rps = r['requests'] / r['wall']
        print('  %s' % plan)
        print('  MSPs:      %d in %.1f s = %.0f/s on one connection; %.3f ms '
              'each (last rtt_ms %.3f)' % (r['requests'], r['wall'], rps,
                                          1000 / rps, r['rtt_ms']))
        print('  tags/s:    %.0f (%d per poll / %d requests)'
              % (rps / per_poll * NARR * LEN, NARR * LEN, per_poll))
        print('  logixclient cpu: %.1f%% of a core' % (100 * r['cpu']))
        node = shutil.which('node')
        if not node or not os.path.isdir(os.path.join(
                NODE_DIR, 'node_modules', 'st-ethernet-ip')):
            print('\n(st-ethernet-ip skipped: run `npm ci` in %s)' % NODE_DIR)
        else:
            print('\n=== st-ethernet-ip, one readTag per array, back to back')
            rc, out, err = h.run_cmd(
                [node, os.path.join(HERE, 'logixbench.js'), str(port),
                 str(NARR), str(LEN), str(seconds)], timeout=seconds + 60,
                env=dict(os.environ, NODE_PATH=os.path.join(
                    NODE_DIR, 'node_modules')))
            if rc != 0:
                print('  failed: %s' % err[-500:])
            else:
                j = json.loads(out.strip().splitlines()[-1])
                reads = j['rounds'] * NARR
                print('  reads:     %d in %.1f s = %.0f/s; %.3f ms each'
                      % (reads, j['wall'], reads / j['wall'],
                         1000 * j['wall'] / reads))
                print('  tags/s:    %.0f (%d values per round)'
                      % (j['rounds'] * j['values_per_round'] / j['wall'],
                         j['values_per_round']))
                print('  node cpu:  %.1f%% of a core'
                      % (100 * j['cpu_s'] / j['wall']))
        print('\nlogixserver cpu over the whole run: %.2f s'
              % (cpu_s(srv.pid) - sc0))
    finally:
        if mover:
            mover.close()
        h.stop_pid(srv)
        bus.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
