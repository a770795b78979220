"""Shared harness for mscada's end-to-end tests (standard library only).

- free_port(): a loopback port that was free a moment ago.
- wait_logged(): waits for a started server's own log line naming its
  port, failing with the log's tail when it exits or the line never comes:
  the one way every harness knows that the port it picked is its server's
  and not another test's that took the same free port meanwhile.
- serve(): the one start path of every server a test starts: told port
  0 when it can be (it names the port it bound in its log), else on a
  free_port() replaced by another when the server exits because someone
  took it first; Bus, Module.serve() and the hand-started servers use it.
- Bus: writes a bus.yaml into its own temp dir, runs `mscada bus --config`
  in its own process group with stdout/stderr to a log file, waits until it
  logs that it listens on its port (port 0: the one it bound), stops it by
  pid (SIGTERM, then SIGKILL after a grace period).
- Module: any other `mscada MODULE --config` the same way (a server
  through Module.serve(); waiting for other lines: Module.wait_logged()).
- Watch: a raw bus client subscribed to tags, keeping their values.
- Client: a raw bus protocol client (docs/design.md §6): 14-byte big-endian
  header, payloads chunked at MAX_LEN, replies re-assembled.
- main(globals()): runs every test_* function of the calling script in
  source order, prints PASS/FAIL lines (and the tail of every Bus's and
  Module's log when a test fails), stops whatever the test left running,
  exits non-zero on any failure.

Every wait has a deadline; nothing asserts on timing. The deadlines are
generous because the same tests run under ASan+UBSan on a busy machine.
"""

import argparse
import atexit
import inspect
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

# ---------------------------------------------------------------- protocol

VERSION = 1
MAX_LEN = 65521
HEADER = struct.Struct('>BBHHQ')  # version, command, tag_id, size, time_us
HEADER_LEN = HEADER.size          # 14

CMD_ID, CMD_SET, CMD_GET, CMD_RTA, CMD_SUB, CMD_UNSUB, CMD_LIST, CMD_ERR, \
    CMD_LOG = range(1, 10)
CMD_NAMES = {CMD_ID: 'ID', CMD_SET: 'SET', CMD_GET: 'GET', CMD_RTA: 'RTA',
             CMD_SUB: 'SUB', CMD_UNSUB: 'UNSUB', CMD_LIST: 'LIST',
             CMD_ERR: 'ERR', CMD_LOG: 'LOG'}

INT, FLOAT, STR, BYTES, JSON = 1, 2, 3, 4, 5
TYPE_NAMES = {INT: 'INT', FLOAT: 'FLOAT', STR: 'STR', BYTES: 'BYTES',
              JSON: 'JSON'}

# Replies should come within this many seconds (ASan builds are slow and
# two tests may run at once on two cores: be generous, never assert on it).
TIMEOUT = 30.0


def now_us():
    return time.time_ns() // 1000


def encode_value(value, vtype=None):
    """Type byte + value, as a SET carries it."""
    if vtype is None:
        if isinstance(value, bool):
            vtype = INT
        elif isinstance(value, int):
            vtype = INT
        elif isinstance(value, float):
            vtype = FLOAT
        elif isinstance(value, str):
            vtype = STR
        elif isinstance(value, (bytes, bytearray, memoryview)):
            vtype = BYTES
        elif isinstance(value, (list, dict)):
            vtype = JSON
        else:
            raise TypeError('no bus type for %r' % (value,))
    if vtype == INT:
        body = struct.pack('>q', int(value))
    elif vtype == FLOAT:
        body = struct.pack('>d', float(value))
    elif vtype == STR:
        body = value.encode('utf-8')
    elif vtype == BYTES:
        body = bytes(value)
    elif vtype == JSON:
        body = value.encode() if isinstance(value, str) else \
            json.dumps(value).encode()
    else:
        raise ValueError('bad type %r' % vtype)
    return bytes([vtype]) + body


def decode_value(data):
    """(type, value) from a SET's data; None for empty data (never set)."""
    if not data:
        return None
    vtype, body = data[0], bytes(data[1:])
    if vtype == INT:
        if len(body) != 8:
            raise ValueError('INT of %d bytes' % len(body))
        return INT, struct.unpack('>q', body)[0]
    if vtype == FLOAT:
        if len(body) != 8:
            raise ValueError('FLOAT of %d bytes' % len(body))
        return FLOAT, struct.unpack('>d', body)[0]
    if vtype == STR:
        return STR, body.decode('utf-8')
    if vtype == BYTES:
        return BYTES, body
    if vtype == JSON:
        return JSON, json.loads(body.decode('utf-8'))
    raise ValueError('unknown type byte %d' % vtype)


def frame(cmd, tag_id=0, time_us=0, data=b'', version=VERSION, size=None):
    """One wire message (no chunking). size overrides the header's size."""
    if size is None:
        size = len(data)
    return HEADER.pack(version, cmd, tag_id, size, time_us) + bytes(data)


def frames(cmd, tag_id=0, time_us=0, data=b'', version=VERSION):
    """A whole payload as wire bytes: chunks of MAX_LEN, then a final
    shorter chunk (empty when the payload is a multiple of MAX_LEN)."""
    data = bytes(data)
    out = []
    pos = 0
    while len(data) - pos >= MAX_LEN:
        out.append(frame(cmd, tag_id, time_us, data[pos:pos + MAX_LEN],
                         version))
        pos += MAX_LEN
    out.append(frame(cmd, tag_id, time_us, data[pos:], version))
    return b''.join(out)


def parse_frames(raw):
    """Splits wire bytes into a list of raw (un-assembled) Msg chunks."""
    out = []
    pos = 0
    raw = bytes(raw)
    while pos < len(raw):
        if len(raw) - pos < HEADER_LEN:
            raise ValueError('truncated header at byte %d' % pos)
        ver, cmd, tag_id, size, t = HEADER.unpack_from(raw, pos)
        pos += HEADER_LEN
        if len(raw) - pos < size:
            raise ValueError('truncated payload at byte %d' % pos)
        out.append(Msg(cmd, tag_id, t, raw[pos:pos + size], ver))
        pos += size
    return out


class Msg:
    __slots__ = ('cmd', 'tag_id', 'time_us', 'data', 'version')

    def __init__(self, cmd, tag_id, time_us, data, version=VERSION):
        self.cmd = cmd
        self.tag_id = tag_id
        self.time_us = time_us
        self.data = bytes(data)
        self.version = version

    def value(self):
        return decode_value(self.data)

    def text(self):
        return self.data.decode('utf-8', 'replace')

    def key(self):
        return (self.version, self.cmd, self.tag_id, self.time_us, self.data)

    def __eq__(self, other):
        return isinstance(other, Msg) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        d = self.data
        shown = repr(d[:60]) + ('...(%d bytes)' % len(d) if len(d) > 60
                                else '')
        return 'Msg(%s, tag_id=%d, time_us=%d, data=%s%s)' % (
            CMD_NAMES.get(self.cmd, 'cmd%d' % self.cmd), self.tag_id,
            self.time_us, shown,
            '' if self.version == VERSION else ', version=%d' % self.version)


class Closed(Exception):
    """The peer closed the connection (EOF or reset)."""


class Timeout(AssertionError):
    """Nothing (or not the expected thing) arrived before the deadline."""


class Client:
    """A raw bus protocol connection. Received messages that a helper was
    not waiting for are kept, in order, in self.backlog; recv_msg() returns
    them first."""

    def __init__(self, port, host='127.0.0.1', source=None, rcvbuf=None,
                 timeout=TIMEOUT):
        self.sock = socket.socket(socket.AF_INET6 if ':' in host
                                  else socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Before connect, so that the window is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.partial = {}   # (cmd, tag_id) -> [first chunk's Msg, bytearray]
        self.backlog = []
        self.closed = False
        self.frames_seen = 0

    # -- sending
    def send_raw(self, data):
        self.sock.settimeout(TIMEOUT * 4)
        self.sock.sendall(data)

    def send(self, cmd, tag_id=0, time_us=0, data=b'', version=VERSION):
        self.send_raw(frames(cmd, tag_id, time_us, data, version))

    # -- receiving
    def _fill(self, deadline):
        """Reads more bytes; False on deadline; raises Closed on EOF."""
        if self.closed:
            raise Closed('connection already closed')
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError) as e:
            self.closed = True
            raise Closed('connection reset: %s' % e)
        if not chunk:
            self.closed = True
            raise Closed('EOF')
        self.buf += chunk
        return True

    def recv_frame(self, timeout=TIMEOUT):
        """One raw wire message (a chunk, not re-assembled)."""
        deadline = time.monotonic() + timeout
        while True:
            avail = len(self.buf) - self.pos
            if avail >= HEADER_LEN:
                ver, cmd, tag_id, size, t = HEADER.unpack_from(self.buf,
                                                               self.pos)
                if avail >= HEADER_LEN + size:
                    start = self.pos + HEADER_LEN
                    data = bytes(self.buf[start:start + size])
                    self.pos = start + size
                    self.frames_seen += 1
                    return Msg(cmd, tag_id, t, data, ver)
            if not self._fill(deadline):
                raise Timeout('no complete message within %.0f s '
                              '(%d bytes buffered)' % (timeout, avail))

    def _recv_assembled(self, deadline):
        while True:
            left = max(0.0, deadline - time.monotonic())
            f = self.recv_frame(left)
            key = (f.cmd, f.tag_id)
            if len(f.data) == MAX_LEN:
                if key in self.partial:
                    self.partial[key][1] += f.data
                else:
                    self.partial[key] = [f, bytearray(f.data)]
                continue
            if key in self.partial:
                first, acc = self.partial.pop(key)
                acc += f.data
                return Msg(first.cmd, first.tag_id, first.time_us, acc,
                           first.version)
            return f

    def recv_msg(self, timeout=TIMEOUT):
        """The next whole message (chunks re-assembled); backlog first."""
        if self.backlog:
            return self.backlog.pop(0)
        return self._recv_assembled(time.monotonic() + timeout)

    def poll_msg(self, timeout=0.2):
        """Like recv_msg but None when nothing arrives in time."""
        try:
            return self.recv_msg(timeout)
        except Timeout:
            return None

    def expect(self, pred, what, timeout=TIMEOUT):
        """Reads until a message satisfies pred; others go to the backlog
        (the backlog is searched first)."""
        for i, m in enumerate(self.backlog):
            if pred(m):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                m = self._recv_assembled(deadline)
            except Timeout:
                raise Timeout('waited %.0f s for %s; meanwhile got %r'
                              % (timeout, what, seen[:10]))
            if pred(m):
                return m
            self.backlog.append(m)
            seen.append(m)

    # -- helpers
    def id(self, name, timeout=TIMEOUT):
        """The id of a tag name (creating the tag). Accepts the ERR that
        pymscada sends before the ID reply for a new name."""
        raw = name.encode('utf-8') if isinstance(name, str) else bytes(name)
        self.send(CMD_ID, 0, 0, raw)
        m = self.expect(lambda m: m.cmd == CMD_ID and m.data == raw or
                        m.cmd == CMD_ERR and m.tag_id == 0 and raw in m.data,
                        'ID reply for %r' % raw, timeout)
        if m.cmd == CMD_ERR:
            m = self.expect(lambda m: m.cmd == CMD_ID and m.data == raw,
                            'ID reply for %r after %r' % (raw, m), timeout)
        assert m.tag_id != 0, 'ID reply for %r has tag_id 0: %r' % (raw, m)
        return m.tag_id

    def set_value(self, tag_id, value, vtype=None, time_us=None):
        """SETs a value; returns the time_us it was sent with."""
        if time_us is None:
            time_us = now_us()
        self.send(CMD_SET, tag_id, time_us, encode_value(value, vtype))
        return time_us

    def set_data(self, tag_id, data, time_us=None):
        if time_us is None:
            time_us = now_us()
        self.send(CMD_SET, tag_id, time_us, data)
        return time_us

    def get(self, tag_id, timeout=TIMEOUT):
        """GET; returns the SET (or ERR) reply for that tag_id."""
        self.send(CMD_GET, tag_id)
        return self.expect(lambda m: m.cmd in (CMD_SET, CMD_ERR) and
                           m.tag_id == tag_id,
                           'GET reply for tag %d' % tag_id, timeout)

    def sub(self, tag_id, timeout=TIMEOUT):
        """SUB; returns the immediate SET (or an ERR) for that tag_id."""
        self.send(CMD_SUB, tag_id)
        return self.expect(lambda m: m.cmd in (CMD_SET, CMD_ERR) and
                           m.tag_id == tag_id,
                           'SUB reply for tag %d' % tag_id, timeout)

    def unsub(self, tag_id):
        self.send(CMD_UNSUB, tag_id)

    def list_msg(self, pattern='', time_us=0, timeout=TIMEOUT):
        self.send(CMD_LIST, 0, time_us, pattern.encode('utf-8'))
        return self.expect(lambda m: m.cmd == CMD_LIST,
                           'LIST reply for %r' % pattern, timeout)

    def list(self, pattern='', time_us=0, timeout=TIMEOUT):
        """LIST; returns the names (split on spaces)."""
        m = self.list_msg(pattern, time_us, timeout)
        text = m.data.decode('utf-8')
        return text.split(' ') if text else []

    def rta(self, tag_id, obj, time_us=0):
        data = obj if isinstance(obj, (bytes, bytearray)) else \
            encode_value(obj, JSON)
        self.send(CMD_RTA, tag_id, time_us, data)

    def log(self, text, time_us=0):
        self.send(CMD_LOG, 0, time_us, text.encode('utf-8'))

    def sync(self, timeout=TIMEOUT):
        """Round trip: sends a LIST that matches nothing and reads up to its
        reply. Returns (and clears) everything received before the reply.
        The server handles a connection's requests in order and queues its
        output in order, so whatever an earlier event sent to this
        connection has arrived by then."""
        pending = self.backlog
        self.backlog = []
        self.send(CMD_LIST, 0, 0, b'^~no~such~tag~for~sync~')
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self._recv_assembled(deadline)
            except Timeout:
                raise Timeout('no LIST reply to a sync within %.0f s; got '
                              'meanwhile %r' % (timeout, pending[:10]))
            if m.cmd == CMD_LIST:
                if m.data:
                    raise AssertionError('sync LIST matched names: %r' % m)
                return pending
            pending.append(m)

    def wait_closed(self, timeout=TIMEOUT):
        """Reads until the server closes the connection. Returns the
        messages read before that; raises Timeout if it stays open."""
        got = list(self.backlog)
        self.backlog = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                got.append(self._recv_assembled(deadline))
            except Closed:
                return got
            except Timeout:
                raise Timeout('connection still open after %.0f s; got %r'
                              % (timeout, got[:10]))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---------------------------------------------------------------- processes

ARGS = None          # the parsed command line (set by main())
MSCADA = None        # path of the mscada executable
_live = []           # every started process not yet reaped
_harnessed = []      # Bus and Module objects of the current test
_tmpdirs = []


def free_port(host='127.0.0.1', udp=False):
    """A port free a moment ago, for TCP or (udp) for UDP: the two are
    apart, a port free for one may be in use for the other."""
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET,
                      socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def refused_port(host='127.0.0.1'):
    """(sock, port): a TCP port bound to sock but not listening, so that
    connecting to it is refused for as long as sock is open (a port
    merely free a moment ago may be another test's server's by then)."""
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET,
                      socket.SOCK_STREAM)
    s.bind((host, 0))
    return s, s.getsockname()[1]


def tmpdir(prefix='mscada-test-'):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def _yaml_scalar(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if s and all(c.isalnum() or c in '_./:-' for c in s) \
            and not s[0] in '-:':
        return s
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def yaml_text(cfg):
    lines = []
    for k, v in cfg.items():
        if isinstance(v, (list, tuple)):
            lines.append('%s:' % k)
            for item in v:
                lines.append('  - %s' % _yaml_scalar(item))
        else:
            lines.append('%s: %s' % (k, _yaml_scalar(v)))
    return '\n'.join(lines) + '\n'


def read_log(path, mark=0):
    """What a process wrote to path from byte mark on, bad UTF-8 replaced
    ('' while the file does not exist yet)."""
    try:
        with open(path, 'rb') as f:
            f.seek(mark)
            return f.read().decode('utf-8', 'replace')
    except FileNotFoundError:
        return ''


def log_size(path):
    """Where a process appending to path will start writing (0 while the
    file does not exist): the mark for wait_logged()."""
    return os.path.getsize(path) if os.path.exists(path) else 0


def stop_pid(proc, sig=signal.SIGTERM, grace=20.0):
    """Signals one process by pid, waits, SIGKILLs it after grace seconds.
    Returns its exit status (negative: killed by that signal)."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
    if proc in _live:
        _live.remove(proc)
    return proc.returncode


def spawn(argv, log_path, cwd=None, env=None):
    """Starts a process in its own session (process group), stdin from
    /dev/null, stdout+stderr to log_path."""
    with open(log_path, 'ab') as log, open(os.devnull, 'rb') as null:
        p = subprocess.Popen(argv, stdin=null, stdout=log, stderr=log,
                             cwd=cwd, env=env, start_new_session=True)
    _live.append(p)
    return p


def run_cmd(argv, timeout=60, cwd=None, env=None, input_bytes=None):
    """Runs a short command with output to files. Returns
    (status, stdout_text, stderr_text); kills it at the deadline."""
    d = tmpdir('mscada-cmd-')
    out_path = os.path.join(d, 'stdout')
    err_path = os.path.join(d, 'stderr')
    in_path = os.devnull
    if input_bytes is not None:  # stdin from a file: no pipe to deadlock
        in_path = os.path.join(d, 'stdin')
        with open(in_path, 'wb') as f:
            f.write(input_bytes)
    with open(out_path, 'wb') as out, open(err_path, 'wb') as err, \
            open(in_path, 'rb') as null:
        p = subprocess.Popen(argv, stdin=null, stdout=out, stderr=err,
                             cwd=cwd, env=env, start_new_session=True)
        _live.append(p)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_pid(p, signal.SIGKILL)
            raise AssertionError('%r did not finish within %d s'
                                 % (argv, timeout))
        finally:
            if p in _live:
                _live.remove(p)
    return p.returncode, read_log(out_path), read_log(err_path)


class NotReady(AssertionError):
    """A started server exited, or did not say it serves, in time.
    exited: its exit status (None: still running); text: its log from
    the start's mark on."""

    def __init__(self, msg, exited, text):
        super().__init__(msg)
        self.exited = exited
        self.text = text


def _line_pattern(text, port):
    """A regex for one log line: '*' is any run of characters within the
    line, '{port}' the port as a whole number (any number, captured, without
    one)."""
    num = r'(\d+)' if not port else str(port)
    pieces = ['[^\n]*'.join(re.escape(s) for s in part.split('*'))
              for part in text.split('{port}')]
    return re.compile((num + r'(?!\d)').join(pieces))


def logged_port(line, text):
    """The port a line matching text (wait_logged's form) names at its
    first '{port}': the port a server told port 0 bound."""
    return int(_line_pattern(text, None).search(line).group(1))


def wait_logged(proc, log_path, *texts, port=None, mark=0, what=None,
                timeout=60.0):
    """Waits until proc has written to log_path (from byte mark on) a line
    matching each of texts, in that order (see _line_pattern): for a
    server, its own line naming the port it serves on, so that the harness
    knows the port is its process's and not another test's that took the
    same free port meanwhile. Returns the matching lines. Raises NotReady,
    with the tail of the log, when proc exits first or after timeout s."""
    pats = [_line_pattern(t, port) for t in texts]
    what = what or os.path.basename(log_path)
    deadline = time.monotonic() + timeout
    while True:
        exited = proc.poll()  # before reading: a line logged before exit
        text = read_log(log_path, mark)
        found = []
        for line in text.splitlines():
            if len(found) < len(pats) and pats[len(found)].search(line):
                found.append(line)
        if len(found) == len(pats):
            return found
        if exited is not None or time.monotonic() > deadline:
            tail = '\n'.join(text.splitlines()[-40:])
            why = ('exited with status %d' % exited if exited is not None
                   else 'is running (pid %d) but after %.0f s'
                   % (proc.pid, timeout))
            raise NotReady('%s %s without logging %s; tail of %s:\n%s'
                           % (what, why, ' then '.join(
                               repr(t.replace('{port}', str(port or 'N')))
                               for t in texts[len(found):]), log_path,
                              tail), exited, text)
        time.sleep(0.05)


def port_taken(e):
    """Whether NotReady e is a server that exited because its port was
    taken: each says 'in use' (uv_strerror's "address already in use",
    mosquitto's and socat's "Address already in use", wwwserver's "cannot
    listen on ... (in use, ...)", snmpd's "Address already in use")."""
    return e.exited is not None and 'in use' in e.text.lower()


def serve(start, *texts, port=0, retry=False, udp=False, what=None,
          attempts=5, timeout=60.0):
    """The one way every harness starts a server on a port of its own.
    start(port) starts it on port (rewriting its config or arguments) and
    returns (proc, log_path, mark); then its log lines texts (as for
    wait_logged(), the first naming the port as '{port}') say that it
    serves. port 0: the server picks
    a free port itself and names it in that line (no other process can
    have it); None, for a server that can't be told 0: free_port() picks
    one, and when the server exits because that port was taken meanwhile
    (another test's process picked it too: ctest -j2), another one is
    picked and the server started again, up to attempts times; a number:
    that port, retried the same way only with retry. Returns (proc, the
    port it serves on)."""
    retry = retry or port is None
    p = free_port(udp=udp) if port is None else port
    for attempt in range(attempts):
        proc, log_path, mark = start(p)
        try:
            line = wait_logged(proc, log_path, *texts, port=p, mark=mark,
                               what=what, timeout=timeout)[0]
        except NotReady as e:
            if not retry or attempt == attempts - 1 or not port_taken(e):
                raise
            p = free_port(udp=udp)
            continue
        return proc, p or logged_port(line, texts[0])


class Process:
    """What Bus and Module share: a process (self.proc) started from a
    harness, its output in self.log_path."""

    proc = None

    def log(self):
        return read_log(self.log_path)

    def log_tail(self, n=40):
        return '\n'.join(self.log().splitlines()[-n:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, grace=30.0):
        """Returns the exit status."""
        if self.proc is None:
            return None
        return stop_pid(self.proc, sig, grace)


class Bus(Process):
    """One `mscada bus` process with its own temp dir and bus.yaml.
    cfg: bus.yaml keys (ip filled in when absent). Without a port the bus
    is told port 0 and the port it names in its log is self.port (made
    with start=False: a free_port() known before the start, replaced if
    it was taken when the bus binds it); text_port 0 likewise becomes the
    text port it names. A restart keeps both."""

    def __init__(self, start=True, extra_args=(), **cfg):
        self.dir = tmpdir('mscada-bus-')
        self.config_path = os.path.join(self.dir, 'bus.yaml')
        self.log_path = os.path.join(self.dir, 'bus.log')
        self.cfg = dict(cfg)
        self.cfg.setdefault('ip', '127.0.0.1')
        self.port_given = 'port' in cfg
        self.cfg.setdefault('port', 0 if start else free_port())
        self.extra_args = list(extra_args)
        self.proc = None
        self.starts = 0
        _harnessed.append(self)
        if start:
            self.start()

    @property
    def port(self):
        return self.cfg['port']

    @property
    def text_port(self):
        return self.cfg.get('text_port')

    @property
    def pid(self):
        return self.proc.pid

    def write_config(self):
        with open(self.config_path, 'w') as f:
            f.write(yaml_text(self.cfg))

    def _spawn(self, port):
        self.cfg['port'] = port
        self.write_config()
        with open(self.log_path, 'ab') as log:
            log.write(('--- start %d: %s --config %s\n'
                       % (self.starts, MSCADA, self.config_path)).encode())
        self.log_mark = os.path.getsize(self.log_path)
        self.proc = spawn([MSCADA, 'bus', '--config', self.config_path]
                          + self.extra_args, self.log_path, cwd=self.dir)
        self.starts += 1
        return self.proc, self.log_path, self.log_mark

    def start(self, timeout=60.0):
        """Starts the bus and waits until it says it listens (its first
        start on a port of its own: see the class)."""
        self.proc, self.cfg['port'] = serve(
            self._spawn, 'listening on %s:{port}' % self._host(),
            port=self.port, retry=self.starts == 0 and not self.port_given,
            what='bus', timeout=timeout)
        if self.cfg.get('text_port') == 0:
            # logged right after the port's line (both bound before either)
            text = 'text port listening on %s:{port}' % self._host()
            line = wait_logged(self.proc, self.log_path, text,
                               mark=self.log_mark, what='bus',
                               timeout=timeout)[0]
            self.cfg['text_port'] = logged_port(line, text)
        return self

    def _host(self):
        ip = self.cfg['ip']
        return '[%s]' % ip if ':' in ip else ip

    def client(self, **kw):
        return Client(self.port, **kw)

    def kill(self):
        return self.stop(signal.SIGKILL, 10)

    def wait_exit(self, timeout=30.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('bus still running after %.0f s' % timeout)

    def rss_kb(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        raise AssertionError('no VmRSS for pid %d' % self.proc.pid)


class Module(Process):
    """One `mscada MODULE --config FILE [--tags FILE] ARGS` process with a
    temp dir of its own (its cwd), config (self.config: text, or a dict
    written as JSON, which is YAML, or for a server a function of its port
    giving either) and optional tags.yaml, in its own process group with
    its output to MODULE.log, stopped by pid. Its log's tail is printed
    when a test fails; it is stopped when the test ends. A server is
    started with serve(), which sets self.port."""

    port = None

    def __init__(self, module, config, tags=None, args=(), env=None,
                 start=True):
        self.module = module
        self.dir = tmpdir('mscada-%s-' % module)
        self.config_path = os.path.join(self.dir, module + '.yaml')
        self.log_path = os.path.join(self.dir, module + '.log')
        self.config = config
        self.tags_path = None
        if tags is not None:
            self.tags_path = os.path.join(self.dir, 'tags.yaml')
            with open(self.tags_path, 'w') as f:
                f.write(tags)
        self.args = list(args)
        self.env = env
        self.proc = None
        self.mark = 0
        _harnessed.append(self)
        if start:
            self.start()

    def write_config(self):
        """Writes self.config (at every start: it may have changed)."""
        cfg = self.config(self.port) if callable(self.config) \
            else self.config
        with open(self.config_path, 'w') as f:
            f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))

    def start(self):
        self.write_config()
        self.mark = log_size(self.log_path)
        argv = [MSCADA, self.module, '--config', self.config_path]
        if self.tags_path:
            argv += ['--tags', self.tags_path]
        self.proc = spawn(argv + self.args, self.log_path, cwd=self.dir,
                          env=self.env)
        return self

    def wait_logged(self, *texts, port=None, timeout=60.0):
        """wait_logged() on this start's part of the log."""
        return wait_logged(self.proc, self.log_path, *texts, port=port,
                           mark=self.mark, what=self.module,
                           timeout=timeout)

    def serve(self, *texts, port=0, retry=False, udp=False, timeout=60.0):
        """Starts it as a server through serve() (texts, port, retry, udp:
        as there; self.config a function of the port): the port it serves
        on is then self.port, and a restart (start()) is on it."""
        def start(p):
            self.port = p
            Module.start(self)  # a subclass's start() may call serve()
            return self.proc, self.log_path, self.mark
        self.proc, self.port = serve(start, *texts, port=port, retry=retry,
                                     udp=udp, what=self.module,
                                     timeout=timeout)
        return self

class Watch:
    """A raw bus client subscribed to tags by name: the latest value of
    each (vals) and every value it took since (hist), the SUB's answer
    included. decode(name, value) may be overridden."""

    def __init__(self, bus, names=()):
        self.c = bus.client()
        self.ids, self.names, self.vals, self.hist = {}, {}, {}, {}
        for n in names:
            self.add(n)

    def add(self, name):
        tid = self.c.id(name)
        self.ids[name] = tid
        self.names[tid] = name
        self.hist.setdefault(name, [])
        self.take(self.c.sub(tid))
        return tid

    def decode(self, name, value):
        return value

    def take(self, m):
        if m.cmd == CMD_SET and m.tag_id in self.names and m.data:
            name = self.names[m.tag_id]
            self.vals[name] = self.decode(name, decode_value(m.data)[1])
            self.hist[name].append(self.vals[name])

    def pump(self, timeout=0.05):
        """Takes what has arrived (waiting up to timeout for the first)."""
        while True:
            m = self.c.poll_msg(timeout)
            if m is None:
                return
            timeout = 0.01
            self.take(m)

    def wait_for(self, pred, what, timeout=30):
        def ok():
            self.pump()
            return pred()
        return wait_until(ok, what, timeout, interval=0.01)

    def wait(self, name, pred, what, timeout=30):
        """The value of name once pred(value) holds."""
        try:
            self.wait_for(lambda: name in self.vals and pred(self.vals[name]),
                          what, timeout)
        except AssertionError as e:
            raise AssertionError('%s (%s; last %r)'
                                 % (e, name, self.vals.get(name)))
        return self.vals[name]

    def set(self, name, value, vtype=None):
        return self.c.set_value(self.ids[name], value, vtype)


def wait_until(pred, what, timeout=60.0, interval=0.05):
    """Polls pred() until it returns a true value (returned) or the
    deadline passes (AssertionError naming what)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.0f s waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)


class Skip(Exception):
    """Raised by skip(): the test can't run here, for the reason given."""


def skip(reason):
    raise Skip(reason)


def check(cond, msg, *args):
    """assert that survives python -O, with a formatted message."""
    if not cond:
        raise AssertionError(msg % args if args else msg)


def check_eq(got, want, what):
    if got != want:
        raise AssertionError('%s: expected %r, got %r' % (what, want, got))


def is_sanitized():
    """True when the mscada binary was built with AddressSanitizer (its
    allocator keeps freed memory in quarantine, which inflates RSS)."""
    try:
        with open(MSCADA, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


def _stop_all():
    for p in list(_live):
        stop_pid(p, signal.SIGTERM, 10)


def _on_signal(signum, frame):
    # ctest stops a test on timeout: still stop what we started.
    _stop_all()
    sys.exit(128 + signum)


def _on_alarm(signum, frame):
    print('FAIL: the whole script ran past --deadline %d s; stopping'
          % ARGS.deadline)
    for b in _harnessed:
        print('---- tail of %s:' % b.log_path)
        print(b.log_tail())
    sys.stdout.flush()
    _stop_all()
    os._exit(1)


def main(namespace):
    global ARGS, MSCADA
    ap = argparse.ArgumentParser()
    ap.add_argument('--mscada', required=True,
                    help='path of the mscada executable')
    ap.add_argument('--shared', default=None,
                    help='the shared dir (fixtures/)')
    ap.add_argument('--build', default=None, help='the build dir')
    ap.add_argument('-k', dest='only', default=None,
                    help='run only tests whose name contains this')
    ap.add_argument('--deadline', type=int, default=285,
                    help='stop everything and fail after this many seconds')
    ap.add_argument('--keep', action='store_true',
                    help='keep temp dirs even when everything passes')
    ARGS = ap.parse_args()
    MSCADA = os.path.abspath(ARGS.mscada)
    if not os.access(MSCADA, os.X_OK):
        print('FAIL: %s is not an executable' % MSCADA)
        sys.exit(1)
    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    # ctest's TIMEOUT is 300 s and it may SIGKILL us, which would leave the
    # buses (own sessions) running: give up a little earlier, cleanly.
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(ARGS.deadline)

    tests = [(n, f) for n, f in namespace.items()
             if n.startswith('test_') and inspect.isfunction(f)]
    tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
    if ARGS.only:
        tests = [(n, f) for n, f in tests if ARGS.only in n]
    failed = []
    skipped = []
    script = os.path.basename(namespace.get('__file__', '?'))
    for name, fn in tests:
        del _harnessed[:]
        print('RUN  %s' % name, flush=True)
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            skipped.append(name)
            print('SKIP %s: %s' % (name, e))
        except Exception:
            failed.append(name)
            print('FAIL %s (%.1f s)' % (name, time.monotonic() - t0))
            traceback.print_exc(file=sys.stdout)
            for b in _harnessed:
                print('---- tail of %s (pid %s, %s):' % (
                    b.log_path, b.proc.pid if b.proc else '-',
                    'running' if b.alive() else 'exit %r' % (
                        b.proc.returncode if b.proc else None)))
                print(b.log_tail())
                print('----')
        else:
            print('PASS %s (%.1f s)' % (name, time.monotonic() - t0))
        finally:
            for b in _harnessed:
                if b.proc is not None:
                    stop_pid(b.proc, signal.SIGTERM, 20)
            sys.stdout.flush()
    _stop_all()
    print('%s: %d passed, %d failed%s%s' % (
        script, len(tests) - len(failed) - len(skipped), len(failed),
        ', %d skipped' % len(skipped) if skipped else '',
        (': ' + ', '.join(failed)) if failed else ''))
    if not failed and not ARGS.keep:
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
    elif failed:
        print('temp dirs kept: %s' % ' '.join(_tmpdirs))
    if failed:
        sys.exit(1)
    # ctest reports a test whose every case skipped as skipped (77).
    sys.exit(77 if tests and len(skipped) == len(tests) else 0)
