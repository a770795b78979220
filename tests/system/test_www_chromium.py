"""A real browser through `mscada wwwserver`: headless Chromium (Debian's
`chromium`, driven over the DevTools protocol with python3-websocket)
loads a small static page from get_path that opens <dir>/ws, subscribes
to a tag, decodes the binary value frames and shows the value; the test
sets the tag on the bus and reads the page until it shows it, twice (the
live update too). Skips, saying why, when chromium or python3-websocket
is absent (scripts/deps.sh installs both)."""

import json
import os
import re
import shutil
import urllib.request

import mshelp as h
import wwwhelp as w
from mshelp import Bus, check, check_eq

try:
    import websocket  # python3-websocket (websocket-client), a CDP client
except ImportError:
    websocket = None

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ws test</title></head>
<body><p>IntVal: <span id="v">none</span></p><p id="s">connecting</p>
<script>
const url = location.href.replace(/^http/, 'ws').replace(/[^/]*$/, '') + 'ws';
const ws = new WebSocket(url);
ws.binaryType = 'arraybuffer';
let id = null;
ws.onmessage = (e) => {
  if (typeof e.data === 'string') {
    const m = JSON.parse(e.data);
    document.getElementById('s').textContent = m.type;
    if (m.type === 'pages')
      ws.send(JSON.stringify({type: 'sub', tagname: 'IntVal', value: null}));
    if (m.type === 'tag_info' && m.payload.name === 'IntVal')
      id = m.payload.id;
    return;
  }
  const d = new DataView(e.data);
  if (d.getUint16(0) === id && d.getUint16(2) === 1)
    document.getElementById('v').textContent =
      Number(d.getBigInt64(12)).toString();
};
ws.onclose = (e) => { document.getElementById('s').textContent =
  'closed ' + e.code; };
</script></body></html>
"""

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']


def chromium():
    for name in ('chromium', 'chromium-browser'):
        p = shutil.which(name)
        if p:
            return p
    return None


def need_chromium():
    """Skips, saying why, without chromium or python3-websocket."""
    if not chromium():
        h.skip('chromium is not installed (scripts/deps.sh installs it)')
    if websocket is None:
        h.skip('python3-websocket is not installed (scripts/deps.sh '
               'installs it)')


def start_chromium(d):
    """Headless Chromium, its output to d/chromium.log: (proc, port) once
    it says where DevTools listens. Port 0: it binds one of its own
    choosing and names it in that line, so no other process can hold it."""
    log = os.path.join(d, 'chromium.log')
    proc = h.spawn([chromium()] + FLAGS + [
        '--remote-debugging-port=0',
        '--user-data-dir=' + os.path.join(d, 'profile'), 'about:blank'], log)
    line = h.wait_logged(proc, log, 'DevTools listening on ws://127.0.0.1:'
                         '{port}/', what='chromium', timeout=90)[0]
    return proc, int(re.search(r'127\.0\.0\.1:(\d+)/', line).group(1))


class Cdp:
    def __init__(self, port, url):
        req = urllib.request.Request(
            'http://127.0.0.1:%d/json/new?%s' % (port, url), method='PUT')
        with urllib.request.urlopen(req, timeout=h.TIMEOUT) as r:
            target = json.load(r)
        self.ws = websocket.create_connection(
            target['webSocketDebuggerUrl'], suppress_origin=True,
            timeout=h.TIMEOUT)
        self.n = 0

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method,
                                 'params': params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('id') == self.n:
                check('error' not in m, '%s: %r', method, m)
                return m['result']

    def eval(self, expr):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True)
        return r['result'].get('value')

    def close(self):
        self.ws.close()


def test_chromium_shows_a_value():
    need_chromium()
    bus = Bus()
    app = os.path.join(h.tmpdir('mscada-page-'), 'hmi')
    os.makedirs(app)
    with open(os.path.join(app, 'index.html'), 'w') as f:
        f.write(PAGE)
    www = w.Www(bus.port, tags='IntVal:\n  type: int\n', get_path=app)
    c = bus.client()
    tid = c.id('IntVal')
    c.set_value(tid, 1234, h.INT)
    c.sync()

    proc, dport = start_chromium(h.tmpdir('mscada-chromium-'))
    try:
        cdp = Cdp(dport, 'http://127.0.0.1:%d/' % www.port)
        h.wait_until(lambda: cdp.eval(
            "document.getElementById('v') && "
            "document.getElementById('v').textContent") == '1234',
            'the page to show 1234', timeout=60, interval=0.1)
        c.set_value(tid, -42, h.INT)
        h.wait_until(lambda: cdp.eval(
            "document.getElementById('v').textContent") == '-42',
            'the page to show -42', timeout=60, interval=0.1)
        check_eq(cdp.eval("document.getElementById('s').textContent"),
                 'tag_info', 'last JSON message seen')
        cdp.close()
    finally:
        h.stop_pid(proc, grace=10)
    check('browser connected' in www.log(), 'the server saw the browser')


if __name__ == '__main__':
    h.main(globals())
