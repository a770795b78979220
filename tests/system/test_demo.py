"""`make demo` end to end: scripts/demo.sh with the demo's ports moved to
free ones and its run folder in a temp dir (MSCADA_DEMO_*), in its own
process group with its output in a file. Through the bus's text port and a
raw bus client: TankLevel (modbusclient, from the PLC's registers) changes
and is always a value that plantsim published as sim_Level (as float32);
PumpMode set on the bus reaches the PLC's mode register and plantsim
(sim_PumpMode), and the pump obeys (Manual runs it, Off stops it); history
answers an RTA for TankLevel with records and has its files on disk. Then
SIGTERM to the script stops every process it started and it exits 0. A
port already taken: exit 1 naming the port, nothing left running."""

import contextlib
import os
import signal
import socket
import struct
import time

import mshelp as h
from mshelp import check, check_eq

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCRIPT = os.path.join(TOP, 'scripts', 'demo.sh')
NAMES = ['bus', 'modbusserver', 'modbusclient', 'history', 'wwwserver',
         'plantsim']

DEMO = None  # the running demo, shared by the tests in order


def free_ports(n, given=()):
    """n distinct free ports, none of them in given."""
    ports = []
    while len(ports) < n:
        p = h.free_port()
        if p not in ports and p not in given:
            ports.append(p)
    return ports


def pid_alive(pid):
    """Running (a zombie counts as gone: it has stopped)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rpartition(')')[2].split()[0] != 'Z'
    except (FileNotFoundError, ProcessLookupError):
        return False


class Demo:
    """scripts/demo.sh in its own session; output to demo.out."""

    def __init__(self, plc_port=None, bus_port=None):
        self.dir = h.tmpdir('mscada-demo-')
        self.run = os.path.join(self.dir, 'run')
        self.out_path = os.path.join(self.dir, 'demo.out')
        given = [p for p in (plc_port, bus_port) if p]
        port1, self.text_port, port3, self.www_port = free_ports(4, given)
        self.bus_port = bus_port or port1
        self.plc_port = plc_port or port3
        env = dict(os.environ)
        env.update({'MSCADA_DEMO_BUS_PORT': str(self.bus_port),
                    'MSCADA_DEMO_TEXT_PORT': str(self.text_port),
                    'MSCADA_DEMO_PLC_PORT': str(self.plc_port),
                    'MSCADA_DEMO_WWW_PORT': str(self.www_port),
                    'MSCADA_DEMO_DIR': self.run})
        build = h.ARGS.build or os.path.dirname(h.MSCADA)
        self.proc = h.spawn(['/bin/sh', SCRIPT, build], self.out_path,
                            cwd=self.dir, env=env)

    def out(self):
        with open(self.out_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def wait_up(self):
        h.wait_until(lambda: 'Ctrl-C stops everything' in self.out() or
                     self.proc.poll() is not None, 'the demo to start',
                     timeout=180)
        check(self.proc.poll() is None, 'demo.sh exited %r:\n%s',
              self.proc.returncode, self.report())
        # demo.sh waits for these lines without their ports: the ports
        # the tests use are the demo's own only if its servers name them
        for name, text, port in (
                ('bus', 'bus: listening on *:{port}', self.bus_port),
                ('bus', 'text port listening on *:{port}', self.text_port),
                ('modbusserver', 'serving Modbus/TCP on *:{port}',
                 self.plc_port),
                ('wwwserver', 'www: listening on *:{port}/', self.www_port)):
            h.wait_logged(self.proc, os.path.join(self.run, 'logs',
                                                  name + '.log'),
                          text, port=port, what=name)

    def pids(self):
        """{name: pid} from the run folder's pids file."""
        out = {}
        with open(os.path.join(self.run, 'pids')) as f:
            for line in f:
                name, pid = line.split()
                out[name] = int(pid)
        return out

    def log(self, name):
        try:
            with open(os.path.join(self.run, 'logs', name + '.log'),
                      'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def report(self):
        parts = ['---- demo.sh output:', self.out()]
        for n in NAMES:
            parts += ['---- tail of %s.log:' % n,
                      '\n'.join(self.log(n).splitlines()[-15:])]
        return '\n'.join(parts)


def demo():
    check(DEMO is not None and DEMO.proc.poll() is None,
          'the demo is not running (test_start failed?)')
    return DEMO


@contextlib.contextmanager
def reported():
    """On failure, print the demo's output and its logs' tails."""
    try:
        yield
    except Exception:
        if DEMO is not None:
            print(DEMO.report())
        raise


class Text:
    """A line client of the bus's text port."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port),
                                             timeout=h.TIMEOUT)
        self.buf = b''
        check(self.line().startswith('#'), 'no greeting')

    def send(self, line):
        self.sock.sendall(line.encode() + b'\n')

    def line(self, timeout=h.TIMEOUT):
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise h.Timeout('no line from the text port in %.0f s'
                                % timeout)
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not d:
                raise h.Closed('text port closed')
            self.buf += d
        ln, _, self.buf = self.buf.partition(b'\n')
        return ln.decode().rstrip('\r')

    def get(self, name):
        """The value of name as Python (JSON), None when never set."""
        self.send('get ' + name)
        ln = self.line()
        check(ln.startswith(name + ' '), 'get %s: %r', name, ln)
        return parse_value(ln.split(' ')[1])

    def close(self):
        self.sock.close()


def parse_value(text):
    if text == 'null':
        return None
    return float(text) if any(c in text for c in '.eEIN') else int(text)


def f32(x):
    return struct.unpack('>f', struct.pack('>f', x))[0]


def running_demo():
    """A Demo started through h.serve(): its ports, free a moment ago,
    can't be told 0 (each module is told the others'), so when one was
    taken before its server bound it (demo.sh then exits 1 with that
    server's "address already in use" line) it starts again on others."""
    demo = []

    def start(bus_port):
        demo[:] = [Demo(bus_port=bus_port)]
        return demo[0].proc, demo[0].out_path, 0
    h.serve(start, 'Ctrl-C stops everything', port=None, what='demo.sh',
            timeout=180)
    return demo[0]


def test_start():
    global DEMO
    with reported():
        DEMO = running_demo()
        DEMO.wait_up()
        pids = DEMO.pids()
        check_eq(sorted(pids), sorted(NAMES), 'processes in the pids file')
        for n, pid in pids.items():
            check(pid_alive(pid), '%s (pid %d) is not running', n, pid)
        for f in ['bus', 'modbusserver', 'modbusclient', 'history',
                  'wwwserver', 'tags']:
            path = os.path.join(DEMO.run, 'config', f + '.yaml')
            check(os.path.exists(path), 'no %s in the run folder', path)
        check('127.0.0.1:%d' % DEMO.bus_port in DEMO.out(),
              'the banner does not name the bus port')
        url = 'http://127.0.0.1:%d/' % DEMO.www_port
        check(url in DEMO.out(), 'the banner does not name %s', url)


def test_level_follows_plant():
    with reported():
        d = demo()
        t = Text(d.text_port)
        # sim_Level first: every TankLevel read after it comes from a value
        # published since (or the one current then).
        t.send('sub sim_Level')
        sim = set()
        first = t.line()
        check(first.startswith('sim_Level '), 'sub sim_Level: %r', first)
        v = parse_value(first.split(' ')[1])
        if v is not None:
            sim.add(v)
        t.send('sub TankLevel')
        tank = []
        deadline = time.monotonic() + 120
        while len(tank) < 12:
            check(time.monotonic() < deadline,
                  'only %d TankLevel changes: %r', len(tank), tank)
            ln = t.line()
            name, value = ln.split(' ')[:2]
            v = parse_value(value)
            if name == 'sim_Level' and v is not None:
                sim.add(v)
            elif name == 'TankLevel' and v is not None:
                tank.append(v)
        t.close()
        check(len(set(tank)) > 1, 'TankLevel does not change: %r', tank)
        sim32 = {f32(s) for s in sim}
        # The first two may predate the sim_Level subscription.
        for v in tank[2:]:
            check(v in sim32, 'TankLevel %r is no sim_Level that plantsim '
                  'published (as float32); sim_Level seen: %r', v,
                  sorted(sim))
            check(0 <= v <= 10, 'TankLevel %r outside the tank', v)


def wait_values(t, want, what):
    def ok():
        return all(t.get(n) == v for n, v in want.items())
    try:
        h.wait_until(ok, what, timeout=60, interval=0.1)
    except AssertionError:
        raise AssertionError('%s; now: %r' % (
            what, {n: t.get(n) for n in want}))


def test_pump_mode():
    with reported():
        d = demo()
        t = Text(d.text_port)
        # plantsim starts the plant in Auto; modbusclient reads it back.
        wait_values(t, {'sim_PumpMode': 2, 'PumpMode': 2}, 'PumpMode Auto')
        t.send('set PumpMode 1')
        check_eq(t.line(), 'OK', 'set PumpMode 1')
        wait_values(t, {'sim_PumpMode': 1, 'sim_PumpRunning': 1,
                        'PumpRunning': 1}, 'Manual to reach the plant')
        check(t.get('PumpStarts') >= 1, 'no pump start counted')
        t.send('set PumpMode 0')
        check_eq(t.line(), 'OK', 'set PumpMode 0')
        wait_values(t, {'sim_PumpMode': 0, 'sim_PumpRunning': 0,
                        'PumpRunning': 0, 'PumpMode': 0},
                    'Off to stop the pump')
        t.close()


def test_history():
    with reported():
        d = demo()
        c = h.Client(d.bus_port)
        hid = c.id('__history__')
        c.sub(hid)
        tank = c.id('TankLevel')
        rta_id = 0
        recs = []

        def query():
            nonlocal rta_id, recs
            rta_id += 1
            c.sync()
            c.rta(hid, {'tagname': 'TankLevel', 'start_us': 0,
                        'end_us': h.now_us() + 10**9, '__rta_id__': rta_id},
                  time_us=h.now_us())
            m = c.expect(lambda m: m.tag_id == hid and (
                m.cmd == h.CMD_ERR or m.cmd == h.CMD_SET and
                len(m.data) >= 7 and m.data[0] == h.BYTES and
                struct.unpack('>H', m.data[1:3])[0] == rta_id),
                'history reply %d' % rta_id)
            if m.cmd == h.CMD_ERR:
                return False  # no author yet
            rid, tid, pt = struct.unpack('>HHH', m.data[1:7])
            check_eq((tid, pt), (tank, 2), 'reply header (tag id, float)')
            data = m.data[7:]
            check_eq(len(data) % 16, 0, 'records length')
            recs = [struct.unpack_from('>Qd', data, i)
                    for i in range(0, len(data), 16)]
            return len(recs) >= 2
        h.wait_until(query, 'history records of TankLevel', interval=0.5)
        c.close()
        for t, v in recs:
            check(0 <= v <= 10, 'recorded TankLevel %r outside the tank', v)
        hist = os.path.join(d.run, 'history')
        h.wait_until(lambda: any(n.startswith('TankLevel_') and
                                 os.path.getsize(os.path.join(hist, n)) >= 16
                                 for n in os.listdir(hist)),
                     'a TankLevel file with records in %s' % hist)


def test_web():
    # The wwwserver serves / and relays TankLevel to a browser's websocket.
    import urllib.request
    with reported():
        d = demo()
        url = 'http://127.0.0.1:%d/' % d.www_port
        with urllib.request.urlopen(url, timeout=h.TIMEOUT) as r:
            check_eq(r.status, 200, 'GET ' + url)
        try:
            import wwwhelp as w
        except ImportError:
            return
        if w.websockets is None:
            return

        class Port:
            port = d.www_port

            def url(self, path):
                return 'ws://127.0.0.1:%d%s' % (d.www_port, path)

        async def go():
            ws = await w.tab(Port())
            check(w.is_json(ws.first[1], 'pages'), 'pages')
            await w.send(ws, 'sub', 'TankLevel')
            m, _ = await w.recv_until(ws, lambda m: isinstance(m, bytes),
                                      'a TankLevel value')
            level = struct.unpack('!d', w.binary_of(m)[3])[0]
            check(0 <= level <= 10, 'TankLevel %r', level)
            await ws.close()
        w.run(go())


def test_sigterm_stops_all():
    with reported():
        d = demo()
        pids = d.pids()
        os.kill(d.proc.pid, signal.SIGTERM)
        try:
            status = d.proc.wait(120)
        except Exception:
            raise AssertionError('demo.sh still runs 120 s after SIGTERM')
        check_eq(status, 0, 'demo.sh exit status after SIGTERM')
        for n, pid in pids.items():
            check(not pid_alive(pid), '%s (pid %d) still runs', n, pid)
            check('stopped' in d.log(n), '%s did not log a clean stop', n)
        check('mscada demo: stopped' in d.out(), 'no "stopped" line')


def test_port_taken():
    # Something already listens on the PLC's port: the bus starts, then
    # modbusserver fails; the script names the port and stops the bus.
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(1)
    try:
        d = Demo(plc_port=s.getsockname()[1])
        try:
            status = d.proc.wait(120)
        except Exception:
            raise AssertionError('demo.sh still runs:\n' + d.report())
        out = d.out()
        check_eq(status, 1, 'exit status with the PLC port taken')
        check('port %d is taken' % d.plc_port in out and
              'MSCADA_DEMO_PLC_PORT' in out,
              'the output does not name the port and the way out:\n%s', out)
        for n, pid in d.pids().items():
            check(not pid_alive(pid), '%s (pid %d) still runs', n, pid)
    finally:
        s.close()


if __name__ == '__main__':
    h.main(globals())
