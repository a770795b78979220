// Trend line colours that stay readable on the theme's background: WCAG's
// relative luminance and contrast ratio, and the nearest lighter (on a
// dark background) or darker (on a light one) variant of a colour, same
// hue and saturation, that reaches a contrast. Pure: node tests it; the
// browser turns CSS colour names into #rrggbb first (trend.js).

/** @typedef {[number, number, number]} Rgb  0..255 each */

/** Lines thinner than this (CSS px) need THIN_CONTRAST, others LINE_CONTRAST. */
export const THICK_LINE = 2;
/** WCAG 2.x non-text contrast (1.4.11): graphics a person must see. */
export const LINE_CONTRAST = 3;
/** At 1x DPR antialiasing spreads a thin line over neighbouring pixels at
 * part coverage, which lowers what is seen: ask what small text asks. */
export const THIN_CONTRAST = 4.5;
/** Thinner lines are drawn this wide (CSS px): 1 px vanishes at 1x DPR. */
export const MIN_LINE_WIDTH = 1.5;
/** The width of a series that configures none. */
export const DEFAULT_LINE_WIDTH = 2;

/** For series without a colour (uPlot draws no line then): category10. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * #rgb, #rrggbb, #rrggbbaa, rgb(r, g, b) or rgba(r, g, b, a) (what a
 * canvas's fillStyle gives back) -> [r, g, b]; null for anything else.
 * Alpha is dropped.
 * @param {string} s @returns {Rgb|null}
 */
export function parseRgb(s) {
  const t = String(s).trim().toLowerCase();
  let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(t);
  if (m) return /** @type {Rgb} */ ([m[1], m[2], m[3]].map((x) => parseInt(x + x, 16)));
  m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})(?:[0-9a-f]{2})?$/.exec(t);
  if (m) return /** @type {Rgb} */ ([m[1], m[2], m[3]].map((x) => parseInt(x, 16)));
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)\s*(?:[,/]\s*[\d.]+%?\s*)?\)$/.exec(t);
  if (m) return /** @type {Rgb} */ ([m[1], m[2], m[3]].map((x) => Math.min(255, Math.round(+x))));
  return null;
}

/** @param {Rgb} c @returns {string} #rrggbb */
export function toHex(c) {
  return '#' + c.map((x) => Math.round(Math.min(255, Math.max(0, x)))
    .toString(16).padStart(2, '0')).join('');
}

/**
 * WCAG 2.x relative luminance, 0 (black) .. 1 (white).
 * @param {Rgb} c
 */
export function luminance(c) {
  const [r, g, b] = c.map((x) => {
    const s = x / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * WCAG 2.x contrast ratio, 1 (none) .. 21 (black on white).
 * @param {Rgb} a @param {Rgb} b
 */
export function contrast(a, b) {
  const la = luminance(a), lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** @param {Rgb} c @returns {[number, number, number]} h 0..360, s, l 0..1 */
function toHsl(c) {
  const [r, g, b] = c.map((x) => x / 255);
  const hi = Math.max(r, g, b), lo = Math.min(r, g, b), l = (hi + lo) / 2;
  const d = hi - lo;
  if (!d) return [0, 0, l];
  const s = d / (1 - Math.abs(2 * l - 1));
  const h = hi === r ? ((g - b) / d + 6) % 6 : hi === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return [h * 60, s, l];
}

/** @param {number} h @param {number} s @param {number} l @returns {Rgb} */
function fromHsl(h, s, l) {
  const k = (/** @type {number} */ n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (/** @type {number} */ n) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [f(0) * 255, f(8) * 255, f(4) * 255];
}

/**
 * The contrast a line of this width (CSS px) needs against its background.
 * @param {number} width
 */
export function lineContrast(width) {
  return width >= THICK_LINE ? LINE_CONTRAST : THIN_CONTRAST;
}

/**
 * The width a configured series width is drawn with.
 * @param {unknown} width
 */
export function lineWidth(width) {
  return typeof width === 'number' && width > 0
    ? Math.max(MIN_LINE_WIDTH, width) : DEFAULT_LINE_WIDTH;
}

/**
 * `fg` itself when it reaches `min` contrast against `bg`; otherwise the
 * least change of its HSL lightness (same hue and saturation) that does:
 * lighter on a background darker than mid-grey, darker on a lighter one.
 * Where no lightness reaches `min` (a mid-grey background and a high
 * `min`), white or black, whichever contrasts more.
 * @param {Rgb} fg @param {Rgb} bg @param {number} min
 * @returns {Rgb}
 */
export function readable(fg, bg, min) {
  if (contrast(fg, bg) >= min) return fg;
  const lb = luminance(bg);
  // the side with more room: white's contrast against bg, or black's
  const up = (1.05) / (lb + 0.05) >= (lb + 0.05) / 0.05;
  const [h, s, l] = toHsl(fg);
  // luminance moves one way with lightness: bisect for the least change
  let near = l, far = up ? 1 : 0;
  if (contrast(fromHsl(h, s, far), bg) < min) return up ? [255, 255, 255] : [0, 0, 0];
  for (let i = 0; i < 24; i++) {
    const mid = (near + far) / 2;
    if (contrast(fromHsl(h, s, mid), bg) >= min) far = mid;
    else near = mid;
  }
  // rounding to 0..255 may land just short: step on until it holds
  let c = fromHsl(h, s, far).map(Math.round);
  for (let l2 = far; contrast(/** @type {Rgb} */ (c), bg) < min && l2 > 0 && l2 < 1;) {
    l2 = up ? Math.min(1, l2 + 0.002) : Math.max(0, l2 - 0.002);
    c = fromHsl(h, s, l2).map(Math.round);
  }
  return /** @type {Rgb} */ (c);
}
