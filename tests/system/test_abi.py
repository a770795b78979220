"""libmscada.so's ABI is its public headers: the functions exported from
the shared library (nm -D, defined text symbols) are exactly the
functions include/mscada/*.h declares with MS_EXTERN; nothing internal
(ms_bus_core_*, ms_dialer_*, msm_*...) leaks, and nothing declared is
missing. Also: every public function declaration carries MS_EXTERN."""

import glob
import os
import re

import mshelp as h
from mshelp import check, check_eq

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def declared():
    """(names with MS_EXTERN, names of declarations without it)."""
    marked, unmarked = set(), set()
    for path in glob.glob(os.path.join(TOP, 'include', 'mscada', '*.h')):
        text = open(path).read()
        text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
        text = text.replace('\\\n', ' ')  # macro continuations
        text = re.sub(r'^\s*#.*$', ' ', text, flags=re.M)
        text = text.replace('extern "C" {', ' ')
        depth = 0
        stmt = ''
        for c in text:
            if c in '{':
                depth += 1
            elif c in '}':
                depth -= 1
                if depth == 0 and stmt.lstrip().startswith('static'):
                    stmt = ''
                    continue
            if depth == 0 and c == ';':
                s = ' '.join(stmt.split())
                stmt = ''
                if '(' not in s or s.startswith(('typedef', 'static',
                                                 'struct', 'enum',
                                                 'union')):
                    continue
                m = re.search(r'(\w+)\s*\(', s.replace('MS_EXTERN', ''))
                if not m:
                    continue
                (marked if s.startswith('MS_EXTERN') else unmarked).add(
                    m.group(1))
                continue
            stmt += c
    return marked, unmarked


def exported(lib):
    rc, out, err = h.run_cmd(['nm', '-D', '--defined-only', lib])
    check_eq(rc, 0, 'nm -D %s (%s)' % (lib, err))
    return {line.split()[2] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] == 'T'}


def test_every_declaration_is_marked():
    marked, unmarked = declared()
    check(len(marked) > 200, 'found the public functions: %d' % len(marked))
    check_eq(sorted(unmarked), [], 'public declarations without MS_EXTERN')


def test_exports_are_the_public_api():
    check(h.ARGS.build, '--build is required')
    lib = os.path.join(h.ARGS.build, 'libmscada.so')
    check(os.path.exists(lib), '%s is built' % lib)
    marked, _ = declared()
    got = exported(lib)
    check_eq(sorted(got - marked), [],
             'exported but not in the public headers (internal, ABI by '
             'accident)')
    check_eq(sorted(marked - got), [],
             'declared in the public headers but not exported')


if __name__ == '__main__':
    h.main(globals())
