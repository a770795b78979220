// Trend line colours against the theme's background (src/color.js).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {parseRgb, toHex, luminance, contrast, readable, lineContrast, lineWidth,
  PALETTE, LINE_CONTRAST, THIN_CONTRAST, MIN_LINE_WIDTH} from '../src/color.js';

// app.css's --card, where the plot is drawn
const DARK = /** @type {[number, number, number]} */ (parseRgb('#1f252b'));
const LIGHT = /** @type {[number, number, number]} */ (parseRgb('#ffffff'));

/** @param {string} s */
const rgb = (s) => /** @type {[number, number, number]} */ (parseRgb(s));

/** hue in degrees of a colour (for "same hue" checks) @param {number[]} c */
function hue(c) {
  const [r, g, b] = c.map((x) => x / 255);
  const hi = Math.max(r, g, b), d = hi - Math.min(r, g, b);
  if (!d) return 0;
  const h = hi === r ? ((g - b) / d + 6) % 6 : hi === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return h * 60;
}

test('parses what a canvas gives back, and short hex', () => {
  assert.deepEqual(parseRgb('#2e8b57'), [46, 139, 87]);
  assert.deepEqual(parseRgb('#fA0'), [255, 170, 0]);
  assert.deepEqual(parseRgb('rgba(65, 105, 225, 0.5)'), [65, 105, 225]);
  assert.deepEqual(parseRgb('rgb(1 2 3)'), [1, 2, 3]);
  assert.equal(parseRgb('seagreen'), null);
  assert.equal(toHex([46, 139, 87]), '#2e8b57');
});

test('WCAG luminance and contrast ratio', () => {
  assert.equal(luminance([0, 0, 0]), 0);
  assert.equal(luminance([255, 255, 255]), 1);
  assert.equal(contrast([0, 0, 0], [255, 255, 255]), 21);
  assert.equal(contrast([255, 255, 255], [0, 0, 0]), 21);
  assert.equal(contrast(DARK, DARK), 1);
  // WCAG's own example figure: #767676 on white is just over 4.5
  assert.ok(Math.abs(contrast(rgb('#767676'), LIGHT) - 4.54) < 0.01);
});

test('thin lines need more contrast; widths that read at 1x DPR', () => {
  assert.equal(lineContrast(1.5), THIN_CONTRAST);
  assert.equal(lineContrast(2), LINE_CONTRAST);
  assert.equal(lineWidth(1), MIN_LINE_WIDTH);
  assert.equal(lineWidth(3), 3);
  assert.equal(lineWidth(undefined), 2);
  assert.equal(lineWidth(-1), 2);
});

test('a colour that contrasts well is kept as configured', () => {
  for (const [c, bg, w] of /** @type {[string, number[], number][]} */ ([
    ['#4169e1', DARK, 2], // royalblue, the demo's level
    ['#4169e1', LIGHT, 2],
    ['#0000ff', LIGHT, 1.5],
    ['#ffd700', DARK, 1.5], // gold
  ])) {
    const b = /** @type {[number, number, number]} */ (bg);
    assert.ok(contrast(rgb(c), b) >= lineContrast(w), `${c} contrasts already`);
    assert.deepEqual(readable(rgb(c), b, lineContrast(w)), rgb(c), c);
  }
});

test('a dark colour on the dark card turns lighter, same hue, just enough', () => {
  // seagreen (the demo's flow, 1.5 px) and blue on the dark theme's card
  for (const [c, w] of /** @type {[string, number][]} */ ([['#2e8b57', 1.5], ['#0000ff', 2],
    ['#000000', 2], ['#8b0000', 1.5]])) {
    const min = lineContrast(w);
    const before = contrast(rgb(c), DARK);
    assert.ok(before < min, `${c} starts below ${min} (${before.toFixed(2)})`);
    const out = readable(rgb(c), DARK, min);
    const after = contrast(out, DARK);
    assert.ok(after >= min, `${c} -> ${toHex(out)}: ${after.toFixed(2)} >= ${min}`);
    assert.ok(after < min + 0.25, `${c} -> ${toHex(out)}: no lighter than needed (${after.toFixed(2)})`);
    assert.ok(luminance(out) > luminance(rgb(c)), `${c} -> ${toHex(out)} is lighter`);
    if (c !== '#000000')
      assert.ok(Math.abs(hue(out) - hue(rgb(c))) < 3, `${c} -> ${toHex(out)} keeps its hue`);
  }
});

test('a light colour on the light card turns darker', () => {
  for (const c of ['#ffff00', '#90ee90', '#ffffff']) {
    const out = readable(rgb(c), LIGHT, THIN_CONTRAST);
    assert.ok(contrast(out, LIGHT) >= THIN_CONTRAST, `${c} -> ${toHex(out)}`);
    assert.ok(luminance(out) < luminance(rgb(c)), `${c} -> ${toHex(out)} is darker`);
  }
});

test('every palette colour is readable after adjusting, on both themes', () => {
  for (const bg of [DARK, LIGHT])
    for (const c of PALETTE)
      assert.ok(contrast(readable(rgb(c), bg, THIN_CONTRAST), bg) >= THIN_CONTRAST, c);
});

test('where no lightness reaches it, the better of white and black', () => {
  const grey = rgb('#777777'); // white gives 4.48, black 4.69
  assert.deepEqual(readable(rgb('#808080'), grey, 7), [0, 0, 0]);
  const dim = rgb('#3a3a3a'); // white gives 11.4, black 1.8
  assert.deepEqual(readable(rgb('#404040'), dim, 15), [255, 255, 255]);
});
