"""The bus snapshot: last values survive a kill -9 and a SIGTERM, only
tags with a value are kept, and a corrupt snapshot file does not stop the
bus from starting.

The snapshot's format is the server's own business; the tests only assume
that a tag's name and an ASCII STR value appear in it as plain bytes (true
of any JSON or simple binary format), which is how they tell that a
snapshot newer than some change has been written."""

import os
import signal
import uuid

import mshelp as h
from mshelp import Bus, CMD_SET, check, check_eq

VALUES = [
    ('snap_int', h.INT, -1234567890123),
    ('snap_float', h.FLOAT, 2.718281828459045),
    ('snap_str', h.STR, 'Grüße, "quoted"\nnewline'),
    ('snap_bytes', h.BYTES, bytes(range(256)) + b'\x00' * 10),
    ('snap_json', h.JSON, {'list': [1, 2.5, 'x', None, True],
                           'nested': {'a': {}}}),
]


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return b''


def _set_all(cl, base_t):
    ids, sent = {}, {}
    for i, (name, vt, v) in enumerate(VALUES):
        ids[name] = cl.id(name)
        t = base_t + i
        data = h.encode_value(v, vt)
        cl.set_data(ids[name], data, t)
        sent[name] = (t, data)
    cl.sync()
    return ids, sent


def _set_marker(cl):
    """Sets a tag to a unique ASCII text after everything else (the server
    handles a connection's messages in order): a snapshot file that holds
    the marker holds all earlier values too."""
    marker = 'marker-%s' % uuid.uuid4().hex
    cl.set_value(cl.id('snap_marker'), marker)
    cl.sync()
    return marker.encode()


def _check_restored(bus, ids, sent, what):
    c = bus.client()
    check_eq(c.id('__bus__'), 1, '%s: id of __bus__' % what)
    for name, (t, data) in sent.items():
        check_eq(c.id(name), ids[name], '%s: id of %s' % (what, name))
    for name, (t, data) in sent.items():
        r = c.get(ids[name])
        check_eq((r.cmd, r.tag_id, r.time_us, r.data),
                 (CMD_SET, ids[name], t, data),
                 '%s: GET %s' % (what, name))
    new = c.id('snap_new_after_restart')
    check(new not in ids.values() and new != 1,
          '%s: a new name got id %d, which is taken (%r)', what, new, ids)
    c.close()


def test_snapshot_survives_kill_9():
    d = h.tmpdir()
    snap = os.path.join(d, 'bus.snapshot')
    bus = Bus(snapshot=snap, snapshot_interval=0.5)
    a = bus.client()
    a.id('snap_only_named')  # an id without a value
    ids, sent = _set_all(a, 1700000000000000)
    marker = _set_marker(a)
    ids['snap_marker'] = a.id('snap_marker')
    h.wait_until(lambda: marker in _read(snap),
                 'the snapshot file %s to hold the marker value' % snap, 60)
    content = _read(snap)
    for name in ids:
        check(name.encode() in content, 'snapshot lacks the name %s', name)
    a.close()
    bus.kill()
    bus.start()
    r = bus.client().get(ids['snap_marker'])
    check_eq(r.data, h.encode_value(marker.decode()), 'marker after restart')
    _check_restored(bus, {k: ids[k] for k in sent}, sent, 'after kill -9')
    c = bus.client()
    # A second round: change values, kill again, restart again.
    sent2 = {}
    for i, (name, vt, v) in enumerate(VALUES):
        data = h.encode_value(v if vt != h.INT else v + 1, vt)
        t = 1700000000001000 + i
        c.set_data(ids[name], data, t)
        sent2[name] = (t, data)
    c.sync()
    marker = _set_marker(c)
    h.wait_until(lambda: marker in _read(snap),
                 'the snapshot to hold the second marker', 60)
    bus.kill()
    bus.start()
    _check_restored(bus, {k: ids[k] for k in sent2}, sent2,
                    'after the second kill -9')


def test_sigterm_writes_final_snapshot():
    d = h.tmpdir()
    snap = os.path.join(d, 'bus.snapshot')
    # An interval far longer than the test: only the final snapshot
    # written on SIGTERM can hold the value.
    bus = Bus(snapshot=snap, snapshot_interval=3600)
    a = bus.client()
    ids, sent = _set_all(a, 1700000000002000)
    a.close()
    status = bus.stop(signal.SIGTERM, 60)
    check_eq(status, 0, 'exit status after SIGTERM')
    check(os.path.exists(snap), 'no snapshot file after SIGTERM')
    bus.start()
    _check_restored(bus, ids, sent, 'after SIGTERM')
    # SIGINT does the same.
    b = bus.client()
    t = b.set_value(ids['snap_int'], 77, time_us=1700000000003000)
    b.sync()
    b.close()
    check_eq(bus.stop(signal.SIGINT, 60), 0, 'exit status after SIGINT')
    bus.start()
    r = bus.client().get(ids['snap_int'])
    check_eq((r.time_us, r.value()), (t, (h.INT, 77)),
             'value set just before SIGINT')


def test_snapshot_keeps_only_tags_with_a_value():
    # A reader's ID (a typo, a tag nobody writes) names a tag without
    # setting it: the restarted bus has forgotten it.
    d = h.tmpdir()
    snap = os.path.join(d, 'bus.snapshot')
    bus = Bus(snapshot=snap, snapshot_interval=3600)
    a = bus.client()
    ids, sent = _set_all(a, 1700000000004000)
    a.id('snap_TankLevl')
    emptied = a.id('snap_emptied')
    a.set_value(emptied, 5)
    a.set_data(emptied, b'')  # set to "never set" again
    a.sync()
    check_eq(sorted(a.list('snap_')), sorted(list(ids) + ['snap_TankLevl',
                                                         'snap_emptied']),
             'names before the restart')
    a.close()
    check_eq(bus.stop(signal.SIGTERM, 60), 0, 'exit status after SIGTERM')
    check(b'snap_TankLevl' not in _read(snap),
          'the snapshot holds a tag that was never set')
    bus.start()
    c = bus.client()
    check_eq(sorted(c.list('snap_')), sorted(ids),
             'names after the restart: only tags with a value')
    check('__bus__' in c.list('^__bus__'), '__bus__ after the restart')
    c.close()
    _check_restored(bus, ids, sent, 'after SIGTERM')


ERROR_WORDS = ('error', 'corrupt', 'invalid', 'bad', 'fail', 'ignor',
               'cannot', "can't", 'unreadable', 'malformed', 'truncat')


def _snapshot_error_logged(bus):
    for line in bus.log().lower().splitlines():
        if 'snapshot' in line and any(w in line for w in ERROR_WORDS):
            return True
    return False


def _corrupt_start(content, what, want_log=True):
    """Starts a bus on a snapshot file holding content; checks it runs.
    Returns the bus, a client and the names LIST "" gave at once."""
    d = h.tmpdir()
    snap = os.path.join(d, 'bus.snapshot')
    with open(snap, 'wb') as f:
        f.write(content)
    bus = Bus(snapshot=snap, snapshot_interval=0.5)
    c = bus.client()
    names = c.list('', time_us=0)
    check_eq(c.id('__bus__'), 1, '%s: id of __bus__' % what)
    tid = c.id('after_corrupt')
    c.set_value(tid, 5)
    check_eq(c.get(tid).value(), (h.INT, 5), '%s: the bus works' % what)
    if want_log:
        h.wait_until(lambda: _snapshot_error_logged(bus),
                     '%s: a log line about the bad snapshot' % what, 30)
    return bus, c, names


def test_corrupt_snapshot_garbage():
    bus, c, names = _corrupt_start(
        b'\x00\xff{[' + os.urandom(3000), 'random bytes')
    check(all(n.startswith('__bus') for n in names),
          'a bus started from a garbage snapshot should start empty; '
          'LIST "": %r', names)


def test_corrupt_snapshot_empty_file():
    bus, c, names = _corrupt_start(b'', 'an empty file', want_log=False)
    check(all(n.startswith('__bus') for n in names),
          'a bus started from an empty snapshot file should start empty; '
          'LIST "": %r', names)


def test_corrupt_snapshot_truncated():
    # A real snapshot cut in half. It may be partly used or not at all;
    # it must not stop the bus.
    d = h.tmpdir()
    snap = os.path.join(d, 'bus.snapshot')
    bus = Bus(snapshot=snap, snapshot_interval=3600)
    a = bus.client()
    _set_all(a, 1700000000004000)
    a.close()
    check_eq(bus.stop(), 0, 'exit status after SIGTERM')
    content = _read(snap)
    check(len(content) > 20, 'snapshot of %d bytes', len(content))
    _corrupt_start(content[:len(content) // 2], 'a truncated snapshot',
                   want_log=False)


if __name__ == '__main__':
    h.main(globals())
