// main.js — boots the console: the page frame, the hash router (#/buckets,
// #/browse/<bucket>/<prefix>, #/keys, #/cluster, #/signin) and the end of a
// session. Each view is a module with render(main, params) that may return
// a cleanup function.

import { h, replace } from './dom.js';
import * as api from './api.js';
import * as session from './session.js';
import * as signin from './views/signin.js';
import * as buckets from './views/buckets.js';
import * as browse from './views/browse.js';
import * as keys from './views/keys.js';
import * as cluster from './views/cluster.js';
import { uploads } from './views/upload_panel.js';

// Navigation entries: shown only when the key may use them.
const NAV = [
  { path: 'buckets', label: 'Buckets', allowed: () => session.can('listBuckets') },
  { path: 'browse', label: 'Browse Files', allowed: () => session.can('listFiles') || session.can('writeFiles') },
  { path: 'keys', label: 'Application Keys', allowed: () => session.can('listKeys') },
  { path: 'cluster', label: 'Cluster', allowed: () => session.can('listKeys') && !session.restricted() },
];

const VIEWS = { buckets, browse, keys, cluster };

let frame = null; // {main, nav links}
let cleanup = null;

// parse splits the hash into a view name and its parameters.
function parse() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  return { view: parts[0] || '', params: parts.slice(1).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return '';
    }
  }) };
}

// go navigates to a view.
export function go(view, ...params) {
  location.hash = '#/' + [view, ...params.map(encodeURIComponent)].join('/');
}

function signOut(message) {
  session.clear();
  uploads.cancelAll();
  frame = null;
  signin.setMessage(message || '');
  if (location.hash === '#/signin') route();
  else location.hash = '#/signin';
}

api.onExpired((err) => signOut(api.readable(err)));

function buildFrame() {
  const s = session.get();
  const main = h('main', { id: 'main', tabindex: '-1' });
  const links = {};
  const menu = h('button', { type: 'button', class: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'nav' }, 'Menu');
  const nav = h('nav', { id: 'nav', 'aria-label': 'Main' },
    h('h2', {}, 'B2 Cloud Storage'),
    h('ul', {}, NAV.filter((n) => n.allowed()).map((n) => {
      links[n.path] = h('a', { href: `#/${n.path}` }, n.label);
      return h('li', {}, links[n.path]);
    })));
  menu.addEventListener('click', () => {
    const open = menu.getAttribute('aria-expanded') !== 'true';
    menu.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
  });
  nav.addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a) return;
    menu.setAttribute('aria-expanded', 'false');
    nav.classList.remove('open');
    // The page already shown: a click on its link reloads it.
    if (a.getAttribute('href') === location.hash) route();
  });
  const header = h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/buckets' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '' }), 'coffer'),
    menu,
    h('span', { class: 'who' }, 'Key ', h('span', { class: 'mono' }, s.keyId)),
    h('button', { type: 'button', class: 'signout', on: { click: () => signOut('You have signed out.') } }, 'Sign out'));
  replace(document.getElementById('app'), h('a', { class: 'skip', href: '#main', on: { click: (e) => { e.preventDefault(); main.focus(); } } }, 'Skip to content'),
    header, h('div', { class: 'layout' }, nav, main), uploads.el);
  frame = { main, links };
}

function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const { view, params } = parse();
  if (!session.get()) {
    frame = null;
    const app = document.getElementById('app');
    replace(app);
    signin.render(app, () => {
      const want = parse().view;
      if (want && want !== 'signin') route();
      else location.hash = '#/' + firstView();
    });
    ready();
    return;
  }
  const target = NAV.find((n) => n.path === view);
  if (!target || !target.allowed()) {
    const first = NAV.find((n) => n.allowed());
    if (first) {
      location.replace('#/' + first.path);
      return;
    }
  }
  if (!frame) buildFrame();
  if (!target || !target.allowed()) {
    replace(frame.main, h('h1', {}, 'Nothing to show'),
      h('p', { class: 'notice' }, 'This application key has none of the capabilities the console uses (listBuckets, listFiles, writeFiles or listKeys). Sign out and sign in with another key.'));
    ready();
    return;
  }
  for (const [p, a] of Object.entries(frame.links)) {
    if (p === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(frame.main);
  cleanup = VIEWS[view].render(frame.main, params) || null;
  ready();
}

// firstView is where a signed-in key lands.
function firstView() {
  const n = NAV.find((x) => x.allowed());
  return n ? n.path : 'buckets';
}

// ready marks the first rendered view (tests read it to time the page).
let marked = false;
function ready() {
  if (!marked) {
    marked = true;
    performance.mark('console-ready');
  }
}

window.addEventListener('hashchange', route);
route();
