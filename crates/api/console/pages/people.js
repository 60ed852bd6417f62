// The volunteers and residents lists share one implementation.

import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, pageHeader, pagedTable, button, confirmDialog, toast, statusTag, stars, fmtTime,
  select, section, modal,
} from '../ui.js';
import { orgId, canAct } from '../state.js';

const STATUSES = ['pending', 'active', 'suspended'];

export function peoplePage(kind, ctx) {
  const isVol = kind === 'volunteers';
  const mayAct = canAct();
  const status0 = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : '';
  const q0 = ctx.query.get('q') || '';

  const statusSel = select([['', t('common.all')], ...STATUSES.map((s) => [s, t('status.' + s)])],
    { id: 'filter-status', name: 'status', value: status0, 'aria-label': t('filter.status') });
  const qInput = h('input', {
    id: 'filter-q', name: 'q', type: 'search', value: q0, placeholder: t('people.search_placeholder'),
    'aria-label': t('filter.search'), maxlength: 50,
  });
  const searchBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'search' }, t('filter.search'));
  const resetBtn = h('button', { type: 'button', class: 'btn btn-default', 'data-action': 'reset' }, t('filter.reset'));

  const columns = [
    {
      label: t('people.name'),
      render: (p) => (isVol ? h('a', { href: `#/volunteers/${encodeURIComponent(p.id)}` }, p.name) : h('strong', null, p.name)),
    },
    { label: t('people.phone'), render: (p) => p.phone },
    { label: t('people.community'), render: (p) => p.community_name || p.community_id },
    { label: t('common.status'), render: (p) => h('span', { class: 'status-cell' }, statusTag(p.status)) },
  ];
  if (isVol) {
    columns.push({ label: t('people.star_level'), render: (p) => stars(p.star_level) });
    columns.push({
      label: t('people.skills'),
      render: (p) => (p.skills && p.skills.length ? h('span', { class: 'skills' }, p.skills.map((sk) => h('span', { class: 'tag tag-default' }, sk))) : '—'),
    });
  }
  columns.push({ label: t('people.registered_at'), render: (p) => fmtTime(p.created_at) });
  columns.push({ label: t('people.approved_at'), render: (p) => fmtTime(p.approved_at) });
  columns.push({
    label: t('common.actions'),
    class: 'actions',
    render: (p) => rowActions(kind, p, mayAct),
  });

  const list = pagedTable({
    columns,
    rowAttrs: (p) => ({ 'data-id': p.id, 'data-status': p.status }),
    fetchPage: (cursor) => api.get(`/${kind}`, {
      org_id: orgId(), status: statusSel.value, q: qInput.value.trim(), cursor, limit: 50,
    }),
  });

  const form = h('form', { class: 'filters', role: 'search' },
    h('label', { class: 'filter' }, h('span', null, t('filter.status')), statusSel),
    h('label', { class: 'filter grow' }, h('span', null, t('filter.search')), qInput),
    h('div', { class: 'filter-buttons' }, searchBtn, resetBtn));
  const apply = () => {
    ctx.app.setQuery(`/${kind}`, { status: statusSel.value, q: qInput.value.trim() });
    list.reload();
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  statusSel.addEventListener('change', apply);
  resetBtn.addEventListener('click', () => { statusSel.value = ''; qInput.value = ''; apply(); });

  list.reload();
  return h('main', { 'data-page': kind },
    pageHeader(t(`nav.${kind}`)),
    section(null, form, list.el));
}

function rowActions(kind, p, mayAct) {
  const box = h('div', { class: 'row-actions' });
  if (kind === 'volunteers') {
    box.appendChild(h('a', { class: 'btn btn-link btn-sm', href: `#/volunteers/${encodeURIComponent(p.id)}`, 'data-action': 'view' }, t('common.view')));
  }
  if (mayAct && p.status === 'pending') {
    box.appendChild(button(t('people.approve'), {
      class: 'btn-sm',
      'data-action': 'approve',
      onclick: (e) => approve(kind, p, e.currentTarget),
    }, 'primary'));
  }
  if (mayAct && kind === 'residents') {
    box.appendChild(button(t('reset.button_short'), {
      class: 'btn-sm',
      'data-action': 'reset-code',
      onclick: () => issueResetCode('residents', p),
    }, 'link'));
  }
  return box.childNodes.length ? box : '—';
}

export async function approve(kind, p, btn) {
  const res = await confirmDialog({
    title: t(kind === 'volunteers' ? 'people.approve_volunteer_title' : 'people.approve_resident_title'),
    message: t('people.approve_confirm', { name: p.name }),
    facts: [
      [t('people.phone'), p.phone],
      [t('people.community'), p.community_name || p.community_id],
    ],
    okText: t('people.approve'),
    onOk: async (/* values */) => {
      const updated = await api.post(`/${kind}/${encodeURIComponent(p.id)}/approve`);
      Object.assign(p, { status: (updated && updated.status) || 'active' }, updated && updated.approved_at ? { approved_at: updated.approved_at } : {});
    },
  });
  if (!res) return false;
  const tr = btn && btn.closest('tr');
  if (tr) {
    tr.dataset.status = p.status;
    const cell = tr.querySelector('.status-cell');
    if (cell) replace(cell, statusTag(p.status));
    btn.remove();
  }
  toast(t('people.approved', { name: p.name }), 'success');
  return true;
}

/** POST /{kind}/{id}/reset-code and show the code once. */
export async function issueResetCode(kind, p) {
  const res = await confirmDialog({
    title: t('reset.title'),
    message: t('reset.confirm', { name: p.name }),
    okText: t('reset.issue'),
    onOk: async () => {
      const r = await api.post(`/${kind}/${encodeURIComponent(p.id)}/reset-code`);
      showResetCode(p, r);
    },
  });
  return res;
}

function showResetCode(p, r) {
  const done = button(t('reset.done'), { 'data-action': 'close' }, 'primary');
  const dlg = modal({
    title: t('reset.code_title', { name: p.name }),
    className: 'reset-dialog',
    body: [
      h('div', { id: 'reset-code', class: 'big-code', 'aria-live': 'polite' }, r && r.code ? String(r.code) : '—'),
      h('p', { class: 'reset-expiry' }, t('reset.expires', { time: fmtTime(r && r.expires_at) })),
      h('div', { class: 'notice notice-warning' }, t('reset.once')),
      h('p', { class: 'muted small' }, t('reset.howto')),
    ],
    footer: [done],
  });
  done.addEventListener('click', () => dlg.close());
}
