"""`mscada logixclient` against `mscada logixserver` through a real bus:
pymscada's demo logixclient.yaml (Fout REAL[], Iout DINT[], OutVar) pointed
at a logixserver whose elements are bus tags too. A raw bus client sets
server-side tags and watches client-side ones. Also: element start and end
of each poll block, REAL/DINT edge values, a 2,000-DINT array read in
fragments, a missing tag that marks only itself, MSP refused -> single
requests, large Forward Open refused -> plain, Forward Open refused N
times then accepted, the server killed and restarted -> reconnect and
resume, writes of a value and of a bit. Every process in its own group,
stopped by pid; logixserver told port 0, using the port it names."""

import json
import os
import signal
import struct

import mshelp as h
from mshelp import Bus, check, check_eq


class Proc(h.Module):
    """One logix module (an h.Module) with -v and an empty tags.yaml."""

    def __init__(self, module, doc, start=True):
        super().__init__(module, doc, tags='{}\n', args=['-v'], start=start)


# what logixserver logs once it serves its port
SERVING = 'serving EtherNet/IP on 127.0.0.1:{port}'


class Watch(h.Watch):
    """Bus tags subscribed by a raw client; a status tag's JSON text is
    decoded."""

    def decode(self, name, v):
        if name.endswith('_status') and isinstance(v, (str, bytes)):
            return json.loads(v)
        return v


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


PLC = {
    'Fout': {'type': 'REAL', 'dims': [100]},
    'Fin': {'type': 'REAL', 'dims': [100]},
    'Iout': {'type': 'DINT', 'dims': [100]},
    'Iin': {'type': 'DINT', 'dims': [100]},
    'OutVar': {'type': 'REAL'},
    'InVar': {'type': 'REAL'},
    'Big': {'type': 'DINT', 'dims': [2000]},
}

SERVER_TAGS = {
    'S_Fout_0': {'type': 'float32', 'addr': 'Fout[0]'},
    'S_Fout_99': {'type': 'float32', 'addr': 'Fout[99]'},
    'S_Iout_0': {'type': 'int32', 'addr': 'Iout[0]'},
    'S_Iout_99': {'type': 'int32', 'addr': 'Iout[99]'},
    'S_Iout_21': {'type': 'int32', 'addr': 'Iout[21]'},
    'S_OutVar': {'type': 'float32', 'addr': 'OutVar'},
    'S_Fin_20': {'type': 'float32', 'addr': 'Fin[20]'},
    'S_Iin_21': {'type': 'int32', 'addr': 'Iin[21]'},
    'S_InVar': {'type': 'float32', 'addr': 'InVar'},
    'S_Big_0': {'type': 'int32', 'addr': 'Big[0]'},
    'S_Big_1999': {'type': 'int32', 'addr': 'Big[1999]'},
}

# pymscada's demo logixclient.yaml, and Big; Ani_* as in pymscada.
POLL = [
    {'addr': 'Fout', 'type': 'REAL[]', 'start': 0, 'end': 99},
    {'addr': 'Iout', 'type': 'DINT[]', 'start': 0, 'end': 99},
    {'addr': 'OutVar', 'type': 'REAL'},
]
CLIENT_TAGS = {
    'Ani_Fout_0': {'type': 'float32', 'read': 'Ani:Fout[0]'},
    'Ani_Fout_99': {'type': 'float32', 'read': 'Ani:Fout[99]'},
    'Ani_Iout_0': {'type': 'int32', 'read': 'Ani:Iout[0]'},
    'Ani_Iout_99': {'type': 'int32', 'read': 'Ani:Iout[99]'},
    'Ani_Fin_20': {'type': 'float32', 'read': 'Ani:Fout[20]',
                   'write': 'Ani:Fin[20]'},
    'Ani_Iin_21_0': {'type': 'bool', 'read': 'Ani:Iout[21].0',
                     'write': 'Ani:Iin[21].3'},
    'InVar': {'type': 'float32', 'read': 'Ani:OutVar', 'write': 'Ani:InVar'},
}


def server(bus, test=None, plc=PLC, udts=None, tags=SERVER_TAGS, **cfg):
    """logixserver told port 0, once it says which port it serves (its
    .port, kept by a restart)."""
    doc = {'bus_ip': '127.0.0.1', 'bus_port': bus.port, 'ip': '127.0.0.1',
           'plc': plc, 'tags': tags}
    doc.update(cfg)
    if udts:
        doc['udts'] = udts
    if test:
        doc['test'] = test
    p = Proc('logixserver', lambda port: dict(doc, port=port), start=False)
    return p.serve(SERVING)


def client(bus, port, poll=POLL, tags=CLIENT_TAGS, **kw):
    rtu = {'name': 'Ani', 'ip': '127.0.0.1', 'port': port, 'rate': 0.2,
           'timeout': 2, 'poll': poll}
    rtu.update(kw)
    return Proc('logixclient', {'bus_ip': '127.0.0.1', 'bus_port': bus.port,
                                'rtus': [rtu], 'tags': tags})


def test_demo_config_edges_and_writes():
    """pymscada's demo config: element start and end of each block, REAL
    and DINT edge values, a scalar; writes of a REAL and of a bit land."""
    bus = Bus()
    srv = server(bus)
    port = srv.port
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS) + ['Ani_status'])
    cli = client(bus, port)
    cli.wait_logged('Ani: connected (large forward open, 4002 bytes)')
    w.set('S_Fout_0', f32(3.4028234663852886e38))
    w.set('S_Fout_99', -1.5)
    w.set('S_Iout_0', -2147483648)
    w.set('S_Iout_99', 2147483647)
    w.set('S_OutVar', 0.25)
    w.wait('Ani_Fout_0', lambda v: v == f32(3.4028234663852886e38),
           'REAL max at element start')
    w.wait('Ani_Fout_99', lambda v: v == -1.5, 'element end')
    w.wait('Ani_Iout_0', lambda v: v == -2147483648, 'DINT min')
    w.wait('Ani_Iout_99', lambda v: v == 2147483647, 'DINT max')
    w.wait('InVar', lambda v: v == 0.25, 'a scalar REAL')
    # writes: a REAL, and bit 3 of a DINT by Read-Modify-Write
    w.set('S_Iin_21', 0x10)
    w.set('Ani_Fin_20', 12.5)
    w.wait('S_Fin_20', lambda v: v == 12.5, 'REAL written to Fin[20]')
    w.set('Ani_Iin_21_0', 1)
    w.wait('S_Iin_21', lambda v: v == 0x18, 'bit 3 set, bit 4 kept')
    w.set('Ani_Iin_21_0', 0)
    w.wait('S_Iin_21', lambda v: v == 0x10, 'bit 3 cleared, bit 4 kept')
    w.wait('Ani_status', lambda v: v.get('connected') is True and
           v.get('connection_size') == 4002 and v.get('msp') is True,
           'status: connected, 4002 bytes, MSP')
    check_eq(cli.stop(), 0, 'logixclient exit')
    check_eq(srv.stop(), 0, 'logixserver exit')


def test_fragmented_and_missing_tag():
    """A 2,000-DINT array read in fragments; a missing tag is logged once
    with its CIP status and the other tags go on updating."""
    bus = Bus()
    srv = server(bus)
    port = srv.port
    poll = POLL + [{'addr': 'Big', 'type': 'DINT[]', 'start': 0,
                    'end': 1999},
                   {'addr': 'Nope', 'type': 'DINT'}]
    tags = dict(CLIENT_TAGS)
    tags['Ani_Big_0'] = {'type': 'int32', 'read': 'Ani:Big[0]'}
    tags['Ani_Big_1999'] = {'type': 'int32', 'read': 'Ani:Big[1999]'}
    tags['Ani_Nope'] = {'type': 'int32', 'read': 'Ani:Nope'}
    w = Watch(bus, list(SERVER_TAGS) + list(tags) + ['Ani_status'])
    cli = client(bus, port, poll=poll, tags=tags)
    w.set('S_Big_0', 11)
    w.set('S_Big_1999', -7)
    w.wait('Ani_Big_0', lambda v: v == 11, 'Big[0] through fragments')
    w.wait('Ani_Big_1999', lambda v: v == -7, 'Big[1999] through fragments')
    for i in range(3):
        w.set('S_Iout_99', 100 + i)
        w.wait('Ani_Iout_99', lambda v, i=i: v == 100 + i,
               'other tags go on updating')
    log = cli.log()
    check_eq(log.count('reading Nope failed: 0x04 path segment error'), 1,
             'the missing tag logged once')
    w.wait('Ani_status',
           lambda v: 'Nope' in (v.get('last_error') or {}).get('text', ''),
           'status last_error names the missing tag')
    check('Ani_Nope' not in w.vals, 'the missing tag has no value')
    cli.stop()
    srv.stop()


def test_no_msp_no_large_fo_refused_fo():
    """A server that refuses Forward Open twice, has no large Forward Open
    and answers MSP with 'service not supported': the client retries,
    takes the 504-byte connection and sends single requests."""
    bus = Bus()
    srv = server(bus, test={'no_msp': True, 'no_large_forward_open': True,
                            'refuse_forward_open': 2})
    port = srv.port
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS) + ['Ani_status'])
    cli = client(bus, port)
    cli.wait_logged('Ani: connected (forward open, 504 bytes)')
    cli.wait_logged('does not support Multiple Service Packet')
    w.set('S_Fout_99', 9.75)
    w.set('S_Iout_0', 5)
    w.wait('Ani_Fout_99', lambda v: v == 9.75, 'read by single requests')
    w.wait('Ani_Iout_0', lambda v: v == 5, 'read by single requests')
    check_eq(srv.log().count('forward open refused (0x01/0x0113)'), 2,
             'refused twice')
    w.wait('Ani_status', lambda v: v.get('connection_size') == 504 and
           v.get('msp') is False, 'status: 504 bytes, no MSP')
    cli.stop()
    srv.stop()


def test_server_restart_reconnects():
    """The server killed and started again on the same port: the client
    reconnects (connects counts 2) and values flow again."""
    bus = Bus()
    srv = server(bus)
    port = srv.port
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS) + ['Ani_status'])
    cli = client(bus, port)
    w.set('S_Iout_99', 1)
    w.wait('Ani_Iout_99', lambda v: v == 1, 'first value')
    srv.stop(signal.SIGKILL)
    w.wait('Ani_status', lambda v: v.get('connected') is False,
           'status says disconnected')
    srv.start()
    srv.wait_logged(SERVING, port=port)
    w.set('S_Iout_99', 2)
    w.wait('Ani_Iout_99', lambda v: v == 2, 'value after the restart')
    w.wait('Ani_status', lambda v: v.get('connects') == 2,
           'two connects')
    cli.stop()
    srv.stop()


NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'logix_node')


def test_st_ethernet_ip_peer():
    """npm's st-ethernet-ip (pinned by package-lock.json), connecting with
    its default setup (identity, the Symbol instance list, every template),
    sees each tag with its type and the Motor and STRING templates with
    their members and offsets; reads and writes SINT, INT, DINT, LINT,
    REAL, an array range, a bit by its Read-Modify-Write, UDT members (of
    a tag and of an array element), a whole UDT and a STRING, a bit of a UDT member by
    Read-Modify-Write; gets 0x05
    for a missing member and 0x04 for a missing tag."""
    import shutil
    node = shutil.which('node')
    npm = shutil.which('npm')
    if not node or not npm:
        h.skip('node/npm missing: run scripts/deps.sh')
    if not os.path.isdir(os.path.join(NODE_DIR, 'node_modules',
                                      'st-ethernet-ip')):
        rc, out, err = h.run_cmd([npm, 'ci', '--no-audit', '--no-fund'],
                                 timeout=240, cwd=NODE_DIR)
        if rc != 0:
            h.skip('npm ci failed (no registry?): %s' % err[-300:])
    bus = Bus()
    plc = dict(PLC)
    plc.update({'S8': {'type': 'SINT'}, 'I16': {'type': 'INT'},
                'D32': {'type': 'DINT'}, 'L64': {'type': 'LINT'},
                'R32': {'type': 'REAL'}, 'Word': {'type': 'DINT'},
                'M1': {'type': 'Motor'},
                'Motors': {'type': 'Motor', 'dims': [3]},
                'Name': {'type': 'STRING'}})
    udts = {'Motor': {'Speed': 'REAL', 'Run': 'SINT', 'Count': 'DINT',
                      'Hours': 'LINT'}}
    srv = server(bus, plc=plc, udts=udts)
    port = srv.port
    rc, out, err = h.run_cmd([node, 'peer.js', str(port)], timeout=120,
                             cwd=NODE_DIR)
    check_eq(rc, 0, 'peer.js exit (%s)' % err[-500:])
    got = json.loads(out.strip().splitlines()[-1])
    check_eq(got['S8'], -128, 'SINT')
    check_eq(got['I16'], 32767, 'INT')
    check_eq(got['D32'], -2147483648, 'DINT')
    check_eq(got['L64'], '-9223372036854775808', 'LINT')
    check_eq(got['R32'], 1.5, 'REAL')
    check_eq(got['Iout'], [0, 0, 0, 0, 0, 7, 0, 0, 0, 0], 'DINT[10]')
    check_eq(got['Word'], 8, 'bit 3 by RMW')
    tags = {t[0]: t[1:] for t in got['tags']}
    check_eq(tags['M1'], ['Motor', True], 'M1 in the tag list')
    check_eq(tags['Motors'], ['Motor', True], 'Motors in the tag list')
    check_eq(tags['Name'], ['STRING', True], 'Name in the tag list')
    check_eq(tags['R32'], ['REAL', False], 'R32 in the tag list')
    tmpl = {t[0]: t[1:] for t in got['templates']}
    # Logix alignment: SINT at 4, DINT at 8, LINT at 16; 24 bytes in all
    check_eq(tmpl['Motor'], [24, [['Speed', 0xCA, 0], ['Run', 0xC2, 4],
                                  ['Count', 0xC4, 8], ['Hours', 0xC5, 16]]],
             'Motor template')
    check_eq(tmpl['STRING'], [88, [['LEN', 0xC4, 0], ['DATA', 0xC2, 4]]],
             'STRING template')
    check_eq(got['Speed'], 2.5, 'M1.Speed written and read')
    # Count: -7 written, then bit 0 cleared by Read-Modify-Write: -8
    check_eq(got['M1'], {'Speed': 2.5, 'Run': 0, 'Count': -8,
                         'Hours': '0'}, 'M1 read whole')
    check_eq(got['MotorsCount'], 42, 'Motors[1].Count')
    check_eq(got['Name'], 'hello logix', 'STRING written and read')
    check('"generalStatusCode":5' in got['MNope'],
          'missing member: status 0x05: %r', got['MNope'])
    check('"generalStatusCode":4' in got['Nope'],
          'missing tag: status 0x04: %r', got['Nope'])
    srv.stop()


def test_list_identity_over_udp():
    """List Identity (0x63) sent as a UDP datagram to logixserver's port
    is answered by one datagram: one identity item (0x0C) holding the
    port, vendor 1, device type 0x0E and the product name; the same bytes
    as the answer over TCP."""
    import socket
    bus = Bus()
    srv = server(bus)
    port = srv.port
    req = struct.pack('<HHII8sI', 0x63, 0, 0, 0, b'udp-ctx1', 0)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(10)
    u.sendto(req, ('127.0.0.1', port))
    got, _ = u.recvfrom(2048)
    u.close()
    cmd, length, session, status, ctx = struct.unpack_from('<HHII8s', got)
    check_eq((cmd, session, status, ctx), (0x63, 0, 0, b'udp-ctx1'),
             'List Identity header')
    check_eq(length, len(got) - 24, 'length')
    count, item, ilen, ver = struct.unpack_from('<HHHH', got, 24)
    check_eq((count, item, ilen, ver), (1, 0x0C, len(got) - 30, 1),
             'one identity item')
    check_eq(struct.unpack_from('>HH', got, 32), (2, port),
             'sockaddr: AF_INET and the port')
    vendor, dtype = struct.unpack_from('<HH', got, 48)
    check_eq((vendor, dtype), (1, 0x0E), 'vendor and device type')
    check(b'mscada logixserver' in got, 'product name in %r', got)
    t = socket.create_connection(('127.0.0.1', port), timeout=10)
    t.sendall(req)
    tcp = b''
    while len(tcp) < len(got):
        chunk = t.recv(2048)
        check(chunk, 'TCP List Identity answered')
        tcp += chunk
    t.close()
    check_eq(tcp, got, 'the same answer over TCP')
    srv.stop()


def test_tshark_decodes_our_frames():
    """Wireshark's dissector (tshark) reads every frame between
    logixclient and logixserver on loopback: Register Session, Large
    Forward Open, Multiple Service Packet of Read Tag, Read Tag
    Fragmented, Read-Modify-Write, Write Tag, Forward Close; no frame is
    malformed."""
    import shutil
    tshark = shutil.which('tshark')
    if not tshark:
        h.skip('tshark missing: run scripts/deps.sh')
    bus = Bus()
    srv = server(bus)
    port = srv.port
    d = h.tmpdir('mscada-tshark-')
    pcap = os.path.join(d, 'logix.pcap')
    cap_log = os.path.join(d, 'tshark.log')
    cap = h.spawn([tshark, '-i', 'lo', '-f', 'tcp port %d' % port, '-l',
                   '-P', '-w', pcap], cap_log)

    # "Capture started" comes before the filter is in place: probe the
    # port until tshark prints a packet of it.
    def seen():
        import socket
        try:
            socket.create_connection(('127.0.0.1', port), 5).close()
        except OSError:
            pass
        return ' \u2192 ' in open(cap_log, errors='replace').read() or \
            ' -> ' in open(cap_log, errors='replace').read()
    h.wait_until(seen, 'tshark capturing', 60, 0.2)
    poll = POLL + [{'addr': 'Big', 'type': 'DINT[]', 'start': 0,
                    'end': 1999}]
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS))
    cli = client(bus, port, poll=poll)
    w.set('S_Iout_99', 3)
    w.wait('Ani_Iout_99', lambda v: v == 3, 'a polled value')
    w.set('Ani_Fin_20', 2.5)
    w.wait('S_Fin_20', lambda v: v == 2.5, 'a write')
    w.set('Ani_Iin_21_0', 1)
    w.wait('S_Iin_21', lambda v: v == 8, 'a bit write')
    fins = open(cap_log, errors='replace').read().count('FIN')
    check_eq(cli.stop(), 0, 'logixclient exit')
    # The client's FIN follows its Forward Close: once tshark has printed
    # it, every frame of the session is in the capture.
    h.wait_until(lambda: open(cap_log, errors='replace').read().count('FIN')
                 > fins, 'tshark seeing the client close', 60, 0.1)
    h.stop_pid(cap, signal.SIGINT, 30)
    rc, out, err = h.run_cmd([tshark, '-r', pcap, '-d',
                              'tcp.port==%d,enip' % port, '-V'],
                             timeout=120)
    check_eq(rc, 0, 'tshark -r (%s)' % err[-300:])
    # Logix's tag services are vendor-specific: Wireshark names the
    # code and decodes the symbolic path; the rest by name.
    for want in ['Command: Register Session (0x0065)',
                 'Command: Send Unit Data (0x0070)',
                 'Service: Large Forward Open (Request)',
                 'Connection Size: 4002 bytes',
                 'Service: Multiple Service Packet (Request)',
                 'Service: Multiple Service Packet (Response)',
                 'Service (0x4c) (Request)', 'Service (0x52) (Request)',
                 'Service (0x52) (Response)', 'Service (0x4d) (Request)',
                 'Service (0x4e) (Request)',
                 'Service: Forward Close (Request)',
                 'ANSI Symbol: Fout', 'ANSI Symbol: Big',
                 'ANSI Symbol: Iin']:
        check(want in out, 'tshark did not show %r', want)
    check('Malformed' not in out, 'a malformed frame: %s',
          out[max(0, out.find('Malformed') - 2000):out.find('Malformed')
              + 200])
    srv.stop()




# one Logix tag per type; the client writes each through the bus
TYPED = [  # (plc name, Logix type, client tag type, value)
    ('W_S8', 'SINT', 'int8', -128),
    ('W_I16', 'INT', 'int16', -32768),
    ('W_D32', 'DINT', 'int32', 2147483647),
    ('W_L64', 'LINT', 'int64', -9223372036854775808),
    ('W_U8', 'USINT', 'uint8', 255),
    ('W_U16', 'UINT', 'uint16', 65535),
    ('W_U32', 'UDINT', 'uint32', 4294967295),
    ('W_U64', 'ULINT', 'uint64', 9223372036854775807),
    ('W_R32', 'REAL', 'float32', f32(-3.25e38)),
    ('W_R64', 'LREAL', 'float64', 1.0000000000000002),
    ('W_Str', 'STRING', 'string', 'written by logixclient'),
]


def test_writes_of_each_type():
    """A bus change of each tag type is written by logixclient as its
    Logix type (the tag's type: no poll entry covers them) and lands on
    logixserver, seen through its mapped bus tags."""
    bus = Bus()
    plc = dict(PLC)
    stags = dict(SERVER_TAGS)
    ctags = dict(CLIENT_TAGS)
    for name, ltype, ctype, _ in TYPED:
        plc[name] = {'type': ltype}
        stags['S_' + name] = {'type': ctype, 'addr': name}
        ctags['C_' + name] = {'type': ctype, 'write': 'Ani:' + name}
    srv = server(bus, plc=plc, tags=stags)
    port = srv.port
    w = Watch(bus, list(stags) + list(ctags) + ['Ani_status'])
    cli = client(bus, port, tags=ctags)
    w.wait('Ani_status', lambda v: v.get('connected') is True, 'connected')
    for name, _, _, value in TYPED:
        w.set('C_' + name, value)
    for name, ltype, _, value in TYPED:
        w.wait('S_' + name, lambda v, value=value: v == value,
               '%s written as %s' % (name, ltype))
    # a second STRING write reuses the handle learnt by the first
    w.set('C_W_Str', 'again')
    w.wait('S_W_Str', lambda v: v == 'again', 'a second STRING write')
    check('write of' not in cli.log(), 'no write failed: %s' % cli.log())
    w.wait('Ani_status', lambda v: v.get('write_errors') == 0,
           'status: no write errors')
    cli.stop()
    srv.stop()


def no_replay_or_replay(replay):
    bus = Bus()
    srv = server(bus)
    port = srv.port
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS) + ['Ani_status'])
    cli = client(bus, port, write_on_reconnect=replay)
    w.wait('Ani_status', lambda v: v.get('connected') is True, 'connected')
    w.set('Ani_Fin_20', 1.5)
    w.wait('S_Fin_20', lambda v: v == 1.5, 'a first write')
    srv.stop(signal.SIGKILL)
    w.wait('Ani_status', lambda v: v.get('connected') is False,
           'status says disconnected')
    w.set('Ani_Fin_20', 99.5)  # while nobody listens: stale after reconnect
    cli.wait_logged('write of Ani_Fin_20' if not replay else
                    'written on reconnect')
    srv.start()
    srv.wait_logged(SERVING, port=port)
    w.wait('Ani_status', lambda v: v.get('connected') is True and
           v.get('connects') == 2, 'reconnected')
    # a write after the reconnect: one in flight at a time, in order, so
    # a replay of the stale one would have landed before this one
    w.set('InVar', 4.25)
    w.wait('S_InVar', lambda v: v == 4.25, 'a write after the reconnect')
    w.pump()
    return w, cli, srv


def test_write_on_reconnect_off_no_replay():
    """write_on_reconnect false (the default): a write made while the PLC
    is away is not sent when it comes back."""
    w, cli, srv = no_replay_or_replay(False)
    check(w.vals.get('S_Fin_20') != 99.5,
          'the stale write was not replayed (S_Fin_20 %r)',
          w.vals.get('S_Fin_20'))
    check('write of Ani_Fin_20 failed' in cli.log(),
          'the lost write is logged as failed')
    cli.stop()
    srv.stop()


def test_write_on_reconnect_on_replays():
    """write_on_reconnect true: the same write lands after reconnect (so
    the test above can see a replay)."""
    w, cli, srv = no_replay_or_replay(True)
    w.wait('S_Fin_20', lambda v: v == 99.5, 'the write replayed')
    cli.stop()
    srv.stop()


def test_connection_in_use_fresh_serial():
    """Forward Open refused twice with 0x01/0x0100 (connection in use):
    the client tries again each time with another connection serial."""
    bus = Bus()
    srv = server(bus, test={'in_use_forward_open': 2})
    port = srv.port
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS) + ['Ani_status'])
    cli = client(bus, port)
    w.set('S_Iout_0', 77)
    w.wait('Ani_Iout_0', lambda v: v == 77, 'values after the retries')
    check_eq(cli.log().count('connection serial in use; trying another'), 2,
             'two retries')
    import re
    serials = re.findall(r'forward open(?: refused \(0x01/0x0100\)|, 4002 '
                         r'bytes), serial (0x[0-9A-F]{4})', srv.log())
    check_eq(len(serials), 3, 'two refused and one accepted serial (%s)'
             % srv.log())
    check_eq(len(set(serials)), 3, 'three different serials %r' % serials)
    w.wait('Ani_status', lambda v: v.get('connects') == 1, 'one connect')
    cli.stop()
    srv.stop()


def test_unconnected_over_a_route():
    """No Forward Open at all (0x08 to both kinds): the client falls back
    to unconnected messaging through Unconnected Send along its route
    (`ip/1/0` style path), reads and writes."""
    bus = Bus()
    srv = server(bus, test={'no_forward_open': True})
    port = srv.port
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS) + ['Ani_status'])
    cli = client(bus, port, path='1,0')
    cli.wait_logged('trying unconnected messaging')
    w.set('S_Fout_99', 2.5)
    w.wait('Ani_Fout_99', lambda v: v == 2.5, 'read unconnected')
    w.set('Ani_Fin_20', 6.5)
    w.wait('S_Fin_20', lambda v: v == 6.5, 'written unconnected')
    w.wait('Ani_status', lambda v: v.get('connected') is True and
           v.get('connected_messaging') is False, 'status: unconnected')
    cli.stop()
    srv.stop()



def test_client_stopped_mid_frame_is_dropped():
    """A client that sends 10 bytes of a frame and stops: logixclient goes
    on reading meanwhile, and the sweep drops the stuck one after
    `timeout`."""
    import socket
    bus = Bus()
    srv = server(bus, timeout=1)
    port = srv.port
    stuck = socket.create_connection(('127.0.0.1', port))
    stuck.sendall(struct.pack('<HHI', 0x65, 4, 0) + b'\0\0')  # 10 of 28
    w = Watch(bus, list(SERVER_TAGS) + list(CLIENT_TAGS))
    cli = client(bus, port)
    for i in range(3):
        w.set('S_Iout_99', 10 + i)
        w.wait('Ani_Iout_99', lambda v, i=i: v == 10 + i,
               'the other client goes on')
    stuck.settimeout(30)
    check_eq(stuck.recv(100), b'', 'the stuck client dropped (EOF)')
    stuck.close()
    check('stopped mid-frame (10 bytes)' in srv.log(),
          'the drop logged: %s', srv.log()[-800:])
    w.set('S_Iout_99', 99)
    w.wait('Ani_Iout_99', lambda v: v == 99, 'the other client still goes')
    cli.stop()
    srv.stop()

if __name__ == '__main__':
    h.main(globals())
