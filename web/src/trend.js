// The `uplot` item: a trend of tags over time. History from
// `rta __history__` when it opens (and after any reconnect), extended live
// from the value stream; wheel/pinch zoom, drag pan, keyboard, range
// presets; a changed window asks history again for what is visible with
// max_points about the plot's width; legend click hides a series; CSV of
// what is shown. Line colours are made readable on the theme's card
// (color.js).

import uPlot from 'uplot';
import {h} from './dom.js';
import {align, toCsv, localIso} from './history.js';
import {parseRgb, toHex, readable, lineContrast, lineWidth, PALETTE} from './color.js';

/** @typedef {import('./hmi.js').Hmi} Hmi */
/** @typedef {import('./hmi.js').Tag} Tag */

export const PRESETS = [['1 h', 3600], ['8 h', 8 * 3600], ['24 h', 86400], ['7 d', 7 * 86400]];

/** @type {CanvasRenderingContext2D|null} */
let colorCtx = null;

/**
 * A CSS colour (a name too) as the canvas reads it: #rrggbb, or rgba()
 * when it has an alpha; black when the canvas does not know it.
 * @param {string} color
 */
function canvasColor(color) {
  if (!colorCtx) colorCtx = /** @type {CanvasRenderingContext2D} */ (
    document.createElement('canvas').getContext('2d'));
  colorCtx.fillStyle = '#000';
  colorCtx.fillStyle = color;
  return String(colorCtx.fillStyle);
}

/**
 * A CSS colour with an alpha, as rgba().
 * @param {string} color @param {number} alpha
 */
export function withAlpha(color, alpha) {
  const c = canvasColor(color);
  const rgb = parseRgb(c);
  return rgb ? `rgba(${rgb.join(',')},${alpha})` : c;
}

/**
 * A series' line colour on background `bg`: the configured one where it
 * contrasts enough for its width, else its lighter (dark theme) or darker
 * variant that does.
 * @param {string} color @param {number} width CSS px @param {string} bg
 */
function lineColor(color, width, bg) {
  const c = parseRgb(canvasColor(color)), b = parseRgb(canvasColor(bg));
  if (!c || !b) return color;
  const out = readable(c, b, lineContrast(width));
  return out === c ? color : toHex(out);
}

/** @param {unknown} f  [colour, alpha] or a colour */
function fillOf(f) {
  if (Array.isArray(f) && typeof f[0] === 'string')
    return withAlpha(f[0], typeof f[1] === 'number' ? f[1] : 0.1);
  return typeof f === 'string' ? f : undefined;
}

/** @param {string} res  ms | s | m | D */
function timeFmt(res) {
  return (/** @type {number} */ s) => {
    const t = localIso(s);
    if (res === 'ms') return t;
    if (res === 'm') return t.slice(0, 16);
    if (res === 'D') return t.slice(0, 10);
    return t.slice(0, 19);
  };
}

/**
 * 24-hour time ticks; the date under the first tick and under midnights.
 * @param {any} _u @param {number[]} splits @param {number} _ax
 * @param {number} _space @param {number} incr
 */
export function timeTicks(_u, splits, _ax, _space, incr) {
  let lastDay = '';
  return splits.map((s) => {
    const t = localIso(s);
    const day = t.slice(0, 10);
    if (incr >= 86400) return day.slice(5);
    const hm = incr % 60 ? t.slice(11, 19) : t.slice(11, 16);
    const first = day !== lastDay;
    lastDay = day;
    return first ? hm + '\n' + day : hm;
  });
}

/**
 * @param {Record<string, any>} item @param {Hmi} hmi
 * @returns {import('./items.js').Rendered}
 */
export function trendItem(item, hmi) {
  const ms = item.ms && typeof item.ms === 'object' ? item.ms : {};
  const axesCfg = (Array.isArray(item.axes) ? item.axes : []).filter((a) => a && typeof a === 'object');
  const seriesCfg = (Array.isArray(item.series) ? item.series : []).filter((s) => s && s.tagname);
  const xCfg = axesCfg.find((a) => a.scale === 'x') || {};
  const xr = Array.isArray(xCfg.range) ? xCfg.range : [-3600, 0];
  const cfgAge = Math.max(1, -Number(xr[0]) || 3600);
  const cfgFuture = Math.max(0, Number(xr[1]) || 0);
  const tags = seriesCfg.map((s) => hmi.tag(String(s.tagname)));
  for (const t of tags) t.track();

  // the window: following now (live) or fixed
  const view = {live: true, age: cfgAge, future: cfgFuture, min: 0, max: 0};
  const now = () => Date.now() / 1000;
  const place = () => {
    if (view.live) { view.min = now() - view.age; view.max = now() + view.future; }
  };
  place();

  // axis, grid and line colours follow the theme, also when the system
  // switches between light and dark while the page is open; a series
  // without a colour takes the palette's
  const widths = seriesCfg.map((s) => lineWidth(s.width));
  const colors = seriesCfg.map((s, i) =>
    typeof s.color === 'string' && s.color ? s.color : PALETTE[i % PALETTE.length]);
  /** @type {{fg: string, grid: string, lines: string[]}} */
  const theme = {fg: '#222', grid: '#8884', lines: []};
  const readTheme = () => {
    const cs = getComputedStyle(document.documentElement);
    theme.fg = cs.getPropertyValue('--fg').trim() || '#222';
    theme.grid = cs.getPropertyValue('--grid').trim() || '#8884';
    const bg = cs.getPropertyValue('--card').trim() || '#fff';
    theme.lines = colors.map((c, i) => lineColor(c, widths[i], bg));
  };
  readTheme();
  const fg = () => theme.fg;
  const grid = () => theme.grid;
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const onTheme = () => { readTheme(); recolorLegend(); schedule(); };
  dark.addEventListener('change', onTheme);
  const height = Number(ms.height) > 50 ? Number(ms.height) : 300;
  const legendPos = ['left', 'right', 'after'].includes(ms.legend_pos) ? ms.legend_pos : 'after';

  /** @type {Record<string, any>} */
  const scales = {x: {time: true, auto: false, range: () => [view.min, view.max]}};
  /** @type {any[]} */
  const axes = [{scale: 'x', side: ms.time_pos === 'top' ? 0 : 2, stroke: fg,
    grid: {stroke: grid}, ticks: {stroke: grid}, values: timeTicks}];
  const used = new Set(seriesCfg.map((s) => String(s.scale || 'y')));
  for (const a of axesCfg) {
    if (a.scale === 'x') continue;
    const sc = String(a.scale);
    used.delete(sc);
    if (Array.isArray(a.range) && a.range.length === 2 &&
        typeof a.range[0] === 'number' && typeof a.range[1] === 'number')
      scales[sc] = {auto: false, range: [a.range[0], a.range[1]]};
    const dp = typeof a.dp === 'number' ? a.dp : null;
    axes.push({scale: sc, side: a.side === 1 ? 1 : 3, stroke: fg, label: sc,
      grid: {stroke: grid, show: axes.length === 1}, ticks: {stroke: grid},
      values: dp === null ? undefined
        : (/** @type {any} */ _u, /** @type {number[]} */ v) => v.map((x) => x.toFixed(dp))});
  }
  for (const sc of used) axes.push({scale: sc, side: 3, stroke: fg, label: sc, grid: {stroke: grid}});

  const showTime = ms.time_show !== false;
  const fmtTime = timeFmt(String(ms.time_res || 's'));
  // With the cursor off the plot (idx null) the legend shows each series'
  // latest value in the window and the time of the latest point, so the
  // trend reads current values without hovering.
  /** @param {uPlot} uu @param {number} sidx @returns {number|null} */
  const latest = (uu, sidx) => {
    const col = /** @type {(number|null|undefined)[]} */ (uu.data[sidx] || []);
    for (let j = col.length - 1; j >= 0; j--) {
      const v = col[j];
      if (v != null) return v;
    }
    return null;
  };
  /** @type {any[]} */
  const series = [{label: 'Time', value: (/** @type {uPlot} */ uu, /** @type {number|null} */ v,
    /** @type {number} */ _sidx, /** @type {number|null} */ idx) => {
    const t = idx == null ? latest(uu, 0) : v;
    return t == null ? '—' : fmtTime(t);
  }}];
  seriesCfg.forEach((s, i) => {
    const dp = typeof s.dp === 'number' ? s.dp : null;
    series.push({
      label: String(s.label || s.tagname),
      scale: String(s.scale || 'y'),
      stroke: () => theme.lines[i],
      width: widths[i],
      fill: fillOf(s.fill),
      spanGaps: true,
      points: {show: false},
      value: (/** @type {uPlot} */ uu, /** @type {number|null} */ v,
        /** @type {number} */ sidx, /** @type {number|null} */ idx) => {
        if (idx == null) v = latest(uu, sidx);
        if (v == null) return '—';
        const info = tags[i].info;
        const d = dp !== null ? dp : info && typeof info.dp === 'number' ? info.dp : 2;
        return v.toFixed(d) + (info && info.units ? ' ' + info.units : '');
      },
    });
  });
  /** @param {unknown} ref */
  const seriesIndex = (ref) => {
    if (typeof ref === 'number') return ref;
    const i = seriesCfg.findIndex((s) => s.tagname === ref || s.label === ref);
    return i >= 0 ? i + 1 : -1;
  };
  const bands = (Array.isArray(item.bands) ? item.bands : [])
    .filter((b) => b && Array.isArray(b.series) && b.series.length === 2)
    .map((b) => ({series: [seriesIndex(b.series[0]), seriesIndex(b.series[1])],
      fill: fillOf(b.fill), dir: b.dir === 1 || b.dir === -1 ? b.dir : undefined}))
    .filter((b) => b.series[0] > 0 && b.series[1] > 0 &&
      b.series[0] < series.length && b.series[1] < series.length);
  /** @type {{xpos: number, color: string}[]} */
  const highlights = (Array.isArray(ms.bghighlight) ? ms.bghighlight : [])
    .filter((/** @type {any} */ b) => b && typeof b.xpos === 'number' && typeof b.color === 'string');
  highlights.sort((a, b) => a.xpos - b.xpos);

  const legendBox = h('div', {class: 'legend'});
  const plotBox = h('div', {class: 'plot', tabindex: '0', role: 'img',
    'aria-label': `${ms.desc || 'Trend'}: ${seriesCfg.map((s) => s.label || s.tagname).join(', ')}. ` +
      'Arrow keys pan, + and - zoom, 0 returns to live.'});
  const status = h('span', {class: 'trend-status', 'aria-live': 'polite'});
  const liveBtn = h('button', {type: 'button', text: 'Live', 'aria-pressed': 'true',
    onclick: () => setView(cfgAge, true)});
  const bar = h('div', {class: 'toolbar', role: 'toolbar', 'aria-label': 'trend range'},
    ...PRESETS.map(([lab, s]) => h('button', {type: 'button', 'data-span': s, text: lab,
      'aria-label': 'last ' + lab, onclick: () => setView(Number(s), true)})),
    liveBtn,
    h('button', {type: 'button', text: 'CSV', 'aria-label': 'download the shown data as CSV',
      onclick: () => download()}),
    status);
  const body = h('div', {class: `trend-body legend-${legendPos}`}, plotBox, legendBox);
  const box = h('section', {class: `trend ${ms.style || ''}`},
    ms.desc ? h('h3', {text: String(ms.desc)}) : null, bar, body);

  /** @type {any} */
  const opts = {
    width: 600, height,
    scales, axes, series, bands,
    legend: {show: ms.legend_show !== false,
      mount: (/** @type {any} */ _u, /** @type {HTMLElement} */ el) => legendBox.append(el)},
    cursor: {drag: {x: false, y: false}, points: {show: false}},
    hooks: {drawClear: [(/** @type {uPlot} */ u) => drawHighlights(u)]},
  };
  if (!showTime) opts.series[0].show = false;

  /** @param {uPlot} u */
  function drawHighlights(u) {
    if (!highlights.length) return;
    const {ctx, bbox} = u;
    const t0 = now();
    ctx.save();
    highlights.forEach((b, i) => {
      const from = u.valToPos(t0 + b.xpos, 'x', true);
      const to = i + 1 < highlights.length
        ? u.valToPos(t0 + highlights[i + 1].xpos, 'x', true) : bbox.left + bbox.width;
      const a = Math.max(bbox.left, from), z = Math.min(bbox.left + bbox.width, to);
      if (z > a) { ctx.fillStyle = b.color; ctx.fillRect(a, bbox.top, z - a, bbox.height); }
    });
    ctx.restore();
  }

  // uPlot colours the legend's markers once, when it builds the legend
  function recolorLegend() {
    const rows = legendBox.querySelectorAll('.u-series');
    theme.lines.forEach((c, i) => {
      const m = /** @type {HTMLElement|null} */ (rows[i + 1]?.querySelector('.u-marker'));
      if (m) m.style.borderColor = c;
    });
  }

  /** @type {uPlot|null} */
  let u = null;
  let drawPending = 0;
  /** @type {[number[], ...(number|null)[][]]} */
  let shown = [[]];

  function data() {
    shown = align(tags.map((t) => /** @type {any} */ (t.series)), view.min, view.max);
    return shown;
  }

  function draw() {
    drawPending = 0;
    if (!u) return;
    place();
    const t0 = performance.now();
    const d = data();
    const uu = u;
    uu.batch(() => {
      uu.setData(/** @type {any} */ (d), false);
      uu.setScale('x', {min: view.min, max: view.max});
      // off the plot the legend shows the latest values: refresh them
      if (!(uu.cursor.left != null && uu.cursor.left >= 0)) uu.setLegend({});
    });
    box.dataset.drawMs = (performance.now() - t0).toFixed(1);
    box.dataset.points = String(d[0].length);
    liveBtn.setAttribute('aria-pressed', String(view.live));
    for (const b of bar.querySelectorAll('[data-span]'))
      b.setAttribute('aria-pressed', String(view.live && Number(/** @type {HTMLElement} */ (b).dataset.span) === view.age));
    const stale = tags.some((t) => t.stale);
    box.classList.toggle('stale', stale);
  }
  const schedule = () => { if (!drawPending) drawPending = requestAnimationFrame(draw); };

  // history: for every tag whose tag_info is new (first open, reconnect)
  // and for the whole window after the user moves it
  /** @type {Map<Tag, unknown>} */
  const askedWith = new Map();
  const width = () => (u ? u.bbox.width / devicePixelRatio : 600);
  /** @param {Tag} t */
  const ask = (t) => {
    if (t.info && hmi.askHistory(t.name, view.min * 1000, (view.max + 1) * 1000, width() * 2)) {
      askedWith.set(t, t.info);
      box.dataset.asked = String(Number(box.dataset.asked || 0) + 1);
      status.textContent = '';
    }
  };
  let askTimer = 0;
  const askAll = () => {
    clearTimeout(askTimer);
    askTimer = window.setTimeout(() => tags.forEach(ask), 250);
  };
  const offs = tags.map((t) => t.listen(() => {
    if (t.info && askedWith.get(t) !== t.info) ask(t);
    schedule();
  }));
  tags.forEach((t) => { if (t.info) ask(t); });

  /** @param {number} min @param {number} max */
  function setRange(min, max) {
    const span = Math.max(1, max - min);
    const t = now();
    // a window reaching now keeps following it
    if (max >= t - span * 0.01) {
      view.live = true; view.age = t - min; view.future = Math.max(0, max - t);
    } else {
      view.live = false;
    }
    view.min = min; view.max = min + span;
    place();
    schedule();
    askAll();
  }
  /** @param {number} span @param {boolean} live */
  function setView(span, live) {
    view.live = live; view.age = span; view.future = cfgFuture;
    place();
    schedule();
    askAll();
  }
  /** @param {number} f @param {number} at fraction of the width */
  function zoom(f, at) {
    const span = view.max - view.min;
    const x = view.min + span * at;
    const ns = Math.min(10 * 365 * 86400, Math.max(10, span * f));
    setRange(x - ns * at, x + ns * (1 - at));
  }
  /** @param {number} frac */
  function pan(frac) {
    const d = (view.max - view.min) * frac;
    setRange(view.min + d, view.max + d);
  }

  function download() {
    const labels = seriesCfg.map((s) => String(s.label || s.tagname));
    const blob = new Blob([toCsv(shown, labels)], {type: 'text/csv'});
    const a = h('a', {href: URL.createObjectURL(blob),
      download: `${(ms.desc || 'trend').replace(/[^\w-]+/g, '_')}.csv`});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href), 10000);
  }

  // pointers: one drags (pan), two pinch (zoom); wheel zooms at the cursor
  /** @type {Map<number, number>} */
  const ptrs = new Map();
  let start = {min: 0, max: 0, x: 0, dist: 0, mid: 0};
  function attach(/** @type {uPlot} */ uu) {
    const over = uu.over;
    over.style.touchAction = 'none';
    const frac = (/** @type {number} */ clientX) => {
      const r = over.getBoundingClientRect();
      return Math.min(1, Math.max(0, (clientX - r.left) / Math.max(1, r.width)));
    };
    over.addEventListener('wheel', (e) => {
      e.preventDefault();
      zoom(e.deltaY > 0 ? 1.25 : 0.8, frac(e.clientX));
    }, {passive: false});
    over.addEventListener('pointerdown', (e) => {
      over.setPointerCapture(e.pointerId);
      ptrs.set(e.pointerId, e.clientX);
      const xs = [...ptrs.values()];
      start = {min: view.min, max: view.max, x: xs[0],
        dist: xs.length > 1 ? Math.abs(xs[0] - xs[1]) : 0,
        mid: xs.length > 1 ? frac((xs[0] + xs[1]) / 2) : 0};
    });
    over.addEventListener('pointermove', (e) => {
      if (!ptrs.has(e.pointerId)) return;
      ptrs.set(e.pointerId, e.clientX);
      const xs = [...ptrs.values()];
      const w = Math.max(1, over.getBoundingClientRect().width);
      const span = start.max - start.min;
      if (xs.length === 1) {
        const d = -(xs[0] - start.x) / w * span;
        view.live = false;
        view.min = start.min + d; view.max = start.max + d;
        schedule();
      } else if (start.dist > 0) {
        const f = start.dist / Math.max(1, Math.abs(xs[0] - xs[1]));
        const x = start.min + span * start.mid;
        view.live = false;
        view.min = x - span * f * start.mid; view.max = x + span * f * (1 - start.mid);
        schedule();
      }
    });
    const up = (/** @type {PointerEvent} */ e) => {
      if (!ptrs.delete(e.pointerId)) return;
      if (!ptrs.size && (view.min !== start.min || view.max !== start.max))
        setRange(view.min, view.max);
    };
    over.addEventListener('pointerup', up);
    over.addEventListener('pointercancel', up);
    over.addEventListener('dblclick', () => setView(cfgAge, true));
  }
  plotBox.addEventListener('keydown', (e) => {
    const k = e.key;
    if (k === 'ArrowLeft') pan(-0.1);
    else if (k === 'ArrowRight') pan(0.1);
    else if (k === '+' || k === '=') zoom(0.8, 0.5);
    else if (k === '-') zoom(1.25, 0.5);
    else if (k === '0') setView(cfgAge, true);
    else return;
    e.preventDefault();
  });

  const size = () => {
    const w = Math.max(200, Math.floor(plotBox.clientWidth || box.clientWidth || 600));
    return {width: w, height};
  };
  const ro = new ResizeObserver(() => {
    if (!box.isConnected) return;
    if (!u) {
      opts.width = size().width;
      u = new uPlot(opts, /** @type {any} */ (data()), plotBox);
      attach(u);
      // a window.uplots list: tests and the bench reach the charts there
      const w = /** @type {any} */ (window);
      (w.mscadaTrends ||= []).push({u, view, setRange, setView, box, tags, draw});
      schedule();
    } else if (size().width !== u.width) {
      u.setSize(size());
    }
  });
  // the plot's box, not the trend's: a legend beside it that widens as
  // values arrive narrows the plot
  ro.observe(plotBox);
  const tick = window.setInterval(() => { if (view.live) schedule(); }, 1000);

  return {el: box, wide: true, cleanup: () => {
    offs.forEach((f) => f());
    dark.removeEventListener('change', onTheme);
    ro.disconnect();
    clearInterval(tick);
    clearTimeout(askTimer);
    const w = /** @type {any} */ (window);
    if (w.mscadaTrends) w.mscadaTrends = w.mscadaTrends.filter((/** @type {any} */ x) => x.u !== u);
    u?.destroy();
  }};
}
