// Small DOM helpers shared by every page. Nothing here ever parses HTML:
// every value reaches the page through textContent or setAttribute.

import { t, getLang } from './i18n/index.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function appendChildren(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) appendChildren(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'required', 'multiple', 'readOnly', 'hidden']);

function applyAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), (ev) => {
        try {
          const r = v(ev);
          if (r && typeof r.then === 'function') r.catch(reportError);
        } catch (err) {
          reportError(err);
        }
      });
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v));
    } else if (PROPS.has(k)) {
      el[k] = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

/** h('a', {href: '#/x', class: 'btn'}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  appendChildren(el, children);
  applyAttrs(el, attrs);
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  appendChildren(el, children);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      el.setAttribute(k, String(v));
    }
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  appendChildren(el, children);
  return el;
}

// ---------- formatting ----------

function locale() {
  return getLang() === 'en' ? 'en-GB' : 'zh-CN';
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(locale(), { hour12: false });
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleDateString(locale());
}

/** Amounts are decimal strings; shown as they come. */
export function fmtAmount(a) {
  if (a === null || a === undefined || a === '') return '—';
  return String(a);
}

export function amountClass(a) {
  const str = String(a ?? '');
  if (str.startsWith('-')) return 'amount negative';
  if (/^0+(\.0+)?$/.test(str)) return 'amount';
  return 'amount positive';
}

export function amount(a) {
  return h('span', { class: amountClass(a) }, fmtAmount(a));
}

export function stars(n) {
  const k = Number(n) || 0;
  if (k <= 0) return h('span', { class: 'stars none' }, t('star.none'));
  return h('span', { class: 'stars', title: t('star.level', { n: k }) }, '★'.repeat(Math.min(k, 10)));
}

export function mono(text) {
  if (text === null || text === undefined || text === '') return '—';
  return h('code', { class: 'mono' }, String(text));
}

/** Local "YYYY-MM-DD" of a Date. */
export function localDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** value of <input type=datetime-local> → RFC 3339 UTC, or null. */
export function localInputToIso(value) {
  if (!value) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString();
}

/** ISO → value for <input type=datetime-local> in local time. */
export function isoToLocalInput(iso) {
  const d = iso ? new Date(iso) : new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const AMOUNT_RE = /^[0-9]+(\.[0-9]{1,2})?$/;

// ---------- status tags ----------

const TAG_COLOURS = {
  pending: 'orange', pending_review: 'orange', reserved: 'orange', dispatched: 'orange',
  claimed: 'orange', unfinished: 'orange',
  disputed: 'volcano',
  open: 'blue', accepted: 'blue', completed: 'cyan',
  active: 'green', published: 'green', approved: 'green', finished: 'green',
  fulfilled: 'green', confirmed: 'green', rated: 'green', settled: 'green',
  rejected: 'red', cancelled: 'red',
  suspended: 'grey', expired: 'grey', retired: 'grey',
  planned: 'blue', running: 'cyan', assessing: 'orange', closed: 'green', matched: 'green',
  dissolved: 'grey', withdrawn: 'grey',
};

export function statusTag(status) {
  const key = String(status ?? '');
  const colour = TAG_COLOURS[key] || 'default';
  const label = t('status.' + key, null, key || '—');
  return h('span', { class: `tag tag-${colour}`, 'data-status': key }, label);
}

/** A status tag worded from `prefix` + status (a status that reads
 *  differently on another kind of record, e.g. an open list item). */
export function statusTagAs(status, prefix) {
  const key = String(status ?? '');
  const colour = TAG_COLOURS[key] || 'default';
  return h('span', { class: `tag tag-${colour}`, 'data-status': key }, t(prefix + key, null, key || '—'));
}

/** A row of tabs, one per key; `onPick(key)` when one is chosen. */
export function tabs(keys, current, label, onPick) {
  return keys.map((k) => h('button', {
    type: 'button', role: 'tab', class: ['tab', k === current ? 'active' : null], 'data-tab': k,
    'aria-selected': k === current ? 'true' : 'false',
    onclick: () => onPick(k),
  }, label(k)));
}

export function roleLabel(role) {
  return t('role.' + role, null, role);
}

// ---------- states ----------

export function loading() {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner' }), t('common.loading'));
}

export function empty(text) {
  return h('div', { class: 'empty' }, text || t('common.empty'));
}

/** The visible facts of an API error: its message and its details. */
export function errorFacts(err) {
  const facts = [];
  const d = err && err.details;
  if (d && typeof d === 'object') {
    for (const [k, v] of Object.entries(d)) {
      if (k === 'fields' && v && typeof v === 'object') {
        for (const [field, msg] of Object.entries(v)) {
          facts.push(`${field}: ${Array.isArray(msg) ? msg.join('; ') : typeof msg === 'object' ? JSON.stringify(msg) : msg}`);
        }
      } else {
        const label = t('detail.' + k, null, k);
        let value;
        if (v === true || v === false) value = t(v ? 'common.yes' : 'common.no');
        else if (v !== null && typeof v === 'object') value = JSON.stringify(v);
        else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) value = fmtTime(v);
        else value = String(v);
        facts.push(`${label}: ${value}`);
      }
    }
  }
  return facts;
}

function errorText(err) {
  if (!err) return t('error.generic');
  if (err.message) return err.message;
  return t('error.generic');
}

/** A banner inside a page: class error-message. */
export function errorBanner(err) {
  const facts = errorFacts(err);
  return h('div', { class: 'error-message banner', role: 'alert', 'data-code': err && err.code ? err.code : null },
    h('strong', null, errorText(err)),
    facts.length ? h('ul', { class: 'facts' }, facts.map((f) => h('li', null, f))) : null,
  );
}

export function notice(text, kind = 'info') {
  return h('div', { class: `notice notice-${kind}` }, text);
}

// ---------- toasts ----------

function toastHost() {
  let host = document.getElementById('toasts');
  if (!host) {
    host = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' });
    document.body.appendChild(host);
  }
  return host;
}

export function toast(message, kind = 'success', facts = []) {
  const cls = kind === 'error' ? 'toast toast-error error-message' : `toast toast-${kind}`;
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': t('common.close') }, '×');
  const el = h('div', { class: cls, role: kind === 'error' ? 'alert' : 'status' },
    h('div', { class: 'toast-body' },
      h('div', { class: 'toast-text' }, message),
      facts.length ? h('ul', { class: 'facts' }, facts.map((f) => h('li', null, f))) : null),
    close);
  const remove = () => el.remove();
  close.addEventListener('click', remove);
  toastHost().appendChild(el);
  setTimeout(remove, kind === 'error' ? 10000 : 4000);
  return el;
}

export function reportError(err) {
  if (err && err.silent) return;
  // eslint-disable-next-line no-console
  if (!(err && err.isApiError)) console.warn(err);
  toast(errorText(err), 'error', errorFacts(err));
}

// ---------- busy buttons ----------

export async function busy(btn, fn) {
  if (btn) {
    if (btn.disabled) return undefined;
    btn.disabled = true;
    btn.classList.add('busy');
  }
  try {
    return await fn();
  } finally {
    if (btn) {
      btn.disabled = false;
      btn.classList.remove('busy');
    }
  }
}

// ---------- buttons ----------

export function button(label, attrs = {}, kind = 'default') {
  const cls = ['btn', `btn-${kind}`, attrs.class].filter(Boolean).join(' ');
  return h('button', { type: 'button', ...attrs, class: cls }, label);
}

// ---------- tables ----------

/**
 * columns: [{label, render(row) → node|string, class?}]
 * rows: array; rowAttrs(row) → attributes of each tr (data-id…)
 */
export function table(columns, rows, rowAttrs) {
  const tbody = h('tbody');
  const tbl = h('table', { class: 'data' },
    h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.class }, c.label)))),
    tbody);
  const addRows = (more) => {
    for (const r of more) tbody.appendChild(tableRow(columns, r, rowAttrs));
  };
  addRows(rows);
  const wrap = h('div', { class: 'table-wrap' }, tbl);
  return { el: wrap, tbody, addRows };
}

export function tableRow(columns, row, rowAttrs) {
  return h('tr', rowAttrs ? rowAttrs(row) : null,
    columns.map((c) => {
      const v = c.render(row);
      return h('td', { 'data-label': c.label, class: c.class }, v === null || v === undefined || v === '' ? '—' : v);
    }));
}

/**
 * A paged list: fetchPage(cursor) → {items, next_cursor}. Renders a table with a
 * "load more" button. Returns {el, reload()}.
 */
export function pagedTable({ columns, rowAttrs, fetchPage, emptyText }) {
  const el = h('div', { class: 'paged' });
  const state = { gen: 0 };
  const reload = async () => {
    const gen = ++state.gen;
    replace(el, loading());
    let page;
    try {
      page = await fetchPage(null);
    } catch (err) {
      if (gen === state.gen) replace(el, errorBanner(err));
      return;
    }
    if (gen !== state.gen) return;
    const items = (page && page.items) || [];
    if (!items.length) {
      replace(el, empty(emptyText));
      return;
    }
    let tbl;
    try {
      tbl = table(columns, items, rowAttrs);
    } catch (err) {
      replace(el, errorBanner({ message: t('error.generic') }));
      reportError(err);
      return;
    }
    const more = h('div', { class: 'more' });
    replace(el, tbl.el, more);
    let cursor = page.next_cursor || null;
    const renderMore = () => {
      clear(more);
      if (!cursor) return;
      const btn = button(t('common.load_more'), { 'data-action': 'load-more' });
      btn.addEventListener('click', () => busy(btn, async () => {
        try {
          const next = await fetchPage(cursor);
          if (gen !== state.gen) return;
          tbl.addRows((next && next.items) || []);
          cursor = (next && next.next_cursor) || null;
          renderMore();
        } catch (err) {
          reportError(err);
        }
      }));
      more.appendChild(btn);
    };
    renderMore();
  };
  return { el, reload };
}

// ---------- descriptions ----------

export function descriptions(pairs) {
  return h('dl', { class: 'desc' },
    pairs.filter(Boolean).map(([k, v]) => [
      h('dt', null, k),
      h('dd', null, v === null || v === undefined || v === '' ? '—' : v),
    ]));
}

// ---------- dialogs ----------

let openDialogs = 0;

function onEscape(fn) {
  const handler = (e) => { if (e.key === 'Escape') fn(); };
  document.addEventListener('keydown', handler);
  return () => document.removeEventListener('keydown', handler);
}

/**
 * A modal. body: node(s). buttons handled by caller through returned {close, el}.
 */
export function modal({ title, body, footer, wide, className, onClose }) {
  const box = h('div', { class: ['modal', wide ? 'modal-wide' : null, className], role: 'dialog', 'aria-modal': 'true' },
    h('div', { class: 'modal-head' },
      h('h2', { class: 'modal-title' }, title),
      h('button', { type: 'button', class: 'modal-x', 'aria-label': t('common.close'), onclick: () => close() }, '×')),
    h('div', { class: 'modal-body' }, body),
    footer ? h('div', { class: 'modal-foot' }, footer) : null);
  const backdrop = h('div', { class: 'modal-backdrop' }, box);
  backdrop.addEventListener('mousedown', (e) => { if (e.target === backdrop) close(); });
  let closed = false;
  const stopEsc = onEscape(() => close());
  function close() {
    if (closed) return;
    closed = true;
    stopEsc();
    backdrop.remove();
    openDialogs -= 1;
    if (openDialogs <= 0) document.body.classList.remove('modal-open');
    if (onClose) onClose();
  }
  document.body.appendChild(backdrop);
  openDialogs += 1;
  document.body.classList.add('modal-open');
  const focusable = box.querySelector('input, textarea, select');
  if (focusable) setTimeout(() => focusable.focus(), 0);
  return { el: box, close };
}

/**
 * Confirmation. Resolves to null (cancelled) or {values} with the inputs' values.
 * inputs: [{name, label, type: 'text'|'textarea'|'number', required, value, placeholder, pattern, hint}]
 * onOk(values) may be async; if it throws, the error shows in the dialog and it stays open.
 */
export function confirmDialog({ title, message, facts, okText, danger, inputs = [], onOk }) {
  return new Promise((resolve) => {
    const fields = {};
    const errBox = h('div', { class: 'dialog-error' });
    const inputEls = inputs.map((inp) => {
      const id = `dlg-${inp.name}`;
      let control;
      if (inp.type === 'textarea') {
        control = h('textarea', { id, name: inp.name, rows: 3, maxlength: inp.maxlength || 500, placeholder: inp.placeholder, value: inp.value ?? '' });
      } else {
        control = h('input', { id, name: inp.name, type: inp.type || 'text', inputmode: inp.inputmode, placeholder: inp.placeholder, value: inp.value ?? '', autocomplete: 'off' });
      }
      fields[inp.name] = control;
      return h('div', { class: 'field' },
        h('label', { for: id }, inp.label, inp.required ? h('span', { class: 'req' }, ' *') : null),
        control,
        inp.hint ? h('div', { class: 'hint' }, inp.hint) : null);
    });
    const ok = h('button', { type: 'submit', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], 'data-confirm': 'ok' }, okText || t('common.ok'));
    const cancel = h('button', { type: 'button', class: 'btn btn-default', 'data-confirm': 'cancel' }, t('common.cancel'));
    let settled = false;
    const form = h('form', { class: 'confirm-form', novalidate: true },
      message ? h('p', { class: 'confirm-message' }, message) : null,
      facts && facts.length ? descriptions(facts) : null,
      inputEls,
      errBox);
    const dlg = modal({
      title: title || t('common.confirm'),
      body: form,
      footer: [cancel, ok],
      className: 'confirm',
      onClose: () => { if (!settled) { settled = true; resolve(null); } },
    });
    cancel.addEventListener('click', () => dlg.close());
    const submit = async (e) => {
      if (e) e.preventDefault();
      clear(errBox);
      const values = {};
      for (const inp of inputs) {
        const v = fields[inp.name].value.trim();
        if (inp.required && !v) {
          errBox.appendChild(h('div', { class: 'error-message' }, t('form.required', { field: inp.label })));
          fields[inp.name].focus();
          return;
        }
        if (v && inp.pattern && !inp.pattern.test(v)) {
          errBox.appendChild(h('div', { class: 'error-message' }, inp.patternMessage || t('form.invalid', { field: inp.label })));
          fields[inp.name].focus();
          return;
        }
        values[inp.name] = v;
      }
      if (onOk) {
        try {
          await busy(ok, () => onOk(values));
        } catch (err) {
          if (err && err.silent) { settled = true; dlg.close(); resolve(null); return; }
          errBox.appendChild(errorBanner(err));
          return;
        }
      }
      settled = true;
      dlg.close();
      resolve({ values });
    };
    form.addEventListener('submit', (e) => { submit(e).catch(reportError); });
    ok.addEventListener('click', (e) => { submit(e).catch(reportError); });
  });
}

/** A right-hand drawer for details. */
export function drawer({ title, body }) {
  const panel = h('aside', { class: 'drawer', role: 'dialog', 'aria-modal': 'true' },
    h('div', { class: 'drawer-head' },
      h('h2', null, title),
      h('button', { type: 'button', class: 'modal-x', 'aria-label': t('common.close'), onclick: () => close() }, '×')),
    h('div', { class: 'drawer-body' }, body));
  const backdrop = h('div', { class: 'drawer-backdrop' }, panel);
  backdrop.addEventListener('mousedown', (e) => { if (e.target === backdrop) close(); });
  const stopEsc = onEscape(() => close());
  // Going to another page (a link in the drawer, the navigation) closes it.
  window.addEventListener('hashchange', close);
  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    stopEsc();
    window.removeEventListener('hashchange', close);
    backdrop.remove();
    document.body.classList.remove('modal-open');
  }
  document.body.appendChild(backdrop);
  document.body.classList.add('modal-open');
  return { el: panel, close };
}

// ---------- forms ----------

export function field(label, control, { required, hint, id } = {}) {
  const cid = id || control.id;
  return h('div', { class: 'field' },
    h('label', { for: cid }, label, required ? h('span', { class: 'req' }, ' *') : null),
    control,
    hint ? h('div', { class: 'hint' }, hint) : null);
}

export function select(options, attrs = {}) {
  const sel = h('select', attrs,
    options.map(([value, label]) => h('option', { value }, label)));
  if (attrs.value !== undefined) sel.value = attrs.value;
  return sel;
}

export function section(title, ...children) {
  return h('section', { class: 'card' },
    title ? h('div', { class: 'card-head' }, typeof title === 'string' ? h('h2', null, title) : title) : null,
    h('div', { class: 'card-body' }, children));
}

export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', null, title), extra.length ? h('div', { class: 'page-actions' }, extra) : null);
}

/** A random UUID, also where crypto.randomUUID is missing (plain http on an intranet). */
export function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') {
    try { return crypto.randomUUID(); } catch { /* insecure context */ }
  }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
