"""Every YAML example in README.md and docs/ is checked, so the docs never
show a config that mscada refuses: each ```yaml block is preceded by a
line `<!-- validate: KIND -->` naming what it is (a module with a schema:
`mscada validate --module KIND`; `tags`: a tags.yaml; `yaml`: a fragment,
YAML syntax only) and must pass with exit 0: no error, no warning."""

import glob
import os
import re

import mshelp as h
from mshelp import check, check_eq

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MARK = re.compile(r'^<!-- validate: ([a-z]+) -->$')


def blocks():
    for path in [os.path.join(TOP, 'README.md')] + sorted(
            glob.glob(os.path.join(TOP, 'docs', '*.md'))):
        lines = open(path).read().split('\n')
        for i, line in enumerate(lines):
            if not line.startswith('```yaml'):
                continue
            m = MARK.match(lines[i - 1]) if i else None
            end = lines.index('```', i + 1)
            yield (os.path.relpath(path, TOP), i + 1,
                   m.group(1) if m else None, '\n'.join(lines[i + 1:end]))


def test_every_example_validates():
    d = h.tmpdir()
    n = 0
    for doc, line, kind, text in blocks():
        where = '%s:%d' % (doc, line)
        check(kind, '%s: a ```yaml block needs a <!-- validate: KIND --> '
              'line before it' % where)
        path = os.path.join(d, 'example%d.yaml' % n)
        with open(path, 'w') as f:
            f.write(text + '\n')
        if kind == 'tags':
            args = ['--tags', path]
        elif kind == 'yaml':
            args = ['--tags', os.path.join(d, 'none.yaml'), '--config', path]
            open(args[1], 'w').close()
        else:
            args = ['--tags', os.path.join(d, 'none.yaml'), '--config',
                    path, '--module', kind]
            open(args[1], 'w').close()
        env = dict(os.environ, BUS_HOST='127.0.0.1', WEB_HOST='127.0.0.1',
                   MQTT_PASSWORD='secret')
        rc, out, err = h.run_cmd([h.MSCADA, 'validate'] + args, env=env)
        check_eq((rc, err), (0, ''), '%s (%s example) validates' % (where,
                                                                    kind))
        n += 1
    check(n >= 7, 'found the examples: %d' % n)


if __name__ == '__main__':
    h.main(globals())
