"""`mscada console` in its scripted form (-c COMMAND..., or commands on
stdin): every command's output, the exit statuses (0, 1 for a failed
command with the reason on stderr, 2 for usage), looking never creates a
tag, and values crossing between the console and a raw bus client."""

import os
import subprocess

import mshelp as h
from mshelp import Bus, check, check_eq, INT, FLOAT, STR, BYTES, JSON

TAGS_YAML = """\
FlowRate:
  desc: Flow into tank
  type: float
  units: m3/h
  dp: 1
PumpMode:
  desc: Pump mode
  multi: ['Off', Manual, Auto]
StartTime:
  type: int
  format: datetime
"""


def console(bus, *cmds, tags=None, extra=(), timeout=60):
    argv = [h.MSCADA, 'console', '--bus', '127.0.0.1:%d' % bus.port]
    if tags:
        argv += ['--tags', tags]
    argv += list(extra)
    for c in cmds:
        argv += ['-c', c]
    return h.run_cmd(argv, timeout=timeout)


def console_stdin(bus, text, timeout=60):
    """Commands on a pipe (stdin not a terminal)."""
    d = h.tmpdir('mscada-con-')
    out_p, err_p = os.path.join(d, 'out'), os.path.join(d, 'err')
    with open(out_p, 'wb') as out, open(err_p, 'wb') as err:
        p = subprocess.Popen([h.MSCADA, 'console', '--bus',
                              '127.0.0.1:%d' % bus.port],
                             stdin=subprocess.PIPE, stdout=out, stderr=err,
                             start_new_session=True)
        h._live.append(p)
        try:
            p.communicate(text.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            h.stop_pid(p)
            raise AssertionError('console on stdin did not finish')
        finally:
            if p in h._live:
                h._live.remove(p)
    with open(out_p) as f, open(err_p) as g:
        return p.returncode, f.read(), g.read()


def tags_file():
    d = h.tmpdir()
    path = os.path.join(d, 'tags.yaml')
    with open(path, 'w') as f:
        f.write(TAGS_YAML)
    return path


def test_get_unknown_fails_and_creates_nothing():
    bus = Bus()
    st, out, err = console(bus, 'get NoSuchTag')
    check_eq(st, 1, 'exit status of get NoSuchTag (stderr %r)' % err)
    check('unknown tag NoSuchTag' in err, 'stderr: %r', err)
    for cmd in ('sub NoSuchTag', 'rta NoSuchTag {"a":1}', 'get NoSuchTag'):
        st, out, err = console(bus, cmd)
        check_eq(st, 1, 'exit status of %r' % cmd)
    with bus.client() as c:
        check_eq(c.list('NoSuch'), [], 'tags created by looking')


def test_unreachable_bus():
    hold, port = h.refused_port()  # no bus there, for sure
    try:
        st, out, err = h.run_cmd([h.MSCADA, 'console', '-p', str(port),
                                  '-t', '1', '-c', 'get X'])
    finally:
        hold.close()
    check_eq(st, 1, 'exit status with no bus (stderr %r)' % err)
    check('cannot reach the bus' in err and str(port) in err,
          'stderr does not say why: %r', err)


def test_usage_errors():
    st, out, err = h.run_cmd([h.MSCADA, 'console', '--nosuch'])
    check_eq(st, 2, 'exit status for an unknown option')
    check('--nosuch' in err, 'stderr: %r', err)
    st, out, err = h.run_cmd([h.MSCADA, 'console', '--bus'])
    check_eq(st, 2, 'exit status for --bus without a value')
    st, out, err = h.run_cmd([h.MSCADA, 'console', '--help'])
    check_eq(st, 0, 'exit status of --help')
    check('watch' in out and '--bus' in out, 'help text: %r', out)


def test_bad_command_fails_others_run():
    bus = Bus()
    st, out, err = console(bus, 'bogus', 'set Ok 1', 'get Ok')
    check_eq(st, 1, 'exit status with one bad command')
    check('unknown command' in err, 'stderr: %r', err)
    check_eq(out, 'Ok 1\n', 'output of the good commands')


def test_set_types_seen_by_raw_client():
    bus = Bus()
    st, out, err = console(bus, 'set I 5', 'set F 2.5', 'set S hello world',
                           'set J {"a": [1, 2]}', 'set B bytes 00ff10',
                           'set T str 42', 'set G float 3')
    check_eq(st, 0, 'exit status of sets (stderr %r)' % err)
    with bus.client() as c:
        want = {'I': (INT, 5), 'F': (FLOAT, 2.5), 'S': (STR, 'hello world'),
                'J': (JSON, {'a': [1, 2]}), 'B': (BYTES, b'\x00\xff\x10'),
                'T': (STR, '42'), 'G': (FLOAT, 3.0)}
        for name, val in want.items():
            check_eq(c.get(c.id(name)).value(), val, 'value of %s' % name)


def test_get_shows_raw_clients_values():
    bus = Bus()
    with bus.client() as c:
        c.set_value(c.id('RI'), -7)
        c.set_value(c.id('RF'), 0.1)
        c.set_value(c.id('RS'), 'two\nlines')
        c.set_value(c.id('RB'), bytes(range(40)))
        c.set_value(c.id('RJ'), [1, {'k': None}])
        c.id('Never')
        c.sync()
        st, out, err = console(bus, 'get RI RF RS RB RJ', 'get Never')
    check_eq(st, 0, 'exit status (stderr %r)' % err)
    check_eq(out.splitlines(), [
        'RI -7', 'RF 0.1', 'RS two\\nlines',
        'RB bytes[40] ' + bytes(range(32)).hex() + '...',
        'RJ [1,{"k":null}]', 'Never (no value)'], 'get output')


def test_set_keeps_the_tags_type():
    bus = Bus()
    with bus.client() as c:
        fid = c.id('Level')
        c.set_value(fid, 1.0)
        sid = c.id('Name')
        c.set_value(sid, 'x')
        c.sync()
        st, out, err = console(bus, 'set Level 3', 'set Name 12')
        check_eq(st, 0, 'exit status (stderr %r)' % err)
        check_eq(c.get(fid).value(), (FLOAT, 3.0), 'Level after set 3')
        check_eq(c.get(sid).value(), (STR, '12'), 'Name after set 12')
    st, out, err = console(bus, 'set Level abc')
    check_eq(st, 1, 'exit status of a float tag set to abc')
    check('not a number' in err, 'stderr: %r', err)
    st, out, err = console(bus, 'set Level str abc')
    check_eq(st, 1, 'exit status of an explicit type against the bus')


def test_tags_yaml_formats_and_types():
    bus = Bus()
    tags = tags_file()
    st, out, err = console(bus, 'set FlowRate 12', 'set PumpMode Auto',
                           'set StartTime 2026-01-02T03:04:05Z',
                           'get FlowRate PumpMode StartTime', tags=tags)
    check_eq(st, 0, 'exit status (stderr %r)' % err)
    check_eq(out.splitlines(), ['FlowRate 12.0 m3/h', 'PumpMode Auto',
                                'StartTime 2026-01-02T03:04:05Z'], 'output')
    with bus.client() as c:
        check_eq(c.get(c.id('FlowRate')).value(), (FLOAT, 12.0), 'FlowRate')
        check_eq(c.get(c.id('PumpMode')).value(), (INT, 2), 'PumpMode')
        check_eq(c.get(c.id('StartTime')).value(), (INT, 1767323045),
                 'StartTime')
    st, out, err = console(bus, 'set PumpMode Fast', tags=tags)
    check_eq(st, 1, 'a state name not in multi')


def test_list_forms():
    bus = Bus()
    with bus.client() as c:
        for n in ('AbcX', 'XAbc', 'ZZ', 'qAbcq'):
            c.set_value(c.id(n), 1)
        c.sync()
    st, out, err = console(bus, 'list ^Abc', 'list Abc$', 'list Abc')
    check_eq(st, 0, 'exit status')
    check_eq(out.splitlines(), ['AbcX', 'XAbc', 'AbcX', 'XAbc', 'qAbcq'],
             'list output')
    st, out, err = console(bus, 'list', 'list -t 3600')
    names = out.splitlines()
    check(names.count('ZZ') == 2 and '__bus__' not in names[:0],
          'list output: %r', names)


def test_sub_and_watch_follow_changes():
    bus = Bus()
    with bus.client() as c:
        aid = c.id('WatchA')
        c.set_value(aid, 1)
        c.sync()
        log = os.path.join(h.tmpdir(), 'out')
        p = h.spawn([h.MSCADA, 'console', '--bus', '127.0.0.1:%d' % bus.port,
                     '-c', 'watch ^Watch'], log)
        try:
            h.wait_until(lambda: 'WatchA 1' in open(log).read(),
                         'the first value printed', 30)
            c.set_value(aid, 2)
            h.wait_until(lambda: 'WatchA 2' in open(log).read(),
                         'a change printed', 30)
            # A new tag matching the filter is picked up too.
            c.set_value(c.id('WatchB'), 'new')
            h.wait_until(lambda: 'WatchB new' in open(log).read(),
                         'a new matching tag printed', 30)
        finally:
            check_eq(h.stop_pid(p), 0, 'exit status after SIGTERM')


def test_stdin_commands():
    bus = Bus()
    st, out, err = console_stdin(bus, 'set P 1\n# a comment\n\nget P\n'
                                      'log hello from stdin\nget P')
    check_eq(st, 0, 'exit status (stderr %r)' % err)
    check_eq(out, 'P 1\nP 1\n', 'output')
    check('hello from stdin' in bus.log(), 'bus log lacks the LOG line')
    st, out, err = console_stdin(bus, 'get P\nget Missing\n')
    check_eq(st, 1, 'exit status with a failure')
    check_eq(out, 'P 1\n', 'output before the failure')
    check('unknown tag Missing' in err, 'stderr: %r', err)


def test_rta_to_absent_author_fails():
    bus = Bus()
    with bus.client() as c:
        tid = c.id('Req')
        c.set_value(tid, 0)
        c.sync()
        st, out, err = console(bus, 'rta Req {"x": 1}')
        check_eq(st, 0, 'exit status (stderr %r)' % err)
        m = c.expect(lambda m: m.cmd == h.CMD_RTA, 'the RTA forwarded')
        check_eq(m.value(), (JSON, {'x': 1}), 'RTA payload')
    # The author is gone now: the bus answers ERR.
    st, out, err = console(bus, 'rta Req {"x": 2}')
    check_eq(st, 1, 'exit status without an author (stderr %r)' % err)
    check('rta Req' in err, 'stderr: %r', err)


def rta_then_sub(port):
    """docs/console.md's `-c 'rta T ...' -c 'sub T'` prints the author's
    answer even when the author answers, and then resets the tag, before
    the sub has started: the rta keeps the tag's changes for the sub.
    port: any bus (test_bus2024.py runs this on pymscada's 2024 one)."""
    with h.Client(port) as a:
        tid = a.id('Req')
        a.set_value(tid, 'idle')
        a.sync()
        log = os.path.join(h.tmpdir(), 'out')
        p = h.spawn([h.MSCADA, 'console', '--bus', '127.0.0.1:%d' % port,
                     '-c', 'rta Req {"n": 1}', '-c', 'sub Req'], log)
        try:
            m = a.expect(lambda m: m.cmd == h.CMD_RTA, 'the RTA forwarded')
            check_eq(m.value(), (JSON, {'n': 1}), 'RTA payload')
            # answered and reset at once, as history does
            a.set_value(tid, 'answer-1')
            a.set_value(tid, 'idle')
            a.sync()
            h.wait_until(lambda: 'Req answer-1\nReq idle\n' in
                         open(log).read(), 'the answer and the reset', 30)
            a.set_value(tid, 'later')
            h.wait_until(lambda: 'Req later' in open(log).read(),
                         'a later change printed by the sub', 30)
        finally:
            check_eq(h.stop_pid(p), 0, 'exit status after SIGTERM')
        out = open(log).read().splitlines()
        # When the sub starts before the author has answered, it prints the
        # current value first, then the answer as a change.
        if out[:1] == ['Req idle'] and len(out) == 4:
            out = out[1:]
        check_eq(out, ['Req answer-1', 'Req idle', 'Req later'],
                 'console output')


def test_rta_then_sub_prints_the_answer():
    rta_then_sub(Bus().port)


if __name__ == '__main__':
    h.main(globals())
