"""`mscada wwwserver` against a real bus (and a real `mscada history`),
through raw websockets (Debian's python3-websockets): pymscada's browser
protocol byte for byte (config, pages, tag_info as standardise_tag_info
gives it for config/tags.yaml, binary frames of each type, list and dict
`tag` messages), sets with the server's time, every bad input of
pymscada's quirks list logged and the connection kept, a history reply to
the asking tab only (rta and the 2024 rqs form), distinct rta ids, two
browsers, a browser that never reads (closed with 1008, memory bounded,
the other tab served), the bus restarted (values resume), the wwwserver
restarted, and the status tag."""

import asyncio
import json
import os
import signal
import socket
import struct

import yaml

import mshelp as h
import wwwhelp as w
from mshelp import Bus, check, check_eq
from test_history import History, TAGS_YAML as HIST_TAGS

EXTRA_TAGS = """\
Text:
  desc: A string
  type: str
  dp: 3
Blob:
  type: bytes
Items:
  type: list
Table:
  desc: A dict
  type: dict
Oddtype:
  type: complex
  dp: 1
"""


def repo_tags():
    with open(os.path.join(w.TOP, 'config', 'tags.yaml')) as f:
        return f.read()


def test_protocol_byte_for_byte():
    w.need_websockets()
    bus = Bus()
    tags_text = repo_tags() + EXTRA_TAGS
    with open(os.path.join(w.TOP, 'config', 'wwwserver.yaml')) as f:
        www_yaml = yaml.safe_load(f)
    extra = ('config: %s\npages: %s\n' % (json.dumps(www_yaml['config']),
                                          json.dumps(www_yaml['pages'])))
    www = w.Www(bus.port, tags=tags_text, yaml_extra=extra)
    c = bus.client()
    t0 = 1700000000000000
    values = {
        'FlowRate': (h.FLOAT, 12.5, '!d'), 'PumpMode': (h.INT, 2, '!q'),
        'StartTime': (h.INT, 1700000000, '!q'),
        'TankLevel': (h.FLOAT, -0.25, '!d'), 'PumpStarts': (h.INT, -7, '!q'),
        'Text': (h.STR, 'h\u00e9llo', None),
        'Blob': (h.BYTES, b'\x00\x00abc', None),
        'Items': (h.JSON, [1, 'a', None], None),
        'Table': (h.JSON, {'a': 1.5, 'b': [True]}, None),
        'Oddtype': (h.STR, 'x', None)}
    ids = {}
    for i, (name, (vt, v, _)) in enumerate(values.items()):
        ids[name] = c.id(name)
        c.set_value(ids[name], v, vt, time_us=t0 + i)
    c.sync()
    want_tags = yaml.safe_load(tags_text)

    async def go():
        ws = await w.tab(www)
        check_eq(ws.first[0], w.msg_text('config', www_yaml['config']),
                 'config message')
        check_eq(ws.first[1], w.msg_text('pages', www_yaml['pages']),
                 'pages message')
        for i, name in enumerate(values):
            await w.send(ws, 'sub', name)
            info = await w.recv(ws)
            ref = w.standardise_tag_info(name, dict(want_tags[name]))
            ref['id'] = ids[name]
            check_eq(info, w.msg_text('tag_info', ref), 'tag_info ' + name)
            vt, v, fmt = values[name]
            m = await w.recv(ws)
            if vt == h.JSON:
                check_eq(m, w.msg_text('tag', {'tagid': ids[name],
                                               'time_us': t0 + i,
                                               'value': v}), name)
                continue
            if fmt:
                body = struct.pack(fmt, v)
            elif vt == h.STR:
                body = v.encode()
            else:
                body = v
            check_eq(m, struct.pack('!HHQ', ids[name], vt, t0 + i) + body,
                     'binary frame of ' + name)
        # a set: the bus gets it with the server's time (not the browser's)
        c.sub(ids['FlowRate'])
        before = h.now_us()
        await w.send(ws, 'set', 'FlowRate', 33.3)
        m = c.expect(lambda m: m.cmd == h.CMD_SET and
                     m.tag_id == ids['FlowRate'], 'the SET of FlowRate')
        check_eq(m.value(), (h.FLOAT, 33.3), 'value set')
        check(before <= m.time_us <= h.now_us(), 'time %d', m.time_us)
        # the setting tab sees it too, as pymscada's does
        m = await w.recv(ws)
        check_eq(w.binary_of(m)[3], struct.pack('!d', 33.3), 'echo')
        await ws.close()
    w.run(go())
    check_eq(www.stop(), 0, 'exit status')


def test_bad_inputs_keep_the_connection():
    w.need_websockets()
    bus = Bus()
    www = w.Www(bus.port, tags=repo_tags() + EXTRA_TAGS)
    c = bus.client()
    fid = c.id('FlowRate')
    c.sub(fid)

    async def go():
        ws = await w.tab(www)
        peer = '127.0.0.1:%d' % ws.local_address[1]
        bad = [
            json.dumps({'type': 'set', 'tagname': 'FlowRate', 'value': 1}),
            json.dumps({'type': 'file', 'action': 'upload',
                        'filename': 'a.pdf'}),
            json.dumps({'type': 'sub', 'value': None}),
            '{"type": "sub", "tagname": ',
            b'\x00\x01binary',
            json.dumps({'type': 'explode', 'tagname': 'FlowRate'}),
            json.dumps({'type': 'sub', 'tagname': 'NoSuchTag'}),
        ]
        for m in bad:
            await ws.send(m)
        await w.send(ws, 'sub', 'FlowRate')
        m = await w.recv(ws)
        check(w.is_json(m, 'tag_info'), 'tag_info after bad input: %r', m)
        # wrong type and out of min/max: refused, nothing reaches the bus
        for v in ('fast', 501, -1, [1]):
            await w.send(ws, 'set', 'FlowRate', v)
        await w.send(ws, 'set', 'FlowRate', 250)
        m = c.expect(lambda m: m.cmd == h.CMD_SET and m.tag_id == fid,
                     'the valid SET')
        check_eq(m.value(), (h.FLOAT, 250.0), 'first SET the bus saw')
        await w.recv(ws)  # its echo
        await w.send(ws, 'sub', 'PumpMode')
        m = await w.recv(ws)
        check(w.is_json(m, 'tag_info'), 'connection still serves: %r', m)
        await ws.close()
        return peer
    peer = w.run(go())
    log = www.log()
    lines = [l for l in log.splitlines() if peer in l and
             ('ignored' in l or 'refused' in l)]
    check_eq(len(lines), len(['set', 'file', 'notag', 'json', 'bin', 'type',
                              'unknown', 'str', 'max', 'min', 'list']),
             'log lines naming the peer:\n' + '\n'.join(lines))
    check('Traceback' not in log and www.proc.poll() is None, 'alive')


def test_history_to_the_asking_tab_only():
    w.need_websockets()
    bus = Bus()
    hist = History(bus, flush_interval=1)
    www = w.Www(bus.port, tags=HIST_TAGS)
    c = bus.client()
    flow = c.id('Flow')
    hid = c.id('__history__')
    t0 = h.now_us() - 10000000
    for i in range(20):
        c.set_value(flow, float(i), h.FLOAT, time_us=t0 + i * 1000)
    c.sync()

    async def ask(ws, form):
        """Asks until the reply holds all 20 records; returns its rta id."""
        while True:
            await w.send(ws, form, '__history__',
                         {'tagname': 'Flow', 'start_ms': t0 // 1000 - 1,
                          'end_ms': h.now_us() // 1000 + 1000})
            m, _ = await w.recv_until(
                ws, lambda m: isinstance(m, bytes) and
                w.binary_of(m)[0] == hid and len(m) > 18, 'history reply')
            tid, vt, t, body = w.binary_of(m)
            check_eq(vt, h.BYTES, 'type of the reply')
            rta, tag, pack = struct.unpack_from('!HHH', body)
            check_eq((tag, pack), (flow, 2), 'reply header')
            recs = [struct.unpack_from('!Qd', body, 6 + 16 * k)
                    for k in range((len(body) - 6) // 16)]
            if len(recs) >= 20:
                check_eq(recs[:20], [(t0 + i * 1000, float(i))
                                     for i in range(20)], 'records')
                return rta

    async def nothing_for(ws, rta_ids, probe):
        """Subscribes probe; everything before its tag_info must carry no
        other tab's rta id (the reset, id 0, goes to all)."""
        await w.send(ws, 'sub', probe)
        _, before = await w.recv_until(
            ws, lambda m: w.is_json(m, 'tag_info') and
            json.loads(m)['payload']['name'] == probe, 'probe tag_info')
        for m in before:
            if isinstance(m, bytes) and w.binary_of(m)[0] == hid:
                rta = struct.unpack_from('!H', m, 12)[0]
                check(rta == 0, 'a reply for rta id %d reached another tab',
                      rta)

    async def go():
        a = await w.tab(www)
        b = await w.tab(www)
        for ws in (a, b):
            await w.send(ws, 'sub', '__history__')
            await w.recv_until(ws, lambda m: w.is_json(m, 'tag_info'),
                               'tag_info')
        ra = await ask(a, 'rta')
        check(ra != 0, 'a has an rta id')
        await nothing_for(b, [ra], 'Count')
        rb = await ask(b, 'rqs')  # the 2024 form
        check(rb not in (0, ra), 'distinct ids %d %d', ra, rb)
        await nothing_for(a, [rb], 'Level')
        await a.close()
        await b.close()
    w.run(go())
    hist.stop()


def test_rta_ids_distinct_and_recycled():
    w.need_websockets()
    bus = Bus()
    www = w.Www(bus.port, tags=EXTRA_TAGS)
    c = bus.client()
    tid = c.id('Table')
    c.set_value(tid, {'init': 1}, h.JSON)  # the author: RTAs come here
    c.sync()

    async def ids_of(tabs):
        for ws in tabs:
            await w.send(ws, 'rta', 'Table', {'action': 'GET CONFIG'})
        got = []
        for _ in tabs:
            m = c.expect(lambda m: m.cmd == h.CMD_RTA and m.tag_id == tid,
                         'an RTA')
            v = m.value()[1]
            check_eq(v['action'], 'GET CONFIG', 'request kept')
            got.append(v['__rta_id__'])
        return got

    async def go():
        tabs = [await w.tab(www) for _ in range(5)]
        first = await ids_of(tabs)
        check_eq(len(set(first)), 5, 'ids of 5 live tabs %r' % first)
        await tabs[0].close()
        await tabs[0].wait_closed()
        h.wait_until(lambda: 'browser gone (rta id %d)' % first[0]
                     in www.log(), 'the close')
        tabs[0] = await w.tab(www)
        second = await ids_of(tabs)
        check_eq(len(set(second)), 5, 'ids after a reconnect %r' % second)
        for ws in tabs:
            await ws.close()
    w.run(go())


def test_slow_browser_is_dropped_others_served():
    w.need_websockets()
    bus = Bus()
    www = w.Www(bus.port, tags=repo_tags() + EXTRA_TAGS, queue_max='1M',
                status_interval=0.2)
    c = bus.client()
    tid = c.id('Table')
    iid = c.id('PumpStarts')
    sid = c.id('__wwwserver__')
    c.sub(sid)

    def status():
        m = c.expect(lambda m: m.cmd == h.CMD_SET and m.tag_id == sid,
                     'status')
        return m.value()[1]

    async def go():
        fast = await w.tab(www)
        slow = w.RawTab(www.port)
        for ws in (fast,):
            await w.send(ws, 'sub', 'Table')
            await w.send(ws, 'sub', 'PumpStarts')
        slow.send_text(json.dumps({'type': 'sub', 'tagname': 'Table'}))
        slow.send_text(json.dumps({'type': 'sub', 'tagname': 'PumpStarts'}))
        h.wait_until(lambda: status()['connections'] == 2 and all(
            p['subs'] == 2 for p in status()['peers']), 'both subscribed')
        rss0 = h.Bus.rss_kb(www)
        # scalars are conflated: 5000 updates never fill the queue
        for i in range(5000):
            c.set_value(iid, i, h.INT)
        c.sync()
        m, _ = await w.recv_until(
            fast, lambda m: isinstance(m, bytes) and w.binary_of(m)[0] == iid
            and w.binary_of(m)[3] == struct.pack('!q', 4999), 'last int')
        check_eq(status()['connections'], 2, 'slow tab kept for scalars')
        # 200 dicts of 64 KB: 12.8 MB for a tab whose queue holds 1 MB
        blob = 'x' * 65536
        for i in range(200):
            c.set_value(tid, {'n': i, 'pad': blob}, h.JSON)
            if i % 4 == 3:
                c.sync()
                # the tab that reads gets every one, in order
                while True:
                    m = await w.recv(fast)
                    if w.is_json(m, 'tag'):
                        n = json.loads(m)['payload']['value'].get('n')
                        if n == i:
                            break
        h.wait_until(lambda: 'closing it (1008)' in www.log(), '1008 close')
        h.wait_until(lambda: status()['connections'] == 1, 'slow tab gone')
        st = status()
        check_eq(st['dropped'], 1, 'dropped')
        rss1 = h.Bus.rss_kb(www)
        if not h.is_sanitized():
            check(rss1 - rss0 < 40 * 1024, 'RSS grew %d kB', rss1 - rss0)
        slow.close()
        await fast.close()
    w.run(go())


def test_bus_restart_values_resume():
    w.need_websockets()
    bus = Bus()  # restarted on the port it got
    www = w.Www(bus.port, tags=repo_tags())

    async def go():
        ws = await w.tab(www)
        await w.send(ws, 'sub', 'PumpStarts')
        await w.recv_until(ws, lambda m: w.is_json(m, 'tag_info'), 'info')
        bus.stop()
        await w.recv_until(ws, lambda m: m == w.msg_text(
            'bus', {'connected': False}), 'bus down message')
        bus.start()
        await w.recv_until(ws, lambda m: m == w.msg_text(
            'bus', {'connected': True}), 'bus up message')
        m, _ = await w.recv_until(ws, lambda m: w.is_json(m, 'tag_info'),
                                  'tag_info again')
        new_id = json.loads(m)['payload']['id']
        c = bus.client()
        check_eq(c.id('PumpStarts'), new_id, 'the new bus id')
        c.set_value(new_id, 77, h.INT)
        m, _ = await w.recv_until(
            ws, lambda m: isinstance(m, bytes) and
            w.binary_of(m)[3] == struct.pack('!q', 77), 'value after restart')
        check_eq(w.binary_of(m)[0], new_id, 'frame id')
        await ws.close()
    w.run(go())


def test_wwwserver_restart():
    w.need_websockets()
    bus = Bus()
    www = w.Www(bus.port, tags=repo_tags())

    async def go():
        ws = await w.tab(www)
        check_eq(www.stop(), 0, 'exit status on SIGTERM with a tab open')
        try:
            await w.recv(ws)
            check(False, 'expected the close')
        except w.websockets.ConnectionClosed as e:
            check_eq(e.code, 1001, 'close code')
        www.start()
        ws = await w.tab(www)
        c = bus.client()
        pid = c.id('PumpStarts')
        c.set_value(pid, 5, h.INT)
        c.sync()
        await w.send(ws, 'sub', 'PumpStarts')
        m, _ = await w.recv_until(ws, lambda m: isinstance(m, bytes),
                                  'the value')
        check_eq(w.binary_of(m)[3], struct.pack('!q', 5), 'value')
        await ws.close()
    w.run(go())


def test_ws_paths_and_bad_config():
    w.need_websockets()
    bus = Bus()
    www = w.Www(bus.port, tags='')

    async def go():
        ws = await w.tab(www, '/some/dir/ws')  # <dir>/ws, as the app opens
        check(w.is_json(ws.first[1], 'pages'), 'pages')
        await ws.close()
        try:
            await w.websockets.connect(www.url('/other'), ping_interval=None)
            check(False, 'a websocket at /other was accepted')
        except (w.websockets.InvalidHandshake, OSError, EOFError):
            pass
    w.run(go())
    # the port taken: exit 1 naming it, no crash, nothing left running
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(1)
    try:
        taken = w.Www(bus.port, start=False, port=s.getsockname()[1])
        with open(taken.config_path, 'w') as f:
            f.write(taken.config_text(taken.port))
        # several times: lws used to unload its libuv glue while closing
        # handles still pointed into it, a crash in about 1 start of 6
        for _ in range(25):
            st, out, err = h.run_cmd([h.MSCADA, 'wwwserver', '--config',
                                      taken.config_path, '--tags',
                                      taken.tags_path])
            check_eq(st, 1, 'exit status with the port taken (%s)' % err)
            check('cannot listen on 127.0.0.1:%d' % taken.port in err, err)
            check('Sanitizer' not in err, err)
    finally:
        s.close()
    d = h.tmpdir()
    for text, what in (('port: 70000\n', 'port'), ('pages: 3\n', 'pages'),
                       ('get_path: /no/such/dir\n', 'get_path')):
        p = os.path.join(d, 'bad.yaml')
        with open(p, 'w') as f:
            f.write(text)
        st, out, err = h.run_cmd([h.MSCADA, 'wwwserver', '--config', p])
        check_eq(st, 2, 'exit status for a bad ' + what)
        check('bad.yaml:1:' in err, 'file:line in %r', err)


if __name__ == '__main__':
    h.main(globals())
