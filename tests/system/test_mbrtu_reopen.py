"""`mscada modbusclient` on a serial line that goes away and comes back.

A socat pty pair with fixed link names in the test's temp dir is the line,
pymodbus' RTU slave (by /usr/bin/python3, as test_mbrtu_pymodbus.py) sits
on one end and modbusclient polls a holding register on the other into a
tag on a real `mscada bus`. Then, twice: socat and the slave are stopped
by pid (the device disappears: the pty hangs up and its link is removed,
as when a USB adapter is unplugged) and started again with the same link
names and a slave holding a different value. Each time modbusclient must

- keep running, log the failure once (`R: DIR/a: i/o error; opening it
  again`, not once per retry: the outage lasts several retries of its
  backoff), close the line's fd, and show `connected: false` in R_status;
- open the device again, log it (`R: opened again DIR/a`), poll again:
  the new value reaches the bus, R_status says connected with one more
  connect, and exactly one fd on a pty is open again (none leaked, none
  doubled)."""

import os
import sys
import time

import mshelp as h
import pmslave
from mshelp import Bus, check, check_eq

FAILED = '; opening it again'      # ms_mb_reopen_failed (mb_link_msg.c)
HUNG_UP = 'i/o error'              # a hung-up tty's POLLERR (mb_serial.c)
CANNOT = 'cannot open'             # try_open, unless a failure was logged
REOPENED = 'opened again'          # try_open after a failure
# Seconds the device stays away: five retries (0.1 s doubling: at 0.1, 0.3,
# 0.7, 1.5, 3.1 s), the sixth (6.3 s) usually finds the slave started. Not
# a condition: a retry that opens the device before pymodbus listens only
# costs unit 1 a timeout and its probe 5 s later.
OUTAGE = 4.2


class Line:
    """socat's pty pair ($d/a for modbusclient, $d/b for the slave) and the
    slave on b; started again with the same names after stop()."""

    def __init__(self, d):
        self.d = d
        self.a = os.path.join(d, 'a')
        self.b = os.path.join(d, 'b')
        self.socat = self.slave = None

    def start(self, value):
        self.socat = h.spawn(['socat', '-d', '-d',
                              'pty,raw,echo=0,link=' + self.a,
                              'pty,raw,echo=0,link=' + self.b],
                             os.path.join(self.d, 'socat.log'))
        h.wait_until(lambda: os.path.exists(self.a) and
                     os.path.exists(self.b), 'socat pty links', 30)
        self.slave = pmslave.start(self.d, 'serial', self.b, {1: {
            'di': [0] * 8, 'co': [0] * 8, 'hr': [value] * 8, 'ir': [0] * 8}})

    def slave_ready(self):
        """The slave holds b open (pymodbus takes a while to start)."""
        pts = os.path.realpath(self.b)
        return pts in fd_targets(self.slave.pid)

    def stop(self):
        # socat first: its exit hangs both ptys up and removes the links.
        if self.socat:
            h.stop_pid(self.socat, h.signal.SIGTERM, 10)
        if self.slave:
            h.stop_pid(self.slave, h.signal.SIGKILL, 10)
        self.socat = self.slave = None
        h.wait_until(lambda: not os.path.lexists(self.a) and
                     not os.path.lexists(self.b), 'pty links removed', 30)


def write_config(d, bus_port, device):
    lines = ['bus_ip: 127.0.0.1', 'bus_port: %d' % bus_port, 'rtus:',
             '- name: R', '  tcp_udp: serial', '  device: ' + device,
             '  baud: 19200', '  parity: N', '  stop_bits: 1',
             '  rate: 0.1', '  timeout: 0.3', '  retries: 0',
             '  reads:', '  - {unit: 1, file: 4x, start: 1, end: 4}',
             'tags:', "  V: {type: uint16, read: 'R:1:4x:2'}"]
    path = os.path.join(d, 'modbusclient.yaml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def fd_targets(pid):
    fd_dir = '/proc/%d/fd' % pid
    out = []
    for fd in os.listdir(fd_dir):
        try:
            out.append(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            pass  # closed meanwhile
    return out


def pty_fds(pid):
    """modbusclient's fds open on a pty (its stdio are /dev/null and a
    log file): the serial line's, 1 while open, 0 while it is away."""
    return len([t for t in fd_targets(pid) if t.startswith('/dev/pts/')])


def cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def test_serial_reopen():
    bus = Bus()
    d = h.tmpdir('mscada-rtureopen-')
    line = Line(d)
    line.start(1111)
    # Polled only once the slave listens, or the first request times out
    # and unit 1 waits for its probe (5 s). After an outage it may: the
    # device is back before its slave, as a drive booting behind an
    # adapter plugged in again.
    h.wait_until(line.slave_ready, 'the slave has its pty open', 30)
    log = os.path.join(d, 'modbusclient.log')
    mbc = h.spawn([h.MSCADA, 'modbusclient', '--config',
                   write_config(d, bus.port, line.a), '--verbose'], log)
    try:
        w = h.Watch(bus, ['V', 'R_status'])
        w.wait('V', lambda v: v == 1111, 'V == 1111 from the first slave')
        st = w.wait('R_status', lambda v: v.get('connected') is True,
                    'R_status connected')
        check_eq(pty_fds(mbc.pid), 1, 'fds on a pty while polling')
        connects = st['connects']
        for value in (2222, 3333):
            mark = os.path.getsize(log)
            cpu0 = cpu_s(mbc.pid)
            line.stop()
            w.wait('R_status', lambda v: v.get('connected') is False,
                   'R_status not connected once the device is gone')
            h.wait_until(lambda: FAILED in h.read_log(log, mark),
                         'the failure logged', 30)
            h.wait_until(lambda: pty_fds(mbc.pid) == 0,
                         'the line closed (no fd on a pty)', 30)
            # Stay away through several retries (0.1 s doubling), then
            # check each was quiet.
            time.sleep(OUTAGE)
            check(mbc.poll() is None, 'modbusclient exited (%r) while the '
                  'device was away', mbc.returncode)
            text = h.read_log(log, mark)
            fails = [x for x in text.splitlines() if FAILED in x]
            check_eq(len(fails), 1, 'failure lines in the outage:\n%s'
                     % text)
            check('R: %s: %s%s' % (line.a, HUNG_UP, FAILED) in fails[0],
                  'failure line: %r', fails[0])
            check(CANNOT not in text and REOPENED not in text,
                  'retries were logged, or it opened a missing device:\n%s',
                  text)
            print('outage: %.2f s of CPU in %.1f s' % (
                cpu_s(mbc.pid) - cpu0, OUTAGE), flush=True)

            line.start(value)
            w.wait('V', lambda v: v == value,
                   'V == %d from the slave started again' % value)
            st = w.wait('R_status', lambda v: v.get('connected') is True and
                        v.get('connects') == connects + 1,
                        'R_status connected again, one more connect')
            connects = st['connects']
            text = h.read_log(log, mark)
            check('R: %s %s' % (REOPENED, line.a) in text,
                  'reopening logged:\n%s', text)
            check_eq(len([x for x in text.splitlines() if FAILED in x]), 1,
                     'failure lines by the time it reopened')
            check_eq(pty_fds(mbc.pid), 1, 'fds on a pty after reopening')
        check_eq(h.stop_pid(mbc), 0, 'modbusclient exit status')
    except Exception:
        sys.stdout.write('---- modbusclient log:\n%s'
                         % h.read_log(log)[-6000:])
        for name in ('slave.log', 'socat.log'):
            p = os.path.join(d, name)
            if os.path.exists(p):
                sys.stdout.write('---- %s:\n%s'
                                 % (name, h.read_log(p)[-2000:]))
        raise
    finally:
        h.stop_pid(mbc)
        line.stop()


if __name__ == '__main__':
    h.main(globals())
