"""The bus's text port (docs/design.md §6, docs/bus.md): a line protocol
for telnet and nc on `text_port`, against a real `mscada bus`, with line
clients here and raw binary clients from tests/system/mshelp.py."""

import datetime
import json
import math
import random
import re
import socket
import time

import mshelp as h
from mshelp import Bus, CMD_LIST, CMD_SET, check, check_eq

ISO = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')
SYNC = 'list ^~no~such~tag~for~sync~'


def iso(time_us):
    t = datetime.datetime.fromtimestamp(time_us // 1000000,
                                        datetime.timezone.utc)
    return t.strftime('%Y-%m-%dT%H:%M:%S') + '.%06dZ' % (time_us % 1000000)


def iso_us(text):
    check(ISO.match(text), 'not an ISO 8601 UTC time with microseconds: %r',
          text)
    t = datetime.datetime.strptime(text[:19], '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000000 + int(text[20:26])


class TextClient:
    """A line client of the text port. lines() of what arrives; the first
    line (the greeting) is read by connect unless greet=False."""

    def __init__(self, port, source=None, greet=True, timeout=h.TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect(('127.0.0.1', port))
        self.buf = b''
        self.eof = False
        self.greeting = self.line() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode('utf-8')
        self.sock.settimeout(h.TIMEOUT * 4)
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise h.Timeout('no line within the deadline (buffered %r)'
                            % self.buf[:200])
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 16)
        except socket.timeout:
            raise h.Timeout('no line within the deadline (buffered %r)'
                            % self.buf[:200])
        except (ConnectionResetError, BrokenPipeError) as e:
            self.eof = True
            raise h.Closed('reset: %s' % e)
        if not chunk:
            self.eof = True
            raise h.Closed('EOF (buffered %r)' % self.buf[:200])
        self.buf += chunk

    def raw_line(self, timeout=h.TIMEOUT):
        """The next line as bytes, without its \\n."""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b'\n', 1)
        return line

    def line(self, timeout=h.TIMEOUT):
        return self.raw_line(timeout).decode('utf-8')

    def cmd(self, text):
        """Sends one command line and returns the reply line."""
        self.send(text + '\n')
        return self.line()

    def sync(self):
        """Sends a LIST that matches nothing; returns the lines before its
        reply (replies come in order)."""
        self.send(SYNC + '\n')
        got = []
        while True:
            line = self.line()
            if line == 'LIST':
                return got
            got.append(line)

    def wait_eof(self, timeout=h.TIMEOUT):
        """Reads until EOF; returns the lines before it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline)
            except h.Closed:
                lines = self.buf.split(b'\n')
                return [x.decode('utf-8', 'replace') for x in lines if x]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def text_bus(**cfg):
    """A bus told text_port 0: bus.text_port is the one it names."""
    return Bus(text_port=0, **cfg)


def value_line(line):
    """(name, python value, time_us) from NAME VALUE TIME."""
    name, rest = line.split(' ', 1)
    value, t = rest.rsplit(' ', 1)
    return name, json.loads(value), iso_us(t)


# ---------------------------------------------------------------- tests

def test_greeting_and_help():
    bus = text_bus()
    t = TextClient(bus.text_port)
    check(t.greeting.startswith('#'), 'greeting %r does not start with #',
          t.greeting)
    check(t.cmd('help').startswith('HELP'), 'help reply')
    check(t.cmd('HeLp\r').startswith('HELP'), 'HeLp with CRLF')
    check_eq(t.sync(), [], 'extra lines after help')
    # Blank lines answer nothing.
    t.send('\n  \n\r\n')
    check_eq(t.sync(), [], 'replies to blank lines')
    check('text port listening' in bus.log(), 'no log line for the text '
          'port: %s' % bus.log_tail(5))


def test_set_get_every_form():
    bus = text_bus()
    t = TextClient(bus.text_port)
    cases = [('5', '5'), ('-9223372036854775808', '-9223372036854775808'),
             ('2.5', '2.5'), ('3.0', '3.0'), ('1e300', '1e+300'),
             ('0.1', '0.1'), ('"a b"', '"a b"'), ('Auto', '"Auto"'),
             ('two words', '"two words"'),
             ('"say \\"hi\\"\\n"', '"say \\"hi\\"\\n"'),
             ('Grüße', '"Grüße"'),
             ('[1, 2]', '[1,2]'), ('{"k": [1, "x y"]}', '{"k":[1,"x y"]}'),
             ('true', '1'), ('false', '0')]
    for text, want in cases:
        before = h.now_us()
        check_eq(t.cmd('set tv %s' % text), 'OK', 'set tv %s' % text)
        after = h.now_us()
        line = t.cmd('get tv')
        name, rest = line.split(' ', 1)
        value, ts = rest.rsplit(' ', 1)
        check_eq((name, value), ('tv', want), 'get after set tv %s' % text)
        tu = iso_us(ts)
        check(before - 1000 <= tu <= after + 1000,
              'time %s of set %s not between %s and %s', ts, text,
              iso(before), iso(after))
    # null is no value; the old one stays.
    check(t.cmd('set tv null').startswith('ERR '), 'set null')
    check(t.cmd('set tv').startswith('ERR '), 'set without a value')
    check(t.cmd('set').startswith('ERR '), 'set alone')
    check(t.cmd('set bad\x01name 1').startswith('ERR '), 'set bad name')
    check_eq(value_line(t.cmd('get tv'))[1], 0, 'value after bad sets')
    # Commands are case-insensitive; names are not.
    check_eq(t.cmd('SET Tv 7'), 'OK', 'SET Tv')
    check_eq(value_line(t.cmd('GET Tv'))[1], 7, 'GET Tv')
    check_eq(value_line(t.cmd('get tv'))[1], 0, 'tv is another tag')
    check_eq(t.sync(), [], 'extra lines')


def test_list_forms():
    bus = text_bus()
    t = TextClient(bus.text_port)
    for n in ('lf_alpha', 'lf_beta', 'x_lf_alpha'):
        check_eq(t.cmd('set %s 1' % n), 'OK', 'set %s' % n)
    full = t.cmd('list').split(' ')
    check_eq(full[0], 'LIST', 'list reply')
    # (__bus_stats__ appears after the first stats interval)
    check_eq([n for n in full[1:] if n != '__bus_stats__'],
             ['__bus__', 'lf_alpha', 'lf_beta', 'x_lf_alpha'],
             'list (every tag, in id order)')
    check_eq(t.cmd('list ^lf_'), 'LIST lf_alpha lf_beta', 'list ^lf_')
    check_eq(t.cmd('list alpha$'), 'LIST lf_alpha x_lf_alpha', 'list alpha$')
    check_eq(t.cmd('list _lf_'), 'LIST x_lf_alpha', 'list _lf_')
    check_eq(t.cmd('LIST ^lf_b'), 'LIST lf_beta', 'LIST ^lf_b')
    check_eq(t.cmd('list nothing_like_it'), 'LIST', 'list with no match')
    # The binary port sees the same tags.
    c = bus.client()
    check_eq(c.list('^lf_'), ['lf_alpha', 'lf_beta'], 'binary LIST ^lf_')


def test_looking_never_creates():
    bus = text_bus()
    t = TextClient(bus.text_port)
    check_eq(t.cmd('get ghost'), "ERR unknown tag 'ghost'", 'get ghost')
    check_eq(t.cmd('sub ghost'), "ERR unknown tag 'ghost'", 'sub ghost')
    check_eq(t.cmd('unsub ghost'), "ERR unknown tag 'ghost'", 'unsub ghost')
    check_eq(t.cmd('list ghost'), 'LIST', 'list after looking')
    check('ghost' not in t.cmd('list').split(), 'ghost in the full list')
    c = bus.client()
    check_eq(c.list('ghost'), [], 'binary LIST after looking')
    check(t.cmd('get').startswith('ERR '), 'get without a name')
    check(t.cmd('frobnicate now').startswith('ERR '), 'unknown command')
    check_eq(t.sync(), [], 'extra lines')


def test_binary_sees_text_set():
    bus = text_bus()
    t = TextClient(bus.text_port)
    c = bus.client()
    tid = c.id('shared')
    check_eq(c.sub(tid).data, b'', 'SUB reply for a never-set tag')
    check_eq(t.cmd('sub shared'),
             'shared null 1970-01-01T00:00:00.000000Z', 'text sub reply')
    cases = [('42', (h.INT, 42)), ('2.5', (h.FLOAT, 2.5)),
             ('3.0', (h.FLOAT, 3.0)), ('"x y"', (h.STR, 'x y')),
             ('Auto', (h.STR, 'Auto')), ('[1, {"a": null}]',
                                         (h.JSON, [1, {'a': None}])),
             ('true', (h.INT, 1))]
    for text, want in cases:
        before = h.now_us()
        check_eq(t.cmd('set shared %s' % text), 'OK', 'set %s' % text)
        after = h.now_us()
        m = c.expect(lambda m: m.cmd == CMD_SET and m.tag_id == tid,
                     'SET of shared after text set %s' % text)
        check_eq(m.value(), want, 'binary value of text set %s' % text)
        check(before - 1000 <= m.time_us <= after + 1000,
              'time_us %d of text set %s not between %d and %d', m.time_us,
              text, before, after)
        if want[0] == h.JSON:
            check_eq(m.data, b'\x05[1,{"a":null}]', 'JSON sent compact')
        # Its own set never comes back to the text client.
        check_eq(t.sync(), [], 'text client got its own set back')
    check_eq(c.sync(), [], 'extra binary messages')
    # The text client's GET matches what the binary client holds.
    r = c.get(tid)
    name, value, tu = value_line(t.cmd('get shared'))
    check_eq((name, value, tu), ('shared', 1, r.time_us),
             'text get vs binary get')


def test_text_sees_binary_set():
    bus = text_bus()
    t = TextClient(bus.text_port)
    c = bus.client()
    tid = c.id('bx')
    check_eq(t.cmd('sub bx'), 'bx null 1970-01-01T00:00:00.000000Z',
             'sub reply (never set)')
    base = 1763730367881143
    cases = [(h.INT, 2 ** 63 - 1, '9223372036854775807'),
             (h.INT, -5, '-5'),
             (h.FLOAT, 2.5, '2.5'), (h.FLOAT, 3.0, '3.0'),
             (h.FLOAT, 0.1, '0.1'), (h.FLOAT, -0.0, '-0.0'),
             (h.FLOAT, float('nan'), 'NaN'),
             (h.FLOAT, float('inf'), 'Infinity'),
             (h.FLOAT, float('-inf'), '-Infinity'),
             (h.STR, 'line1\nline2 "q" \\ \t', None),
             (h.STR, 'Grüße °C', '"Grüße °C"'),
             (h.BYTES, b'\x00\x01\xab\xff\n', '"0001abff0a"'),
             (h.JSON, '{"a":\n [1, 2.5, "x y"]}', '{"a":[1,2.5,"x y"]}')]
    for i, (vt, v, want) in enumerate(cases):
        tu = base + i
        c.set_value(tid, v, vt, time_us=tu)
        line = t.line()
        name, rest = line.split(' ', 1)
        value, ts = rest.rsplit(' ', 1)
        check_eq(name, 'bx', 'name')
        check_eq(ts, iso(tu), 'time of value %d' % i)
        if want is None:  # as Python's json writes it (same escapes)
            want = json.dumps(v, ensure_ascii=False)
        check_eq(value, want, 'text form of %s %r' % (h.TYPE_NAMES[vt], v))
        got = json.loads(value)
        if vt == h.FLOAT and math.isnan(v):
            check(math.isnan(got), 'NaN read back')
        elif vt == h.BYTES:
            check_eq(bytes.fromhex(got), v, 'BYTES read back')
        elif vt == h.JSON:
            check_eq(got, json.loads(v), 'JSON read back')
        else:
            check_eq(got, v, 'value read back')
    check_eq(iso(base), '2025-11-21T13:06:07.881143Z', 'iso helper')
    # An empty SET: the tag reads as never set.
    c.set_data(tid, b'', time_us=base + 100)
    check_eq(t.line(), 'bx null %s' % iso(base + 100), 'empty SET')
    check_eq(t.sync(), [], 'extra lines')


def test_rta_to_text_author():
    bus = text_bus()
    t = TextClient(bus.text_port)
    check_eq(t.cmd('set pump_cmd 0'), 'OK', 'set pump_cmd')
    c = bus.client()
    tid = c.id('pump_cmd')
    c.rta(tid, {'action': 'start', 'speed': 2.5})
    check_eq(t.line(), 'RTA pump_cmd {"action":"start","speed":2.5}',
             'RTA line')
    check_eq(c.sync(), [], 'binary client got something back')


def test_sub_streams_and_unsub():
    bus = text_bus()
    t = TextClient(bus.text_port)
    c = bus.client()
    a, b = c.id('st_a'), c.id('st_b')
    c.set_value(a, 0, time_us=1000000)
    c.sync()
    check_eq(t.cmd('sub st_a nope st_b'), 'st_a 0 1970-01-01T00:00:01.000000Z',
             'first sub reply')
    check_eq(t.line(), "ERR unknown tag 'nope'", 'unknown in the middle')
    check_eq(t.line(), 'st_b null 1970-01-01T00:00:00.000000Z', 'st_b')
    sent = []
    for i in range(1, 101):
        tag = a if i % 2 else b
        tu = c.set_value(tag, i, time_us=1700000000000000 + i)
        sent.append('%s %d %s' % ('st_a' if i % 2 else 'st_b', i, iso(tu)))
    got = [t.line() for _ in sent]
    check_eq(got, sent, 'streamed lines')
    check_eq(t.cmd('unsub st_a'), 'OK', 'unsub st_a')
    c.set_value(a, 500)
    tu = c.set_value(b, 501, time_us=1700000000001000)
    check_eq(t.line(), 'st_b 501 %s' % iso(tu), 'only st_b after unsub')
    t.send('unsub st_a st_b\n')
    check_eq([t.line(), t.line()], ['OK', 'OK'], 'unsub two')
    c.set_value(a, 600)
    c.set_value(b, 601)
    c.sync()
    check_eq(t.sync(), [], 'lines after unsub')


def test_garbage_lines_get_err():
    bus = text_bus()
    t = TextClient(bus.text_port)
    c = bus.client()
    tid = c.id('still_here')
    rnd = random.Random(1324)
    lines = []
    for _ in range(300):
        n = rnd.randrange(0, 150)
        body = bytes(rnd.choice([b for b in range(256) if b != 10])
                     for _ in range(n))
        lines.append(b'z' + body)  # never a known command
    lines.append(b'\x00')
    lines.append(b'get \x00x')
    t.send(b'\n'.join(lines) + b'\n')
    for i, raw in enumerate(lines):
        got = t.raw_line()
        check(got.startswith(b'ERR '), 'reply %d to garbage %r: %r', i,
              raw[:40], got[:80])
    check_eq(t.sync(), [], 'extra lines after garbage')
    # Both ports keep serving.
    check(t.cmd('help').startswith('HELP'), 'help after garbage')
    tu = c.set_value(tid, 7)
    check_eq(c.get(tid).value(), (h.INT, 7), 'binary GET after garbage')
    check_eq(value_line(t.cmd('get still_here')), ('still_here', 7, tu),
             'text get after garbage')
    c2 = bus.client()
    check_eq(c2.id('still_here'), tid, 'new binary client')
    # Random bytes with newlines, in random pieces; the bus survives.
    t2 = TextClient(bus.text_port)
    blob = bytes(rnd.randrange(256) for _ in range(20000))
    blob = blob.replace(b'q', b'x').replace(b'Q', b'x')  # no quit by chance
    # Lines of at most 200 bytes (ERR replies quote the first word).
    blob = b'\n'.join(blob[i:i + 200] for i in range(0, len(blob), 200))
    for i in range(0, len(blob), 997):
        t2.send(blob[i:i + 997])
    t2.send('\n' + SYNC + '\n')
    deadline = time.monotonic() + h.TIMEOUT
    while t2.raw_line() != b'LIST':
        check(time.monotonic() < deadline, 'no sync reply after random bytes')
    check_eq(c.get(tid).value(), (h.INT, 7), 'binary GET after random bytes')
    check(bus.alive(), 'bus died')


def test_overlong_line_drops_text_connection():
    bus = text_bus()
    t = TextClient(bus.text_port)
    c = bus.client()
    tid = c.id('ol_tag')
    sub = bus.client()
    sub.sub(tid)
    check_eq(t.cmd('set ol_tag 1'), 'OK', 'set before the long line')
    sub.expect(lambda m: m.cmd == CMD_SET, 'SET from the text client')
    # One byte over 64 KiB, without a newline: the bus has read all of it
    # when it decides, so its close is a clean one (no reset that could
    # discard the ERR line before it is read).
    t.send(b'a' * (64 * 1024 + 1))
    # Binary clients are unaffected.
    tu = c.set_value(tid, 2)
    m = sub.expect(lambda m: m.cmd == CMD_SET, 'SET after the long line')
    check_eq((m.time_us, m.value()), (tu, (h.INT, 2)),
             'SET after the long line')
    check_eq(c.get(tid).value(), (h.INT, 2), 'GET after the long line')
    try:
        rest = t.wait_eof(20)
    except h.Timeout:
        raise AssertionError('the text connection is still open 20 s after '
                             'a 65,537-byte line without a newline '
                             '(expected it dropped at 64 KiB)')
    check_eq(rest, ['ERR line over 65536 bytes; closing the connection'],
             'lines before EOF: the ERR saying why')
    check(re.search(r'over \d+ bytes', bus.log()),
          'no log line for the over-long line: %s' % bus.log_tail(5))
    check_eq(c.get(tid).value(), (h.INT, 2), 'GET after the drop')
    t2 = TextClient(bus.text_port)
    check_eq(value_line(t2.cmd('get ol_tag'))[1], 2, 'a new text client')


def test_quit_says_bye_then_eof():
    bus = text_bus()
    t = TextClient(bus.text_port)
    t.send('help\nquit\nset after_quit 1\n')
    check(t.line().startswith('HELP'), 'help before quit')
    check_eq(t.line(), 'BYE', 'quit reply')
    check_eq(t.wait_eof(), [], 'lines after BYE')
    c = bus.client()
    check_eq(c.list('after_quit'), [], 'a line after quit was handled')
    t2 = TextClient(bus.text_port)
    check_eq(t2.cmd('QUIT\r'), 'BYE', 'QUIT with CRLF')
    check_eq(t2.wait_eof(), [], 'lines after BYE')
    check(bus.alive(), 'bus died')


def test_allow_list_applies_to_text_port():
    bus = text_bus(allow=['127.0.0.2'])
    t = TextClient(bus.text_port, greet=False)
    try:
        got = t.wait_eof()
    except h.Timeout:
        raise AssertionError('a text client from 127.0.0.1 was not refused')
    check_eq(got, [], 'a refused text client got lines')
    check('refused' in bus.log(), 'no refusal in the log')
    ok = TextClient(bus.text_port, source='127.0.0.2')
    check(ok.greeting.startswith('#'), 'greeting from 127.0.0.2')
    check_eq(ok.cmd('set allowed 1'), 'OK', 'set from an allowed peer')
    c = bus.client(source='127.0.0.2')
    check_eq(c.list('allowed'), ['allowed'], 'binary client from 127.0.0.2')


def test_text_port_absent_means_off():
    hold, unused = h.refused_port()
    bus = Bus()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(('127.0.0.1', unused))
    except ConnectionRefusedError:
        pass
    else:
        raise AssertionError('something listens on port %d though the bus '
                             'has no text_port' % unused)
    finally:
        s.close()
        hold.close()
    check('text port' not in bus.log(), 'text port mentioned in the log: %s'
          % bus.log_tail(5))
    c = bus.client()
    check_eq(c.id('__bus__'), 1, 'binary port works')


def test_text_port_zero_picks_a_free_port():
    bus = Bus(text_port=0)
    m = h.wait_until(lambda: re.search(
        r'text port listening on 127\.0\.0\.1:(\d+)', bus.log()),
        'the text port log line')
    port = int(m.group(1))
    check(port not in (0, bus.port), 'text port %d', port)
    check_eq(bus.text_port, port, 'the harness took the port it names')
    t = TextClient(port)
    check(t.greeting.startswith('#'), 'greeting on the chosen port')
    check(t.cmd('list ^__bus__').startswith('LIST __bus__'), 'list')


if __name__ == '__main__':
    h.main(globals())
