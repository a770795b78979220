// The connection and the tag store: one websocket to the wwwserver, every
// tag a page uses subscribed once and again after any reconnect, values
// decoded and handed to the page once per animation frame (so a thousand
// updates a second cost one DOM pass a frame), and the honest state: is the
// server there, is the bus there, is each value current.

import {wsUrl, decodeFrame, decodeHistory, encode, BYTES} from './proto.js';
import {emptySeries, mergeRange, addPoint} from './history.js';

/** @typedef {import('./format.js').TagInfo} TagInfo */
/** @typedef {(tag: Tag) => void} TagListener */

export class Tag {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {TagInfo|null} */
    this.info = null;
    /** @type {unknown} */
    this.value = null;
    this.time_us = 0;
    /** no value since the connection (or the bus) was last lost */
    this.stale = true;
    /** trend data, kept once a trend shows this tag */
    /** @type {import('./history.js').Series|null} */
    this.series = null;
    /** @type {Set<TagListener>} */
    this.listeners = new Set();
  }

  /** @param {TagListener} fn @returns {() => void} removes it */
  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** keep trend data from now on */
  track() {
    if (!this.series) this.series = emptySeries();
    return this.series;
  }
}

/** @typedef {{ws: boolean, bus: boolean, attempt: number, since: number}} Status */

export class Hmi {
  constructor() {
    /** @type {Map<string, Tag>} */
    this.tags = new Map();
    /** @type {Map<number, Tag>} */
    this.byId = new Map();
    /** @type {Set<Tag>} */
    this.dirty = new Set();
    this.frame = 0;
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {Status} */
    this.status = {ws: false, bus: false, attempt: 0, since: Date.now()};
    /** @type {Set<(s: Status) => void>} */
    this.statusListeners = new Set();
    /** @type {Record<string, unknown>} */
    this.config = {};
    /** @type {any[]|null} */
    this.pages = null;
    /** @type {Set<(pages: any[]) => void>} */
    this.pagesListeners = new Set();
    /** @type {Set<() => void>} */
    this.reconnectListeners = new Set();
    /** who is logged in (the server's `user` message); null: no logins
     * @type {{name: string, role: string, write: string[]|null}|null} */
    this.user = null;
    /** @type {Set<() => void>} */
    this.userListeners = new Set();
    /** a write the server refused (its `error` message)
     * @type {Set<(e: {tagname: string, action: string, message: string}) => void>} */
    this.errorListeners = new Set();
    this.url = wsUrl(location);
    this.retry = 0;
    this.stats = {values: 0, frames: 0};
    /** ms from navigation to the first value written into the page */
    this.firstShownMs = 0;
    // the history reply channel: subscribed on every connection
    this.tag('__history__');
  }

  /** @param {string} name */
  tag(name) {
    let t = this.tags.get(name);
    if (!t) {
      t = new Tag(name);
      this.tags.set(name, t);
      if (this.status.ws) this.send('sub', name, null);
    }
    return t;
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      // every subscription again: the server keeps none across a restart
      for (const name of this.tags.keys()) this.send('sub', name, null);
      this.setStatus({ws: true, bus: true, attempt: 0});
      for (const fn of this.reconnectListeners) fn();
    };
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.allStale();
      this.retry++;
      this.setStatus({ws: false, attempt: this.retry});
      // 0.25 s, doubling to 5 s: quick after a restart, gentle when down
      const wait = Math.min(5000, 250 * 2 ** Math.min(5, this.retry - 1));
      setTimeout(() => this.connect(), wait);
    };
  }

  /** @param {Partial<Status>} s */
  setStatus(s) {
    const was = this.status;
    this.status = {...was, ...s};
    if (was.ws !== this.status.ws || was.bus !== this.status.bus)
      this.status.since = Date.now();
    for (const fn of this.statusListeners) fn(this.status);
  }

  allStale() {
    for (const t of this.tags.values()) {
      if (!t.stale) { t.stale = true; this.mark(t); }
    }
  }

  /**
   * @param {'sub'|'set'|'rta'} type @param {string} tagname @param {unknown} value
   * @returns {boolean} sent
   */
  send(type, tagname, value) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encode(type, tagname, value));
    return true;
  }

  /** @param {string|ArrayBuffer} data */
  onMessage(data) {
    this.stats.frames++;
    if (typeof data !== 'string') {
      const f = decodeFrame(data);
      if (!f) return;
      const t = this.byId.get(f.id);
      if (!t) return;
      if (f.type === BYTES && t.name === '__history__') {
        this.onHistory(/** @type {Uint8Array} */ (f.value));
        return;
      }
      this.update(t, f.value, f.time_us);
      return;
    }
    /** @type {{type: string, payload: any}} */
    let m;
    try { m = JSON.parse(data); } catch { return; }
    const p = m.payload;
    switch (m.type) {
    case 'config':
      this.config = p && typeof p === 'object' ? p : {};
      break;
    case 'pages':
      this.pages = Array.isArray(p) ? p : [];
      for (const fn of this.pagesListeners) fn(this.pages);
      break;
    case 'tag_info': {
      const t = this.tags.get(p.name);
      if (!t) break;
      if (t.info && t.info.id !== null && this.byId.get(t.info.id) === t)
        this.byId.delete(t.info.id);
      t.info = p;
      if (typeof p.id === 'number') this.byId.set(p.id, t);
      this.mark(t);
      break;
    }
    case 'tag': {
      const t = this.byId.get(p.tagid);
      if (t) this.update(t, p.value, p.time_us);
      break;
    }
    case 'bus':
      if (!p.connected) this.allStale();
      this.setStatus({bus: !!p.connected});
      break;
    case 'user':
      this.user = p && typeof p === 'object' ? p : null;
      for (const fn of this.userListeners) fn();
      break;
    case 'error':
      for (const fn of this.errorListeners) fn(p || {});
      break;
    }
  }

  /**
   * May the logged-in user set this tag? The server decides (and refuses
   * otherwise); this only keeps the page from offering what it would refuse.
   * @param {string} tagname
   */
  mayWrite(tagname) {
    const u = this.user;
    if (!u || !Array.isArray(u.write)) return true;
    return u.write.some((p) => globRe(String(p)).test(tagname));
  }

  /** @param {Tag} t @param {unknown} value @param {number} time_us */
  update(t, value, time_us) {
    this.stats.values++;
    t.value = value;
    t.time_us = time_us;
    t.stale = false;
    if (t.series && typeof value === 'number') addPoint(t.series, time_us / 1e6, value);
    this.mark(t);
  }

  /** @param {Uint8Array} b */
  onHistory(b) {
    const r = decodeHistory(b);
    if (!r) return;
    const t = this.byId.get(r.tagId);
    if (!t) return;
    mergeRange(t.track(), r.t, r.v);
    this.mark(t);
  }

  /** @param {Tag} t */
  mark(t) {
    this.dirty.add(t);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    const list = [...this.dirty];
    this.dirty.clear();
    for (const t of list) for (const fn of t.listeners) fn(t);
    if (!this.firstShownMs && list.some((t) => t.listeners.size && t.value !== null))
      this.firstShownMs = performance.now();
  }

  /**
   * Ask history for a tag's records in [start_ms, end_ms).
   * @param {string} tagname @param {number} start_ms @param {number} end_ms
   * @param {number} max_points
   */
  askHistory(tagname, start_ms, end_ms, max_points) {
    return this.send('rta', '__history__', {
      tagname, start_ms: Math.floor(start_ms), end_ms: Math.ceil(end_ms),
      max_points: Math.max(4, Math.round(max_points))});
  }
}

/** An fnmatch pattern (* ? [...]) as a RegExp. @param {string} p */
function globRe(p) {
  let r = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') r += '.*';
    else if (c === '?') r += '.';
    else if (c === '[' && p.indexOf(']', i + 2) > 0) {
      const j = p.indexOf(']', i + 2);
      r += '[' + p.slice(i + 1, j).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
      i = j;
    } else r += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + r + '$');
}
