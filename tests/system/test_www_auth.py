"""`mscada wwwserver` with `users:` (docs/security.md), over raw HTTP and
websockets: without a session every route but /login redirects (pages) or
answers 401 and the websocket is refused; a bad password is refused,
audited and rate-limited; the cookie's flags; a viewer's set and
write-type rta refused with an error message and audited, an operator's
accepted and audited with old -> new, a pattern-limited operator; the
Origin check; idle and absolute session expiry (an open websocket closed
with 1008); sessions surviving a restart only with a session key file;
HTTPS/WSS with a self-signed certificate made by openssl, plain HTTP
redirected, HSTS; `mscada passwd` and `mscada audit-export`."""

import asyncio
import json
import os
import shutil
import struct

import authhelp as a
import mshelp as h
import wwwhelp as w
from mshelp import Bus, check, check_eq

TAGS = """\
North_Set: {type: float, min: 0, max: 100}
South_Set: {type: float, min: 0, max: 100}
Mode: {type: int}
"""


def www_with_users(bus, extra='', start=True, **cfg):
    d = h.tmpdir('mscada-wwwauth-')
    users = a.users_file(d)
    www = w.Www(bus.port, tags=TAGS, start=False, **cfg)
    shutil.copy(users, os.path.join(www.dir, 'users.yaml'))
    www.yaml_extra = 'users: users.yaml\n' + extra
    return www.start() if start else www


def test_login_required_and_rate_limited():
    w.need_websockets()
    bus = Bus()
    www = www_with_users(bus)
    # no session: pages redirect to the login page, other files 401
    st, hs, _ = a.request(www, 'GET', '/')
    check_eq((st, hs.get('location')), (303, '/login'), 'GET / without login')
    st, hs, _ = a.request(www, 'GET', '/app.js')
    check_eq(st, 401, 'GET /app.js without login')
    st, hs, body = a.request(www, 'GET', '/login')
    check_eq(st, 200, 'the login page')
    check(b'name=password' in body and b'action=/login' in body, body)
    check_eq(hs.get('cache-control'), 'no-store', 'login page caching')
    st, hs, _ = a.request(www, 'GET', '/login', cookie='1.forged.1.eA.AAAA')
    check_eq(st, 200, 'the login page with a forged cookie')
    st, hs, _ = a.request(www, 'GET', '/', cookie='1.forged.1.eA.AAAA')
    check_eq(st, 303, 'GET / with a forged cookie')
    w.run(a.refused(www, None, what='no cookie'))
    # a bad password: 401, the login page again, audited
    st, hs, tok = a.login(www, 'op1', 'wrong-one', want=401)
    check(tok is None, 'no cookie for a bad password')
    line = a.wait_audit(www, lambda x: x['event'] == 'login' and
                        x['result'] == 'refused', 'refused login')
    check_eq((line['user'], line['why']), ('op1', 'wrong password'),
             'audit of a bad password')
    check('wrong-one' not in open(os.path.join(www.dir,
                                               'audit.jsonl')).read() and
          'wrong-one' not in www.log(), 'the password is never written')
    # a good one: the cookie's flags (no Secure over plain HTTP)
    st, hs, tok = a.login(www, 'op1')
    check_eq(hs['location'], '/', 'redirect after login')
    ck = [c for c in hs['set-cookie'] if c.startswith('mscada_session=')][0]
    flags = [f.strip() for f in ck.split(';')[1:]]
    for f in ('HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200'):
        check(f in flags, 'cookie flag %s in %r', f, ck)
    check('Secure' not in flags, 'no Secure over HTTP: %r' % ck)
    st, hs, _ = a.request(www, 'GET', '/', cookie=tok)
    check_eq(st, 200, 'GET / logged in')

    async def ws_ok():
        ws = await a.tab(www, tok)
        check(w.is_json(ws.first[0], 'config'), ws.first)
        # after config and pages: who is logged in, what it may write
        m = json.loads(await w.recv(ws))
        check_eq(m, {'type': 'user', 'payload': {
            'name': 'op1', 'role': 'operator', 'write': None}}, 'user')
        await ws.close()
        tk = a.login(www, 'north')[2]
        ws = await a.tab(www, tk)
        m = json.loads(await w.recv(ws))
        check_eq(m['payload']['write'], ['North_*'], 'north may write')
        await ws.close()
    w.run(ws_ok())
    # five failures from this address, then every try waits (also with
    # the right password), per address and per user
    for i in range(5):
        a.login(www, 'viewer1', 'bad%d' % i, want=401)
    st, hs, _ = a.login(www, 'viewer1', 'bad5', want=429)
    check(int(hs.get('retry-after', '0')) >= 1, 'Retry-After %r', hs)
    a.login(www, 'viewer1', want=429)
    a.wait_audit(www, lambda x: x.get('why') == 'rate limited', 'rate limit')
    check('rate limited' in www.log(), 'rate limit logged')
    # logout: the cookie is cleared and refused from then on
    st, hs, _ = a.request(www, 'GET', '/logout', cookie=tok)
    check_eq((st, hs['location']), (303, '/login'), 'logout')
    check('Max-Age=0' in hs['set-cookie'][0], hs)
    st, hs, _ = a.request(www, 'GET', '/', cookie=tok)
    check_eq(st, 303, 'GET / after logout')
    w.run(a.refused(www, tok, what='after logout'))
    a.wait_audit(www, lambda x: x['event'] == 'logout', 'logout')
    check_eq(www.stop(), 0, 'exit status')


def test_roles_enforced_and_audited():
    w.need_websockets()
    bus = Bus()
    www = www_with_users(bus, audit_max=4096)
    c = bus.client()
    ids = {n: c.id(n) for n in ('North_Set', 'South_Set', 'Mode')}
    for n in ids:
        c.sub(ids[n])
    c.set_value(ids['North_Set'], 10.5)
    c.set_value(ids['South_Set'], 20.5)
    tokens = {n: a.login(www, n)[2] for n in a.PASSWORDS}

    async def set_as(user, tag, value):
        """(error message or None) for a set of tag by user."""
        ws = await a.tab(www, tokens[user])
        await w.send(ws, 'sub', tag)
        await w.recv_until(ws, lambda m: isinstance(m, bytes),
                           'the value of ' + tag)
        await w.send(ws, 'set', tag, value)
        m, _ = await w.recv_until(
            ws, lambda m: w.is_json(m, 'error') or isinstance(m, bytes) and
            struct.unpack('!d', w.binary_of(m)[3])[0] == value,
            'the answer to the set')
        await ws.close()
        return json.loads(m)['payload'] if isinstance(m, str) else None

    async def go():
        # viewer: refused, told why, nothing reaches the bus
        err = await set_as('viewer1', 'North_Set', 50.0)
        check(err and err['tagname'] == 'North_Set' and
              err['action'] == 'set' and 'viewer' in err['message'], err)
        # operator (no limits): accepted, the bus gets it
        err = await set_as('op1', 'North_Set', 60.0)
        check(err is None, 'operator set refused: %r' % err)
        m = c.expect(lambda m: m.cmd == h.CMD_SET and
                     m.tag_id == ids['North_Set'], 'the SET of North_Set')
        check_eq(m.value(), (h.FLOAT, 60.0), 'operator set on the bus')
        # north may set North_* only
        err = await set_as('north', 'North_Set', 61.0)
        check(err is None, 'north set North_Set refused: %r' % err)
        err = await set_as('north', 'South_Set', 62.0)
        check(err and 'operator' in err['message'], err)
        err = await set_as('admin1', 'South_Set', 63.0)
        check(err is None, 'admin set refused: %r' % err)
        # rta: a viewer's read passes, its write (an opnote) is refused
        ws = await a.tab(www, tokens['viewer1'])
        await w.send(ws, 'rta', 'Mode', {'action': 'GET CONFIG'})
        await w.send(ws, 'rta', 'Mode', {'action': 'ADD', 'note': 'x'})
        m, _ = await w.recv_until(ws, lambda m: w.is_json(m, 'error'),
                                  'the error of the rta')
        check_eq(json.loads(m)['payload']['action'], 'rta', 'error action')
        await ws.close()
    w.run(go())
    lines = a.audit_lines(www)
    sets = [x for x in lines if x['event'] == 'set']
    got = [(x['user'], x['role'], x['tag'], x['old'], x['new'],
            x['result']) for x in sets]
    check_eq(got, [
        ('viewer1', 'viewer', 'North_Set', 10.5, 50.0, 'refused'),
        ('op1', 'operator', 'North_Set', 10.5, 60.0, 'accepted'),
        ('north', 'operator', 'North_Set', 60.0, 61.0, 'accepted'),
        ('north', 'operator', 'South_Set', 20.5, 62.0, 'refused'),
        ('admin1', 'admin', 'South_Set', 20.5, 63.0, 'accepted')],
        'audited sets')
    check(sets[0]['why'] == 'viewers may not write' and
          sets[0]['peer'].startswith('127.0.0.1:'), sets[0])
    rtas = [x for x in lines if x['event'] == 'rta']
    check_eq([(x['user'], x['result'], x['new']['action']) for x in rtas],
             [('viewer1', 'refused', 'ADD')], 'audited rtas (reads are not)')
    check('North_Set by viewer1 (viewer) refused' in www.log(), www.log())
    # on the bus too: LOG lines the bus keeps in __bus__ / its log
    h.wait_until(lambda: 'audit: set North_Set 10.5 -> 50.0 by viewer1' in
                 bus.log(), 'the audit LOG on the bus')
    # rotation by size: enough refused sets to pass audit_max twice

    async def many():
        ws = await a.tab(www, tokens['viewer1'])
        await w.send(ws, 'sub', 'South_Set')
        for i in range(40):
            await w.send(ws, 'set', 'South_Set', float(i))
        for i in range(40):
            await w.recv_until(ws, lambda m: w.is_json(m, 'error'), 'error')
        await ws.close()
    w.run(many())
    check(os.path.exists(os.path.join(www.dir, 'audit.jsonl.1')),
          'rotated: %r' % os.listdir(www.dir))
    check(os.path.getsize(os.path.join(www.dir, 'audit.jsonl')) <= 4096,
          'audit.jsonl stays under audit_max')
    # audit-export: every file, in time order, as CSV, a range
    st, out, err = h.run_cmd([h.MSCADA, 'audit-export', 'audit.jsonl'],
                             cwd=www.dir)
    check_eq(st, 0, 'audit-export (%s)' % err)
    rows = out.splitlines()
    check_eq(rows[0], 'time,event,user,role,peer,tag,old,new,result,why',
             'header')
    check_eq(sum(1 for r in rows if ',set,' in r), 45, 'set rows')
    times = [r.split(',')[0] for r in rows[1:]]
    check_eq(times, sorted(times), 'time order')
    check(any(r.endswith(',North_Set,10.5,60.0,accepted,') for r in rows),
          rows[:12])
    st, out2, err = h.run_cmd([h.MSCADA, 'audit-export', '--from',
                               '2000-01-01', '--to', '2000-01-02',
                               'audit.jsonl'], cwd=www.dir)
    check_eq((st, out2.splitlines()[1:]), (0, []), 'an empty range')
    st, _, err = h.run_cmd([h.MSCADA, 'audit-export', '--from', 'soon'])
    check_eq(st, 2, 'a bad time')
    check_eq(www.stop(), 0, 'exit status')


def test_origin_checked():
    w.need_websockets()
    bus = Bus()
    www = www_with_users(bus, extra='origins: [https://hmi.example.org]\n')
    tok = a.login(www, 'viewer1')[2]

    async def go():
        await a.refused(www, tok, 'http://evil.example', 'another site')
        await a.refused(www, tok, 'null', 'an opaque origin')
        await a.refused(www, tok, 'http://127.0.0.1:%d/x' % www.port,
                        'an origin with a path')
        ws = await a.tab(www, tok, 'https://hmi.example.org')
        await ws.close()
        ws = await a.tab(www, tok)
        await ws.close()
        # without any Origin (not a browser): refused as well
        try:
            ws = await w.websockets.connect(
                www.url(), extra_headers={'Cookie': 'mscada_session=' + tok})
            await ws.close()
            raise AssertionError('accepted without Origin')
        except (w.websockets.exceptions.InvalidHandshake, EOFError):
            pass
    w.run(go())
    check('Origin http://evil.example is not this server' in www.log(),
          www.log())
    # a login posted from another site's page
    from urllib.parse import urlencode
    st, _, _ = a.request(www, 'POST', '/login', urlencode(
        {'name': 'op1', 'password': a.PASSWORDS['op1']}),
        headers={'Origin': 'http://evil.example'})
    check_eq(st, 403, 'login from another site')
    check_eq(www.stop(), 0, 'exit status')


def test_session_expiry():
    w.need_websockets()
    bus = Bus()
    # idle: a session unused for session_idle ends; one with an open tab
    # (max an hour away) does not, however long its last request was ago.
    # Nothing here uses the idle session's cookie before its logout (a
    # request would count as use), and the held session's tab opens before
    # the idle one logs in, so at the idle logout the held session has had
    # no request for more than session_idle too: only its tab keeps it.
    www = www_with_users(bus, session_idle=1, session_max=3600)
    held = a.login(www, 'op1')[2]

    def logout_of(user):
        return lambda x: (x['event'] == 'logout' and x['user'] == user and
                          'idle' in (x['why'] or ''))

    async def idle_part():
        ws = await a.tab(www, held)
        idle = a.login(www, 'viewer1')[2]
        a.wait_audit(www, logout_of('viewer1'), 'the idle logout')
        # on the bus log too, without a peer (the server's own doing)
        h.wait_until(lambda: 'audit: logout of viewer1 (viewer): accepted, '
                     'session expired (idle)' in bus.log(),
                     'the idle logout on the bus log')
        check_eq(a.request(www, 'GET', '/', cookie=idle)[0], 303,
                 'the idle session after its logout')
        check(not any(logout_of('op1')(x) for x in a.audit_lines(www)),
              'no logout of the session with an open tab')
        check_eq(a.request(www, 'GET', '/', cookie=held)[0], 200,
                 'the session with an open tab')
        # once its tab closes, it idles out like any other
        await ws.close()
        a.wait_audit(www, logout_of('op1'), 'the idle logout after the tab')
        check_eq(a.request(www, 'GET', '/', cookie=held)[0], 303,
                 'the session after its tab closed and it idled')
    w.run(idle_part())
    www.stop()
    # absolute: session_max ends a session even with its tab open; the
    # websocket is closed with 1008
    www.cfg.update(session_idle=3600, session_max=2)
    www.start()
    held = a.login(www, 'op1')[2]

    async def max_part():
        ws = await a.tab(www, held)
        try:
            while True:
                await w.recv(ws, 30)
        except w.websockets.exceptions.ConnectionClosed as e:
            check_eq(e.code, 1008, 'close code')
            check_eq(e.reason, 'session ended', 'close reason')
    w.run(max_part())
    check_eq(a.request(www, 'GET', '/', cookie=held)[0], 303,
             'GET / after session_max')
    check_eq(www.stop(), 0, 'exit status')


def test_sessions_survive_restart_only_with_a_key_file():
    bus = Bus()
    www = www_with_users(bus)
    tok = a.login(www, 'viewer1')[2]
    check_eq(www.stop(), 0, 'exit status')
    www.start()
    check_eq(a.request(www, 'GET', '/', cookie=tok)[0], 303,
             'no key file: logged out by a restart')
    www.stop()
    www.yaml_extra += 'session_key: session.key\n'
    www.start()
    tok = a.login(www, 'viewer1')[2]
    key = os.path.join(www.dir, 'session.key')
    check_eq((os.path.getsize(key), os.stat(key).st_mode & 0o777),
             (32, 0o600), 'the key file')
    www.stop()
    www.start()
    check_eq(a.request(www, 'GET', '/', cookie=tok)[0], 200,
             'key file: the session survives')
    check_eq(www.stop(), 0, 'exit status')


def test_tls_self_signed():
    w.need_websockets()
    if not shutil.which('openssl'):
        h.skip('no openssl CLI (scripts/deps.sh installs it)')
    bus = Bus()
    www = www_with_users(bus, extra='tls_cert: cert.pem\ntls_key: '
                         'key.pem\nhsts: true\n', start=False)
    st, out, err = h.run_cmd(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
         '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj',
         '/CN=127.0.0.1'], cwd=www.dir)
    check_eq(st, 0, 'openssl (%s)' % err)
    www.start()
    check('listening on https://' in www.log(), www.log())
    st, hs, body = a.request(www, 'GET', '/login', tls=True)
    check_eq(st, 200, 'the login page over HTTPS')
    check('max-age' in hs.get('strict-transport-security', ''), hs)
    st, hs, tok = a.login(www, 'op1', tls=True)
    ck = hs['set-cookie'][0]
    check('; Secure' in ck, 'Secure under TLS: %r' % ck)
    # plain HTTP on the same port: redirected to https
    st, hs, _ = a.request(www, 'GET', '/login')
    check(st in (301, 302, 303, 307, 308) and
          hs.get('location', '').startswith('https://'), (st, hs))

    async def go():
        ws = await a.tab(www, tok, tls=True)
        check(w.is_json(ws.first[1], 'pages'), ws.first)
        await ws.close()
    w.run(go())
    check_eq(www.stop(), 0, 'exit status')


def test_passwd():
    d = h.tmpdir()
    path = os.path.join(d, 'users.yaml')
    with open(path, 'w') as f:
        f.write('# our users\nalice:   # the shift lead\n  role: admin\n')
    st, out, err = h.run_cmd([h.MSCADA, 'passwd', path, 'alice'],
                             input_bytes=b'longpass1\nlongpass1\n')
    check_eq(st, 0, 'passwd (%s)' % err)
    text = open(path).read()
    check(text.startswith('# our users\nalice:   # the shift lead\n') and
          "  hash: '$argon2id$" in text and 'longpass1' not in text, text)
    check_eq(os.stat(path).st_mode & 0o777, 0o600, 'mode')
    before = text
    for inp, what in ((b'longpass1\nlongpass2\n', 'differ'),
                      (b'short\nshort\n', 'at least 8'), (b'', 'no password')):
        st, out, err = h.run_cmd([h.MSCADA, 'passwd', path, 'bob'],
                                 input_bytes=inp)
        check_eq(st, 2, 'exit status (%s)' % what)
        check(what in err, err)
    check_eq(open(path).read(), before, 'unchanged after refusals')
    st, out, err = h.run_cmd([h.MSCADA, 'passwd', path, 'bob', '--role',
                              'operator'],
                             input_bytes=b'bobspass1\nbobspass1\n')
    check_eq(st, 0, 'a new user (%s)' % err)
    st, out, err = h.run_cmd([h.MSCADA, 'passwd', path, 'alice'],
                             input_bytes=b'newpass12\nnewpass12\n')
    check_eq(st, 0, 'a changed password (%s)' % err)
    text = open(path).read()
    check_eq(text.count('$argon2id$'), 2, 'two hashes in %r' % text)
    check('bob:\n  role: operator\n' in text, text)
    st, out, err = h.run_cmd([h.MSCADA, 'passwd', path, 'x', '--role',
                              'king'], input_bytes=b'')
    check_eq(st, 2, 'a bad role')


if __name__ == '__main__':
    h.main(globals())
