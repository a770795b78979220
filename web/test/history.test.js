// Trend data: history replies merged with live values, alignment, CSV.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {emptySeries, mergeRange, addPoint, align, toCsv, trimBefore} from '../src/history.js';

test('live points append, replace the same time, insert in order', () => {
  const s = emptySeries();
  addPoint(s, 1, 10); addPoint(s, 3, 30); addPoint(s, 3, 31); addPoint(s, 2, 20);
  assert.deepEqual(s, {t: [1, 2, 3], v: [10, 20, 31]});
});

test('a history reply replaces its span and keeps live points outside it', () => {
  const s = emptySeries();
  for (const t of [10, 11, 12, 20, 21]) addPoint(s, t, t);
  mergeRange(s, [5, 8, 12.5, 15], [0, 0, 0, 0]);
  assert.deepEqual(s.t, [5, 8, 12.5, 15, 20, 21]);
  assert.deepEqual(s.v, [0, 0, 0, 0, 20, 21]);
});

test('a reply newer than everything appends; an empty one changes nothing', () => {
  const s = emptySeries();
  addPoint(s, 1, 1);
  mergeRange(s, [2, 3], [2, 3]);
  mergeRange(s, [], []);
  assert.deepEqual(s, {t: [1, 2, 3], v: [1, 2, 3]});
});

test('a reply of 200,000 records merges (no argument-count limit)', () => {
  const s = emptySeries();
  addPoint(s, 0, 0); addPoint(s, 1e9, 1);
  const t = Array.from({length: 200000}, (_, i) => i + 1);
  mergeRange(s, t, t);
  assert.equal(s.t.length, 200002);
  assert.equal(s.t[200001], 1e9);
});

test('align: union of times within the window, one point either side, nulls', () => {
  const a = {t: [0, 1, 2, 3, 9], v: [0, 10, 20, 30, 90]};
  const b = {t: [2, 2.5, 8], v: [1, 2, 3]};
  assert.deepEqual(align([a, b], 1.5, 2.7),
    [[1, 2, 2.5, 3, 8], [10, 20, null, 30, null], [null, 1, 2, null, 3]]);
  assert.deepEqual(align([a], 8.5, 10), [[3, 9], [30, 90]]);
});

test('trimBefore drops old points', () => {
  const s = {t: [1, 2, 3], v: [1, 2, 3]};
  trimBefore(s, 2);
  assert.deepEqual(s, {t: [2, 3], v: [2, 3]});
});

test('CSV of what is shown: local time, labels quoted when needed, blanks', () => {
  const csv = toCsv([[0, 1.5], [1, null], [2.5, 3]], ['Level', 'Flow, in']);
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'time,Level,"Flow, in"');
  assert.match(lines[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:00\.000,1,2\.5$/);
  assert.match(lines[2], /:01\.500,,3$/);
});
