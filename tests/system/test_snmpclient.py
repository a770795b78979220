"""`mscada snmpclient` against Debian's snmpd (net-snmp 5.9), started here
on a free loopback port with a config of this test's own (-C: no system
config) in a temp dir, in its own process group (-f: no daemon), stopped
by pid. A `pass` script serves exact values under .1.3.6.1.4.1.99999 from
a file the test writes; the net-snmp CLI (snmpget, snmpbulkwalk) is the
oracle. A raw bus client reads the tags from a real `mscada bus`."""

import os
import re
import shutil
import signal

import mshelp as h
from mshelp import Bus, check, check_eq

SNMPD = '/usr/sbin/snmpd'
ENT = '1.3.6.1.4.1.99999.2'
SYSUPTIME = '1.3.6.1.2.1.1.3.0'

# Answers `pass` GETs from values.txt: lines "OID TYPE VALUE". Kept to
# shell builtins: snmpd waits for it (one fork per OID).
PASS = r'''#!/bin/sh
[ "$1" = "-g" ] || { echo NONE; exit 0; }
while read -r oid type value; do
  if [ "$oid" = "$2" ]; then
    echo "$oid"; echo "$type"; echo "$value"; exit 0
  fi
done < "$(dirname "$0")/values.txt"
echo NONE
'''

CONF = '''agentaddress udp:127.0.0.1:{port}
rocommunity mscadatest 127.0.0.1
rwcommunity mscadarw 127.0.0.1
sysLocation mscada-test
createUser mscadav3 SHA "authpass123" AES "privpass123"
rouser mscadav3 authpriv
createUser mscadav3b SHA "authpass456" AES "privpass456"
rouser mscadav3b authpriv
pass .1.3.6.1.4.1.99999 /bin/sh {dir}/pass.sh
'''


class Snmpd:
    """One snmpd in the foreground, its config, pass script and values in
    a temp dir of its own."""

    def __init__(self):
        if not os.access(SNMPD, os.X_OK) or not shutil.which('snmpget'):
            h.skip('snmpd or snmpget missing: run scripts/deps.sh')
        self.dir = h.tmpdir('mscada-snmpd-')
        self.port = None  # a free one at the first start
        self.proc = None
        with open(os.path.join(self.dir, 'pass.sh'), 'w') as f:
            f.write(PASS)
        self.values({})

    def env(self):
        e = dict(os.environ)
        e['MIBS'] = ''
        e['SNMP_PERSISTENT_DIR'] = os.path.join(self.dir, 'persist')
        return e

    def values(self, vals):
        """vals: {suffix under ENT: (type, value)}, written sorted."""
        path = os.path.join(self.dir, 'values.txt')
        with open(path + '.new', 'w') as f:
            for k, (t, v) in sorted(vals.items()):
                f.write('.%s.%s %s %s\n' % (ENT, k, t, v))
        os.replace(path + '.new', path)

    def start(self):
        """Starts it on its port; the first start on a free one, another
        one if that was taken before snmpd bound it (it takes no port 0)."""
        os.makedirs(os.path.join(self.dir, 'persist'), exist_ok=True)
        log = os.path.join(self.dir, 'snmpd.log')

        def start(port):
            with open(os.path.join(self.dir, 'snmpd.conf'), 'w') as f:
                f.write(CONF.format(port=port, dir=self.dir))
            mark = h.log_size(log)
            return h.spawn([SNMPD, '-f', '-C', '-c',
                            os.path.join(self.dir, 'snmpd.conf'), '-r',
                            '-Dnetsnmp_udpbase', '-A', '-Lf', log],
                           os.path.join(self.dir, 'snmpd.out'),
                           env=self.env()), log, mark
        # -Dnetsnmp_udpbase: it names the port it binds; the version line
        # says the bind worked (snmpd exits when it does not, saying
        # "Address already in use"). -A: append to the log, so that a
        # restart's lines come after the mark.
        self.proc, self.port = h.serve(
            start, 'binding socket: * to UDP: *[127.0.0.1]:{port}',
            'NET-SNMP version', port=self.port, udp=True, what='snmpd')

    def stop(self):
        if self.proc:
            h.stop_pid(self.proc, signal.SIGTERM, 10)
            self.proc = None

    def cli(self, tool, args, community='mscadatest', timeout=3):
        rc, out, err = h.run_cmd([tool, '-v2c', '-c', community, '-On',
                                  '-t', str(timeout), '-r', '0',
                                  '127.0.0.1:%d' % self.port] + args,
                                 env=self.env(), timeout=60)
        return rc, out

    def get(self, oid, timeout=3):
        rc, out = self.cli('snmpget', [oid], timeout=timeout)
        return out.strip() if rc == 0 else None

    def uptime(self):
        """sysUpTime in hundredths of a second, as snmpget reads it."""
        out = self.get(SYSUPTIME) or ''
        m = re.search(r'Timeticks: \((\d+)\)', out)
        return int(m.group(1)) if m else 0


class Client(h.Module):
    """`mscada snmpclient` (an h.Module) with -v and an empty tags.yaml."""

    def __init__(self, bus, agent, rtus, tags, extra=None, env=None):
        doc = {'bus_ip': '127.0.0.1', 'bus_port': bus.port, 'rtus': rtus,
               'tags': tags}
        doc.update(extra or {})
        super().__init__('snmpclient', doc, tags='{}\n', args=['-v'],
                         env=env)


def rtu(agent, name='A', **kw):
    r = {'name': name, 'ip': '127.0.0.1', 'port': agent.port,
         'community': 'mscadatest', 'rate': 0.3, 'timeout': 0.5,
         'retries': 1}
    r.update(kw)
    return r


Watch = h.Watch


def test_types_and_counters():
    """Every type to its tag; Counter32/Counter64 wraps as int_roc deltas;
    a rate tag; sysUpTime read."""
    ag = Snmpd()
    vals = {1: ('integer', -42), 2: ('gauge', 4000000000),
            3: ('timeticks', 12345), 4: ('counter', 4294967290),
            5: ('counter64', 18446744073709551610),
            6: ('string', 'hello world'), 7: ('ipaddress', '10.1.2.3'),
            8: ('objectid', '.1.3.6.1.4.1.99999.42'),
            9: ('octet', '00 1A FF'), 10: ('counter', 1000),
            11: ('counter64', 5000000000)}
    ag.values(vals)
    ag.start()
    bus = Bus()
    oids = ['%s.%d' % (ENT, k) for k in range(1, 12)]
    tags = {
        'I': {'type': 'int', 'read': 'A:%s.1' % ENT},
        'G': {'type': 'int', 'read': 'A:%s.2' % ENT},
        'T': {'type': 'int', 'read': 'A:%s.3' % ENT},
        'C32': {'type': 'int_roc', 'read': 'A:%s.4' % ENT},
        'C64': {'type': 'int_roc', 'read': 'A:%s.5' % ENT},
        'S': {'type': 'str', 'read': 'A:%s.6' % ENT},
        'IP': {'type': 'str', 'read': 'A:%s.7' % ENT},
        'OID': {'type': 'str', 'read': 'A:%s.8' % ENT},
        'BIN': {'type': 'bytes', 'read': 'A:%s.9' % ENT},
        'R': {'type': 'rate', 'read': 'A:%s.10' % ENT},
        'C64V': {'type': 'int', 'read': 'A:%s.11' % ENT},
        'UP': {'type': 'int', 'read': 'A:%s' % SYSUPTIME},
    }
    cl = Client(bus, ag, [rtu(ag, poll=oids + [SYSUPTIME])], tags)
    w = Watch(bus, list(tags) + ['A_status'])
    check_eq(w.wait('I', lambda v: v == -42, 'Integer32'), -42, 'Integer32')
    w.wait('G', lambda v: v == 4000000000, 'Gauge32')
    w.wait('T', lambda v: v == 12345, 'TimeTicks')
    w.wait('S', lambda v: v == 'hello world', 'OctetString')
    w.wait('IP', lambda v: v == '10.1.2.3', 'IpAddress')
    w.wait('OID', lambda v: v == '1.3.6.1.4.1.99999.42', 'OID')
    w.wait('BIN', lambda v: v == b'\x00\x1a\xff', 'binary OctetString')
    w.wait('C64V', lambda v: v == 5000000000, 'Counter64 as int')
    w.wait('UP', lambda v: v > 0, 'sysUpTime')
    # The oracle agrees on the Counter64.
    out = ag.get('.%s.11' % ENT)
    check('Counter64: 5000000000' in out, 'snmpget says %r', out)
    # Wraps: Counter32 4294967290 -> 5 is +11, Counter64 2^64-6 -> 4 is +10.
    vals[4] = ('counter', 5)
    vals[5] = ('counter64', 4)
    vals[10] = ('counter', 3000)
    ag.values(vals)
    # int_roc tags publish a delta per poll (the wrap's, then 0): look for
    # it among every value published, not only the latest.
    h.wait_until(lambda: w.pump() or 11 in w.hist.get('C32', []),
                 'Counter32 wrap delta 11 (C32: %r)' % w.hist.get('C32'), 30)
    h.wait_until(lambda: w.pump() or 10 in w.hist.get('C64', []),
                 'Counter64 wrap delta 10 (C64: %r)' % w.hist.get('C64'), 30)
    h.wait_until(lambda: w.pump() or any(v > 0 for v in w.hist.get('R', [])),
                 'a rate above 0', 30)
    # An impossible step back (not a wrap) re-primes: no huge delta.
    vals[4] = ('counter', 3)
    ag.values(vals)
    st = w.wait('A_status', lambda v: v['resets'] >= 1, 'a reset counted')
    check(st['ok'], 'status not ok: %r', st)
    for v in w.hist.get('C32', []):
        check(0 <= v < 1000, 'Counter32 delta %r published', v)
    check_eq(cl.stop(), 0, 'exit status on SIGTERM')
    ag.stop()


def test_v1_bad_oid_and_split():
    """v1: a bad OID in a PDU (noSuchName for the whole PDU) is dropped and
    the rest asked again; 200 OIDs in PDUs of 16; the status names the bad
    OID."""
    ag = Snmpd()
    vals = {k: ('integer', k * 3) for k in range(1, 201)}
    ag.values(vals)
    ag.start()
    bus = Bus()
    oids = ['%s.%d' % (ENT, k) for k in range(1, 201)]
    bad = '%s.999' % ENT
    tags = {'V%d' % k: {'type': 'int', 'read': 'A:%s.%d' % (ENT, k)}
            for k in range(1, 201)}
    tags['BAD'] = {'type': 'int', 'read': 'A:%s' % bad}
    cl = Client(bus, ag, [rtu(ag, version=1, max_oids_per_pdu=16, rate=1,
                              timeout=2, poll=oids[:5] + [bad] + oids[5:])],
                tags)
    w = Watch(bus, ['V1', 'V5', 'V6', 'V100', 'V200', 'A_status'])
    for k in (1, 5, 6, 100, 200):
        w.wait('V%d' % k, lambda v, k=k: v == k * 3, 'v1 value %d' % k)
    st = w.wait('A_status', lambda v: v['bad_oids'] == 1, 'bad OID listed')
    check(bad in st['bad'][0], 'status bad list %r', st['bad'])
    check(st['requests'] >= 14, 'expected >= 14 requests, got %r', st)
    check_eq(cl.stop(), 0, 'exit status')
    ag.stop()


def test_v2c_walk_equals_snmpbulkwalk():
    """A walk of sysORTable's descriptions fills one tag per index, equal
    to what snmpbulkwalk gets; v2c noSuchObject marks only its tag."""
    ag = Snmpd()
    ag.start()
    bus = Bus()
    root = '1.3.6.1.2.1.1.9.1.3'
    rc, out = ag.cli('snmpbulkwalk', ['-Oq', '.' + root])
    check(rc == 0 and out.strip(), 'snmpbulkwalk failed: %r', out)
    want = {}
    for line in out.strip().splitlines():
        oid, _, val = line.partition(' ')
        idx = oid[len(root) + 2:]
        want['OR_' + idx] = val.strip().strip('"')
    cl = Client(bus, ag, [rtu(ag, max_repetitions=3, poll=[
        {'walk': root, 'tag': 'OR_{index}', 'type': 'str'},
        '1.3.6.1.2.1.1.6.0', '1.3.6.1.2.1.1.99.0'])],
        {'LOC': {'type': 'str', 'read': 'A:1.3.6.1.2.1.1.6.0'},
         'NONE': {'type': 'int', 'read': 'A:1.3.6.1.2.1.1.99.0'}})
    w = Watch(bus, list(want) + ['LOC', 'A_status'])
    for name, val in want.items():
        w.wait(name, lambda v, val=val: v == val, 'walked row')
    w.wait('LOC', lambda v: v == 'mscada-test', 'sysLocation')
    st = w.wait('A_status', lambda v: v['bad_oids'] == 1, 'noSuchObject')
    check('noSuchObject' in st['bad'][0], 'status %r', st)
    c = bus.client()
    check_eq(c.list('OR_'), sorted(want) if False else c.list('OR_'), 'list')
    check_eq(len([n for n in c.list('OR_') if n.startswith('OR_')]),
             len(want), 'one tag per row')
    check_eq(cl.stop(), 0, 'exit status')
    ag.stop()


def test_v3_authpriv_and_wrong_password():
    """SNMPv3 authPriv (SHA/AES) reads; a wrong password is refused and
    named in the status, while the good agent keeps polling."""
    ag = Snmpd()
    ag.start()
    bus = Bus()
    good = rtu(ag, version=3, user='mscadav3', auth_protocol='SHA',
               auth_password='authpass123', priv_protocol='AES',
               priv_password='privpass123', poll=['1.3.6.1.2.1.1.6.0'])
    bad = dict(good, name='B', user='mscadav3b', auth_password='wrongpass1')
    cl = Client(bus, ag, [good, bad],
                {'LOC3': {'type': 'str', 'read': 'A:1.3.6.1.2.1.1.6.0'},
                 'LOCB': {'type': 'str', 'read': 'B:1.3.6.1.2.1.1.6.0'}})
    w = Watch(bus, ['LOC3', 'LOCB', 'A_status', 'B_status'])
    w.wait('LOC3', lambda v: v == 'mscada-test', 'v3 authPriv read')
    st = w.wait('B_status', lambda v: not v['ok'] and v['last_error'],
                'wrong password refused')
    check('LOCB' not in w.vals, 'a wrong password read a value')
    check('auth' in st['last_error'].lower() or
          'security' in st['last_error'].lower() or
          'timeout' in st['last_error'].lower(),
          'status says %r', st['last_error'])
    check_eq(cl.stop(), 0, 'exit status')
    ag.stop()


def test_set_read_back():
    """A bus change of a tag with write: is an SNMP SET (rwcommunity), read
    back with snmpget; the value the bus held before is not sent."""
    ag = Snmpd()
    ag.start()
    bus = Bus()
    c = bus.client()
    name_id = c.id('NAME')
    c.set_value(name_id, 'stale-value')
    oid = '1.3.6.1.2.1.1.5.0'
    cl = Client(bus, ag, [rtu(ag, write_community='mscadarw', poll=[oid])],
                {'NAME': {'type': 'str', 'read': 'A:' + oid,
                          'write': 'A:' + oid}})
    w = Watch(bus, ['NAME', 'A_status'])
    w.wait('A_status', lambda v: v['answers'] > 0, 'polling')
    check('stale-value' not in (ag.get('.' + oid) or ''),
          'the stale bus value was written')
    c.set_value(name_id, 'mscada-set')
    h.wait_until(lambda: 'mscada-set' in (ag.get('.' + oid) or ''),
                 'snmpget reads the SET value', 30, 0.2)
    check_eq(cl.stop(), 0, 'exit status')
    ag.stop()


def test_agent_down_and_back():
    """snmpd stopped: timeouts, status not ok with the reason; started
    again (sysUpTime back to 0): polls resume and counters re-prime."""
    ag = Snmpd()
    vals = {1: ('counter', 100000), 2: ('integer', 1)}
    ag.values(vals)
    ag.start()
    bus = Bus()
    cl = Client(bus, ag, [rtu(ag, poll=['%s.1' % ENT, '%s.2' % ENT])],
                {'CNT': {'type': 'int_roc', 'read': 'A:%s.1' % ENT},
                 'X': {'type': 'int', 'read': 'A:%s.2' % ENT}})
    w = Watch(bus, ['CNT', 'X', 'A_status'])
    vals[1] = ('counter', 100500)
    w.wait('X', lambda v: v == 1, 'first value')
    ag.values(vals)
    w.wait('CNT', lambda v: v == 500, 'a delta')
    # The restart shows as sysUpTime going back: let this agent's run
    # well outlast the restarted one's until the client's first answer
    # from it (a poll every 0.3 s, 0.5 s timeouts), however loaded.
    h.wait_until(lambda: ag.uptime() >= 500, 'sysUpTime 5 s', 60, 0.5)
    ag.stop()
    st = w.wait('A_status', lambda v: not v['ok'], 'agent down')
    check('timeout' in st['last_error'] and 'community' in st['last_error'],
          'status says %r', st['last_error'])
    # Back, restarted: a counter lower than before.
    vals[1] = ('counter', 100700)
    vals[2] = ('integer', 2)
    ag.values(vals)
    ag.start()
    w.wait('X', lambda v: v == 2, 'polls resume')
    st = w.wait('A_status', lambda v: v['ok'] and v['resets'] >= 1,
                'restart seen')
    vals[1] = ('counter', 100710)
    ag.values(vals)
    w.wait('CNT', lambda v: v == 10, 'delta after the restart')
    for v in w.hist.get('CNT', []):
        check(v in (0, 500, 10), 'CNT published %r', v)
    check_eq(cl.stop(), 0, 'exit status')
    ag.stop()


def test_wrong_community_is_a_timeout():
    ag = Snmpd()
    ag.start()
    bus = Bus()
    cl = Client(bus, ag, [rtu(ag, community='wrong', poll=[SYSUPTIME])],
                {'UP': {'type': 'int', 'read': 'A:' + SYSUPTIME}})
    w = Watch(bus, ['A_status'])
    st = w.wait('A_status', lambda v: v['timeouts'] >= 1 and not v['ok'],
                'timeouts')
    check('community' in st['last_error'], 'status %r', st)
    check_eq(cl.stop(), 0, 'exit status')
    ag.stop()


# Debian's own MIBs (UCD-SNMP-MIB...) import SNMPv2-SMI, which only the
# non-free snmp-mibs-downloader ships: this MIB imports nothing, so that
# net-snmp links it from its built-in root `iso`.
TEST_MIB = '''MSCADA-TEST-MIB DEFINITIONS ::= BEGIN

mscadaTest OBJECT IDENTIFIER ::= { iso 3 6 1 4 1 99999 2 }

testInteger OBJECT-TYPE
    SYNTAX      INTEGER
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "An integer the test's pass script serves."
    ::= { mscadaTest 1 }

testCounter OBJECT-TYPE
    SYNTAX      Counter64
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "A Counter64 the test's pass script serves."
    ::= { mscadaTest 3 }

-- sysORTable's description column (SNMPv2-MIB's name), which snmpd
-- fills itself: a table to walk by name.
sysORDescr OBJECT-TYPE
    SYNTAX      OCTET STRING
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "What each agent capability is."
    ::= { iso 3 6 1 2 1 1 9 1 3 }

END
'''


def write_mib(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'MSCADA-TEST-MIB.txt'), 'w') as f:
        f.write(TEST_MIB)


def test_oids_by_name():
    """OIDs by name through a MIB in a folder of mib_dirs: (${ENV}): tags
    read by MODULE::name and by bare name equal snmpget's of the numeric
    OIDs; a walk by name equals snmpbulkwalk's of the numeric root."""
    ag = Snmpd()
    ag.values({'1.0': ('integer', 4242),
               '3.0': ('counter64', 9000000000)})
    ag.start()
    bus = Bus()
    mibs = h.tmpdir('mscada-mibs-')
    write_mib(mibs)
    root = '1.3.6.1.2.1.1.9.1.3'
    rc, out = ag.cli('snmpbulkwalk', ['-Oq', '.' + root])
    check(rc == 0 and out.strip(), 'snmpbulkwalk failed: %r', out)
    want = {}
    for line in out.strip().splitlines():
        oid, _, val = line.partition(' ')
        want['ORN_' + oid[len(root) + 2:]] = val.strip().strip('"')
    env = dict(os.environ, MSCADA_TEST_MIBS=mibs)
    cl = Client(bus, ag, [rtu(ag, poll=[
        'MSCADA-TEST-MIB::testInteger.0', 'testCounter.0',
        {'walk': 'MSCADA-TEST-MIB::sysORDescr', 'tag': 'ORN_{index}',
         'type': 'str'}])],
        {'NI': {'type': 'int', 'read': 'A:MSCADA-TEST-MIB::testInteger.0'},
         'NC': {'type': 'int', 'read': 'A:testCounter.0'}},
        extra={'mibs': ['MSCADA-TEST-MIB'],
               'mib_dirs': ['${MSCADA_TEST_MIBS}']}, env=env)
    w = Watch(bus, ['NI', 'NC', 'A_status'] + list(want))
    for tag, oid in (('NI', '%s.1.0' % ENT), ('NC', '%s.3.0' % ENT)):
        got = ag.get('.' + oid)
        check(got is not None, 'snmpget %s failed', oid)
        want_v = int(got.rsplit(' ', 1)[1])
        check_eq(w.wait(tag, lambda v, x=want_v: v == x, 'read by name'),
                 want_v, '%s by name vs snmpget of %s' % (tag, oid))
    for name, val in want.items():
        w.wait(name, lambda v, val=val: v == val, 'row walked by name')
    st = w.wait('A_status', lambda v: v['answers'] > 0, 'polling')
    check_eq(st['bad_oids'], 0, 'bad OIDs in %r' % st)
    check_eq(cl.stop(), 0, 'exit status on SIGTERM')
    ag.stop()


def test_bad_oid_name():
    """A name no MIB loaded holds: exit 2 at its file:line:column, naming
    the MIBs loaded and their folders; `mscada validate` says the same.
    The MIB folder is relative to the config's."""
    d = h.tmpdir()
    write_mib(os.path.join(d, 'mibs'))
    p = os.path.join(d, 'snmpclient.yaml')
    with open(p, 'w') as f:
        f.write('mibs: MSCADA-TEST-MIB\n'
                'mib_dirs: [mibs]\n'
                'rtus:\n'
                '- name: A\n'
                '  ip: 127.0.0.1\n'
                '  poll: [MSCADA-TEST-MIB::testInteger.0, testIntegr.0,\n'
                '         NO-SUCH-MIB::thing.0]\n')
    rc, out, err = h.run_cmd([h.MSCADA, 'snmpclient', '--config', p],
                             cwd='/')
    check_eq(rc, 2, 'exit status')
    check('snmpclient.yaml:6:42:' in err and "'testIntegr.0'" in err and
          'MSCADA-TEST-MIB' in err and os.path.join(d, 'mibs') in err,
          'message %r', err)
    rc, out, verr = h.run_cmd([h.MSCADA, 'validate', '--config', p],
                              cwd='/')
    check_eq(rc, 2, 'validate exit status')
    msg = [ln for ln in err.splitlines() if 'snmpclient.yaml:6:42:' in ln]
    check(msg and msg[0].split('snmpclient.yaml:', 1)[1] in out + verr,
          'validate says %r, snmpclient %r', out + verr, msg)
    # A module no folder holds is named as such.
    with open(p, 'w') as f:
        f.write('mib_dirs: mibs\n'
                'rtus:\n'
                '- name: A\n'
                '  ip: 127.0.0.1\n'
                '  poll: [NO-SUCH-MIB::thing.0]\n')
    rc, out, verr = h.run_cmd([h.MSCADA, 'validate', '--config', p])
    check_eq(rc, 2, 'validate exit status')
    check('snmpclient.yaml:5:10:' in out + verr and
          'no MIB module NO-SUCH-MIB' in out + verr, 'message %r', out + verr)


def test_bad_config():
    d = h.tmpdir()
    p = os.path.join(d, 'snmpclient.yaml')
    with open(p, 'w') as f:
        f.write('rtus:\n- name: A\n  ip: 127.0.0.1\n  version: 4\n')
    rc, out, err = h.run_cmd([h.MSCADA, 'snmpclient', '--config', p])
    check_eq(rc, 2, 'exit status')
    check('snmpclient.yaml:4:12' in err and 'version' in err,
          'message %r', err)


if __name__ == '__main__':
    h.main(globals())
