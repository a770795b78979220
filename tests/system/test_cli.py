"""The `mscada` command line and `mscada bus`'s config handling: exit
statuses, usage text, `file:line:column:` errors, warnings for unknown keys,
clean exit on SIGTERM/SIGINT."""

import os
import re
import signal

import mshelp as h
from mshelp import Bus, check, check_eq

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def run(*args, **kw):
    return h.run_cmd([h.MSCADA] + list(args), **kw)


def test_help_lists_bus():
    st, out, err = run('--help')
    check_eq(st, 0, 'exit status of mscada --help')
    check(re.search(r'^\s+bus\b', out, re.M),
          'mscada --help does not list the bus module:\n%s', out)


def test_version():
    st, out, err = run('--version')
    check_eq(st, 0, 'exit status of mscada --version')
    check(re.search(r'mscada\s+\S*\d', out),
          'mscada --version printed %r', out + err)


def test_unknown_module():
    st, out, err = run('nosuch')
    check_eq(st, 2, 'exit status of mscada nosuch')
    check('usage' in err.lower(), 'no usage on stderr: %r', err)
    check('nosuch' in err, 'stderr does not name the module: %r', err)


def test_no_arguments():
    st, out, err = run()
    check_eq(st, 2, 'exit status of mscada without arguments')
    check('usage' in err.lower(), 'no usage on stderr: %r', err)


def test_bus_unknown_option():
    st, out, err = run('bus', '--nosuch')
    check_eq(st, 2, 'exit status of mscada bus --nosuch')
    check('--nosuch' in err, 'stderr does not name the option: %r', err)


def test_bus_help():
    st, out, err = run('bus', '--help')
    check_eq(st, 0, 'exit status of mscada bus --help')
    check('--config' in out, 'mscada bus --help lacks --config: %r', out)


def _config_file(text):
    d = h.tmpdir()
    path = os.path.join(d, 'bus.yaml')
    with open(path, 'w') as f:
        f.write(text)
    return d, path


def _bad_config(text, where, what):
    """Runs the bus on a bad config: exit 2, stderr has where."""
    d, path = _config_file(text)
    st, out, err = run('bus', '--config', path, timeout=60)
    check_eq(st, 2, 'exit status for %s (stderr %r)' % (what, err))
    check(where in err, '%s: stderr lacks %r: %r', what, where, err)
    return err


def test_bad_port_value_names_line_and_column():
    _bad_config('ip: 127.0.0.1\nport: abc\n', 'bus.yaml:2:7:',
                'port: abc on line 2')


def test_port_out_of_range():
    _bad_config('ip: 127.0.0.1\nport: 70000\n', 'bus.yaml:2:',
                'port: 70000')


def test_bad_allow_entry():
    _bad_config('port: %d\nallow:\n  - 127.0.0.1\n  - not-an-address\n'
                % h.free_port(), 'bus.yaml:4:', 'allow: not-an-address')


def test_bad_number_for_interval():
    _bad_config('port: %d\nstats_interval: soon\n' % h.free_port(),
                'bus.yaml:2:', 'stats_interval: soon')


def test_yaml_syntax_error():
    _bad_config('port: %d\nallow: [127.0.0.1\n' % h.free_port(),
                'bus.yaml:', 'an unclosed flow sequence')
    err = _bad_config('ip: 127.0.0.1\n  port: [\n', 'bus.yaml:',
                      'bad indentation')
    check(re.search(r'bus\.yaml:\d+:\d+:', err),
          'syntax error without file:line:column: %r', err)


def test_missing_config_file():
    d = h.tmpdir()
    path = os.path.join(d, 'missing.yaml')
    st, out, err = run('bus', '--config', path)
    check_eq(st, 2, 'exit status for a missing config file')
    check(path in err or 'missing.yaml' in err,
          'stderr does not name the missing file: %r', err)


def test_unknown_key_warns_and_runs():
    bus = Bus(start=False, port=0)  # bus.port: the one it names
    with open(bus.config_path, 'w') as f:
        f.write('ip: 127.0.0.1\nport: 0\nfrobnicate: 3\n')
    bus.write_config = lambda: None  # keep the hand-written file
    bus.start()
    c = bus.client()
    check(c.id('works') > 1, 'ID on a bus with an unknown config key')
    log = bus.log()
    check(re.search(r'bus\.yaml:3\b.*frobnicate|frobnicate.*bus\.yaml:3\b',
                    log),
          'no warning naming bus.yaml:3 and the key frobnicate in:\n%s', log)
    c.close()
    check_eq(bus.stop(signal.SIGTERM), 0, 'exit status after SIGTERM')


def test_env_var_in_config():
    bus = Bus(start=False, port=0)  # bus.port: the one it names
    with open(bus.config_path, 'w') as f:
        f.write('ip: 127.0.0.1\nport: ${MSCADA_TEST_PORT}\n')
    bus.write_config = lambda: None
    os.environ['MSCADA_TEST_PORT'] = '0'
    try:
        bus.start()
    finally:
        del os.environ['MSCADA_TEST_PORT']
    check(bus.client().id('env') > 1, 'ID on a bus configured via ${ENV}')


def test_sigterm_and_sigint_exit_zero():
    for sig in (signal.SIGTERM, signal.SIGINT):
        bus = Bus()
        c = bus.client()
        c.id('x')
        check(re.search(r'listening on 127\.0\.0\.1:%d' % bus.port,
                        bus.log()),
              'no "listening on 127.0.0.1:%d" log line', bus.port)
        st = bus.stop(sig, 60)
        check_eq(st, 0, 'exit status after %s' % signal.Signals(sig).name)
        c.close()


def test_sigterm_with_clients_connected():
    bus = Bus()
    clients = [bus.client() for _ in range(5)]
    for n, c in enumerate(clients):
        c.sub(c.id('t%d' % n))
    # one client half way through a message
    clients[0].send_raw(b'\x01\x02\x00')
    check_eq(bus.stop(signal.SIGTERM, 60), 0, 'exit status after SIGTERM')
    for c in clients:
        c.close()


def _write(d, name, text):
    path = os.path.join(d, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def test_validate_tags_error_exits_2_with_position():
    d = h.tmpdir()
    tags = _write(d, 'tags.yaml', 'Flow:\n  desc: flow\n  min: abc\n')
    st, out, err = run('validate', '--tags', tags)
    check_eq(st, 2, 'exit status of validate with a bad tags.yaml')
    check('tags.yaml:3:8: min must be a number' in err,
          'stderr lacks file:line:column of the bad min: %r', err)


def test_validate_good_files_and_unknown_key_warns():
    d = h.tmpdir()
    # pymscada's alarm and group keys are accepted as they are.
    tags = _write(d, 'tags.yaml', 'Flow:\n  min: 0\n  max: 5\n'
                  '  alarm: Flow > 4\n  group: Tank\n'
                  'Mode:\n  multi: [\'Off\', Auto]\n')
    bus = _write(d, 'bus.yaml', 'port: 1400\nallow: [10.0.0.0/8]\n')
    st, out, err = run('validate', '--tags', tags, '--config', bus)
    check_eq(st, 0, 'exit status of validate with good files (%s)' % err)
    check('(2 tags)' in out and 'bus.yaml: ok' in out,
          'validate did not report both files ok: %r', out)
    check_eq(err, '', 'nothing on stderr for good files')
    # A typo is a warning that fails validate (exit 1), with a guess.
    _write(d, 'tags.yaml', 'Flow:\n  min: 0\n  unit: m3/h\n')
    bus = _write(d, 'bus.yaml', 'prot: 14000\n')
    st, out, err = run('validate', '--tags', tags, '--config', bus)
    check_eq(st, 1, 'exit status of validate with warnings only (%s)' % err)
    check(re.search(r"tags\.yaml:3:3: unknown key 'unit' in .*: did you "
                    r"mean 'units'\?", err), 'no guess for unit: %r', err)
    check(re.search(r"bus\.yaml:1:1: unknown key 'prot' in bus config "
                    r"\(ignored\): did you mean 'port'\?", err),
          'no guess for prot: %r', err)
    check('2 warnings' in err, 'no count of warnings: %r', err)


def test_validate_module_flag_and_site_folder():
    d = h.tmpdir()
    plc = _write(d, 'plc1.yaml', 'rtus:\n- name: P\n  ip: 127.0.0.1\n'
                 '  port: 1502\n  pol:\n  - {unit: 1, file: 4x, start: 1, '
                 'end: 4}\ntags: {}\n')
    st, out, err = run('validate', '--config', plc)
    check_eq(st, 0, 'a config named plc1.yaml: syntax only (%s)' % err)
    check('no schema' in out and '--module' in out, out)
    st, out, err = run('validate', '--config', plc, '--module',
                       'modbusclient')
    check_eq(st, 1, 'plc1.yaml as a modbusclient config: pol warns')
    check(re.search(r"plc1\.yaml:5:3: unknown key 'pol' .*did you mean "
                    r"'poll'\?", err), err)
    st, out, err = run('validate', '--config', plc, '--module', 'plc')
    check_eq(st, 2, 'an unknown --module')
    # A site folder: tags.yaml and each MODULE.yaml in it.
    site = h.tmpdir()
    check_eq(run('checkout', site)[0], 0, 'checkout')
    st, out, err = run('validate', site)
    check_eq(st, 0, 'a fresh site validates (%s)' % err)
    for f in ('tags.yaml', 'bus.yaml', 'modbusclient.yaml', 'history.yaml'):
        check(re.search(r'%s: ok' % re.escape(os.path.join(site, f)), out),
              '%s checked: %s' % (f, out))
    with open(os.path.join(site, 'history.yaml'), 'a') as f:
        f.write('flush_interval: soon\n')
    st, out, err = run('validate', site)
    check_eq(st, 2, 'a site with a bad history.yaml')
    check('history.yaml:' in err, err)
    st, out, err = run('validate', h.tmpdir())
    check_eq(st, 2, 'an empty folder is no site')
    check('site folder' in err, err)


def test_validate_holds_tags_to_history_rules():
    d = h.tmpdir()
    tags = _write(d, 'tags.yaml', 'Flow:\n  type: float\n'
                  'Pump/1:\n  type: int\nNote/1:\n  type: str\n')
    st, out, err = run('validate', '--tags', tags)
    check_eq(st, 2, 'an int tag history cannot record')
    check(re.search(r"tags\.yaml:3:1: tag 'Pump/1' can't be a history "
                    r"file name", err), err)


def test_validate_bad_bus_config_exits_2():
    d = h.tmpdir()
    bus = _write(d, 'bus.yaml', 'ip: 127.0.0.1\nport: 70000\n')
    st, out, err = run('validate', '--config', bus)
    check_eq(st, 2, 'exit status of validate with port 70000')
    check('bus.yaml:2:7:' in err, 'no file:line:column in %r', err)


def test_validate_nothing_to_check_exits_2():
    d = h.tmpdir()
    st, out, err = run('validate', cwd=d)
    check_eq(st, 2, 'exit status of validate with nothing to check')
    check('--tags' in err, 'stderr does not say what to give: %r', err)


def test_validate_history_and_modbusclient_configs():
    d = h.tmpdir()
    hist = _write(d, 'history.yaml', 'bus_port: 1324\npath: %s\n'
                  'flush_interval: soon\n' % os.path.join(d, 'hist'))
    st, out, err = run('validate', '--config', hist)
    check_eq(st, 2, 'exit status of validate with flush_interval: soon')
    check('history.yaml:3:17:' in err, 'no file:line:column in %r', err)
    check(not os.path.exists(os.path.join(d, 'hist')),
          'validate created the history folder')
    mbc = _write(d, 'modbusclient.yaml',
                 'rtus:\n- name: RTU\n  ip: 127.0.0.1\n  port: 502\n'
                 '  poll:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n'
                 'tags:\n  Flow: {type: float32, read: \'RTU:1:4x:3\'}\n')
    st, out, err = run('validate', '--config', mbc)
    check_eq(st, 0, 'exit status of validate with a good modbusclient.yaml '
             '(%s)' % err)
    check('modbusclient.yaml: ok' in out, 'not reported ok: %r', out)
    _write(d, 'modbusclient.yaml',
           'rtus:\n- name: RTU\n  ip: 127.0.0.1\n  port: 502\n'
           'tags:\n  Flow: {type: float99, read: \'RTU:1:4x:3\'}\n')
    st, out, err = run('validate', '--config', mbc)
    check_eq(st, 2, 'exit status of validate with type float99')
    check(re.search(r'modbusclient\.yaml:6:\d+:', err),
          'no file:line:column for the bad type in %r', err)


def test_validate_modbusserver_config():
    d = h.tmpdir()
    mbs = _write(d, 'modbusserver.yaml',
                 'rtus:\n- name: RTU\n  port: 1502\n'
                 '  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n'
                 'tags:\n  Flow: {type: float32, addr: \'RTU:1:4x:3\'}\n')
    st, out, err = run('validate', '--config', mbs)
    check_eq(st, 0, 'exit status of validate with a good modbusserver.yaml '
             '(%s)' % err)
    check('modbusserver.yaml: ok (modbusserver config)' in out,
          'not reported ok: %r', out)
    _write(d, 'modbusserver.yaml',
           'rtus:\n- name: RTU\n  port: 1502\n'
           '  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n'
           'tags:\n  Flow: {type: float32, addr: \'RTU:1:4x:30\'}\n')
    st, out, err = run('validate', '--config', mbs)
    check_eq(st, 2, 'exit status of validate with an address outside the '
             'serve blocks')
    check(re.search(r'modbusserver\.yaml:7:\d+:.*serve block', err),
          'no file:line:column for the address in %r', err)


def test_validate_snmpclient_config():
    """snmpclient.yaml by its name, --module snmpclient, and in a site:
    errors exit 2 with file:line:col, warnings (a typo, a tag on an OID
    not polled) exit 1, the example passes."""
    d = h.tmpdir()
    good = ('rtus:\n- name: sw\n  ip: 127.0.0.1\n  community: public\n'
            '  poll: [\'1.3.6.1.2.1.1.3.0\']\n'
            'tags:\n  Up: {type: int, read: \'sw:1.3.6.1.2.1.1.3.0\'}\n')
    cfg = _write(d, 'snmpclient.yaml', good)
    st, out, err = run('validate', '--config', cfg)
    check_eq((st, err), (0, ''), 'a good snmpclient.yaml by its name')
    check('snmpclient.yaml: ok (snmpclient config)' in out, out)
    other = _write(d, 'switches.yaml', good)
    st, out, err = run('validate', '--config', other, '--module',
                       'snmpclient')
    check_eq((st, err), (0, ''), '--module snmpclient')
    check('switches.yaml: ok (snmpclient config)' in out, out)
    example = os.path.join(TOP, 'config', 'snmpclient.yaml')
    st, out, err = run('validate', '--config', example)
    check_eq((st, err), (0, ''), 'config/snmpclient.yaml validates')
    # Errors: exit 2 at the value.
    _write(d, 'snmpclient.yaml', good.replace('ip: 127.0.0.1',
                                              'ip: 127.0.0.1\n  version: 4'))
    st, out, err = run('validate', '--config', cfg)
    check_eq(st, 2, 'version: 4')
    check(re.search(r'snmpclient\.yaml:4:12: version', err), err)
    _write(d, 'snmpclient.yaml', good.replace("type: int", "type: intt"))
    st, out, err = run('validate', '--config', cfg)
    check_eq(st, 2, 'type: intt')
    check(re.search(r'snmpclient\.yaml:7:\d+:', err), err)
    # Warnings: exit 1, each with its position.
    _write(d, 'snmpclient.yaml', good.replace('community:', 'comunity:'))
    st, out, err = run('validate', '--config', cfg)
    check_eq(st, 1, 'a typo in a key')
    check(re.search(r"snmpclient\.yaml:4:3: unknown key 'comunity'.*"
                    r"did you mean 'community'\?", err), err)
    _write(d, 'snmpclient.yaml', good.replace("read: 'sw:1.3.6.1.2.1.1.3.0'",
                                              "read: 'sw:1.3.6.1.2.1.1.5.0'"))
    st, out, err = run('validate', '--config', cfg)
    check_eq(st, 1, 'a tag reading an OID that is not polled')
    check(re.search(r'snmpclient\.yaml:7:\d+: tag Up: 1\.3\.6\.1\.2\.1\.1'
                    r'\.5\.0 is not in the poll list', err), err)
    # A site with snmpclient: checkout writes it, validate DIR checks it.
    site = h.tmpdir()
    st, out, err = run('checkout', site, '--modules', 'snmpclient')
    check_eq(st, 0, 'checkout --modules snmpclient (%s)' % err)
    for f in ('snmpclient.yaml', 'systemd/mscada-%s-snmpclient.service'
              % os.path.basename(site)):
        check(os.path.exists(os.path.join(site, f)), '%s written' % f)
    st, out, err = run('validate', site)
    check_eq((st, err), (0, ''), 'the site validates')
    check(re.search(r'%s: ok \(snmpclient config\)'
                    % re.escape(os.path.join(site, 'snmpclient.yaml')), out),
          out)
    with open(os.path.join(site, 'snmpclient.yaml'), 'a') as f:
        f.write('mibz: IF-MIB\n')
    st, out, err = run('validate', site)
    check_eq(st, 1, 'a site whose snmpclient.yaml has an unknown key')
    check("snmpclient.yaml:" in err and "'mibz'" in err, err)


def test_no_event_loop_exits_1_with_reason():
    """uv_loop_init failing (here every epoll_create fails with EMFILE, as
    with no descriptors left) ends each module with status 1 and a line
    saying what happened, before it connects or binds anything."""
    lib = os.path.abspath(os.path.join(h.ARGS.build or '', 'tests',
                                       'libms_preload_noloop.so'))
    check(os.path.exists(lib), 'preload library %s not built', lib)
    env = dict(os.environ)
    env['LD_PRELOAD'] = lib
    # A sanitizer build's runtime wants to come first; this library is
    # harmless ahead of it.
    env['ASAN_OPTIONS'] = (env.get('ASAN_OPTIONS', '') +
                           ':verify_asan_link_order=0').lstrip(':')
    d = h.tmpdir()
    port = h.free_port()
    bus = _write(d, 'bus.yaml', 'ip: 127.0.0.1\nport: %d\n' % port)
    mbc = _write(d, 'modbusclient.yaml',
                 'bus_port: %d\nrtus:\n- name: RTU\n  ip: 127.0.0.1\n'
                 '  port: %d\n  poll:\n  - {unit: 1, file: 4x, start: 1, '
                 'end: 10}\ntags:\n  Flow: {type: float32, read: '
                 '\'RTU:1:4x:3\'}\n' % (port, h.free_port()))
    mbs = _write(d, 'modbusserver.yaml',
                 'bus_port: %d\nrtus:\n- name: RTU\n  ip: 127.0.0.1\n'
                 '  port: %d\n  serve:\n  - {unit: 1, file: 4x, start: 1, '
                 'end: 10}\ntags:\n  Flow: {type: float32, addr: '
                 '\'RTU:1:4x:3\'}\n' % (port, h.free_port()))
    hist = _write(d, 'history.yaml', 'bus_port: %d\npath: %s\n'
                  % (port, os.path.join(d, 'hist')))
    tags = _write(d, 'tags.yaml', 'Flow: {type: float}\n')
    runs = [('bus', '--config', bus),
            ('modbusclient', '--config', mbc, '--tags', tags),
            ('modbusserver', '--config', mbs, '--tags', tags),
            ('history', '--config', hist, '--tags', tags),
            ('console', '--bus', '127.0.0.1:%d' % port, '-c', 'list')]
    for argv in runs:
        st, out, err = run(*argv, env=env, cwd=d, timeout=60)
        check_eq(st, 1, 'exit status of %s without an event loop (stderr '
                 '%r)' % (argv[0], err))
        check('cannot start the event loop: too many open files' in err,
              '%s: stderr does not say the loop failed and why: %r',
              argv[0], err)
        check('ulimit -n' in err, '%s: stderr does not say what to do: %r',
              argv[0], err)

def test_every_module_has_version_and_config_hint():
    st, out, _ = run('--help')
    mods = re.findall(r'^  (\S+) ', out.split('Modules:')[1].split('\n\n')[0],
                      re.M)
    check(len(mods) >= 8, 'modules listed: %r' % mods)
    for m in mods:
        st, out, err = run(m, '--version')
        check_eq((st, err), (0, ''), '%s --version' % m)
        check(re.match(r'mscada %s \d+\.\d+\.\d+\n$' % re.escape(m), out),
              '%s --version says %r' % (m, out))
    d = h.tmpdir()
    for m in ('bus', 'modbusclient', 'modbusserver', 'history',
              'snmpclient', 'wwwserver'):
        st, out, err = run(m, cwd=d)
        check_eq(st, 2, '%s without a config' % m)
        check('%s.yaml: cannot open' % m in err and
              'mscada %s: no config: give one with --config FILE' % m in err
              and 'mscada checkout DIR' in err, '%s hint: %r' % (m, err))


if __name__ == '__main__':
    h.main(globals())
