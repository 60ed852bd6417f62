// Some lists carry only a volunteer's id; this fills in the name once,
// shared by every row that shows the same person.

import * as api from '../api.js';
import { h } from '../ui.js';

const cache = new Map();
let running = 0;
const queue = [];

function pump() {
  while (running < 4 && queue.length) {
    const job = queue.shift();
    running += 1;
    job().finally(() => { running -= 1; pump(); });
  }
}

function lookup(id) {
  if (!cache.has(id)) {
    cache.set(id, new Promise((resolve) => {
      queue.push(() => api.get(`/volunteers/${encodeURIComponent(id)}`)
        .then((v) => resolve(v && v.name ? v.name : null))
        .catch(() => resolve(null)));
      pump();
    }));
  }
  return cache.get(id);
}

export function shortId(id) {
  const s = String(id || '');
  return s.length > 12 ? `…${s.slice(-8)}` : s;
}

/** A link to the volunteer's profile, labelled with the name when it is known (or found). */
export function volunteerLink(id, name) {
  if (!id) return '—';
  const a = h('a', { href: `#/volunteers/${encodeURIComponent(id)}`, title: id, 'data-volunteer-id': id }, name || shortId(id));
  if (!name) {
    lookup(id).then((n) => { if (n) a.textContent = n; });
  }
  return a;
}

/** An id shown short, whole in its tooltip. */
export function idText(id) {
  if (!id) return '—';
  return h('code', { class: 'mono', title: id }, shortId(id));
}

/** A transaction id that opens it on the ledger page. */
export function txLink(id) {
  if (!id) return '—';
  return h('a', { href: `#/ledger?tx=${encodeURIComponent(id)}`, class: 'mono', title: id, 'data-transaction-id': id }, shortId(id));
}

const orgNames = new Map();

/** The name of an organisation (public endpoint), filled in when it arrives. */
export function orgName(id, known) {
  if (!id) return '—';
  const span = h('span', { title: id, 'data-org-id': id }, known || shortId(id));
  if (!known) {
    if (!orgNames.has(id)) orgNames.set(id, api.get(`/orgs/${encodeURIComponent(id)}`).then((o) => (o && o.name) || null).catch(() => null));
    orgNames.get(id).then((n) => { if (n) span.textContent = n; });
  }
  return span;
}
