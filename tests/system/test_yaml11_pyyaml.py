"""PyYAML's side of tests/unit/yaml11_numbers.tsv: the table's pyyaml column
is what PyYAML (pymscada's config loader, Debian's python3-yaml) makes of
each plain scalar. tests/unit/test_yaml11.c holds mscada to the same column,
so a config file means the same numbers to both programs."""

import math
import os

import yaml

import mshelp as h
from mshelp import check

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'unit',
                     'yaml11_numbers.tsv')


def rows():
    with open(TABLE) as f:
        for n, line in enumerate(f, 1):
            if line.startswith('#') or not line.strip():
                continue
            cols = line.rstrip('\n').split('\t')
            check(len(cols) == 4, '%s:%d: want 4 columns', TABLE, n)
            yield n, cols[0], cols[1]


def pyyaml_reads(text):
    """('int', v), ('float', v), ('str', None) or ('error', None)."""
    try:
        v = yaml.safe_load('v: %s\n' % text)['v']
    except (yaml.YAMLError, ValueError):
        return 'error', None
    if isinstance(v, bool):
        return 'bool', v
    if isinstance(v, int):
        return 'int', v
    if isinstance(v, float):
        return 'float', v
    if isinstance(v, str):
        return 'str', None
    return type(v).__name__, v


def test_pyyaml_column():
    count = 0
    for n, text, want in rows():
        kind, v = pyyaml_reads(text)
        if want.startswith('int:'):
            check(kind == 'int' and v == int(want[4:]),
                  'line %d: PyYAML reads %s as %s %r, the table says %s',
                  n, text, kind, v, want)
        elif want.startswith('float:'):
            f = float(want[6:])
            check(kind == 'float' and (v == f or (math.isnan(f) and
                                                   math.isnan(v))),
                  'line %d: PyYAML reads %s as %s %r, the table says %s',
                  n, text, kind, v, want)
        else:
            check(kind == want,
                  'line %d: PyYAML reads %s as %s %r, the table says %s',
                  n, text, kind, v, want)
        count += 1
    check(count > 50, 'only %d rows in %s', count, TABLE)


def test_list_of_all_rows():
    # The same scalars as one block list, as test_yaml11.c puts them in a
    # list tag's init: PyYAML must type them one by one the same way.
    items = [(n, text, want) for n, text, want in rows() if want != 'error']
    doc = 'init:\n' + ''.join('- %s\n' % text for _, text, _ in items)
    got = yaml.safe_load(doc)['init']
    check(len(got) == len(items), 'list length %d, want %d', len(got),
          len(items))
    for (n, text, want), v in zip(items, got):
        kind = want.split(':')[0]
        check(type(v).__name__ == kind,
              'line %d: %s in a list is %r, want %s', n, text, v, want)


if __name__ == '__main__':
    h.main(globals())
