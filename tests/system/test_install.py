"""`make install` as a user runs it: the build folder installed into a
DESTDIR. Checks the tree (executable, libmscada shared with its soname and
static, every public header, mscada.pc, a man page for every module that
`mscada --help` lists, example configs, systemd units that
`systemd-analyze verify` accepts); builds docs/client.md's first C example
against the installed mscada.pc (pkg-config with a sysroot) and runs it on
a live bus: setting Level to 90 makes it set PumpRun to 1. Then
scripts/uninstall.sh removes everything the install wrote."""

import glob
import os
import re
import shutil
import subprocess

import mshelp as h
from mshelp import check, check_eq

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
STATE = {}


def cache_value(key):
    with open(os.path.join(h.ARGS.build, 'CMakeCache.txt')) as f:
        for line in f:
            if line.startswith(key + ':'):
                return line.split('=', 1)[1].strip()
    raise AssertionError('%s not in CMakeCache.txt' % key)


def installed():
    """Installs once into a fresh DESTDIR; returns (destdir, prefix)."""
    if 'dest' not in STATE:
        check(h.ARGS.build, '--build is required')
        dest = h.tmpdir('mscada-install-')
        env = dict(os.environ, DESTDIR=dest)
        rc, out, err = h.run_cmd(['cmake', '--install', h.ARGS.build],
                                 timeout=120, env=env)
        check_eq(rc, 0, 'cmake --install exit (%s)' % err[-2000:])
        STATE['dest'] = dest
        STATE['prefix'] = cache_value('CMAKE_INSTALL_PREFIX')
        STATE['manifest'] = os.path.join(h.ARGS.build,
                                         'install_manifest.txt')
        STATE['files'] = open(STATE['manifest']).read().split()
    return STATE['dest'], STATE['prefix']


def root():
    dest, prefix = installed()
    return dest + prefix


def libdir():
    libs = glob.glob(os.path.join(root(), 'lib*', '**', 'libmscada.so'),
                     recursive=True)
    check(len(libs) == 1, 'one libmscada.so installed, found %r', libs)
    return os.path.dirname(libs[0])


def test_tree():
    r = root()
    mscada = os.path.join(r, 'bin', 'mscada')
    check(os.access(mscada, os.X_OK), 'bin/mscada installed')
    rc, out, _ = h.run_cmd([mscada, '--version'])
    check(rc == 0 and out.startswith('mscada '), '--version: %r' % out)
    for ex in ('tagwatch', 'plantsim', 'msm_master', 'msm_slave'):
        check(os.access(os.path.join(r, 'bin', ex), os.X_OK),
              'example %s installed', ex)
    ld = libdir()
    check(os.path.isfile(os.path.join(ld, 'libmscada.a')), 'static lib')
    rc, out, _ = h.run_cmd(['readelf', '-d',
                            os.path.join(ld, 'libmscada.so')])
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
    check(m, 'libmscada.so has a soname: %s' % out[:500])
    check_eq(m.group(1), 'libmscada.so.0', 'soname')
    check(os.path.exists(os.path.join(ld, m.group(1))),
          'the soname link exists')
    for hdr in glob.glob(os.path.join(TOP, 'include', 'mscada', '*.h')):
        check(os.path.isfile(os.path.join(r, 'include', 'mscada',
                                          os.path.basename(hdr))),
              'header %s installed', os.path.basename(hdr))
    check(os.path.isfile(os.path.join(ld, 'pkgconfig', 'mscada.pc')),
          'mscada.pc installed')
    cfgs = os.path.join(r, 'share', 'mscada', 'config')
    for c in ('bus.yaml', 'tags.yaml', 'modbusclient.yaml', 'history.yaml'):
        check(os.path.isfile(os.path.join(cfgs, c)), 'config %s', c)


def test_man_pages():
    r = root()
    rc, out, _ = h.run_cmd([os.path.join(r, 'bin', 'mscada'), '--help'])
    mods = re.findall(r'^  (\S+) ', out.split('Modules:')[1].split('\n\n')[0],
                      re.M)
    check(len(mods) >= 5, 'modules listed: %r' % mods)
    man1 = os.path.join(r, 'share', 'man', 'man1')
    for m in ['mscada'] + ['mscada-' + x for x in mods]:
        page = os.path.join(man1, m + '.1')
        check(os.path.isfile(page), 'man page %s' % page)
        text = open(page).read()
        check(text.startswith('.TH ' + m.upper() + ' 1'), '%s header' % m)
        check('.SH NAME' in text and '.SH SYNOPSIS' in text, '%s sections' % m)
    if shutil.which('man'):
        rc, out, err = h.run_cmd(['man', '-l', os.path.join(
            man1, 'mscada-bus.1')], env=dict(os.environ, MANPAGER='cat',
                                              PAGER='cat', COLUMNS='80'))
        check(rc == 0 and 'queue_high_water' in out,
              'man renders mscada-bus.1: %r' % (out[:300] + err[:300]))


def test_units_verify():
    if not shutil.which('systemd-analyze'):
        h.skip('systemd-analyze is not installed (Debian package systemd)')
    r = root()
    dest, prefix = installed()
    units = glob.glob(os.path.join(r, 'lib', 'systemd', 'system', '*'))
    names = sorted(os.path.basename(u) for u in units)
    check_eq(names, ['mscada-bus.service', 'mscada@.service'], 'units')
    # verify checks that ExecStart exists: point it into the DESTDIR, and
    # give the template an instance.
    work = h.tmpdir('mscada-units-')
    bindir = os.path.join(prefix, 'bin')
    for u, out in (('mscada-bus.service', 'mscada-bus.service'),
                   ('mscada@.service', 'mscada@history.service')):
        text = open(os.path.join(r, 'lib', 'systemd', 'system', u)).read()
        check(bindir + '/mscada ' in text, '%s runs %s/mscada' % (u, bindir))
        with open(os.path.join(work, out), 'w') as f:
            f.write(text.replace(bindir + '/mscada ',
                                 os.path.join(dest + bindir, 'mscada') + ' '))
    rc, out, err = h.run_cmd(['systemd-analyze', 'verify', '--man=no',
                              os.path.join(work, 'mscada-bus.service'),
                              os.path.join(work, 'mscada@history.service')])
    check_eq((rc, (out + err).strip()), (0, ''), 'systemd-analyze verify')


def example_source():
    text = open(os.path.join(TOP, 'docs', 'client.md')).read()
    m = re.search(r'```c\n(.*?)```', text, re.S)
    check(m, 'docs/client.md has a C example')
    return m.group(1)


def test_pkg_config_builds_docs_example():
    dest, prefix = installed()
    ld = libdir()
    env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=dest,
               PKG_CONFIG_PATH=os.path.join(ld, 'pkgconfig'))
    rc, flags, err = h.run_cmd(['pkg-config', '--cflags', '--libs',
                                'mscada'], env=env)
    check_eq(rc, 0, 'pkg-config --cflags --libs mscada (%s)' % err)
    check('-lmscada' in flags and '-I' + dest in flags,
          'flags point into the DESTDIR: %r' % flags)
    work = h.tmpdir('mscada-example-')
    bus = h.Bus()
    src = example_source()
    # The only change: the test's bus is on a free port, not 1324.
    src = src.replace('ms_client_config_init(&cfg);',
                      'ms_client_config_init(&cfg); cfg.port = %d;'
                      % bus.port, 1)
    with open(os.path.join(work, 'pump.c'), 'w') as f:
        f.write(src)
    exe = os.path.join(work, 'pump')
    # A sanitizer build's library needs the same runtime in the program.
    san = ['-fsanitize=address,undefined'] if h.is_sanitized() else []
    # gnu17: <uv.h> needs POSIX types that strict ISO C hides.
    rc, out, err = h.run_cmd(['cc', '-std=gnu17', '-Wall', '-Wextra',
                              '-Werror', os.path.join(work, 'pump.c'),
                              '-o', exe] + san + flags.split(), timeout=120)
    check_eq(rc, 0, 'the docs example builds against mscada.pc: %s' % err)
    rc, out, _ = h.run_cmd(['ldd', exe],
                           env=dict(os.environ, LD_LIBRARY_PATH=ld))
    check(os.path.join(ld, 'libmscada.so.0') in out,
          'linked to the installed shared library: %s' % out)
    log = os.path.join(work, 'pump.log')
    p = h.spawn([exe], log, env=dict(os.environ, LD_LIBRARY_PATH=ld))
    try:
        with bus.client() as cl:
            run_id = cl.id('PumpRun')
            first = cl.sub(run_id)
            level = cl.id('Level')
            # It publishes PumpRun 0 once connected (the SUB's answer holds
            # it when that came first)...
            if first.value() != (h.INT, 0):
                cl.expect(lambda m: m.cmd == h.CMD_SET and
                          m.tag_id == run_id and m.value() == (h.INT, 0),
                          'PumpRun 0 from the example')
            cl.set_value(level, 90.0)
            # ...and follows Level: above 80 the pump runs.
            cl.expect(lambda m: m.cmd == h.CMD_SET and m.tag_id == run_id
                      and m.value() == (h.INT, 1), 'PumpRun 1 after Level 90')
    finally:
        h.stop_pid(p)


def test_uninstall_removes_everything():
    dest, _ = installed()
    files = STATE['files']
    check(len(files) > 20, 'the manifest lists the install: %d' % len(files))
    keep = os.path.join(h.tmpdir('mscada-manifest-'), 'manifest')
    shutil.copy(STATE['manifest'], keep)
    rc, out, err = h.run_cmd(['sh', os.path.join(TOP, 'scripts',
                                                 'uninstall.sh'), keep],
                             env=dict(os.environ, DESTDIR=dest))
    check_eq(rc, 0, 'uninstall.sh exit (%s)' % err)
    left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
    check_eq(left, [], 'files left after uninstall')
    check(not glob.glob(os.path.join(dest, '**', 'mscada'), recursive=True),
          'no mscada folder left')


if __name__ == '__main__':
    h.main(globals())
