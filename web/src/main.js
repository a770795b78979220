// The app: the header (brand, page menu from `pages:` with `parent`
// dropdowns), the state banner, one URL per page (#/<page name>, so
// bookmarks and the back button work) and the page's items.

import {h} from './dom.js';
import {Hmi} from './hmi.js';
import {renderItem} from './items.js';

const hmi = new Hmi();
/** @type {any} */ (window).mscada = hmi;

const nav = h('ul', {class: 'menu', id: 'menu'});
const menuBtn = h('button', {type: 'button', class: 'menubtn', 'aria-controls': 'menu',
  'aria-expanded': 'false', 'aria-label': 'pages', text: '☰'});
const brand = h('a', {class: 'brand', href: '#', text: 'mscada'});
const here = h('span', {class: 'here', 'aria-hidden': 'true'});
const banner = h('div', {class: 'banner', role: 'status', 'aria-live': 'assertive', hidden: true});
// a write the server refused, and who is logged in (with logins on)
const notice = h('div', {class: 'notice', id: 'notice', role: 'alert', hidden: true});
const who = h('a', {class: 'who', id: 'logout', href: 'logout', hidden: true});
const main = h('main', {id: 'page', tabindex: '-1'});
document.body.append(
  h('header', null, h('nav', {'aria-label': 'pages'}, brand, here, menuBtn, nav, who)),
  banner, notice, main);
menuBtn.addEventListener('click', () => {
  const open = document.body.classList.toggle('menu-open');
  menuBtn.setAttribute('aria-expanded', String(open));
});

/** @type {(() => void)[]} */
let cleanups = [];
let pagesJson = '';

/** @param {string} name */
const pageHref = (name) => '#/' + encodeURIComponent(name);

function currentName() {
  const m = /^#\/(.*)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

function buildMenu() {
  const pages = hmi.pages || [];
  nav.replaceChildren();
  /** @type {Map<string, HTMLElement>} */
  const groups = new Map();
  for (const p of pages) {
    if (!p || typeof p.name !== 'string') continue;
    const link = h('li', null, h('a', {href: pageHref(p.name), text: p.name,
      'data-page': p.name}));
    if (p.parent === null || p.parent === undefined || p.parent === '') {
      nav.append(link);
      continue;
    }
    const parent = String(p.parent);
    let g = groups.get(parent);
    if (!g) {
      const sub = h('ul', {class: 'sub'});
      const d = h('details', null, h('summary', {text: parent}), sub);
      // one dropdown open at a time, closed when a page is picked
      d.addEventListener('toggle', () => {
        if (/** @type {HTMLDetailsElement} */ (d).open)
          for (const o of nav.querySelectorAll('details'))
            if (o !== d) o.removeAttribute('open');
      });
      g = sub;
      groups.set(parent, g);
      nav.append(h('li', {class: 'group'}, d));
    }
    g.append(link);
  }
}

function show() {
  for (const f of cleanups) f();
  cleanups = [];
  const pages = (hmi.pages || []).filter((p) => p && typeof p.name === 'string');
  const want = currentName();
  const page = pages.find((p) => p.name === want) || pages[0];
  for (const a of nav.querySelectorAll('a[data-page]')) {
    const on = page && /** @type {HTMLElement} */ (a).dataset.page === page.name;
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const d of nav.querySelectorAll('details')) {
    d.removeAttribute('open');
    d.classList.toggle('current', !!d.querySelector('[aria-current]'));
  }
  document.body.classList.remove('menu-open');
  menuBtn.setAttribute('aria-expanded', 'false');
  if (!page) {
    main.replaceChildren(h('p', {class: 'placeholder',
      text: hmi.pages ? 'No pages: add some under pages: in wwwserver.yaml.' : 'Connecting…'}));
    return;
  }
  document.title = `${page.name} · mscada`;
  here.textContent = page.name;
  const grid = h('div', {class: 'grid'});
  for (const item of Array.isArray(page.items) ? page.items : []) {
    const r = renderItem(item && typeof item === 'object' ? item : {type: String(item)}, hmi);
    if (r.wide) r.el.classList.add('wide');
    grid.append(r.el);
    if (r.cleanup) cleanups.push(r.cleanup);
  }
  main.replaceChildren(grid);
  main.dataset.page = page.name;
}

function applyConfig() {
  const c = hmi.config;
  const root = document.documentElement.style;
  if (typeof c.primary_color === 'string') root.setProperty('--primary', c.primary_color);
  if (typeof c.secondary_color === 'string') root.setProperty('--secondary', c.secondary_color);
  if (typeof c.mscada_link === 'string') brand.setAttribute('href', c.mscada_link);
}

hmi.pagesListeners.add((pages) => {
  applyConfig();
  // a reconnect sends the pages again: redraw only when they changed
  const j = JSON.stringify(pages);
  if (j === pagesJson) return;
  pagesJson = j;
  buildMenu();
  show();
});
window.addEventListener('hashchange', () => {
  show();
  main.focus({preventScroll: true});
});

/** @type {number} */
let bannerTimer = 0;
function renderBanner() {
  const s = hmi.status;
  let text = '';
  if (!s.ws) {
    const secs = Math.round((Date.now() - s.since) / 1000);
    text = s.attempt ? `No connection to the server for ${secs} s: reconnecting` +
      ` (attempt ${s.attempt}). Values shown are stale.` : 'Connecting to the server…';
  } else if (!s.bus) {
    text = 'The server has lost the bus: values shown are stale until it is back.';
  }
  banner.textContent = text;
  banner.hidden = !text;
  document.body.classList.toggle('offline', !!text);
  clearTimeout(bannerTimer);
  if (text) bannerTimer = window.setTimeout(renderBanner, 1000);
}
hmi.statusListeners.add(renderBanner);

hmi.userListeners.add(() => {
  const u = hmi.user;
  who.hidden = !u;
  who.textContent = u ? `${u.name} (${u.role}) · log out` : '';
  show(); // setpoints the user may not set become read-only
});
let noticeTimer = 0;
hmi.errorListeners.add((e) => {
  notice.textContent = `Not done: ${e.action || 'set'} of ${e.tagname || '?'} refused: ` +
    `${e.message || 'not allowed'}.`;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => { notice.hidden = true; }, 15000);
});
renderBanner();
hmi.connect();
