// The set dialog: the tag's desc and units, its real limits, the input
// that suits its kind (number with a numeric keypad on phones, a list of
// state names, text, local date/time), then a confirm step old -> new.
// A native <dialog>: focus stays inside, Escape cancels, Enter goes on.
// What it sends is only asked for: the shown value stays the bus's.

import {h} from './dom.js';
import {kind, formatValue, parseInput, limits, fmtLimit, timeInputValue} from './format.js';

let seq = 0;

/**
 * @param {{title: string, info: import('./format.js').TagInfo, current: unknown,
 *   onSet: (value: number|string) => void}} o
 */
export function openSetDialog(o) {
  const {info} = o;
  const k = kind(info);
  const id = 'dlg' + (++seq);
  const units = info.units ? String(info.units) : '';
  const err = h('p', {class: 'error', id: id + '-err', role: 'alert'});
  /** @type {HTMLInputElement|null} */
  let input = null;
  /** @type {number|null} */
  let choice = null;
  const body = h('div', {class: 'dlg-body'});
  const {min, max} = limits(info);

  if (k === 'multi') {
    const names = /** @type {string[]} */ (info.multi);
    const list = h('div', {class: 'states', role: 'radiogroup', 'aria-label': 'states'});
    names.forEach((n, i) => {
      const b = h('button', {type: 'button', class: 'state', role: 'radio',
        'aria-checked': i === o.current ? 'true' : 'false', text: n,
        onclick: () => { choice = i; next(); }});
      list.append(b);
    });
    body.append(list);
  } else {
    /** @type {Record<string, any>} */
    const a = {id: id + '-in', 'aria-describedby': id + '-hint ' + id + '-err',
      autocomplete: 'off'};
    if (k === 'str') a.type = 'text';
    else if (k === 'time') { a.type = 'time'; a.step = 1; }
    else if (k === 'date') a.type = 'date';
    else if (k === 'datetime') { a.type = 'datetime-local'; a.step = 1; }
    else {
      a.type = 'text';
      a.inputmode = k === 'int' ? 'numeric' : 'decimal';
      a.enterkeyhint = 'next';
    }
    input = /** @type {HTMLInputElement} */ (h('input', a));
    const cur = o.current;
    if (typeof cur === 'number' && (k === 'time' || k === 'date' || k === 'datetime'))
      input.value = timeInputValue(cur, k);
    else if (cur !== null && cur !== undefined)
      input.value = k === 'float' || k === 'int' ? formatValue(info, cur) : String(cur);
    let hint = '';
    if (k === 'float' || k === 'int') {
      if (min !== null && max !== null)
        hint = `${fmtLimit(info, min)} to ${fmtLimit(info, max)} ${units}`;
      else if (min !== null) hint = `at least ${fmtLimit(info, min)} ${units}`;
      else if (max !== null) hint = `at most ${fmtLimit(info, max)} ${units}`;
      else hint = 'no limits given in tags.yaml';
    } else if (k !== 'str') {
      hint = 'local time';
    }
    body.append(h('label', {for: id + '-in', text: 'New value' + (units ? ` (${units})` : '')}),
      h('div', {class: 'inrow'}, input, units ? h('span', {class: 'units', text: units}) : null),
      h('p', {class: 'hint', id: id + '-hint', text: hint}));
  }

  const back = h('button', {type: 'button', text: 'Cancel', onclick: () => dlg.close()});
  const ok = h('button', {type: 'button', class: 'primary',
    text: k === 'multi' ? 'Cancel' : 'Next', onclick: () => next()});
  if (k === 'multi') ok.remove();
  const foot = h('div', {class: 'dlg-foot'}, back, k === 'multi' ? null : ok);
  const title = h('h2', {id: id + '-title', text: o.title});
  const desc = h('p', {class: 'desc', id: id + '-desc',
    text: (info.desc && info.desc !== info.name ? info.desc + ' · ' : '') +
      'now ' + formatValue(info, o.current) + (units ? ' ' + units : '')});
  const dlg = /** @type {HTMLDialogElement} */ (h('dialog', {
    class: 'setdlg', 'aria-labelledby': id + '-title', 'aria-describedby': id + '-desc'},
  title, desc, body, err, foot));

  /** @type {number|string|null} */
  let pending = null;

  function next() {
    /** @type {{value: number|string}|{error: string}} */
    let r;
    if (k === 'multi') r = choice === null ? {error: 'pick a state'} : {value: choice};
    else r = parseInput(info, /** @type {HTMLInputElement} */ (input).value);
    if ('error' in r) {
      err.textContent = r.error;
      input?.setAttribute('aria-invalid', 'true');
      input?.focus();
      return;
    }
    err.textContent = '';
    pending = r.value;
    confirmStep();
  }

  function confirmStep() {
    const from = formatValue(info, o.current) + (units ? ' ' + units : '');
    const to = formatValue(info, pending) + (units ? ' ' + units : '');
    body.replaceChildren(h('p', {class: 'confirm'},
      h('span', {class: 'old', text: from}), ' → ', h('strong', {class: 'new', text: to})));
    const go = h('button', {type: 'button', class: 'primary', text: 'Set',
      onclick: () => { o.onSet(/** @type {number|string} */ (pending)); dlg.close(); }});
    foot.replaceChildren(h('button', {type: 'button', text: 'Back', onclick: () => {
      dlg.close();
      openSetDialog(o);
    }}), go);
    dlg.dataset.step = 'confirm';
    go.focus();
  }

  dlg.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && dlg.dataset.step !== 'confirm' && k !== 'multi') {
      e.preventDefault();
      next();
    }
  });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.dataset.step = 'edit';
  dlg.showModal();
  if (input) { input.focus(); input.select(); }
  else /** @type {HTMLElement|null} */ (body.querySelector('[aria-checked="true"]') ||
    body.querySelector('button'))?.focus();
  return dlg;
}
