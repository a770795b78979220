"""`mscada console` on a terminal (python3-pexpect drives it through a
pseudo-terminal, HOME in a temp dir): Tab completion of commands and tag
names, a sub update arriving while a line is half typed (the half line is
there after it), history across two sessions, Ctrl-C drops the line,
Ctrl-D leaves, and a bus restart (reconnect message, the sub goes on)."""

import os
import signal

import pexpect

import mshelp as h
from mshelp import Bus, check

PROMPT = 'mscada> '
T = 30  # deadline per expectation: fail instead of hanging


def start(bus, home):
    env = dict(os.environ, HOME=home, TERM='xterm')
    p = pexpect.spawn(h.MSCADA, ['console', '--bus',
                                 '127.0.0.1:%d' % bus.port],
                      env=env, encoding='utf-8', timeout=T,
                      dimensions=(24, 200))
    p.expect_exact(PROMPT)
    return p


def stop(p):
    if p.isalive():
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p.close(force=True)


def run(p, line):
    """Types a line and returns what it printed before the next prompt."""
    p.sendline(line)
    p.expect_exact(PROMPT)
    return p.before


def test_completion_sub_and_half_line():
    bus = Bus()
    home = h.tmpdir()
    with bus.client() as c:
        fid = c.id('FlowRate')
        c.set_value(fid, 1.5)
        c.sync()
        p = start(bus, home)
        try:
            # The background LIST has the names within a few seconds;
            # "Flo" + Tab + Enter gets FlowRate only if Tab completed it.
            for _ in range(20):
                p.send('get Flo\t\r')
                i = p.expect_exact(['FlowRate 1.5', 'unknown tag Flo'])
                p.expect_exact(PROMPT)
                if i == 0:
                    break
            else:
                raise AssertionError('tag name never completed')
            # A command name: "he" + Tab is help.
            p.send('he\t\r')
            p.expect_exact('help COMMAND tells more')
            p.expect_exact(PROMPT)
            out = run(p, 'sub FlowRate')
            check('FlowRate 1.5' in out, 'sub output: %r', out)
            # Half a line typed, then an update arrives.
            p.send('get Flow')
            p.expect_exact('get Flow')
            c.set_value(fid, 2.5)
            p.expect_exact('FlowRate 2.5')
            p.expect_exact(PROMPT)
            p.expect_exact('get Flow')  # redrawn after the update
            p.send('Rate\r')
            p.expect_exact('FlowRate 2.5')
            p.expect_exact(PROMPT)
            # Ctrl-C drops the line: nothing of it runs.
            p.send('get NoSuchX')
            p.sendcontrol('c')
            p.expect_exact(PROMPT)
            out = run(p, 'get FlowRate')
            check('NoSuchX' not in out and 'FlowRate 2.5' in out,
                  'after Ctrl-C: %r', out)
            # The bus restarts: the console says so and the sub goes on.
            c.close()
            bus.stop()
            p.expect_exact('connection lost')
            bus.start()
            p.expect_exact('reconnected')
            with bus.client() as c2:
                fid2 = c2.id('FlowRate')
                c2.set_value(fid2, 7.25)
                p.expect_exact('FlowRate 7.25')
            # Ctrl-D leaves with status 0.
            p.sendcontrol('d')
            p.expect(pexpect.EOF)
            p.close()
            check(p.exitstatus == 0, 'exit status %r', p.exitstatus)
        finally:
            stop(p)


def test_history_across_sessions():
    bus = Bus()
    home = h.tmpdir()
    p = start(bus, home)
    try:
        out = run(p, 'set HistTag 42')
        p.sendcontrol('d')
        p.expect(pexpect.EOF)
    finally:
        stop(p)
    check(os.path.exists(os.path.join(home, '.mscada_history')),
          'no history file in HOME')
    p = start(bus, home)
    try:
        p.send('\x1b[A')  # up arrow: the last line of the last session
        p.expect_exact('set HistTag 42')
        p.sendcontrol('c')
        p.expect_exact(PROMPT)
        out = run(p, 'get HistTag')
        check('HistTag 42' in out, 'get after the history test: %r', out)
        p.sendcontrol('d')
        p.expect(pexpect.EOF)
    finally:
        stop(p)


if __name__ == '__main__':
    h.main(globals())
