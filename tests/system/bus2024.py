"""A stand-in for pymscada's 2024 bus server (release commit 255f7b7), for
testing mscada's modules against it (standard library only).

It speaks protocol version 1 as docs/bus.md describes, with pymscada's
ways where they differ from `mscada bus`:
- an ID for a new name gets ERR `ID b'name' undefined`, then the ID reply;
- SET/GET/SUB/UNSUB/RTA of an unknown id get ERR;
- an RTA whose author has gone (or that no one set) gets silence;
- a payload of exactly MAX_LEN bytes means "more follows" (pymscada's
  reader), so a k x 65521-byte value is glued onto the next;
- and the one that matters: the 2024 server knows commands 1-8 only. Any
  other command byte (LOG, 9, above all) raises a KeyError in that
  connection's reader, which then reads nothing more from it: the
  connection stays open and still gets the SETs of its subscriptions, but
  its requests are never answered.

Use in a test:
    bus = Bus2024().start()      # a free port on 127.0.0.1: bus.port
    ... bus.dead_readers, bus.commands_seen, bus.value('Flow') ...
    bus.stop()
Or by hand: python3 bus2024.py [PORT]
"""

import selectors
import socket
import struct
import sys
import threading

HEADER = struct.Struct('>BBHHQ')
MAX_LEN = 65521
CMD_ID, CMD_SET, CMD_GET, CMD_RTA, CMD_SUB, CMD_UNSUB, CMD_LIST, CMD_ERR = \
    range(1, 9)
KNOWN = {CMD_ID, CMD_SET, CMD_GET, CMD_RTA, CMD_SUB, CMD_UNSUB, CMD_LIST}


class _Tag:
    __slots__ = ('id', 'name', 'value', 'time_us', 'author', 'subs')

    def __init__(self, tag_id, name):
        self.id = tag_id
        self.name = name
        self.value = b''
        self.time_us = 0
        self.author = None
        self.subs = []


class _Conn:
    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.buf = b''
        self.pending = {}
        self.reading = True


class Bus2024:
    def __init__(self, host='127.0.0.1', port=0):
        self.host = host
        self.want_port = port
        self.port = None
        self.by_name = {}
        self.by_id = {}
        self.conns = []
        self.lock = threading.Lock()
        # what tests look at
        self.commands_seen = []   # (peer, command) of every message read
        self.dead_readers = []    # (peer, command) that killed a reader
        self.connects = 0
        self._tag(b'__bus__')     # id 1, as pymscada's server does

    # ---- tests' view (any thread)

    def value(self, name):
        """(time_us, payload) of a tag, or None when there is no such tag."""
        with self.lock:
            t = self.by_name.get(name.encode())
            return (t.time_us, t.value) if t else None

    def names(self):
        with self.lock:
            return [t.name.decode() for t in self.by_id.values()]

    def start(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((self.host, self.want_port))
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.wake_r, selectors.EVENT_READ, 'wake')
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        self.wake_w.send(b'x')
        self.thread.join(10)
        for c in list(self.conns):
            c.sock.close()
        self.lsock.close()
        self.wake_r.close()
        self.wake_w.close()

    # ---- the server

    def _tag(self, name):
        t = _Tag(len(self.by_id) + 1, name)
        self.by_name[name] = t
        self.by_id[t.id] = t
        return t

    def _run(self):
        while self.running:
            for key, _ in self.sel.select(1.0):
                if key.data is None:
                    self._accept()
                elif key.data == 'wake':
                    return
                else:
                    self._read(key.data)

    def _accept(self):
        try:
            sock, peer = self.lsock.accept()
        except OSError:
            return
        sock.setblocking(True)
        sock.settimeout(10)
        c = _Conn(sock, '%s:%d' % peer)
        self.conns.append(c)
        with self.lock:
            self.connects += 1
        self.sel.register(sock, selectors.EVENT_READ, c)

    def _drop(self, c):
        if c.reading:
            self.sel.unregister(c.sock)
            c.reading = False
        c.sock.close()
        if c in self.conns:
            self.conns.remove(c)
        with self.lock:
            for t in self.by_id.values():
                if c in t.subs:
                    t.subs.remove(c)

    def _send(self, c, cmd, tag_id, time_us, data=b''):
        out = b''
        for i in range(0, len(data) + 1, MAX_LEN):
            snip = data[i:i + MAX_LEN]
            out += HEADER.pack(1, cmd, tag_id, len(snip), time_us) + snip
            if len(snip) < MAX_LEN:
                break
        try:
            c.sock.sendall(out)
        except OSError:
            self._drop(c)

    def _read(self, c):
        try:
            data = c.sock.recv(1 << 16)
        except OSError:
            data = b''
        if not data:
            self._drop(c)
            return
        c.buf += data
        i = 0
        while c.reading and len(c.buf) - i >= HEADER.size:
            _ver, cmd, tag_id, size, time_us = HEADER.unpack_from(c.buf, i)
            if len(c.buf) - i < HEADER.size + size:
                break
            value = c.buf[i + HEADER.size:i + HEADER.size + size]
            i += HEADER.size + size
            if size == MAX_LEN:
                c.pending[tag_id] = c.pending.get(tag_id, b'') + value
                continue
            if tag_id in c.pending:
                value = c.pending.pop(tag_id) + value
            self._process(c, cmd, tag_id, time_us, value)
        c.buf = c.buf[i:]

    def _process(self, c, cmd, tag_id, time_us, value):
        with self.lock:
            self.commands_seen.append((c.peer, cmd))
        if cmd not in KNOWN:
            # 2024: the command table lookup raises KeyError; the reader
            # task dies, the connection stays open and is never read again.
            with self.lock:
                self.dead_readers.append((c.peer, cmd))
            self.sel.unregister(c.sock)
            c.reading = False
            print('bus2024: %s: command %d: KeyError, reader stopped'
                  % (c.peer, cmd), file=sys.stderr)
            return
        if cmd == CMD_ID:
            with self.lock:
                t = self.by_name.get(value)
                if t is None:
                    self._send(c, CMD_ERR, tag_id, time_us,
                               ('ID %r undefined' % value).encode())
                    t = self._tag(value)
            self._send(c, CMD_ID, t.id, t.time_us, t.name)
            return
        if cmd == CMD_LIST:
            with self.lock:
                tags = list(self.by_id.values())
            if not value:
                names = [t.name for t in tags if t.time_us > time_us]
            elif value.startswith(b'^'):
                names = [t.name for t in tags if t.name.startswith(value[1:])]
            elif value.endswith(b'$'):
                names = [t.name for t in tags if t.name.endswith(value[:-1])]
            else:
                names = [t.name for t in tags if value in t.name]
            self._send(c, CMD_LIST, 0, time_us, b' '.join(names))
            return
        t = self.by_id.get(tag_id)
        if t is None:
            self._send(c, CMD_ERR, tag_id, time_us,
                       ('%d KeyError %d' % (cmd, tag_id)).encode())
            return
        if cmd == CMD_SET:
            with self.lock:
                t.value, t.time_us, t.author = value, time_us, c
                subs = [s for s in t.subs if s is not c]
            for s in subs:
                self._send(s, CMD_SET, t.id, t.time_us, t.value)
        elif cmd == CMD_GET:
            self._send(c, CMD_SET, t.id, t.time_us, t.value)
        elif cmd == CMD_SUB:
            self._send(c, CMD_SET, t.id, t.time_us, t.value)
            with self.lock:
                if c not in t.subs:
                    t.subs.append(c)
        elif cmd == CMD_UNSUB:
            with self.lock:
                if c in t.subs:
                    t.subs.remove(c)
        elif cmd == CMD_RTA:
            if t.author is not None and t.author in self.conns:
                self._send(t.author, CMD_RTA, t.id, t.time_us, value)


if __name__ == '__main__':
    b = Bus2024(port=int(sys.argv[1]) if len(sys.argv) > 1 else 1324).start()
    print('bus2024 listening on %s:%d' % (b.host, b.port), flush=True)
    try:
        b.thread.join()
    except KeyboardInterrupt:
        b.stop()
