// The frame decoder and the websocket URL.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {decodeFrame, decodeHistory, wsUrl, encode, INT, FLOAT, STR, BYTES} from '../src/proto.js';

/** @param {number} id @param {number} type @param {bigint} t @param {(d: DataView) => void} fill @param {number} n */
function frame(id, type, t, n, fill) {
  const b = new ArrayBuffer(12 + n);
  const d = new DataView(b);
  d.setUint16(0, id); d.setUint16(2, type); d.setBigUint64(4, t);
  fill(d);
  return b;
}

test('int frame: pack("!HHQq", 11, 1, t, 42)', () => {
  const f = decodeFrame(frame(11, INT, 1700000000000000n, 8, (d) => d.setBigInt64(12, -42n)));
  assert.deepEqual(f, {id: 11, type: INT, time_us: 1700000000000000, value: -42});
});

test('float, str and bytes frames', () => {
  assert.equal(decodeFrame(frame(3, FLOAT, 5n, 8, (d) => d.setFloat64(12, 12.5)))?.value, 12.5);
  const s = new TextEncoder().encode('héllo');
  const b = frame(4, STR, 5n, s.length, () => {});
  new Uint8Array(b, 12).set(s);
  assert.equal(decodeFrame(b)?.value, 'héllo');
  const y = decodeFrame(frame(5, BYTES, 5n, 3, (d) => d.setUint8(14, 9)));
  assert.ok(y && y.value instanceof Uint8Array);
  assert.deepEqual([...y.value], [0, 0, 9]);
});

test('short or unknown frames are dropped, not thrown', () => {
  assert.equal(decodeFrame(new ArrayBuffer(11)), null);
  assert.equal(decodeFrame(frame(1, INT, 0n, 4, () => {})), null);
  assert.equal(decodeFrame(frame(1, 9, 0n, 8, () => {})), null);
});

test('history reply: rta id, tag id, packtype, records in seconds', () => {
  const b = new Uint8Array(6 + 32);
  const d = new DataView(b.buffer);
  d.setUint16(0, 7); d.setUint16(2, 12); d.setUint16(4, 2);
  d.setBigUint64(6, 1000000n); d.setFloat64(14, 1.5);
  d.setBigUint64(22, 2500000n); d.setFloat64(30, -3);
  assert.deepEqual(decodeHistory(b), {rtaId: 7, tagId: 12, t: [1, 2.5], v: [1.5, -3]});
  const i = new Uint8Array(6 + 16);
  const e = new DataView(i.buffer);
  e.setUint16(2, 3); e.setUint16(4, 1); e.setBigUint64(6, 3000000n); e.setBigInt64(14, -5n);
  assert.deepEqual(decodeHistory(i)?.v, [-5]);
});

test('the six-zero-byte reset value is no reply', () => {
  assert.equal(decodeHistory(new Uint8Array(6)), null);
  assert.equal(decodeHistory(new Uint8Array(3)), null);
});

test('websocket URL: the page folder + ws, or ?ws=', () => {
  assert.equal(wsUrl({href: 'http://h:8324/', protocol: 'http:', search: ''}), 'ws://h:8324/ws');
  assert.equal(wsUrl({href: 'https://h/scada/index.html?x=1#/Trend', protocol: 'https:', search: '?x=1'}),
    'wss://h/scada/ws');
  assert.equal(wsUrl({href: 'http://h/', protocol: 'http:', search: '?ws=ws://o:1/ws'}), 'ws://o:1/ws');
});

test('messages as pymscada sends them', () => {
  assert.equal(encode('sub', 'FloatSet', null), '{"type":"sub","tagname":"FloatSet","value":null}');
  assert.equal(encode('set', 'A', 33.3), '{"type":"set","tagname":"A","value":33.3}');
});
