// A tag's trend data: two sorted arrays (times in seconds, values), merged
// from history replies and extended by live values. Pure: node tests it.

/** @typedef {{t: number[], v: (number|null)[]}} Series */

/** @returns {Series} */
export function emptySeries() {
  return {t: [], v: []};
}

/**
 * First index whose time is >= x (or > x when after).
 * @param {number[]} a @param {number} x @param {boolean} [after]
 */
export function bound(a, x, after = false) {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m] < x || (after && a[m] === x)) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/**
 * A history reply replaces what the series holds between its first and
 * last record (the reply is the archive's word for that span; it may be
 * downsampled); live points outside it stay.
 * @param {Series} s @param {number[]} t @param {(number|null)[]} v
 */
export function mergeRange(s, t, v) {
  if (!t.length) return;
  const lo = bound(s.t, t[0]), hi = bound(s.t, t[t.length - 1], true);
  if (lo === s.t.length) {
    for (let i = 0; i < t.length; i++) { s.t.push(t[i]); s.v.push(v[i]); }
    return;
  }
  // concat, not splice(...t): a reply may hold more records than a call
  // takes arguments
  s.t = s.t.slice(0, lo).concat(t, s.t.slice(hi));
  s.v = s.v.slice(0, lo).concat(v, s.v.slice(hi));
}

/**
 * A live value: appended when newer than the last (the usual case),
 * replacing one of the same time, inserted in order otherwise.
 * @param {Series} s @param {number} t @param {number|null} v
 */
export function addPoint(s, t, v) {
  const n = s.t.length;
  if (!n || t > s.t[n - 1]) { s.t.push(t); s.v.push(v); return; }
  const i = bound(s.t, t);
  if (s.t[i] === t) { s.v[i] = v; return; }
  s.t.splice(i, 0, t);
  s.v.splice(i, 0, v);
}

/**
 * Drops points older than t (memory bound for long-open pages).
 * @param {Series} s @param {number} t
 */
export function trimBefore(s, t) {
  const i = bound(s.t, t);
  if (i > 0) { s.t.splice(0, i); s.v.splice(0, i); }
}

/**
 * Several series on one time axis (uPlot's data layout): the union of
 * their times within [min, max] (one point either side kept so lines reach
 * the edges), null where a series has no point at that time.
 * @param {Series[]} list @param {number} min @param {number} max
 * @returns {[number[], ...(number|null)[][]]}
 */
export function align(list, min, max) {
  const cut = list.map((s) => {
    const a = Math.max(0, bound(s.t, min) - 1);
    const b = Math.min(s.t.length, bound(s.t, max, true) + 1);
    return {t: s.t.slice(a, b), v: s.v.slice(a, b)};
  });
  if (cut.length === 1) return [cut[0].t, cut[0].v];
  // k-way merge of sorted time arrays
  const idx = cut.map(() => 0);
  /** @type {number[]} */
  const xs = [];
  /** @type {(number|null)[][]} */
  const ys = cut.map(() => []);
  for (;;) {
    let x = Infinity;
    for (let k = 0; k < cut.length; k++)
      if (idx[k] < cut[k].t.length && cut[k].t[idx[k]] < x) x = cut[k].t[idx[k]];
    if (x === Infinity) break;
    xs.push(x);
    for (let k = 0; k < cut.length; k++) {
      if (idx[k] < cut[k].t.length && cut[k].t[idx[k]] === x) {
        ys[k].push(cut[k].v[idx[k]]);
        idx[k]++;
      } else {
        ys[k].push(null);
      }
    }
  }
  return [xs, ...ys];
}

/**
 * The shown data as CSV: local ISO-like time, then one column per series.
 * @param {[number[], ...(number|null)[][]]} data @param {string[]} labels
 */
export function toCsv(data, labels) {
  const q = (/** @type {string} */ s) => /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  const rows = ['time,' + labels.map(q).join(',')];
  const xs = data[0];
  for (let i = 0; i < xs.length; i++) {
    const cells = [localIso(xs[i])];
    for (let k = 1; k < data.length; k++) {
      const y = data[k][i];
      cells.push(y == null ? '' : String(y));
    }
    rows.push(cells.join(','));
  }
  return rows.join('\n') + '\n';
}

/** @param {number} s seconds since the epoch -> "YYYY-MM-DD HH:MM:SS.mmm" local */
export function localIso(s) {
  const d = new Date(s * 1000);
  const p = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
