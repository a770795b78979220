// Page items (pymscada's `pages:` item types, with pymscada's keys). Each
// renderer returns an element and keeps it current through tag listeners;
// a page's cleanup functions drop those listeners when it is left.

import {h} from './dom.js';
import {formatValue, kind} from './format.js';
import {openSetDialog} from './dialog.js';
import {trendItem} from './trend.js';

/** @typedef {import('./hmi.js').Hmi} Hmi */
/** @typedef {import('./hmi.js').Tag} Tag */
/** @typedef {{type?: string, tagname?: string, desc?: string, style?: string, [k: string]: any}} Item */
/** @typedef {{el: HTMLElement, wide?: boolean, cleanup?: () => void}} Rendered */

const NOT_HERE = {opnotes: 'Operator notes', alarms: 'Alarms', callout: 'Callout'};

/** @param {unknown} s */
const cls = (s) => typeof s === 'string' ? s : '';

/**
 * @param {Item} item @param {Hmi} hmi
 * @returns {Rendered}
 */
export function renderItem(item, hmi) {
  const type = String(item.type);
  try {
    switch (type) {
    case 'h1': case 'h2': case 'h3': case 'p':
      return {el: h(type, {class: cls(item.style), text: item.desc ?? ''}), wide: true};
    case 'br':
      return {el: h('div', {class: 'br ' + cls(item.style), 'aria-hidden': 'true'}), wide: true};
    case 'hr':
      return {el: h('hr', {class: cls(item.style)}), wide: true};
    case 'linebreak':
      return {el: h('div', {class: 'linebreak ' + cls(item.style), 'aria-hidden': 'true'}), wide: true};
    case 'value':
      return valueItem(item, hmi, false);
    case 'setpoint':
      return valueItem(item, hmi, hmi.mayWrite(String(item.tagname)));
    case 'selectdict':
      return selectDict(item, hmi);
    case 'uplot':
      return trendItem(item, hmi);
    case 'files':
      return files(item, hmi);
    default:
      if (type in NOT_HERE)
        return placeholder(`${NOT_HERE[/** @type {keyof NOT_HERE} */ (type)]}: not available in this mscada`);
      return placeholder(`Unknown item type "${type}": nothing to show`);
    }
  } catch (e) {
    return placeholder(`Item "${type}" could not be shown: ${e instanceof Error ? e.message : e}`);
  }
}

/** @param {string} text */
function placeholder(text) {
  return {el: h('div', {class: 'placeholder', role: 'note', text}), wide: true};
}

/** @param {Tag} t */
function label(t) {
  return t.info && t.info.desc ? String(t.info.desc) : t.name;
}

/**
 * @param {Item} item @param {Hmi} hmi @param {boolean} settable
 * @returns {Rendered}
 */
function valueItem(item, hmi, settable) {
  if (!item.tagname) return placeholder(`${item.type} without a tagname`);
  const readOnly = item.type === 'setpoint' && !settable;
  const t = hmi.tag(String(item.tagname));
  const name = h('span', {class: 'name'});
  const val = h('span', {class: 'val'});
  const units = h('span', {class: 'units'});
  const box = h(settable ? 'button' : 'div', {
    class: `card ${item.type} ${cls(item.style)}`, 'data-tag': t.name,
    type: settable ? 'button' : null, role: settable ? null : 'group'},
  name, h('span', {class: 'reading'}, val, units));
  const render = () => {
    name.textContent = label(t);
    val.textContent = t.info ? formatValue(t.info, t.value) : '…';
    units.textContent = t.info && t.info.units && kind(t.info) !== 'multi' ? ' ' + t.info.units : '';
    box.classList.toggle('stale', t.stale);
    const a = `${label(t)}: ${val.textContent}${units.textContent}` +
      (t.stale ? ' (stale)' : '') + (settable ? ', press to change' : '');
    box.setAttribute('aria-label', a);
    box.title = t.stale ? 'stale: no value since the connection or the bus was lost'
      : readOnly ? `read-only: ${hmi.user ? hmi.user.role + ' ' + hmi.user.name : 'you'} may not set ${t.name}` : '';
    if (readOnly) box.classList.add('readonly');
  };
  render();
  const off = t.listen(render);
  if (settable) {
    box.addEventListener('click', () => {
      if (!t.info) return;
      openSetDialog({title: t.name, info: t.info, current: t.value,
        onSet: (v) => hmi.send('set', t.name, v)});
    });
  }
  return {el: box, cleanup: off};
}

/**
 * A dict tag {labels, values, locks}: pick cells (locked ones can't be),
 * change them together with the dialog built from `opts`.
 * @param {Item} item @param {Hmi} hmi
 * @returns {Rendered}
 */
function selectDict(item, hmi) {
  if (!item.tagname) return placeholder('selectdict without a tagname');
  const t = hmi.tag(String(item.tagname));
  const opts = item.opts && typeof item.opts === 'object' ? item.opts : {};
  /** @type {import('./format.js').TagInfo} */
  const info = {name: t.name, id: null, type: opts.type === 'multi' ? 'int' : 'float',
    dp: typeof opts.dp === 'number' ? opts.dp : 2, min: opts.min, max: opts.max,
    units: opts.units, multi: opts.type === 'multi' || Array.isArray(opts.multi) ? opts.multi : undefined};
  /** @type {Set<number>} */
  const picked = new Set();
  const grid = h('div', {class: 'cells', role: 'group'});
  const change = h('button', {type: 'button', class: 'primary', disabled: true,
    text: 'Change selected…'});
  const title = h('h3', {class: 'name'});
  const box = h('section', {class: `selectdict ${cls(item.style)}`, 'data-tag': t.name},
    title, grid, h('div', {class: 'row'}, change));
  const render = () => {
    title.textContent = label(t);
    box.classList.toggle('stale', t.stale);
    const d = /** @type {any} */ (t.value);
    grid.replaceChildren();
    if (!d || !Array.isArray(d.values)) {
      grid.append(h('p', {class: 'hint', text: 'no value yet'}));
      return;
    }
    d.values.forEach((/** @type {unknown} */ v, /** @type {number} */ i) => {
      const locked = Array.isArray(d.locks) && !!d.locks[i];
      const lab = Array.isArray(d.labels) ? String(d.labels[i] ?? i) : String(i);
      const text = formatValue(info, v) + (info.units && !info.multi ? ' ' + info.units : '');
      grid.append(h('button', {type: 'button', class: 'cell', disabled: locked,
        'aria-pressed': picked.has(i) ? 'true' : 'false',
        'aria-label': `${lab}: ${text}${locked ? ' (locked)' : ''}`,
        onclick: () => {
          if (picked.has(i)) picked.delete(i); else picked.add(i);
          render();
        }}, h('span', {class: 'lab', text: lab}), h('span', {class: 'val', text})));
    });
    change.toggleAttribute('disabled', picked.size === 0);
    change.textContent = picked.size ? `Change ${picked.size} selected…` : 'Change selected…';
  };
  change.addEventListener('click', () => {
    const d = /** @type {any} */ (t.value);
    if (!d || !picked.size) return;
    const first = [...picked][0];
    openSetDialog({title: `${t.name}: ${[...picked].map((i) => d.labels?.[i] ?? i).join(', ')}`,
      info, current: d.values[first], onSet: (v) => {
        const nd = JSON.parse(JSON.stringify(d));
        for (const i of picked) nd.values[i] = v;
        picked.clear();
        hmi.send('set', t.name, nd);
        render();
      }});
  });
  render();
  return {el: box, wide: true, cleanup: t.listen(render)};
}

/**
 * The files the `files` module publishes on __files__, filtered by `filter`
 * (a regular expression on the path); links are plain GETs (serve_path).
 * @param {Item} item @param {Hmi} hmi
 * @returns {Rendered}
 */
function files(item, hmi) {
  const t = hmi.tag('__files__');
  let re = null;
  try { re = item.filter ? new RegExp(String(item.filter)) : null; } catch { re = null; }
  const list = h('ul', {class: 'files'});
  const box = h('section', {class: `files ${cls(item.style)}`},
    h('h3', {text: item.desc || 'Files'}), list);
  const render = () => {
    list.replaceChildren();
    const d = /** @type {any} */ (t.value);
    /** @type {any[]} */
    const all = [];
    if (d && typeof d === 'object')
      for (const v of Object.values(d)) if (Array.isArray(v)) all.push(...v);
    const shown = all.filter((f) => f && typeof f.name === 'string' &&
      (!re || re.test(`${f.path || ''}/${f.name}`)));
    if (!shown.length) {
      list.append(h('li', {class: 'hint', text: d ? 'no files match' :
        'no file list on the bus (__files__ has no value)'}));
    }
    for (const f of shown) {
      const href = (f.path ? f.path + '/' : '') + f.name;
      list.append(h('li', null, h('a', {href, download: f.name, text: href}),
        f.desc ? ' ' + f.desc : ''));
    }
  };
  render();
  return {el: box, wide: true, cleanup: t.listen(render)};
}
