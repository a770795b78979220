"""The bus with tags.yaml (`tags:` in bus.yaml, or --tags): a SET whose
value does not fit the tag's type there is refused with ERR on the binary
and the text port, by the rule the client library uses (an INT fits a
FLOAT tag; a multi is an INT; a tag without a type is a FLOAT); tags it
doesn't describe, and a bus without tags.yaml, take anything (as
pymscada's). A bad or missing tags file stops the bus and fails `mscada
validate` with where it is wrong."""

import os

import mshelp as h
import test_bus_text as tt
from mshelp import Bus, CMD_ERR, CMD_SET, check, check_eq

TAGS_YAML = """\
PumpMode:
  desc: Pump mode
  multi: ['Off', Manual, Auto]
Count:
  type: int
Flow:
  type: float
Untyped:
  desc: no type given is a float
Name:
  type: str
Blob:
  type: bytes
Cfg:
  type: dict
Items:
  type: list
"""

# A value of each wire type, and the described tags each may be set on.
VALUES = {
    h.INT: 2,
    h.FLOAT: 2.5,
    h.STR: 'Manual',
    h.BYTES: b'\x01\x02',
    h.JSON: {'a': 1},
}
FITS = {
    'PumpMode': {h.INT},
    'Count': {h.INT},
    'Flow': {h.INT, h.FLOAT},
    'Untyped': {h.INT, h.FLOAT},
    'Name': {h.STR},
    'Blob': {h.BYTES},
    'Cfg': {h.JSON},
    'Items': {h.JSON},
    'NotDescribed': set(VALUES),
}


def typed_bus(text_port=True, via_option=False, tags_text=TAGS_YAML):
    """A bus whose folder holds tags.yaml, named in bus.yaml (relative to
    its folder) or given with --tags (an absolute path)."""
    cfg = {}
    if text_port:
        cfg['text_port'] = 0  # bus.text_port: the one it names
    bus = Bus(start=False, **cfg)
    path = os.path.join(bus.dir, 'tags.yaml')
    with open(path, 'w') as f:
        f.write(tags_text)
    if via_option:
        bus.extra_args = ['--tags', path]
    else:
        bus.cfg['tags'] = 'tags.yaml'
    bus.start()
    return bus


def test_binary_set_must_fit_the_type():
    bus = typed_bus(text_port=False)
    a, sub = bus.client(), bus.client()
    for name, fits in sorted(FITS.items()):
        tid = a.id(name)
        sub.sub(tid)
        for vtype, value in sorted(VALUES.items()):
            t = a.set_value(tid, value, vtype)
            got = a.sync()
            if vtype in fits:
                check_eq(got, [], '%s takes a %s value' % (name, vtype))
                m = sub.expect(lambda m: m.cmd == CMD_SET and m.tag_id == tid,
                               'the %s value of %s' % (vtype, name))
                check_eq(h.decode_value(m.data), (vtype, value),
                         'value of %s passed on' % name)
                continue
            check(len(got) == 1 and got[0].cmd == CMD_ERR, 'SET of a %d '
                  'value on %s: expected one ERR, got %r', vtype, name, got)
            err = got[0]
            # As every ERR: the refused request's tag_id and time_us.
            check_eq((err.tag_id, err.time_us), (tid, t),
                     'ERR tag_id and time_us for %s' % name)
            text = err.data.decode()
            check(name in text and 'tags.yaml' in text and 'not stored' in
                  text, 'ERR text names the tag and the cause: %r', text)
            check_eq(sub.sync(), [], 'a subscriber got a refused value (%s)'
                     % name)
    # The example of the issue, in words.
    tid = a.id('PumpMode')
    a.set_value(tid, 1)
    a.set_value(tid, 'Manual')
    got = a.sync()
    check_eq([m.data.decode() for m in got],
             ['SET PumpMode: str value, but tags.yaml gives the tag type '
              'int; not stored'], 'ERR for a str on a multi tag')
    check_eq(h.decode_value(a.get(tid).data), (h.INT, 1),
             'the value before the refused SET stays')
    # An empty SET (the tag reads as never set) fits every tag.
    a.set_data(tid, b'')
    check_eq(a.sync(), [], 'empty SET on a typed tag')
    check_eq(a.get(tid).data, b'', 'empty SET stored')


def test_text_set_must_fit_the_type():
    bus = typed_bus()
    t = tt.TextClient(bus.text_port)
    check_eq(t.cmd('set PumpMode Manual'),
             'ERR SET PumpMode: str value, but tags.yaml gives the tag '
             'type int; not stored', 'text set of a str on a multi tag')
    check_eq(t.sync(), [], 'nothing after the ERR line (no OK)')
    check_eq(t.cmd('get PumpMode')[:len('PumpMode null ')], 'PumpMode null ',
             'nothing stored')
    check_eq(t.cmd('set PumpMode 2'), 'OK', 'an int on a multi tag')
    check_eq(tt.value_line(t.cmd('get PumpMode'))[1], 2, 'stored')
    check_eq(t.cmd('set Flow 3'), 'OK', 'an int on a float tag')
    check_eq(t.cmd('set Flow 3.5'), 'OK', 'a float on a float tag')
    check(t.cmd('set Flow "3.5"').startswith('ERR SET Flow: str value'),
          'a str on a float tag')
    check(t.cmd('set Name 5').startswith('ERR SET Name: int value'),
          'an int on a str tag')
    check_eq(t.cmd('set Name "5"'), 'OK', 'a str on a str tag')
    check_eq(t.cmd('set Cfg {"k":[1]}'), 'OK', 'JSON on a dict tag')
    check_eq(t.cmd('set NotDescribed Manual'), 'OK', 'an undescribed tag')
    # The binary side saw only what was stored.
    c = bus.client()
    check_eq(h.decode_value(c.get(c.id('Flow')).data), (h.FLOAT, 3.5),
             'Flow as stored')


def test_tags_option_and_no_tags():
    # --tags FILE gives the bus its types as bus.yaml's `tags:` does.
    bus = typed_bus(via_option=True)
    t = tt.TextClient(bus.text_port)
    check(t.cmd('set PumpMode Manual').startswith('ERR SET PumpMode'),
          '--tags: the type applies')
    check(any('types of 8 tags' in line for line in bus.log().split('\n')),
          'the bus logs the tags file it uses: %s' % bus.log_tail(5))
    # Without either, a tags.yaml beside bus.yaml is not read: anything
    # goes, as on pymscada's bus.
    plain = Bus(start=False, text_port=0)
    with open(os.path.join(plain.dir, 'tags.yaml'), 'w') as f:
        f.write(TAGS_YAML)
    plain.start()
    t = tt.TextClient(plain.cfg['text_port'])
    check_eq(t.cmd('set PumpMode Manual'), 'OK', 'no tags: no types')
    c = plain.client()
    tid = c.id('Count')
    c.set_value(tid, 'x')
    check_eq(c.sync(), [], 'no tags: binary SET of any type')


def _bus_yaml(d, text):
    path = os.path.join(d, 'bus.yaml')
    with open(path, 'w') as f:
        f.write(text)
    return path


def test_bad_tags_file_stops_bus_and_fails_validate():
    d = h.tmpdir()
    port = h.free_port()
    sub = os.path.join(d, 'site')
    os.mkdir(sub)
    with open(os.path.join(sub, 'tags.yaml'), 'w') as f:
        f.write(TAGS_YAML)
    # Relative to bus.yaml's folder, wherever the command runs.
    conf = _bus_yaml(sub, 'port: %d\ntags: tags.yaml\n' % port)
    rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--config', conf], cwd=d)
    check_eq(rc, 0, 'validate of bus.yaml with tags: (%s %s)' % (out, err))
    check('ok (bus config)' in out, 'validate says ok: %r' % out)
    # A missing file: where bus.yaml names it, and how paths are read.
    conf = _bus_yaml(sub, 'port: %d\ntags: nothere.yaml\n' % port)
    for argv in ([h.MSCADA, 'validate', '--config', conf],
                 [h.MSCADA, 'bus', '--config', conf]):
        rc, out, err = h.run_cmd(argv, cwd=d)
        check_eq(rc, 2, '%s with a missing tags file' % argv[1])
        check('bus.yaml:2:7: tags: ' in err and 'nothere.yaml' in err and
              "relative to bus.yaml's folder" in err,
              '%s names the missing file: %r' % (argv[1], err))
    # A tags file with an error: its own file:line:column.
    with open(os.path.join(sub, 'bad.yaml'), 'w') as f:
        f.write('Good:\n  type: int\nBad:\n  type: integer\n')
    conf = _bus_yaml(sub, 'port: %d\ntags: bad.yaml\n' % port)
    for argv in ([h.MSCADA, 'validate', '--config', conf],
                 [h.MSCADA, 'bus', '--config', conf]):
        rc, out, err = h.run_cmd(argv, cwd=d)
        check_eq(rc, 2, '%s with a bad tags file' % argv[1])
        check('bad.yaml:4:' in err, '%s says where: %r' % (argv[1], err))
    # A warning in the tags file (an unknown key) fails validate too.
    with open(os.path.join(sub, 'warn.yaml'), 'w') as f:
        f.write('Good:\n  type: int\n  tpye: float\n')
    conf = _bus_yaml(sub, 'port: %d\ntags: warn.yaml\n' % port)
    rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--config', conf], cwd=d)
    check_eq(rc, 1, 'validate with a warning in the tags file (%s)' % err)
    check('warn.yaml:3:' in err, 'the warning says where: %r' % err)
    # A typo of the key itself.
    conf = _bus_yaml(sub, 'port: %d\ntgas: tags.yaml\n' % port)
    rc, out, err = h.run_cmd([h.MSCADA, 'validate', '--config', conf], cwd=d)
    check_eq(rc, 1, 'validate with tgas:')
    check("did you mean 'tags'" in err, 'a near key is suggested: %r' % err)


if __name__ == '__main__':
    h.main(globals())
