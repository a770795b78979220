"""Harness for the wwwserver's system tests: a `mscada wwwserver` process
(own temp dir, wwwserver.yaml + tags.yaml, own process group, log file,
stopped by pid, told port 0 and using the port it names), pymscada's
standardise_tag_info (the reference the server's tag_info is compared
with), a raw RFC 6455 client for a tab that never reads, and an asyncio
runner for python3-websockets (Debian's), skipping cleanly when that is
absent."""

import asyncio
import base64
import json
import os
import socket
import struct

import mshelp as h
from mshelp import check

try:
    import websockets
except ImportError:  # deps.sh installs python3-websockets
    websockets = None

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def need_websockets():
    if websockets is None:
        h.skip('python3-websockets is not installed (scripts/deps.sh '
               'installs it)')


def standardise_tag_info(tagname, tag):
    """pymscada www_server.standardise_tag_info, the reference."""
    tag['name'] = tagname
    tag['id'] = None
    if 'desc' not in tag:
        tag['desc'] = tagname
    if 'multi' in tag:
        tag['type'] = 'int'
    else:
        if 'type' not in tag:
            tag['type'] = 'float'
        elif tag['type'] not in ('int', 'str', 'float', 'list', 'dict',
                                 'bytes'):
            tag['type'] = 'str'
    if tag['type'] == 'int':
        tag['dp'] = 0
    elif tag['type'] == 'float' and 'dp' not in tag:
        tag['dp'] = 2
    elif tag['type'] == 'str' and 'dp' in tag:
        del tag['dp']
    if 'deadband' not in tag:
        tag['deadband'] = None
    return tag


def msg_text(mtype, payload):
    """What aiohttp's send_json sends: json.dumps's default text."""
    return json.dumps({'type': mtype, 'payload': payload})


class Www(h.Module):
    """One `mscada wwwserver` (an h.Module). yaml_extra: more
    wwwserver.yaml text (config:, pages:, get_path: ...); tags: tags.yaml
    text; env: variables added to the environment."""

    def __init__(self, bus_port, tags='', yaml_extra='', start=True,
                 port=None, env=None, **cfg):
        self.cfg = {'bus_ip': '127.0.0.1', 'bus_port': bus_port,
                    'ip': '127.0.0.1'}
        self.cfg.update(cfg)
        self.yaml_extra = yaml_extra
        super().__init__('wwwserver', self.config_text, tags=tags,
                         start=False,
                         env=dict(os.environ, **env) if env else None)
        self.port = port or 0
        if start:
            self.start()

    def config_text(self, port):
        return h.yaml_text(dict(self.cfg, port=port)) + self.yaml_extra

    def start(self, wait_bus=True):
        """Starts it and waits until it says it listens on its port (the
        first start, no port given, on port 0: the one it bound) and, with
        wait_bus, that it is connected to the bus."""
        self.serve('www: listening on *:{port}/', port=self.port)
        if wait_bus:
            self.wait_logged('bus *:{port}: connected',
                             port=self.cfg['bus_port'])
        return self

    def url(self, path='/ws'):
        return 'ws://127.0.0.1:%d%s' % (self.port, path)


def run(coro, timeout=180):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def tab(www, path='/ws'):
    """A browser tab: a websocket with config and pages read."""
    ws = await websockets.connect(www.url(path), max_size=None,
                                  ping_interval=None)
    ws.first = [await recv(ws), await recv(ws)]
    return ws


async def recv(ws, timeout=h.TIMEOUT):
    try:
        return await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        raise h.Timeout('no message within %s s' % timeout)


async def recv_until(ws, pred, what, timeout=h.TIMEOUT):
    """Messages until pred(msg); returns (msg, the ones before)."""
    before = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise h.Timeout('%s: not within %s s; got %r' % (
                what, timeout, [m[:80] for m in before[-5:]]))
        m = await recv(ws, left)
        if pred(m):
            return m, before
        before.append(m)


async def send(ws, mtype, tagname=None, value=None, **extra):
    d = {'type': mtype}
    if tagname is not None:
        d['tagname'] = tagname
    d['value'] = value
    d.update(extra)
    await ws.send(json.dumps(d))


def is_json(m, mtype):
    return isinstance(m, str) and json.loads(m).get('type') == mtype


def binary_of(m):
    """(tag_id, type, time_us, raw value) of a binary frame."""
    tid, vtype, t = struct.unpack_from('!HHQ', m)
    return tid, vtype, t, m[12:]


class RawTab:
    """A websocket client in plain sockets that does the handshake, sends
    a few messages and then never reads: a tab frozen by its browser."""

    def __init__(self, port, rcvbuf=4096):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(h.TIMEOUT)
        self.s.connect(('127.0.0.1', port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket'
                        '\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
                        'Sec-WebSocket-Version: 13\r\n\r\n' % key).encode())
        head = b''
        while b'\r\n\r\n' not in head:
            b = self.s.recv(1)
            check(b, 'handshake: connection closed')
            head += b
        check(b' 101 ' in head.split(b'\r\n')[0], 'handshake: %r', head)

    def send_text(self, text):
        data = text.encode()
        mask = os.urandom(4)
        hdr = bytes([0x81])
        n = len(data)
        if n < 126:
            hdr += bytes([0x80 | n])
        else:
            hdr += bytes([0x80 | 126]) + struct.pack('!H', n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.s.sendall(hdr + mask + body)

    def close(self):
        self.s.close()
