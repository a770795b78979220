"""The bus protocol, command by command, as docs/design.md §6 states it,
against a real `mscada bus` with raw clients (tests/system/mshelp.py)."""

import os

import mshelp as h
from mshelp import (Bus, CMD_ERR, CMD_GET, CMD_ID, CMD_LIST, CMD_RTA,
                    CMD_SET, CMD_SUB, MAX_LEN, check, check_eq)

BUS_TAG = '__bus__'


def test_id_assigns_increasing_ids():
    bus = Bus()
    a, b = bus.client(), bus.client()
    check_eq(a.id(BUS_TAG), 1, 'id of __bus__ (created by the bus at start)')
    ids = [a.id('p_alpha'), a.id('p_beta'), b.id('p_gamma')]
    check(ids[0] > 1, 'first new tag got id %d, expected > 1', ids[0])
    check(ids[0] < ids[1] < ids[2], 'ids not increasing: %r', ids)
    check(len(set(ids)) == 3, 'ids repeat: %r', ids)
    # Same name, same id, from either connection.
    check_eq(b.id('p_alpha'), ids[0], 'id of p_alpha asked again by B')
    check_eq(a.id('p_gamma'), ids[2], 'id of p_gamma asked by A')
    # The reply carries the name as data (checked by Client.id too); check
    # the raw reply for a known name once more, including a UTF-8 name.
    a.send(CMD_ID, 0, 0, 'p_alpha'.encode())
    m = a.expect(lambda m: m.cmd == CMD_ID, 'ID reply')
    check_eq((m.tag_id, m.data), (ids[0], b'p_alpha'), 'ID reply')
    u = a.id('Pumpe_Überlauf_°C')
    check(u not in ids and u > ids[2], 'UTF-8 name got id %d', u)
    check_eq(b.id('Pumpe_Überlauf_°C'), u, 'id of the UTF-8 name from B')
    check_eq(a.sync(), [], 'A got unexpected messages')
    check_eq(b.sync(), [], 'B got unexpected messages')


def test_set_fans_out_except_sender():
    bus = Bus()
    a, b, c, d = (bus.client() for _ in range(4))
    tid = a.id('fan')
    for cl in (a, b, c):
        check_eq(cl.id('fan'), tid, 'id of fan')
        r = cl.sub(tid)
        check_eq((r.cmd, r.data), (CMD_SET, b''), 'SUB reply (never set)')
    # d is not subscribed.
    check_eq(d.id('fan'), tid, 'id of fan from D')
    sent = []
    for i, v in enumerate([1.5, -7, 'text', b'\x00\x01\xff', {'k': [1, 2]}]):
        t = 1700000000000000 + i
        data = h.encode_value(v)
        a.set_data(tid, data, t)
        sent.append(h.Msg(CMD_SET, tid, t, data))
    check_eq(a.sync(), [], 'the sender A must not get its own SETs')
    for name, cl in (('B', b), ('C', c)):
        got = cl.sync()
        check_eq(got, sent, 'SETs received by subscriber %s' % name)
    check_eq(d.sync(), [], 'non-subscriber D got messages')
    # Another client setting: now A (subscribed) gets it, B (sender) not.
    t = b.set_value(tid, 99, time_us=1700000000000100)
    b.sync()
    check_eq(a.sync(), [h.Msg(CMD_SET, tid, t, h.encode_value(99))],
             'A receives B\'s SET')
    check_eq(b.sync(), [], 'B must not get its own SET')
    check_eq(c.sync(), [h.Msg(CMD_SET, tid, t, h.encode_value(99))],
             'C receives B\'s SET')


def test_get_returns_last_value_and_time():
    bus = Bus()
    a, b = bus.client(), bus.client()
    never = a.id('get_never')
    r = b.get(never)
    check_eq((r.cmd, r.tag_id, r.data), (CMD_SET, never, b''),
             'GET of a never-set tag')
    values = [(h.INT, -(2 ** 63)), (h.INT, 2 ** 63 - 1), (h.FLOAT, 3.25),
              (h.STR, 'Grüße'), (h.STR, ''), (h.BYTES, bytes(range(256))),
              (h.BYTES, b''), (h.JSON, [1, 'a', None]),
              (h.JSON, {'x': {'y': 1.5}})]
    tid = a.id('get_tag')
    for i, (vt, v) in enumerate(values):
        t = 1700000000000000 + 1000 * i
        data = h.encode_value(v, vt)
        a.set_data(tid, data, t)
        a.sync()  # A's SET is handled before B's GET arrives
        r = b.get(tid)
        check_eq((r.cmd, r.tag_id, r.time_us, r.data),
                 (CMD_SET, tid, t, data),
                 'GET after SET of %s %r' % (h.TYPE_NAMES[vt], v))
        check_eq(r.value(), (vt, v), 'decoded GET value')
    # The setter can GET too.
    r = a.get(tid)
    check_eq(r.data, h.encode_value({'x': {'y': 1.5}}), 'GET by the setter')
    check_eq(a.sync(), [], 'A got extra messages')
    check_eq(b.sync(), [], 'B got extra messages')


def test_sub_replies_current_value_at_once():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('sub_tag')
    r = b.sub(tid)
    check_eq((r.cmd, r.tag_id, r.data), (CMD_SET, tid, b''),
             'SUB reply for a never-set tag')
    t = a.set_value(tid, 42, time_us=1700000000000042)
    a.sync()
    check_eq(b.sync(), [h.Msg(CMD_SET, tid, t, h.encode_value(42))],
             'update after SUB')
    c = bus.client()
    check_eq(c.id('sub_tag'), tid, 'id')
    r = c.sub(tid)
    check_eq((r.cmd, r.tag_id, r.time_us, r.data),
             (CMD_SET, tid, t, h.encode_value(42)),
             'SUB reply for a set tag')
    check_eq(c.sync(), [], 'C got more than the SUB reply')


def test_unsub_stops_updates():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('unsub_tag')
    other = a.id('unsub_other')
    b.sub(tid)
    b.sub(other)
    t1 = a.set_value(tid, 1)
    a.sync()
    check_eq(b.sync(), [h.Msg(CMD_SET, tid, t1, h.encode_value(1))],
             'update before UNSUB')
    b.unsub(tid)
    b.sync()  # the UNSUB is handled before the next SET from A
    a.set_value(tid, 2)
    t3 = a.set_value(other, 3)
    a.sync()
    check_eq(b.sync(), [h.Msg(CMD_SET, other, t3, h.encode_value(3))],
             'after UNSUB of unsub_tag only the other tag arrives')
    # GET still works after UNSUB, and SUB again resumes.
    r = b.get(tid)
    check_eq(r.value(), (h.INT, 2), 'GET after UNSUB')
    r = b.sub(tid)
    check_eq(r.value(), (h.INT, 2), 'SUB again')
    t4 = a.set_value(tid, 4)
    a.sync()
    check_eq(b.sync(), [h.Msg(CMD_SET, tid, t4, h.encode_value(4))],
             'updates resume after a new SUB')


def test_rta_forwarded_to_last_setter():
    bus = Bus()
    a, b, c = bus.client(), bus.client(), bus.client()
    tid = a.id('rta_tag')
    b.id('rta_tag')
    c.id('rta_tag')
    a.set_value(tid, 5)
    a.sync()
    req = h.encode_value({'__rta_id__': 7, 'ask': 'please'}, h.JSON)
    b.send(h.CMD_RTA, tid, 123, req)
    m = a.expect(lambda m: m.cmd == CMD_RTA, 'RTA forwarded to A')
    check_eq((m.tag_id, m.data), (tid, req), 'forwarded RTA (tag_id, data)')
    check_eq(b.sync(), [], 'the RTA sender B got a reply')
    check_eq(c.sync(), [], 'C got something')
    # C becomes the last setter: the next RTA goes to C, not A.
    c.set_value(tid, 6)
    c.sync()
    a.sync()
    b.send(h.CMD_RTA, tid, 0, req)
    m = c.expect(lambda m: m.cmd == CMD_RTA, 'RTA forwarded to C')
    check_eq((m.tag_id, m.data), (tid, req), 'RTA to the new author')
    check_eq(a.sync(), [], 'the former author A still gets RTAs')
    check_eq(b.sync(), [], 'B got something')


def test_rta_author_gone_gets_err():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('rta_gone')
    b.id('rta_gone')
    a.set_value(tid, 1)
    a.sync()
    a.close()
    req = h.encode_value({'ask': 1}, h.JSON)

    def err_seen():
        # The bus learns of A's close some time after it happens: ask again
        # until the RTA is answered with an ERR.
        b.send(h.CMD_RTA, tid, 0, req)
        got = b.sync()
        check(all(m.cmd == CMD_ERR for m in got),
              'unexpected replies to an RTA: %r', got)
        if got:
            check_eq(got[0].tag_id, tid, 'ERR tag_id for an RTA to a gone '
                     'author')
        return bool(got)
    h.wait_until(err_seen, 'an ERR for an RTA whose author has gone', 60,
                 0.1)


def test_rta_never_set_gets_err():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('rta_never')
    b.rta(tid, {'ask': 1})
    got = b.sync()
    check(len(got) == 1 and got[0].cmd == CMD_ERR and got[0].tag_id == tid,
          'RTA to a tag nobody set: expected one ERR with tag_id %d, got %r',
          tid, got)
    check_eq(a.sync(), [], 'A got something')


def test_rta_to_bus_tag_gets_err():
    # __bus__ is set by the bus itself, never by a client connection.
    bus = Bus()
    b = bus.client()
    b.rta(1, {'ask': 1})
    got = b.sync()
    check(len(got) == 1 and got[0].cmd == CMD_ERR and got[0].tag_id == 1,
          'RTA to __bus__: expected one ERR with tag_id 1, got %r', got)


def test_list_forms():
    bus = Bus()
    a = bus.client()
    names = {'alpha_flow': 1000, 'beta_flow': 2000, 'alpha_temp': 3000,
             'flowmeter': 4000, 'gamma': 5000}
    ids = {}
    for n, t in names.items():
        ids[n] = a.id(n)
        a.set_value(ids[n], 1.0, time_us=t)
    a.sync()
    check_eq(set(a.list('^alpha')), {'alpha_flow', 'alpha_temp'},
             'LIST ^alpha')
    check_eq(set(a.list('flow$')), {'alpha_flow', 'beta_flow'}, 'LIST flow$')
    check_eq(set(a.list('flow')), {'alpha_flow', 'beta_flow', 'flowmeter'},
             'LIST flow (contains)')
    check_eq(set(a.list('eta')), {'beta_flow'}, 'LIST eta (contains)')
    check_eq(a.list('^nosuchprefix'), [], 'LIST with no match')
    check_eq(a.list('nosuchsuffix$'), [], 'LIST with no match')
    # The raw reply: names joined by single spaces.
    m = a.list_msg('^alpha')
    check_eq(sorted(m.data.split(b' ')), [b'alpha_flow', b'alpha_temp'],
             'LIST reply data')
    # Empty data: tags set after the request's time_us.
    got = set(a.list('', time_us=2500))
    check({'alpha_temp', 'flowmeter', 'gamma'} <= got,
          'LIST "" after 2500 misses tags set later: %r', got)
    check(not ({'alpha_flow', 'beta_flow'} & got),
          'LIST "" after 2500 has tags set before: %r', got)
    got = set(a.list('', time_us=0))
    check(set(names) <= got, 'LIST "" after 0 misses tags: %r', got)
    # An empty LIST answers even when nothing matches.
    m = a.list_msg('', time_us=h.now_us() + 3600 * 10 ** 6)
    check_eq((m.cmd, m.data), (CMD_LIST, b''),
             'empty LIST for a time in the future')
    check_eq(a.sync(), [], 'extra messages')


def test_list_ignores_never_set_for_time_form():
    bus = Bus()
    a = bus.client()
    a.id('only_named')
    got = a.list('', time_us=0)
    check('only_named' not in got,
          'LIST "" lists a tag that was never set: %r', got)


def test_log_sets_bus_tag():
    bus = Bus()
    a, c = bus.client(), bus.client()
    r = c.sub(1)
    check_eq(r.cmd, CMD_SET, 'SUB __bus__ reply')
    check_eq(r.value(), (h.STR, 'started'), '__bus__ at start')
    a.log('hello from the test')
    a.sync()
    got = c.sync()
    check(len(got) == 1 and got[0].cmd == CMD_SET and got[0].tag_id == 1,
          'subscriber of __bus__ after LOG: expected one SET of tag 1, '
          'got %r', got)
    check_eq(got[0].value(), (h.STR, 'hello from the test'), 'LOG value')
    r = a.get(1)
    check_eq(r.value(), (h.STR, 'hello from the test'), 'GET __bus__')
    check_eq(a.sync(), [], 'the LOG sender got something')
    h.wait_until(lambda: 'hello from the test' in bus.log(),
                 'the LOG text in the bus log', 30)


def test_err_for_unknown_tag_ids():
    bus = Bus()
    a = bus.client()
    a.id('known')  # some tags exist, but not 999 or 65535
    for tid in (999, 65535):
        for cmd, data in ((CMD_GET, b''), (h.CMD_SET, h.encode_value(1)),
                          (CMD_SUB, b''),
                          (CMD_RTA, h.encode_value({'a': 1}, h.JSON))):
            a.send(cmd, tid, 0, data)
            got = a.sync()
            check(len(got) == 1 and got[0].cmd == CMD_ERR and
                  got[0].tag_id == tid,
                  '%s for unknown tag id %d: expected one ERR with that '
                  'tag_id, got %r', h.CMD_NAMES[cmd], tid, got)
    # The connection still works.
    check(a.id('known') > 1, 'ID after ERRs')


def _exact_payload(total):
    """STR data (type byte + text) of exactly total bytes."""
    body = bytes((ord('a') + i % 26) for i in range(total - 1))
    return bytes([h.STR]) + body


def test_payload_multiple_of_max_len():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('big')
    b.sub(tid)
    for total, nchunks in ((MAX_LEN, 2), (2 * MAX_LEN, 3)):
        data = _exact_payload(total)
        t = a.set_data(tid, data)
        after = a.set_value(tid, 'after', time_us=t + 1)
        a.sync()
        # Raw frames at B: the big value ends with an empty chunk, and the
        # next value is a message of its own.
        fr = [b.recv_frame() for _ in range(nchunks + 1)]
        sizes = [len(f.data) for f in fr]
        check_eq(sizes, [MAX_LEN] * (nchunks - 1) + [0, 6],
                 'chunk sizes at the subscriber for a %d-byte payload'
                 % total)
        check(all(f.cmd == CMD_SET and f.tag_id == tid for f in fr),
              'frames %r', fr)
        check_eq(b''.join(f.data for f in fr[:-1]), data,
                 'the %d-byte payload re-assembled' % total)
        check_eq(fr[-1].data, h.encode_value('after'), 'the next value')
        check_eq(fr[-1].time_us, after, 'the next value time_us')
        # GET returns the small one; set the big one again and GET it.
        a.set_data(tid, data, t)
        a.sync()
        b.sync()
        c = bus.client()
        r = c.get(tid)
        check_eq((r.time_us, len(r.data), r.data == data), (t, total, True),
                 'GET of the %d-byte payload (time, size, intact)' % total)
        c.close()
    check_eq(b.sync(), [], 'extra messages')


def test_bad_version_drops_only_that_connection():
    bus = Bus()
    a, b, bad = bus.client(), bus.client(), bus.client()
    tid = a.id('ver_tag')
    b.sub(tid)
    check(bad.id('ver_tag') == tid, 'id from the soon-bad connection')
    bad_peer = '127.0.0.1:%d' % bad.sock.getsockname()[1]
    bad.send_raw(h.frame(CMD_ID, 0, 0, b'ver_tag', version=2))
    got = bad.wait_closed(60)
    check(all(m.cmd == CMD_ERR for m in got),
          'before closing, only ERR may come back: %r', got)
    # docs/design.md §9: one log line naming the peer and the fault.
    h.wait_until(lambda: any(bad_peer in line and 'version' in line.lower()
                             for line in bus.log().splitlines()),
                 'a log line naming %s and the bad version' % bad_peer, 30)
    t = a.set_value(tid, 11)
    a.sync()
    check_eq(b.sync(), [h.Msg(CMD_SET, tid, t, h.encode_value(11))],
             'the other subscriber still gets values')
    check(bus.alive(), 'the bus process has exited')
    c = bus.client()
    check_eq(c.id('ver_tag'), tid, 'a new connection works')
    # Version 0 and 255 too.
    for v in (0, 255):
        x = bus.client()
        x.send_raw(h.frame(h.CMD_GET, tid, 0, b'', version=v))
        x.wait_closed(60)
        check(bus.alive(), 'the bus exited after version %d' % v)
    check_eq(a.get(tid).value(), (h.INT, 11), 'GET after bad versions')


def test_unknown_command_gets_err_and_connection_stays():
    bus = Bus()
    a = bus.client()
    tid = a.id('cmd_tag')
    for cmd in (0, 10, 42, 255):
        a.send(cmd, tid, 0, b'xyz')
        got = a.sync()
        check(len(got) == 1 and got[0].cmd == CMD_ERR,
              'command %d: expected one ERR, got %r', cmd, got)
    check_eq(a.id('cmd_tag'), tid, 'ID after unknown commands')
    a.set_value(tid, 3)
    check_eq(a.get(tid).value(), (h.INT, 3), 'GET after unknown commands')


def test_max_payload_drops_connection():
    bus = Bus(max_payload=100000)
    a, b = bus.client(), bus.client()
    tid = a.id('maxp')
    b.sub(tid)
    ok = bytes([h.BYTES]) + os.urandom(90000)
    t = a.set_data(tid, ok)
    a.sync()
    got = b.sync()
    check(len(got) == 1 and got[0].data == ok and got[0].time_us == t,
          'a 90001-byte payload under max_payload 100000 did not arrive '
          'intact: %r', got)
    big = bytes([h.BYTES]) + os.urandom(200000)
    try:
        a.set_data(tid, big)
    except OSError:
        pass  # the bus may close while we are still sending
    got = a.wait_closed(60)
    check(all(m.cmd == CMD_ERR for m in got),
          'only ERR may come before the close: %r', got)
    check_eq(b.sync(), [], 'the oversized value was passed on')
    check(bus.alive(), 'the bus exited')
    check_eq(b.get(tid).data, ok, 'GET after the oversized payload')


def test_chunks_reassembled_per_tag_id():
    # "size == MAX_LEN means more follows for this tag_id": a client may
    # finish another tag's message between two chunks of a long one.
    bus = Bus()
    a, b = bus.client(), bus.client()
    long_id, short_id = a.id('chunk_long'), a.id('chunk_short')
    b.sub(long_id)
    b.sub(short_id)
    data = bytes([h.BYTES]) + os.urandom(MAX_LEN + 1000)
    t = h.now_us()
    raw = (h.frame(h.CMD_SET, long_id, t, data[:MAX_LEN]) +
           h.frame(h.CMD_SET, short_id, t + 1, h.encode_value(5)) +
           h.frame(h.CMD_SET, long_id, t, data[MAX_LEN:]))
    a.send_raw(raw)
    a.sync()
    got = b.sync()
    check_eq(sorted((m.tag_id, m.time_us, m.data) for m in got),
             sorted([(short_id, t + 1, h.encode_value(5)),
                     (long_id, t, data)]),
             'interleaved chunks at the subscriber (tag, time, data)')
    check_eq(a.get(long_id).data, data, 'GET of the interleaved value')


def test_sub_twice_gives_one_update():
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('twice')
    b.sub(tid)
    b.sub(tid)
    t = a.set_value(tid, 1)
    a.sync()
    check_eq(b.sync(), [h.Msg(CMD_SET, tid, t, h.encode_value(1))],
             'one SET after subscribing twice')
    b.unsub(tid)
    b.sync()
    a.set_value(tid, 2)
    a.sync()
    check_eq(b.sync(), [], 'an UNSUB after two SUBs still leaves updates')


def test_invalid_tag_names_get_err():
    # docs/design.md §5: a name is UTF-8, up to 255 bytes.
    bus = Bus()
    a = bus.client()
    for what, name in (('an empty name', b''), ('a 256-byte name', b'n' * 256),
                       ('invalid UTF-8', b'ab\xff\xfe')):
        a.send(CMD_ID, 0, 0, name)
        got = a.sync()
        check(len(got) == 1 and got[0].cmd == CMD_ERR,
              'ID of %s: expected one ERR, got %r', what, got)
    n255 = 'm' * 255
    tid = a.id(n255)
    check_eq(a.list('^' + n255), [n255], 'LIST of the 255-byte name')
    check_eq(a.id(n255), tid, 'the 255-byte name again')


def test_set_with_bad_value_shape_gets_err():
    # docs/bus.md: the bus checks a value's shape (known type byte; INT and
    # FLOAT are 8 bytes) and answers ERR instead of passing it on.
    bus = Bus()
    a, b = bus.client(), bus.client()
    tid = a.id('shape')
    b.sub(tid)
    a.set_value(tid, 5)
    a.sync()
    b.sync()
    for what, data in (('type byte 0', b'\x00abc'), ('type byte 6', b'\x06x'),
                       ('a 3-byte INT', b'\x01\x00\x00\x07'),
                       ('a 9-byte FLOAT', b'\x02' + b'\x00' * 9)):
        a.set_data(tid, data)
        got = a.sync()
        check(len(got) == 1 and got[0].cmd == CMD_ERR and got[0].tag_id == tid,
              'SET of %s: expected one ERR, got %r', what, got)
        check_eq(b.sync(), [], 'subscriber got the bad value (%s)' % what)
    check_eq(h.decode_value(b.get(tid).data), (h.INT, 5),
             'value kept after bad SETs')
    # Empty data is a valid SET: the tag reads as never set.
    a.set_data(tid, b'')
    a.sync()
    got = b.sync()
    check(len(got) == 1 and got[0].cmd == CMD_SET and got[0].data == b'',
          'empty SET not passed on: %r', got)


if __name__ == '__main__':
    h.main(globals())
