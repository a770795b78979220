"""`mscada modbusclient` with max_in_flight 8 against our own `mscada
modbusserver` (which answers pipelined requests; the independent peer is
libmodbus in test_mbclient_pipeline.c): 40 register blocks over two units
and 8 coil blocks, values put into the server through its bus tags, read
back through modbusclient's tags on the same bus, twice (new values the
second time), no error counted in the status tag."""

import mshelp as h
from mshelp import Bus, check_eq

NB = 40   # register blocks, unit 1 then unit 2
NC = 8    # coil blocks (unit 1)


def value(r, k):
    return (k * 1000003 + 11) * (1 if r == 0 else -1)


def coil(r, k):
    return (k + r) % 2


def test_pipelined_against_modbusserver():
    bus = Bus()
    srv = ['bus_ip: 127.0.0.1', 'bus_port: %d' % bus.port, 'rtus:',
           '- name: S', '  ip: 127.0.0.1', '  port: %d',  # serve()'s
           '  tcp_udp: tcp', '  serve:',
           '  - {unit: 1, file: 4x, start: 1, end: 400}',
           '  - {unit: 2, file: 4x, start: 1, end: 400}',
           '  - {unit: 1, file: 0x, start: 1, end: 200}', 'tags:']
    cli = ['bus_ip: 127.0.0.1', 'bus_port: %d' % bus.port, 'rtus:',
           '- name: P', '  ip: 127.0.0.1', '  port: %d',  # the server's
           '  tcp_udp: tcp', '  rate: 0.05', '  timeout: 10',
           '  retries: 0', '  max_in_flight: 8', '  poll:']
    tags = []
    for k in range(NB):
        unit, word = 1 + k % 2, 10 * (k // 2) + 1
        srv.append("  S%d: {type: int32, addr: 'S:%d:4x:%d'}"
                   % (k, unit, word))
        cli.insert(len(cli), '  - {unit: %d, file: 4x, start: %d, end: %d}'
                   % (unit, word, word + 2))
        tags.append("  C%d: {type: int32, read: 'P:%d:4x:%d'}"
                    % (k, unit, word))
    for k in range(NC):
        srv.append("  SB%d: {type: bool, addr: 'S:1:0x:%d'}"
                   % (k, 20 * k + 5))
        cli.append('  - {unit: 1, file: 0x, start: %d, end: %d}'
                   % (20 * k + 1, 20 * k + 16))
        tags.append("  CB%d: {type: bool, read: 'P:1:0x:%d'}"
                    % (k, 20 * k + 5))
    cli.append('tags:')
    cli += tags
    server = h.Module('modbusserver', lambda p: '\n'.join(srv) % p + '\n',
                      start=False)
    server.serve('serving Modbus/TCP on 127.0.0.1:{port}')
    client = h.Module('modbusclient', '\n'.join(cli) % server.port + '\n')
    c = bus.client()
    ids = {}
    for k in range(NB):
        for n in ('S%d' % k, 'C%d' % k):
            ids[n] = c.id(n)
    for k in range(NC):
        for n in ('SB%d' % k, 'CB%d' % k):
            ids[n] = c.id(n)
    # the current value comes with the SUB's answer
    w = h.Watch(bus, [n for n in ids if n.startswith('C')])
    vals = w.vals

    def wrong(r):
        w.pump(0.02)
        bad = [k for k in range(NB) if vals.get('C%d' % k) != value(r, k)]
        bad += ['B%d' % k for k in range(NC)
                if vals.get('CB%d' % k) != coil(r, k)]
        return bad

    for r in (0, 1):
        for k in range(NB):
            c.set_value(ids['S%d' % k], value(r, k))
        for k in range(NC):
            c.set_value(ids['SB%d' % k], coil(r, k))
        try:
            h.wait_until(lambda: not wrong(r), 'round %d read back' % r, 60)
        except AssertionError:
            print('wrong: %r\nvalues: %r' % (wrong(r), vals))
            raise
    sid = c.id('P_status')
    st = {}

    def status_ok():
        m = c.get(sid)
        dv = h.decode_value(m.data)
        st.update(dv[1] if dv else {})
        return st.get('requests', 0) > 0 and st.get('connected')
    h.wait_until(status_ok, 'status', 30)
    check_eq(st.get('errors'), 0, 'errors in %r' % st)
    check_eq(st.get('connects'), 1, 'connects in %r' % st)
    check_eq(client.stop(), 0, 'modbusclient exit status')
    check_eq(server.stop(), 0, 'modbusserver exit status')

if __name__ == '__main__':
    h.main(globals())
