"""Helpers for the wwwserver's login tests (test_www_auth.py and
test_www_chromium.py): a users file made with `mscada passwd`, a login
over raw HTTP (http.client), the session cookie, and a websocket tab that
carries the cookie and an Origin."""

import http.client
import json
import os
import ssl

import mshelp as h
import wwwhelp as w
from mshelp import check, check_eq

PASSWORDS = {'viewer1': 'viewpass1', 'op1': 'operpass1',
             'north': 'northpass1', 'admin1': 'adminpass1'}
ROLES = {'viewer1': 'viewer', 'op1': 'operator', 'north': 'operator',
         'admin1': 'admin'}


def users_file(d, extra=None):
    """users.yaml in d with the four users of PASSWORDS (north may write
    North_* only), made with `mscada passwd`."""
    path = os.path.join(d, 'users.yaml')
    for name, pw in PASSWORDS.items():
        st, out, err = h.run_cmd([h.MSCADA, 'passwd', path, name, '--role',
                                  ROLES[name]],
                                 input_bytes=('%s\n%s\n' % (pw, pw)).encode())
        check_eq(st, 0, 'mscada passwd %s (%s)' % (name, err))
    with open(path, 'a') as f:
        f.write(extra if extra is not None else '')
    # north: write rights by pattern (the file is plain YAML to edit)
    with open(path) as f:
        text = f.read()
    text = text.replace('north:\n  role: operator\n',
                        'north:\n  role: operator\n  write: [North_*]\n')
    with open(path, 'w') as f:
        f.write(text)
    return path


def conn(www, tls=False):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection('127.0.0.1', www.port,
                                           timeout=h.TIMEOUT, context=ctx)
    return http.client.HTTPConnection('127.0.0.1', www.port,
                                      timeout=h.TIMEOUT)


def request(www, method, path, body=None, cookie=None, tls=False,
            headers=None):
    """(status, headers dict lower-cased (set-cookie as a list), body)."""
    c = conn(www, tls)
    hd = dict(headers or {})
    if cookie:
        hd['Cookie'] = 'mscada_session=' + cookie
    if body is not None:
        hd['Content-Type'] = 'application/x-www-form-urlencoded'
    c.request(method, path, body=body, headers=hd)
    r = c.getresponse()
    data = r.read()
    hs = {}
    for k, v in r.getheaders():
        k = k.lower()
        if k == 'set-cookie':
            hs.setdefault(k, []).append(v)
        else:
            hs[k] = v
    c.close()
    return r.status, hs, data


def login(www, name, password=None, tls=False, want=303):
    """Posts the login form; returns (status, headers, the cookie's token
    or None)."""
    from urllib.parse import urlencode
    body = urlencode({'name': name,
                      'password': PASSWORDS.get(name, '') if password is None
                      else password, 'next': '/'})
    st, hs, _ = request(www, 'POST', '/login', body, tls=tls)
    check_eq(st, want, 'login status of %s' % name)
    token = None
    for c in hs.get('set-cookie', []):
        if c.startswith('mscada_session='):
            token = c.split(';')[0].split('=', 1)[1] or None
    return st, hs, token


def origin(www, tls=False):
    return '%s://127.0.0.1:%d' % ('https' if tls else 'http', www.port)


async def tab(www, token, org=None, tls=False, path='/ws'):
    """A logged-in tab (config and pages read)."""
    kw = {}
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        kw['ssl'] = ctx
    headers = {'Cookie': 'mscada_session=' + token} if token else {}
    url = '%s://127.0.0.1:%d%s' % ('wss' if tls else 'ws', www.port, path)
    ws = await w.websockets.connect(
        url, max_size=None, ping_interval=None,
        origin=org if org is not None else origin(www, tls),
        extra_headers=headers, **kw)
    ws.first = [await w.recv(ws), await w.recv(ws)]
    return ws


async def refused(www, token, org=None, what=''):
    """The websocket handshake fails."""
    try:
        ws = await tab(www, token, org)
    except (w.websockets.exceptions.InvalidStatusCode,
            w.websockets.exceptions.InvalidHandshake, ConnectionError,
            EOFError) as e:
        return str(e)
    await ws.close()
    raise AssertionError('websocket accepted: ' + what)


def audit_lines(www):
    p = os.path.join(www.dir, 'audit.jsonl')
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(x) for x in f if x.strip()]


def wait_audit(www, pred, what):
    h.wait_until(lambda: any(pred(a) for a in audit_lines(www)),
                 'audit line: ' + what)
    return [a for a in audit_lines(www) if pred(a)][-1]
