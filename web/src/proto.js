// The browser side of pymscada's protocol (docs/www.md "Protocol"): the
// websocket URL, binary value frames and history replies. Pure functions,
// no DOM: node's test runner checks them.

export const INT = 1, FLOAT = 2, STR = 3, BYTES = 4;

/**
 * The websocket URL of a page: its folder + "ws" (ws: or wss: as the page),
 * or the page's ?ws= parameter (pymscada's app takes the same).
 * @param {{href: string, protocol: string, search: string}} loc
 * @returns {string}
 */
export function wsUrl(loc) {
  const over = new URLSearchParams(loc.search).get('ws');
  if (over) return over;
  const base = loc.href.split('#')[0].split('?')[0].replace(/[^/]*$/, '');
  return base.replace(/^http/, 'ws') + 'ws';
}

const utf8 = new TextDecoder();

/**
 * @typedef {{id: number, type: number, time_us: number,
 *            value: number|string|Uint8Array}} Frame
 */

/**
 * One binary frame: u16 tag id, u16 type, u64 time_us, value (big-endian).
 * @param {ArrayBuffer} buf
 * @returns {Frame|null} null when too short or of an unknown type
 */
export function decodeFrame(buf) {
  if (buf.byteLength < 12) return null;
  const d = new DataView(buf);
  const id = d.getUint16(0), type = d.getUint16(2);
  const time_us = Number(d.getBigUint64(4));
  /** @type {number|string|Uint8Array} */
  let value;
  if (type === INT) {
    if (buf.byteLength < 20) return null;
    value = Number(d.getBigInt64(12));
  } else if (type === FLOAT) {
    if (buf.byteLength < 20) return null;
    value = d.getFloat64(12);
  } else if (type === STR) {
    value = utf8.decode(new Uint8Array(buf, 12));
  } else if (type === BYTES) {
    value = new Uint8Array(buf, 12);
  } else {
    return null;
  }
  return {id, type, time_us, value};
}

/**
 * @typedef {{rtaId: number, tagId: number, t: number[], v: number[]}} HistoryReply
 */

/**
 * A __history__ value: u16 rta_id, u16 tag_id, u16 packtype (1 int,
 * 2 float), then 16-byte records (u64 time_us, int64|float64). Times come
 * back in seconds (uPlot's unit).
 * @param {Uint8Array} b
 * @returns {HistoryReply|null} null for the six-zero-byte reset value or
 *   anything malformed
 */
export function decodeHistory(b) {
  if (b.byteLength < 6) return null;
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const rtaId = d.getUint16(0), tagId = d.getUint16(2), pack = d.getUint16(4);
  if (tagId === 0 || (pack !== 1 && pack !== 2)) return null;
  const n = Math.floor((b.byteLength - 6) / 16);
  const t = new Array(n), v = new Array(n);
  for (let i = 0, o = 6; i < n; i++, o += 16) {
    t[i] = Number(d.getBigUint64(o)) / 1e6;
    v[i] = pack === 1 ? Number(d.getBigInt64(o + 8)) : d.getFloat64(o + 8);
  }
  return {rtaId, tagId, t, v};
}

/**
 * A browser -> server message.
 * @param {'sub'|'set'|'rta'} type
 * @param {string} tagname
 * @param {unknown} value
 */
export function encode(type, tagname, value) {
  return JSON.stringify({type, tagname, value: value === undefined ? null : value});
}
