// The shell: sign-in state, top bar, left navigation and the hash router.

import * as api from './api.js';
import { t, getLang, setLang, LANGS } from './i18n/index.js';
import { h, replace, loading, errorBanner, reportError, roleLabel, select } from './ui.js';
import {
  state, setMe, isStaff, resetState, isOperatorOnly, chooseOrg, currentRole, isAuditor,
} from './state.js';

const PAGES = {
  login: () => import('./pages/login.js'),
  home: () => import('./pages/home.js'),
  volunteers: () => import('./pages/volunteers.js'),
  volunteer: () => import('./pages/volunteer.js'),
  residents: () => import('./pages/residents.js'),
  activities: () => import('./pages/activities.js'),
  activity: () => import('./pages/activity.js'),
  cases: () => import('./pages/cases.js'),
  sites: () => import('./pages/sites.js'),
  site: () => import('./pages/site.js'),
  services: () => import('./pages/services.js'),
  wishes: () => import('./pages/wishes.js'),
  teams: () => import('./pages/teams.js'),
  units: () => import('./pages/units.js'),
  lists: () => import('./pages/lists.js'),
  projects: () => import('./pages/projects.js'),
  reports: () => import('./pages/reports.js'),
  ledger: () => import('./pages/ledger.js'),
  jobs: () => import('./pages/jobs.js'),
};

const NAV = [
  { page: 'home', href: '#/home', icon: '⌂' },
  { page: 'volunteers', href: '#/volunteers', icon: '♥', also: ['volunteer'] },
  { page: 'residents', href: '#/residents', icon: '☺' },
  { page: 'activities', href: '#/activities', icon: '⚑', also: ['activity'] },
  { page: 'cases', href: '#/cases', icon: '✚' },
  { page: 'sites', href: '#/sites', icon: '⌘', also: ['site'] },
  { page: 'services', href: '#/services', icon: '☎' },
  { page: 'wishes', href: '#/wishes', icon: '✧' },
  { page: 'teams', href: '#/teams', icon: '⚐' },
  { page: 'units', href: '#/units', icon: '▣' },
  { page: 'lists', href: '#/lists', icon: '☰' },
  { page: 'projects', href: '#/projects', icon: '◈' },
  { page: 'reports', href: '#/reports', icon: '▥' },
  { page: 'ledger', href: '#/ledger', icon: '≡' },
  { page: 'jobs', href: '#/jobs', icon: '⟳' },
];

let routeGen = 0;
const root = document.getElementById('app');

// ---------- routing ----------

export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart] = raw.split('?');
  const parts = pathPart.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  const query = new URLSearchParams(queryPart || '');
  let page = null;
  const params = {};
  const [a, b] = parts;
  if (!a) page = null;
  else if (a === 'volunteers' && b) { page = 'volunteer'; params.id = b; }
  else if (a === 'activities' && b) { page = 'activity'; params.id = b; }
  else if (a === 'sites' && b) { page = 'site'; params.id = b; }
  else if (PAGES[a] && !['volunteer', 'activity', 'site'].includes(a)) page = a;
  return { page, params, query, path: pathPart };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Changes the hash's query without re-rendering (filters). */
export function setQuery(path, query) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) qs.set(k, v);
  const str = qs.toString();
  const hash = '#' + path + (str ? '?' + str : '');
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

function landing() {
  if (isOperatorOnly()) {
    const first = state.siteScopes[0];
    return state.siteScopes.length === 1 ? `#/sites/${encodeURIComponent(first.site_id)}` : '#/sites';
  }
  return '#/home';
}

function allowed(page) {
  if (page === 'login') return true;
  if (isOperatorOnly()) return page === 'sites' || page === 'site';
  return true;
}

async function route() {
  const gen = ++routeGen;
  const r = parseHash();
  document.body.classList.remove('nav-open');

  if (!api.hasSession() || !state.me) {
    if (r.page !== 'login') {
      location.replace('#/login'); // hashchange routes again
      return undefined;
    }
    return renderPage('login', r, gen);
  }
  if (!r.page || r.page === 'login' || !allowed(r.page)) {
    const target = landing();
    if (location.hash !== target) {
      location.replace(target);
      return undefined;
    }
    const again = parseHash();
    return renderPage(again.page || 'home', again, gen);
  }
  return renderPage(r.page, r, gen);
}

async function renderPage(page, r, gen) {
  const isLogin = page === 'login';
  const view = isLogin ? renderBare() : renderShell(page);
  replace(view, loading());
  let mod;
  try {
    mod = await PAGES[page]();
  } catch (err) {
    if (gen === routeGen) replace(view, errorBanner({ message: t('error.module') }));
    reportError(err);
    return;
  }
  if (gen !== routeGen) return;
  try {
    const ctx = {
      params: r.params,
      query: r.query,
      path: r.path,
      app: { navigate, setQuery, afterLogin, signOut, rerender: route },
      alive: () => gen === routeGen,
    };
    const node = await mod.render(ctx);
    if (gen !== routeGen) return;
    replace(view, node);
    window.scrollTo(0, 0);
  } catch (err) {
    if (gen !== routeGen || (err && err.silent)) return;
    replace(view, h('main', { 'data-page': page, class: 'page-error' }, errorBanner(err)));
    if (!(err && err.isApiError)) reportError(err);
  }
}

// ---------- shell ----------

function langSwitch(id) {
  const sel = select(LANGS, { id, class: 'lang-select', 'aria-label': t('top.language'), value: getLang() });
  sel.addEventListener('change', () => {
    setLang(sel.value);
    document.title = t('app.title');
    route();
  });
  return sel;
}

function renderBare() {
  document.body.classList.remove('shell');
  document.body.classList.add('bare');
  const view = h('div', { id: 'view', class: 'bare-view' });
  replace(root, view);
  return view;
}

function renderShell(page) {
  document.body.classList.add('shell');
  document.body.classList.remove('bare');
  const items = isOperatorOnly()
    ? NAV.filter((n) => n.page === 'sites')
    : NAV.filter((n) => n.page !== 'jobs' || state.platform);
  const nav = h('nav', { class: 'sidenav', id: 'sidenav', 'aria-label': t('nav.label') },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, '♥'), h('span', { class: 'brand-text' }, t('app.name'))),
    h('ul', null, items.map((n) => {
      const active = n.page === page || (n.also && n.also.includes(page));
      return h('li', null, h('a', {
        href: n.href,
        class: active ? 'active' : null,
        'data-nav': n.page,
        'aria-current': active ? 'page' : null,
      }, h('span', { class: 'nav-icon', 'aria-hidden': 'true' }, n.icon), h('span', null, t('nav.' + n.page))));
    })));

  const role = currentRole();
  let orgControl;
  if (state.orgScopes.length > 1) {
    orgControl = select(state.orgScopes.map((o) => [o.org_id, `${o.org_name || o.org_id} · ${roleLabel(o.role)}`]),
      { id: 'org-select', class: 'org-select', 'aria-label': t('top.org'), value: state.org ? state.org.org_id : '' });
    orgControl.addEventListener('change', () => { chooseOrg(orgControl.value); route(); });
  } else if (state.org) {
    orgControl = h('span', { class: 'top-org', id: 'top-org' }, state.org.org_name || state.org.org_id);
  } else {
    orgControl = h('span', { class: 'top-org', id: 'top-org' },
      state.siteScopes.map((s) => s.site_name || s.site_id).join('、'));
  }

  const menuBtn = h('button', {
    type: 'button', id: 'menu-toggle', class: 'menu-toggle', 'aria-label': t('top.menu'), 'aria-controls': 'sidenav',
    onclick: () => document.body.classList.toggle('nav-open'),
  }, '☰');

  const signOutBtn = h('button', { type: 'button', id: 'sign-out', class: 'btn btn-default btn-sm', onclick: () => signOut() }, t('top.sign_out'));

  const top = h('header', { class: 'topbar' },
    menuBtn,
    h('div', { class: 'top-title' }, t('app.title')),
    h('div', { class: 'top-right' },
      h('div', { class: 'top-who' },
        h('span', { class: 'top-name', id: 'top-name' }, state.me.name),
        orgControl,
        role ? h('span', { class: ['top-role', isAuditor() ? 'readonly' : null], id: 'top-role', 'data-role': role }, roleLabel(role)) : null),
      langSwitch('lang-select'),
      signOutBtn));

  const view = h('div', { id: 'view', class: 'view' });
  const scrim = h('div', { class: 'nav-scrim', onclick: () => document.body.classList.remove('nav-open') });
  replace(root, nav, scrim, h('div', { class: 'main-col' }, top, view));
  return view;
}

// ---------- session ----------

async function loadMe() {
  const me = await api.get('/me');
  const orgCache = new Map();
  await setMe(
    me,
    (id) => {
      if (!orgCache.has(id)) orgCache.set(id, api.get(`/orgs/${encodeURIComponent(id)}`));
      return orgCache.get(id);
    },
    (id) => api.get(`/sites/${encodeURIComponent(id)}`),
  );
  return me;
}

/** After a successful sign-in (or restore): load /me, refuse non-staff. */
export async function afterLogin() {
  const me = await loadMe();
  if (!isStaff(me)) {
    await api.logout();
    resetState();
    state.flash = 'not_staff';
    navigate('#/login');
    return false;
  }
  state.flash = null;
  navigate(landing());
  return true;
}

/** Nothing of one session stays on screen for the next: toasts, dialogs. */
function clearScreen() {
  document.querySelectorAll('#toasts, .modal-backdrop, .drawer-backdrop, .fullscreen').forEach((el) => el.remove());
  document.body.classList.remove('modal-open');
}

export async function signOut() {
  await api.logout();
  resetState();
  clearScreen();
  state.flash = null;
  navigate('#/login');
}

api.onSessionExpired(() => {
  resetState();
  clearScreen();
  state.flash = 'expired';
  navigate('#/login');
});

window.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  reportError(e.reason);
});

window.addEventListener('hashchange', () => { route().catch(reportError); });

async function start() {
  setLang(getLang());
  document.title = t('app.title');
  replace(root, loading());
  if (api.hasStoredRefresh()) {
    try {
      const ok = await api.restore();
      if (ok) {
        const me = await loadMe();
        if (!isStaff(me)) {
          await api.logout();
          resetState();
          state.flash = 'not_staff';
        }
      } else {
        state.flash = 'expired';
      }
    } catch (err) {
      if (!err.silent) state.flash = { error: err };
      if (!api.hasSession()) resetState();
    }
  }
  await route();
}

start().catch(reportError);
