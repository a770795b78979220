"""Replays the byte transcript of pymscada's own bus server
(fixtures/pymscada-bus/transcript.json, two raw clients A and B) against a
fresh `mscada bus` and compares what each client receives, message by
message: command, tag_id, time_us and data must match, except where
docs/design.md §6 lets mscada differ:
  1. pymscada answers an ID for a new name with an ERR before the ID reply;
     mscada may omit that ERR;
  2. ERR texts (and their time) are free-form: compare command and tag_id.
pymscada's bus creates `__bus__` at start as id 1, so the first new tag is
id 2; mscada does the same, so the recorded bytes apply unchanged.

After each step every client's output is collected up to a sync point: a
LIST that cannot match, sent first by the step's sender, then by the other
client. The server answers a connection's requests in order, so everything
the step caused has arrived before the LIST reply."""

import json
import os

import mshelp as h
from mshelp import Bus, CMD_ERR, CMD_ID, CMD_LIST, check

SYNC = b'^~no~such~tag~for~sync~'


def load_transcript():
    path = os.path.join(h.ARGS.shared or '', 'fixtures', 'pymscada-bus',
                        'transcript.json')
    if not h.ARGS.shared or not os.path.isfile(path):
        h.skip('pymscada fixture %s is absent (it sits beside the clone in '
               'CI; pass --shared DIR to run this cross-check)' % path)
    with open(path) as f:
        return json.load(f)


def read_until_sync(cl, n_list):
    """Raw frames up to the reply of the sync LIST, which is the
    (n_list + 1)-th LIST reply (the step itself sent n_list LISTs)."""
    cl.send_raw(h.frame(CMD_LIST, 0, 0, SYNC))
    got = []
    lists = 0
    while True:
        f = cl.recv_frame()
        if f.cmd == CMD_LIST:
            lists += 1
            if lists == n_list + 1:
                check(f.data == b'', 'the sync LIST matched names: %r', f)
                return got
        got.append(f)


def compare(step_no, desc, who, expected, actual):
    """Message-by-message comparison with the two allowed differences.
    Returns a list of problems (empty when they agree)."""
    problems = []
    i = j = 0
    while i < len(expected) or j < len(actual):
        e = expected[i] if i < len(expected) else None
        a = actual[j] if j < len(actual) else None
        if e is not None and e.cmd == CMD_ERR and e.tag_id == 0 \
                and i + 1 < len(expected) and expected[i + 1].cmd == CMD_ID \
                and (a is None or a.cmd != CMD_ERR):
            i += 1  # (1) the ERR before an ID reply for a new name
            continue
        if e is None:
            problems.append('unexpected extra message %r' % a)
            j += 1
            continue
        if a is None:
            problems.append('missing message %r' % e)
            i += 1
            continue
        if e.cmd == CMD_ERR:
            same = (a.version, a.cmd, a.tag_id) == (e.version, e.cmd,
                                                     e.tag_id)
        else:
            same = a == e
        if not same:
            diffs = []
            for field in ('version', 'cmd', 'tag_id', 'time_us'):
                if getattr(a, field) != getattr(e, field):
                    diffs.append('%s %r != expected %r' % (
                        field, getattr(a, field), getattr(e, field)))
            if e.cmd != CMD_ERR and a.data != e.data:
                diffs.append('data differs (%d vs expected %d bytes)'
                             % (len(a.data), len(e.data)))
            problems.append('message %d: got %r, expected %r: %s'
                            % (i, a, e, '; '.join(diffs)))
        i += 1
        j += 1
    return ['step %d (%s), client %s: %s' % (step_no, desc, who, p)
            for p in problems]


def test_replay_pymscada_transcript():
    tr = load_transcript()
    steps = tr['steps']
    check(len(steps) > 0, 'empty transcript')
    bus = Bus()
    clients = {'A': bus.client(), 'B': bus.client()}
    problems = []
    for no, step in enumerate(steps):
        sender = step['client']
        raw = bytes.fromhex(step['send'])
        sent = h.parse_frames(raw)
        n_list = {c: 0 for c in clients}
        n_list[sender] = sum(1 for f in sent if f.cmd == CMD_LIST)
        clients[sender].send_raw(raw)
        order = [sender] + [c for c in sorted(clients) if c != sender]
        got = {}
        for c in order:
            try:
                got[c] = read_until_sync(clients[c], n_list[c])
            except (h.Timeout, h.Closed) as e:
                raise AssertionError('step %d (%s), client %s: %s' % (
                    no, step['desc'], c, e))
        for c in sorted(clients):
            expected = h.parse_frames(bytes.fromhex(step['recv'].get(c, '')))
            problems += compare(no, step['desc'], c, expected, got[c])
    for c, cl in sorted(clients.items()):
        extra = cl.sync()
        if extra:
            problems.append('after the last step, client %s got %r'
                            % (c, extra))
    check(bus.alive(), 'the bus exited during the replay')
    if problems:
        raise AssertionError('%d difference(s) from pymscada\'s bytes:\n  %s'
                             % (len(problems), '\n  '.join(problems)))


if __name__ == '__main__':
    h.main(globals())
