// Values as shown, and typed input checked against the tag's limits.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {formatValue, parseInput, kind, limits, parseLocalTime, formatTime, timeInputValue} from '../src/format.js';

const F = {name: 'F', id: 1, type: 'float', dp: 1, units: 'm', min: 0, max: 10};
const I = {name: 'I', id: 2, type: 'int', dp: 0};
const M = {name: 'M', id: 3, type: 'int', multi: ['Off', 'Manual', 'Auto']};
const T = {name: 'T', id: 4, type: 'int', format: 'datetime'};

test('float with dp, int, multi state names, str, dict, none', () => {
  assert.equal(formatValue(F, 3.14159), '3.1');
  assert.equal(formatValue({...F, dp: 3}, 2), '2.000');
  assert.equal(formatValue({name: 'x', id: 1}, 2), '2.00'); // pymscada's default dp 2
  assert.equal(formatValue(I, 42), '42');
  assert.equal(formatValue(M, 2), 'Auto');
  assert.equal(formatValue(M, 7), 'state 7?');
  assert.equal(formatValue({name: 's', id: 1, type: 'str'}, 'hi'), 'hi');
  assert.equal(formatValue({name: 'd', id: 1, type: 'dict'}, {a: 1}), '{"a":1}');
  assert.equal(formatValue(F, null), '—');
});

test('time formats: microseconds since the epoch, local time', () => {
  const us = new Date(2026, 0, 2, 3, 4, 5).getTime() * 1000;
  assert.equal(formatValue(T, us), '2026-01-02 03:04:05');
  assert.equal(formatTime(us, 'date'), '2026-01-02');
  assert.equal(formatTime(us, 'time'), '03:04:05');
  assert.equal(kind({name: 'x', id: 1, format: 'time extra'}), 'time');
  assert.equal(timeInputValue(us, 'datetime'), '2026-01-02T03:04:05');
  assert.equal(parseLocalTime('2026-01-02T03:04:05', 'datetime'), us);
  assert.equal(parseLocalTime('2026-01-02', 'date'), new Date(2026, 0, 2).getTime() * 1000);
  assert.equal(parseLocalTime('03:04', 'time', new Date(2026, 0, 2, 12)),
    new Date(2026, 0, 2, 3, 4).getTime() * 1000);
  assert.equal(parseLocalTime('nonsense', 'date'), null);
});

test('input within the real limits is taken, outside is refused with why', () => {
  assert.deepEqual(parseInput(F, ' 7.5 '), {value: 7.5});
  assert.deepEqual(parseInput(F, '10'), {value: 10});
  assert.match(/** @type {any} */ (parseInput(F, '10.1')).error, /above the maximum 10 m/);
  assert.match(/** @type {any} */ (parseInput(F, '-1')).error, /below the minimum 0 m/);
  assert.match(/** @type {any} */ (parseInput(F, 'abc')).error, /not a number/);
  assert.match(/** @type {any} */ (parseInput(F, '')).error, /enter a number/);
});

test('no limits in tags.yaml means none (not 0..100)', () => {
  assert.deepEqual(limits(I), {min: null, max: null});
  assert.deepEqual(parseInput(I, '500'), {value: 500});
  assert.match(/** @type {any} */ (parseInput(I, '1.5')).error, /whole number/);
});

test('multi by name or index; str as is; time in microseconds', () => {
  assert.deepEqual(parseInput(M, 'Manual'), {value: 1});
  assert.deepEqual(parseInput(M, '2'), {value: 2});
  assert.match(/** @type {any} */ (parseInput(M, '3')).error, /no such state/);
  assert.deepEqual(parseInput({name: 's', id: 1, type: 'str'}, ' x '), {value: ' x '});
  const r = /** @type {any} */ (parseInput(T, '2026-01-02T03:04:05'));
  assert.equal(r.value, new Date(2026, 0, 2, 3, 4, 5).getTime() * 1000);
});
