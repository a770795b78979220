"""Modules under systemd: with NOTIFY_SOCKET set (as systemd does for a
Type=notify unit), a module sends READY=1 once it serves (the bus: its
port accepts by then), WATCHDOG=1 from its loop twice per WATCHDOG_USEC,
and STOPPING=1 on SIGTERM; without NOTIFY_SOCKET nothing is sent. With
stderr on the journal (JOURNAL_STREAM naming it) lines carry no time of
their own and start with the syslog priority: <6>INFO, <4>WARN."""

import os
import signal
import socket
import time

import mshelp as h
from mshelp import check, check_eq


def notify_socket(d):
    path = os.path.join(d, 'notify.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(10)
    return s, path


def recv_until(s, want, got):
    while True:
        msg = s.recv(4096).decode()
        got.append(msg)
        if want in msg.split('\n'):
            return


# what the bus logs once it listens on its port
LISTENING = 'listening on 127.0.0.1:{port}'


def accepts(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def test_bus_ready_watchdog_stopping():
    d = h.tmpdir()
    s, path = notify_socket(d)
    cfg = os.path.join(d, 'bus.yaml')
    with open(cfg, 'w') as f:  # port 0: the one it names is its own
        f.write('ip: 127.0.0.1\nport: 0\n')
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC='200000')
    env.pop('WATCHDOG_PID', None)
    log = os.path.join(d, 'bus.log')
    p = h.spawn([h.MSCADA, 'bus', '--config', cfg], log, env=env)
    try:
        got = []
        recv_until(s, 'READY=1', got)
        # the port is this bus's (its line), and it accepts already
        port = h.logged_port(h.wait_logged(p, log, LISTENING, what='bus')[0],
                             LISTENING)
        check(accepts(port), 'the bus accepts once it said READY=1')
        check('WATCHDOG=1' not in got, 'ready came first: %r' % got)
        feeds = 0
        t0 = time.monotonic()
        while feeds < 3:
            msg = s.recv(4096).decode()
            feeds += msg == 'WATCHDOG=1'
        # 3 feeds at every 100 ms: at least 0.2 s apart from the first.
        check(time.monotonic() - t0 >= 0.15, 'fed on a timer, not at once')
        p.send_signal(signal.SIGTERM)
        got = []
        recv_until(s, 'STOPPING=1', got)
        check_eq(p.wait(60), 0, 'bus exit status')
    finally:
        h.stop_pid(p, signal.SIGKILL)
        s.close()


def test_history_ready_without_a_bus():
    """A bus client is ready once started, before the bus answers: it keeps
    trying to connect, and systemd should not wait for the bus."""
    d = h.tmpdir()
    s, path = notify_socket(d)
    cfg = os.path.join(d, 'history.yaml')
    hold, bus_port = h.refused_port()  # no bus there, for sure
    with open(cfg, 'w') as f:
        f.write('bus_port: %d\npath: %s\n' % (bus_port,
                                              os.path.join(d, 'hist')))
    env = dict(os.environ, NOTIFY_SOCKET=path)
    env.pop('WATCHDOG_USEC', None)
    p = h.spawn([h.MSCADA, 'history', '--config', cfg],
                os.path.join(d, 'history.log'), env=env)
    try:
        got = []
        recv_until(s, 'READY=1', got)
        s.settimeout(0.5)
        try:
            extra = s.recv(4096).decode()
        except socket.timeout:
            extra = None
        check(extra is None, 'no watchdog without WATCHDOG_USEC: %r' % extra)
        p.send_signal(signal.SIGTERM)
        s.settimeout(10)
        recv_until(s, 'STOPPING=1', got)
        check_eq(p.wait(60), 0, 'history exit status')
    finally:
        h.stop_pid(p, signal.SIGKILL)
        s.close()
        hold.close()


def test_journal_lines():
    d = h.tmpdir()
    log = os.path.join(d, 'bus.log')
    open(log, 'wb').close()
    st = os.stat(log)
    cfg = os.path.join(d, 'bus.yaml')
    with open(cfg, 'w') as f:  # port 0: the one it names is its own
        f.write('ip: 127.0.0.1\nport: 0\nportt: 1\n')
    env = dict(os.environ, JOURNAL_STREAM='%d:%d' % (st.st_dev, st.st_ino))
    p = h.spawn([h.MSCADA, 'bus', '--config', cfg], log, env=env)
    try:
        port = h.logged_port(h.wait_logged(p, log, LISTENING, what='bus')[0],
                             LISTENING)
    finally:
        check_eq(h.stop_pid(p), 0, 'bus exit status')
    lines = open(log).read().splitlines()
    check(any(l.startswith('<6>INFO bus: listening on 127.0.0.1:%d' % port)
              for l in lines), 'an info line for the journal: %r' % lines)
    check(any(l.startswith("<4>WARN bus: ") and "unknown key 'portt'" in l
              for l in lines), 'a warning line for the journal: %r' % lines)
    # Not on the journal: the usual time-stamped lines.
    log2 = os.path.join(d, 'bus2.log')
    p = h.spawn([h.MSCADA, 'bus', '--config', cfg], log2,
                env={k: v for k, v in os.environ.items()
                     if k != 'JOURNAL_STREAM'})
    try:
        h.wait_logged(p, log2, LISTENING, what='bus again')
    finally:
        check_eq(h.stop_pid(p), 0, 'bus exit status')
    text = open(log2).read()
    check(text.startswith('20') and ' INFO bus: ' in text, text[:200])


if __name__ == '__main__':
    h.main(globals())
