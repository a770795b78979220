"""`mscada sparkplug` against Debian's mosquitto, started here on a free
loopback port with a config of this test's own (its own process group,
stopped by pid). The independent peer is Eclipse Tahu's JS codec
(npm's sparkplug-payload, pinned in tests/sparkplug/package-lock.json,
`npm ci` when node_modules is missing) with the `mqtt` client: it decodes
what the edge publishes and plays an edge node for the host. Raw bus
clients read and set the tags on real `mscada bus` processes."""

import getpass
import json
import os
import shutil
import sys

import mshelp as h
from mshelp import Bus, check, check_eq

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_DIR = os.path.join(HERE, '..', 'sparkplug')
MOSQUITTO = '/usr/sbin/mosquitto'


def need_peer():
    if not os.path.exists(MOSQUITTO) or not shutil.which('node'):
        print('SKIP: mosquitto or node missing: run scripts/deps.sh')
        sys.exit(77)
    if os.path.isdir(os.path.join(PEER_DIR, 'node_modules', 'mqtt')):
        return
    rc, out, err = h.run_cmd(['npm', 'ci', '--no-audit', '--no-fund', '-q'],
                             timeout=240, cwd=PEER_DIR)
    if rc != 0:
        raise AssertionError('npm ci in tests/sparkplug failed (is the npm '
                             'registry reachable?): %s' % err[-2000:])


class Broker:
    """mosquitto on a free port (its first start; it takes no port 0):
    another one if that was taken before mosquitto bound it; extra: more
    lines of its config (then anonymous clients are refused)."""

    def __init__(self, extra=None):
        self.dir = h.tmpdir('mscada-mqtt-')
        self.port = None
        self.extra = extra
        self.conf = os.path.join(self.dir, 'mosquitto.conf')
        self.log = os.path.join(self.dir, 'mosquitto.log')
        self.proc = None

    def text(self):
        return h.read_log(self.log)

    def _spawn(self, port):
        with open(self.conf, 'w') as f:
            # as root it would become user mosquitto, who can't read our
            # files: stay who we are
            f.write('listener %d 127.0.0.1\npersistence false\nuser %s\n'
                    % (port, getpass.getuser()))
            f.write('allow_anonymous true\n' if self.extra is None
                    else self.extra)
        mark = h.log_size(self.log)
        return h.spawn([MOSQUITTO, '-c', self.conf], self.log), self.log, \
            mark

    def start(self):
        # it names the port before binding it and says 'running' once
        # every listener is bound (it exits when one is not, saying
        # "Address already in use")
        self.proc, self.port = h.serve(
            self._spawn, 'Opening ipv4 listen socket on port {port}.',
            'mosquitto version * running', port=self.port, what='mosquitto')

    def stop(self):
        h.stop_pid(self.proc)


class Peer:
    """node peer.js sub: every message, decoded by Tahu's codec."""

    def __init__(self, broker, filt='spBv1.0/#'):
        d = h.tmpdir('mscada-peer-')
        self.log = os.path.join(d, 'peer.log')
        self.proc = h.spawn(['node', os.path.join(PEER_DIR, 'peer.js'), 'sub',
                             str(broker.port), filt], self.log)
        h.wait_until(lambda: any('ready' in m for m in self.lines()),
                     'peer subscribed', 30)

    def lines(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.startswith('{')]

    def msgs(self, kind):
        def kind_of(t):
            parts = t.split('/')
            return parts[1] if parts[1:2] == ['STATE'] else parts[2:3]
        return [m for m in self.lines() if 'topic' in m and
                kind_of(m['topic']) in (kind, [kind])]

    def wait(self, kind, pred, what, timeout=30):
        found = []

        def ok():
            found[:] = [m for m in self.msgs(kind) if pred(m)]
            return bool(found)
        h.wait_until(ok, what, timeout)
        return found[-1]

    def stop(self):
        h.stop_pid(self.proc)


def publish(broker, topic, obj):
    rc, out, err = h.run_cmd(['node', os.path.join(PEER_DIR, 'peer.js'),
                              'pub', str(broker.port), topic,
                              json.dumps(obj)], timeout=30)
    check_eq(rc, 0, 'peer pub (%s)' % err)


Watch = h.Watch


TAGS = '''temp: {type: float, units: C, min: -10, max: 100}
count: {type: int}
label: {type: str}
plc1_sp: {type: int}
plc1_ro: {type: int}
'''


class Module(h.Module):
    """`mscada sparkplug` (an h.Module)."""

    def __init__(self, cfg, tags=None, env=None):
        super().__init__('sparkplug', cfg, tags=tags, env=env)

    def text(self):
        return self.log()


def edge_cfg(bus, broker, extra=''):
    return ('bus_port: %d\nbroker: 127.0.0.1\nport: %d\ngroup: Plant\n'
            'node: Site1\ndevices: {PLC1: {tags: [\'plc1_*\']}}\n'
            'writable: [plc1_sp]\n%s' % (bus.port, broker.port, extra))


def host_cfg(bus, broker):
    return ('bus_port: %d\nbroker: 127.0.0.1\nport: %d\nmode: host\n'
            'group: Plant\nhost_id: centre\nwrite: true\n'
            % (bus.port, broker.port))


def by_name(payload):
    return {m['name']: m for m in payload['metrics'] if 'name' in m}


def test_edge_read_by_tahu():
    """NBIRTH/DBIRTH/NDATA/NDEATH as Tahu's decoder reads them: names,
    aliases, datatypes, values, properties, seq and bdSeq."""
    need_peer()
    br = Broker()
    br.start()
    bus = Bus()
    c = bus.client()
    for name, v in (('temp', 21.5), ('count', 7), ('label', 'héllo')):
        c.set_value(c.id(name), v)
    c.sync()
    peer = Peer(br)
    ed = Module(edge_cfg(bus, br), TAGS + 'absent: {type: int}\n')
    nb = peer.wait('NBIRTH', lambda m: True, 'NBIRTH')['payload']
    check_eq(nb['seq'], '0', 'NBIRTH seq')
    m = by_name(nb)
    check_eq(m['bdSeq']['type'], 'Int64', 'bdSeq type')
    check_eq(m['Node Control/Rebirth']['type'], 'Boolean', 'rebirth type')
    check_eq(m['temp']['properties']['engUnit']['value'], 'C', 'units')
    check_eq(m['temp']['properties']['engHigh']['value'], 100, 'max')
    types = {k: m[k]['type'] for k in ('temp', 'count', 'label')}
    check_eq(types, {'temp': 'Double', 'count': 'Int64', 'label': 'String'},
             'datatypes')
    check('plc1_sp' not in m, 'device metric in NBIRTH')
    alias = {k: m[k]['alias'] for k in ('temp', 'count', 'label')}
    check_eq(len(set(alias.values())), 3, 'distinct aliases')
    # the NBIRTH waited for the bus's answers: values, and null for the
    # tag the bus does not have
    vals = {k: m[k]['value'] for k in ('temp', 'count', 'label', 'absent')}
    check_eq(vals, {'temp': 21.5, 'count': '7', 'label': 'héllo',
                    'absent': None}, 'NBIRTH values')
    check('have not answered' not in ed.text(), 'born by the answers, not '
          'the bound: %s', ed.text()[-600:])
    check_eq(peer.msgs('NDATA'), [], 'no NDATA of the values at start')
    db = peer.wait('DBIRTH', lambda m: True, 'DBIRTH')
    check(db['topic'].endswith('/Site1/PLC1'), 'DBIRTH topic %r', db['topic'])
    check_eq(db['payload']['seq'], '1', 'DBIRTH seq')
    d = by_name(db['payload'])
    check_eq(d['plc1_sp']['properties']['readOnly']['value'], False,
             'plc1_sp writable')
    check_eq(d['plc1_ro']['properties']['readOnly']['value'], True,
             'plc1_ro read-only')
    c.set_value(c.id('count'), 8)
    nd = peer.wait('NDATA', lambda x: any(
        y['alias'] == alias['count'] and y['value'] == '8'
        for y in x['payload']['metrics']), 'NDATA count 8')['payload']
    check_eq(len(nd['metrics']), 1, 'only the change')
    seqs = [int(x['payload']['seq']) for x in
            peer.msgs('NBIRTH') + peer.msgs('DBIRTH') + peer.msgs('NDATA')]
    check_eq(seqs, list(range(len(seqs))), 'seq numbers in order')
    check_eq(ed.stop(), 0, 'edge exit status')
    de = peer.wait('NDEATH', lambda m: True, 'NDEATH')['payload']
    check_eq(by_name(de)['bdSeq']['value'], m['bdSeq']['value'],
             'NDEATH bdSeq')
    peer.stop()
    br.stop()


def test_host_mirrors_tahu_edge():
    """A Tahu edge node: NBIRTH/NDATA onto the host's bus, a seq gap asks
    for a rebirth, NDEATH marks the node stale, bus SET -> NCMD."""
    need_peer()
    br = Broker()
    br.start()
    bus = Bus()
    peer = Peer(br, 'spBv1.0/#')
    ho = Module(host_cfg(bus, br))
    peer.wait('STATE', lambda m: json.loads(m['payload'])['online'],
              'host STATE online')
    t = 'spBv1.0/Plant/%s/Tahu1'
    birth = {'timestamp': 1, 'seq': 0, 'metrics': [
        {'name': 'bdSeq', 'type': 'Int64', 'value': 4},
        {'name': 'Flow', 'alias': 1, 'type': 'Float', 'value': 1.5},
        {'name': 'Run', 'alias': 2, 'type': 'Boolean', 'value': True},
        {'name': 'Mode', 'alias': 3, 'type': 'Int16', 'value': -2}]}
    publish(br, t % 'NBIRTH', birth)
    w = Watch(bus, ['Plant/Tahu1/Flow', 'Plant/Tahu1/Run',
                    'Plant/Tahu1/Mode', 'Plant/Tahu1/_state'])
    w.wait('Plant/Tahu1/Flow', lambda v: v == 1.5, 'Flow')
    w.wait('Plant/Tahu1/Run', lambda v: v == 1, 'Run')
    w.wait('Plant/Tahu1/Mode', lambda v: v == -2, 'Mode')
    publish(br, t % 'NDATA', {'timestamp': 2, 'seq': 1, 'metrics': [
        {'alias': 1, 'type': 'Float', 'value': 2.25}]})
    w.wait('Plant/Tahu1/Flow', lambda v: v == 2.25, 'Flow by alias')
    publish(br, t % 'NDATA', {'timestamp': 3, 'seq': 5, 'metrics': [
        {'alias': 1, 'type': 'Float', 'value': 3.0}]})
    cmd = peer.wait('NCMD', lambda m: True, 'rebirth request')['payload']
    check_eq(by_name(cmd)['Node Control/Rebirth']['value'], True, 'rebirth')
    w.wait('Plant/Tahu1/_state', lambda v: v['seq_gaps'] == 1, 'gap count')
    # a bus SET goes out as NCMD in the BIRTH's datatype
    c = bus.client()
    c.set_value(c.id('Plant/Tahu1/Mode'), 5)
    nc = peer.wait('NCMD', lambda m: 'Mode' in by_name(m['payload']),
                   'NCMD of Mode')['payload']
    check_eq((by_name(nc)['Mode']['type'], by_name(nc)['Mode']['value']),
             ('Int16', 5), 'NCMD Mode')
    publish(br, t % 'NDEATH', {'timestamp': 4, 'metrics': [
        {'name': 'bdSeq', 'type': 'Int64', 'value': 4}]})
    w.wait('Plant/Tahu1/_state', lambda v: not v['online'], 'stale')
    check_eq(ho.stop(), 0, 'host exit status')
    peer.wait('STATE', lambda m: not json.loads(m['payload'])['online'],
              'host STATE offline')
    peer.stop()
    br.stop()


def test_edge_host_end_to_end_and_broker_restart():
    """Edge and host on two buses: values through the broker, DCMD writes
    only where allowed, the broker killed and restarted: both recover and
    the values held meanwhile arrive, in order."""
    need_peer()
    br = Broker()
    br.start()
    b1, b2 = Bus(), Bus()
    c1 = b1.client()
    c1.set_value(c1.id('count'), 1)
    c1.set_value(c1.id('plc1_sp'), 10)
    c1.set_value(c1.id('plc1_ro'), 20)
    c1.sync()
    # primary_host: the edge births once the host is there (STATE), so the
    # host sees every NBIRTH whichever reconnects first
    ed = Module(edge_cfg(b1, br, 'primary_host: centre\n'), TAGS)
    ho = Module(host_cfg(b2, br))
    w2 = Watch(b2, ['Plant/Site1/count', 'Plant/Site1/PLC1/plc1_sp',
                    'Plant/Site1/PLC1/plc1_ro', 'Plant/Site1/_state'])
    w2.wait('Plant/Site1/count', lambda v: v == 1, 'count at the host')
    c1.set_value(c1.id('count'), 2)
    w2.wait('Plant/Site1/count', lambda v: v == 2, 'count changed')
    w1 = Watch(b1, ['plc1_sp', 'plc1_ro'])
    c2 = b2.client()
    c2.set_value(c2.id('Plant/Site1/PLC1/plc1_sp'), 42)
    w1.wait('plc1_sp', lambda v: v == 42, 'DCMD write allowed')
    c2.set_value(c2.id('Plant/Site1/PLC1/plc1_ro'), 99)
    h.wait_until(lambda: 'plc1_ro is not writable' in ed.text(),
                 'DCMD write refused', 30)
    w1.pump()
    check_eq(w1.vals['plc1_ro'], 20, 'read-only tag unchanged')
    # the broker goes; the edge holds values; the host marks the node
    br.proc.kill()
    br.proc.wait(10)
    w2.wait('Plant/Site1/_state', lambda v: not v['online'],
            'stale while the broker is away')
    for v in (3, 4, 5):
        c1.set_value(c1.id('count'), v)
    c1.sync()
    br.start()
    w2.wait('Plant/Site1/_state', lambda v: v['online'], 'online again')
    w2.wait('Plant/Site1/count', lambda v: v == 5, 'held values arrived')
    check('sending 3 values held while away' in ed.text(),
          'queue replayed: %s', ed.text()[-800:])
    check_eq(ed.stop(), 0, 'edge exit status')
    check_eq(ho.stop(), 0, 'host exit status')
    br.stop()


def test_rebirth_ncmd():
    """NCMD Node Control/Rebirth: a new NBIRTH with the same bdSeq, seq 0,
    and the current values."""
    need_peer()
    br = Broker()
    br.start()
    bus = Bus()
    c = bus.client()
    c.set_value(c.id('count'), 7)
    c.sync()
    peer = Peer(br)
    ed = Module(edge_cfg(bus, br), TAGS)
    nb = peer.wait('NBIRTH', lambda m: True, 'NBIRTH')['payload']
    c.set_value(c.id('count'), 8)
    peer.wait('NDATA', lambda m: True, 'NDATA of count 8')
    publish(br, 'spBv1.0/Plant/NCMD/Site1', {'timestamp': 1, 'metrics': [
        {'name': 'Node Control/Rebirth', 'type': 'Boolean', 'value': True}]})
    h.wait_until(lambda: len(peer.msgs('NBIRTH')) == 2, 'a second NBIRTH')
    again = peer.msgs('NBIRTH')[1]['payload']
    check_eq(again['seq'], '0', 'rebirth seq')
    check_eq(by_name(again)['bdSeq']['value'], by_name(nb)['bdSeq']['value'],
             'rebirth bdSeq')
    check_eq(by_name(again)['count']['value'], '8', 'current value')
    # the devices are born again after it, seq going on from 0
    db = peer.wait('DBIRTH', lambda m: m['payload']['seq'] == '1',
                   'DBIRTH after the rebirth')
    check(db['topic'].endswith('/PLC1'), 'DBIRTH topic %r', db['topic'])
    check('rebirth asked' in ed.text(), 'logged: %s', ed.text()[-600:])
    check_eq(ed.stop(), 0, 'edge exit status')
    peer.stop()
    br.stop()


def test_device_status():
    """A device's status tag drives DDEATH (0) and DBIRTH (back to 1)."""
    need_peer()
    br = Broker()
    br.start()
    bus = Bus()
    c = bus.client()
    st = c.id('plc1_status')
    c.set_value(st, 1)
    c.set_value(c.id('plc1_sp'), 3)
    c.sync()
    peer = Peer(br)
    cfg = ('bus_port: %d\nbroker: 127.0.0.1\nport: %d\ngroup: Plant\n'
           'node: Site1\ndevices:\n  PLC1: {tags: [\'plc1_*\'], '
           'status: plc1_status}\n' % (bus.port, br.port))
    ed = Module(cfg, TAGS)
    peer.wait('DBIRTH', lambda m: True, 'DBIRTH')
    c.set_value(st, 0)
    dd = peer.wait('DDEATH', lambda m: True, 'DDEATH')
    check(dd['topic'] == 'spBv1.0/Plant/DDEATH/Site1/PLC1', 'topic %r',
          dd['topic'])
    c.set_value(c.id('plc1_sp'), 4)   # while down: in the next DBIRTH
    c.set_value(st, 1)
    h.wait_until(lambda: len(peer.msgs('DBIRTH')) == 2, 'a second DBIRTH')
    db = peer.msgs('DBIRTH')[1]['payload']
    check_eq(by_name(db)['plc1_sp']['value'], '4', 'value in the DBIRTH')
    check_eq(peer.msgs('DDATA'), [], 'no DDATA while down')
    seqs = [int(m['payload']['seq']) for m in peer.lines()
            if 'topic' in m and '/STATE/' not in m['topic'] and
            'seq' in m['payload']]
    check_eq(seqs, list(range(len(seqs))), 'one seq across N and D')
    check_eq(ed.stop(), 0, 'edge exit status')
    peer.stop()
    br.stop()


def make_tls(d):
    """A CA and a server certificate for 127.0.0.1, made with openssl."""
    def ssl(*args):
        rc, out, err = h.run_cmd(['openssl'] + list(args), cwd=d)
        check_eq(rc, 0, 'openssl %s: %s' % (args[0], err))
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
          '-nodes']
    ssl('req', '-x509', *ec, '-keyout', 'ca.key', '-out', 'ca.crt',
        '-days', '2', '-subj', '/CN=mscada test CA')
    ssl('req', *ec, '-keyout', 'server.key', '-out', 'server.csr',
        '-subj', '/CN=127.0.0.1')
    with open(os.path.join(d, 'ext.cnf'), 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1\n')
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey',
        'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2',
        '-extfile', 'ext.cnf')
    return {k: os.path.join(d, k + '.crt') for k in ('ca', 'server')}


def test_tls_password_mqtt5():
    """A broker with TLS (a CA and server cert made here) and a password
    file: an edge on MQTT 5 with its password from ${ENV} and a host on
    3.1.1 exchange values; a wrong password is refused and said so."""
    need_peer()
    if not shutil.which('openssl') or not shutil.which('mosquitto_passwd'):
        print('SKIP: openssl or mosquitto_passwd missing')
        sys.exit(77)
    d = h.tmpdir('mscada-tls-')
    crt = make_tls(d)
    pw = os.path.join(d, 'passwd')
    for user, secret in (('edge', 'e-secret'), ('centre', 'c-secret')):
        rc, out, err = h.run_cmd(['mosquitto_passwd', '-b'] +
                                 ([] if os.path.exists(pw) else ['-c']) +
                                 [pw, user, secret])
        check_eq(rc, 0, 'mosquitto_passwd: %s' % err)
    br = Broker('allow_anonymous false\npassword_file %s\ncafile %s\n'
                'certfile %s\nkeyfile %s\n'
                % (pw, crt['ca'], crt['server'],
                   os.path.join(d, 'server.key')))
    br.start()
    b1, b2 = Bus(), Bus()
    c1 = b1.client()
    c1.set_value(c1.id('count'), 11)
    c1.sync()
    tls = 'ca_file: %s\n' % crt['ca']
    env = dict(os.environ, SPB_TEST_PASSWORD='e-secret')
    # born once the host is online: the host sees the NBIRTH
    ed = Module(edge_cfg(b1, br, tls + 'mqtt: 5\nusername: edge\n'
                         'password: ${SPB_TEST_PASSWORD}\n'
                         'primary_host: centre\n'), TAGS, env=env)
    ho = Module(host_cfg(b2, br) + tls + 'username: centre\n'
                'password: c-secret\n')
    w2 = Watch(b2, ['Plant/Site1/count'])
    w2.wait('Plant/Site1/count', lambda v: v == 11, 'count at the host')
    c1.set_value(c1.id('count'), 12)
    w2.wait('Plant/Site1/count', lambda v: v == 12, 'count changed')
    log = br.text()
    check("(p5, c1, k30, u'edge')" in log, 'the edge on MQTT 5: %s', log)
    # mosquitto's names: p2 is 3.1.1, p5 is 5
    check("(p2, c1, k30, u'centre')" in log, 'the host on 3.1.1: %s', log)
    bad = Module(host_cfg(Bus(), br).replace('host_id: centre',
                                             'host_id: other') + tls +
                 'username: centre\npassword: wrong\n')
    h.wait_until(lambda: 'refused the connection' in bad.text(),
                 'a wrong password refused')
    check('not authorised' in bad.text().lower() or
          'bad user name or password' in bad.text().lower(),
          'says why: %s', bad.text()[-400:])
    plain = Module(host_cfg(Bus(), br).replace('host_id: centre',
                                               'host_id: plain'))
    h.wait_until(lambda: 'MQTT 127.0.0.1:%d' % br.port in plain.text(),
                 'no TLS: no session')
    check('connected' not in plain.text().split('MQTT')[-1],
          'plain TCP to a TLS port: %s', plain.text()[-400:])
    for m in (ed, ho, bad, plain):
        check_eq(m.stop(), 0, 'exit status')
    br.stop()


def test_bad_config():
    d = h.tmpdir()
    p = os.path.join(d, 'sparkplug.yaml')
    with open(p, 'w') as f:
        f.write('group: Plant\nnode: Site/1\n')
    rc, out, err = h.run_cmd([h.MSCADA, 'sparkplug', '--config', p])
    check_eq(rc, 2, 'exit status')
    check('sparkplug.yaml:2' in err and 'node' in err, 'message %r', err)


if __name__ == '__main__':
    h.main(globals())
