// How a tag's value is shown and how typed input becomes a value to set,
// from its tag_info (pymscada's keys: type, dp, units, multi, format, min,
// max). Pure: node tests it.

/**
 * @typedef {{name: string, id: number|null, desc?: string, type?: string,
 *   dp?: number, units?: string, multi?: string[], format?: string,
 *   min?: number|null, max?: number|null, [k: string]: unknown}} TagInfo
 */

/**
 * The display kind: multi, time, date, datetime (first word of `format`),
 * else the type (int, float, str, list, dict, bytes).
 * @param {TagInfo} info
 */
export function kind(info) {
  if (Array.isArray(info.multi)) return 'multi';
  const f = typeof info.format === 'string' ? info.format.split(' ')[0] : '';
  if (f === 'time' || f === 'date' || f === 'datetime') return f;
  return info.type || 'float';
}

const p2 = (/** @type {number} */ n) => String(n).padStart(2, '0');

/**
 * time/date/datetime tags hold microseconds since the epoch (pymscada's
 * app shows them so); shown in the browser's local time.
 * @param {number} us @param {string} k
 */
export function formatTime(us, k) {
  const d = new Date(us / 1000);
  if (isNaN(d.getTime())) return String(us);
  const date = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
  const time = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  if (k === 'date') return date;
  if (k === 'time') return time;
  return date + ' ' + time;
}

/**
 * The text for a value (units not included).
 * @param {TagInfo|null} info @param {unknown} value
 */
export function formatValue(info, value) {
  if (value === null || value === undefined) return '—';
  if (!info) return String(value);
  const k = kind(info);
  if (k === 'multi' && typeof value === 'number') {
    const names = /** @type {string[]} */ (info.multi);
    return names[value] !== undefined ? String(names[value]) : `state ${value}?`;
  }
  if ((k === 'time' || k === 'date' || k === 'datetime') && typeof value === 'number')
    return formatTime(value, k);
  if (typeof value === 'number') {
    if (k === 'int') return String(Math.round(value));
    const dp = typeof info.dp === 'number' ? info.dp : 2;
    if (!isFinite(value)) return String(value);
    return value.toFixed(Math.max(0, Math.min(20, dp)));
  }
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** @param {unknown} x */
const num = (x) => typeof x === 'number' && isFinite(x) ? x : null;

/**
 * The limits the dialog enforces: tags.yaml's min/max (those the server
 * checks too); none given means none (pymscada's app invents 0..100).
 * @param {TagInfo} info
 * @returns {{min: number|null, max: number|null}}
 */
export function limits(info) {
  return {min: num(info.min), max: num(info.max)};
}

/**
 * Typed text -> the value to set, or why not.
 * @param {TagInfo} info @param {string} text
 * @returns {{value: number|string} | {error: string}}
 */
export function parseInput(info, text) {
  const k = kind(info);
  if (k === 'str') return {value: text};
  if (k === 'time' || k === 'date' || k === 'datetime') {
    const us = parseLocalTime(text, k);
    return us === null ? {error: 'not a valid ' + k} : {value: us};
  }
  if (k === 'multi') {
    const names = /** @type {string[]} */ (info.multi);
    const i = names.indexOf(text);
    if (i >= 0) return {value: i};
  }
  const t = text.trim();
  if (t === '') return {error: 'enter a number'};
  const v = Number(t);
  if (!isFinite(v)) return {error: `"${t}" is not a number`};
  if ((k === 'int' || k === 'multi') && !Number.isInteger(v))
    return {error: 'a whole number is needed'};
  if (k === 'multi' && (v < 0 || v >= /** @type {string[]} */ (info.multi).length))
    return {error: 'no such state'};
  const {min, max} = limits(info);
  const u = info.units ? ' ' + info.units : '';
  if (min !== null && v < min)
    return {error: `below the minimum ${fmtLimit(info, min)}${u}`};
  if (max !== null && v > max)
    return {error: `above the maximum ${fmtLimit(info, max)}${u}`};
  return {value: v};
}

/** @param {TagInfo} info @param {number} x */
export function fmtLimit(info, x) {
  if (Math.abs(x) >= 1e15) return x < 0 ? '−∞' : '∞';
  return kind(info) === 'float' ? String(Number(x.toFixed(10))) : String(x);
}

/**
 * The value of an <input type=time|date|datetime-local>, in local time,
 * as microseconds since the epoch ("time" is today at that time).
 * @param {string} text @param {string} k
 * @param {Date} [today]
 * @returns {number|null}
 */
export function parseLocalTime(text, k, today = new Date()) {
  let m;
  let d;
  if (k === 'time' && (m = /^(\d\d):(\d\d)(?::(\d\d))?$/.exec(text))) {
    d = new Date(today.getFullYear(), today.getMonth(), today.getDate(),
      +m[1], +m[2], +(m[3] || 0));
  } else if (k === 'date' && (m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(text))) {
    d = new Date(+m[1], +m[2] - 1, +m[3]);
  } else if (k === 'datetime' &&
             (m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?$/.exec(text))) {
    d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  } else {
    return null;
  }
  const ms = d.getTime();
  return isNaN(ms) ? null : ms * 1000;
}

/**
 * A value as an <input> of that kind wants it.
 * @param {number} us @param {string} k
 */
export function timeInputValue(us, k) {
  const s = formatTime(us, k);
  return k === 'datetime' ? s.replace(' ', 'T') : s;
}
