"""`mscada checkout DIR`: writes a site folder (a config per chosen module
and tags.yaml from the templates in the executable, state/, systemd units);
the units pass `systemd-analyze verify` and bind every module to the bus;
a second run keeps edited files unless --overwrite; bad arguments exit 2.
Then the site is checked out, edited (free ports), validated and run from
its folder: the bus keeps its snapshot and history its files in state/,
and a tag set on the bus reaches modbusserver's registers."""

import os
import re
import shutil
import signal
import socket
import struct

import mshelp as h
from mshelp import check, check_eq

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def checkout(*args):
    return h.run_cmd([h.MSCADA, 'checkout'] + list(args))


def test_writes_site():
    d = os.path.join(h.tmpdir('mscada-checkout-'), 'north')
    rc, out, err = checkout(d, '--modules', 'history,modbusserver')
    check_eq(rc, 0, 'checkout exit (%s)' % err)
    names = sorted(os.listdir(d))
    check_eq(names, ['bus.yaml', 'history.yaml', 'modbusserver.yaml',
                     'state', 'systemd', 'tags.yaml'], 'site files')
    units = sorted(os.listdir(os.path.join(d, 'systemd')))
    check_eq(units, ['mscada-north-bus.service',
                     'mscada-north-history.service',
                     'mscada-north-modbusserver.service'], 'units')
    # Templates as in config/, state moved under state/.
    check_eq(open(os.path.join(d, 'tags.yaml')).read(),
             open(os.path.join(TOP, 'config', 'tags.yaml')).read(),
             'tags.yaml is the template')
    hist = open(os.path.join(d, 'history.yaml')).read()
    check(re.search(r'^path: state/history$', hist, re.M), hist)
    bus = open(os.path.join(d, 'bus.yaml')).read()
    check(re.search(r'^snapshot: state/bus.snap$', bus, re.M), bus)
    # The units: run from the folder, bound to the bus, hardened.
    u = open(os.path.join(d, 'systemd',
                          'mscada-north-history.service')).read()
    for line in ('After=mscada-north-bus.service',
                 'PartOf=mscada-north-bus.service',
                 'WorkingDirectory=%s' % d,
                 'ExecStart=%s history --config %s/history.yaml --tags '
                 '%s/tags.yaml' % (os.path.realpath(h.MSCADA), d, d),
                 'Restart=on-failure', 'User=mscada', 'NoNewPrivileges=yes',
                 'ProtectSystem=strict', 'ReadWritePaths=%s/state' % d,
                 'PrivateDevices=yes'):
        check(line + '\n' in u, 'history unit has %r:\n%s' % (line, u))
    m = open(os.path.join(d, 'systemd',
                          'mscada-north-modbusserver.service')).read()
    check('SupplementaryGroups=dialout\n' in m and 'PrivateDevices' not in m,
          'modbusserver may open serial lines:\n%s' % m)
    check('systemctl enable --now mscada-north-bus.service '
          'mscada-north-modbusserver.service mscada-north-history.service'
          in out, 'prints the systemctl line:\n' + out)
    if shutil.which('systemd-analyze'):
        rc, o, e = h.run_cmd(['systemd-analyze', 'verify', '--man=no'] + [
            os.path.join(d, 'systemd', x) for x in units])
        check_eq((rc, (o + e).strip()), (0, ''), 'systemd-analyze verify')


def test_sparkplug_module():
    """--modules ...,sparkplug: the edge example as sparkplug.yaml, valid
    in the folder, run by a unit bound to the bus."""
    d = os.path.join(h.tmpdir('mscada-checkout-'), 'east')
    rc, out, err = checkout(d, '--modules', 'sparkplug')
    check_eq(rc, 0, 'checkout exit (%s)' % err)
    check_eq(open(os.path.join(d, 'sparkplug.yaml')).read(),
             open(os.path.join(TOP, 'config', 'sparkplug.yaml')).read(),
             'sparkplug.yaml is the template')
    rc, out, err = h.run_cmd([h.MSCADA, 'validate', '.'], cwd=d)
    check_eq(rc, 0, 'validate the folder: %s%s' % (out, err))
    check('sparkplug.yaml: ok (sparkplug config)' in out, out)
    u = open(os.path.join(d, 'systemd',
                          'mscada-east-sparkplug.service')).read()
    check('PartOf=mscada-east-bus.service\n' in u, u)


def test_keeps_edits():
    d = os.path.join(h.tmpdir('mscada-checkout-'), 'site')
    check_eq(checkout(d)[0], 0, 'first checkout')
    path = os.path.join(d, 'bus.yaml')
    with open(path, 'a') as f:
        f.write('# my edit\n')
    rc, out, _ = checkout(d)
    check_eq(rc, 0, 'second checkout')
    check('kept       bus.yaml' in out, out)
    check('unchanged  tags.yaml' in out, out)
    check(open(path).read().endswith('# my edit\n'), 'the edit stays')
    rc, out, _ = checkout(d, '--overwrite')
    check_eq(rc, 0, 'checkout --overwrite')
    check('wrote      bus.yaml' in out, out)
    check('# my edit' not in open(path).read(), '--overwrite replaced it')


def test_bad_arguments():
    base = h.tmpdir('mscada-checkout-')
    for args, what in (([], 'which folder'),
                       ([base + '/a', '--modules', 'bus,plc'], "no module"),
                       ([base + '/b', '--site', 'my site'], 'site name'),
                       ([base + '/c', '--user', 'x;y'], '--user'),
                       ([base + '/d', '--frobnicate'], 'unknown option')):
        rc, out, err = checkout(*args)
        check_eq(rc, 2, 'exit for %r' % args)
        check(what in err and 'Try' in err, 'says %r: %s' % (what, err))


def set_key(path, key, value):
    text = open(path).read()
    text, n = re.subn(r'^%s: .*$' % re.escape(key), '%s: %s' % (key, value),
                      text, count=1, flags=re.M)
    check(n == 1, '%s has %s' % (path, key))
    with open(path, 'w') as f:
        f.write(text)


def modbus_read(port, unit, addr, count):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(struct.pack('>HHHBBHH', 7, 0, 6, unit, 3, addr, count))
        head = s.recv(9)
        check(len(head) == 9 and head[7] == 3, 'FC3 answer: %r' % head)
        body = b''
        while len(body) < head[8]:
            body += s.recv(head[8] - len(body))
        return struct.unpack('>%dH' % count, body)


def test_run_site_from_folder():
    d = os.path.join(h.tmpdir('mscada-checkout-'), 'plant')
    check_eq(checkout(d, '--modules', 'bus,history,modbusserver')[0], 0,
             'checkout')
    # port 0 each: the bus's, then the modbusserver's, is the one it names
    set_key(os.path.join(d, 'bus.yaml'), 'port', 0)
    set_key(os.path.join(d, 'bus.yaml'), 'text_port', 0)
    text = open(os.path.join(d, 'modbusserver.yaml')).read()
    with open(os.path.join(d, 'modbusserver.yaml'), 'w') as f:
        f.write(text.replace('port: 1502', 'port: 0', 1))

    def validate(m):
        rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--tags',
                                  'tags.yaml', '--config', m + '.yaml'],
                                 cwd=d)
        check_eq(rc, 0, 'validate %s.yaml: %s%s' % (m, out, err))

    def start(m, text):
        log = os.path.join(d, m + '.log')

        def run(port):  # port 0, in its yaml
            mark = h.log_size(log)
            return h.spawn([h.MSCADA, m], log, cwd=d), log, mark
        procs[m], port = h.serve(run, text, what=m)
        return port
    procs = {}
    try:
        validate('bus')
        bus_port = start('bus', 'listening on *:{port}')
        for m in ('history', 'modbusserver'):
            set_key(os.path.join(d, m + '.yaml'), 'bus_port', bus_port)
            validate(m)
        procs['history'] = h.spawn([h.MSCADA, 'history'],
                                   os.path.join(d, 'history.log'), cwd=d)
        mb_port = start('modbusserver', 'serving Modbus/TCP on *:{port}')
        with h.Client(bus_port) as cl:
            flow = cl.id('FlowRate')
            cl.set_value(flow, 12.5)
            iset = cl.id('sim_IntSet')
            cl.set_value(iset, 321)
            h.wait_until(lambda: modbus_read(mb_port, 1, 0, 1) == (321,),
                         'sim_IntSet in register 4x:1')
            # History has FlowRate once it answers a range request with a
            # record (it may subscribe after the set: its SUB gets the value).
            hist = cl.id('__history__')
            cl.sub(hist)
            h.wait_until(lambda: history_has(cl, hist),
                         'history holding FlowRate')
        # SIGTERM: history flushes, the bus writes its snapshot.
        check_eq(h.stop_pid(procs.pop('history')), 0, 'history exit')
        files = os.listdir(os.path.join(d, 'state', 'history'))
        check(any(f.startswith('FlowRate_') for f in files),
              'history files in state/history: %r' % files)
        check_eq(h.stop_pid(procs.pop('bus')), 0, 'bus exit')
        check(os.path.isfile(os.path.join(d, 'state', 'bus.snap')),
              'bus snapshot in state/')
    finally:
        for p in procs.values():
            h.stop_pid(p, signal.SIGKILL)


def history_has(cl, hist):
    cl.rta(hist, {'__rta_id__': 7, 'tagname': 'FlowRate', 'start_ms': 0,
                  'end_ms': -1})
    while True:
        m = cl.poll_msg(0.5)
        if m is None:
            return False
        if m.cmd == h.CMD_SET and m.tag_id == hist and len(m.data) > 7:
            # BYTES: rta_id, tag_id, packtype, then 16-byte records.
            return struct.unpack('>H', m.data[1:3])[0] == 7 and \
                len(m.data) >= 1 + 6 + 16


def test_logix_modules():
    """logixclient and logixserver check out with their units, and their
    configs validate as written."""
    d = os.path.join(h.tmpdir('mscada-checkout-'), 'plant')
    check_eq(checkout(d, '--modules', 'logixclient,logixserver')[0], 0,
             'checkout')
    for m in ('logixclient', 'logixserver'):
        check(os.path.isfile(os.path.join(d, 'systemd',
                                          'mscada-plant-%s.service' % m)),
              'a unit for %s', m)
        rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--tags',
                                  'tags.yaml', '--config', m + '.yaml'],
                                 cwd=d)
        check_eq(rc, 0, 'validate %s.yaml: %s%s' % (m, out, err))

if __name__ == '__main__':
    h.main(globals())
