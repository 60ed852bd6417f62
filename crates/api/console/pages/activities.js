import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, confirmDialog, toast, statusTag, fmtTime,
  modal, field, select, localInputToIso, isoToLocalInput, errorBanner, busy, AMOUNT_RE,
} from '../ui.js';
import { orgId, canAct, state } from '../state.js';

const TABS = ['pending_review', 'published', 'rejected'];

export function render(ctx) {
  const mayAct = canAct();
  let tab = TABS.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'pending_review';
  let includePast = ctx.query.get('past') === '1';

  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const toolbar = h('div', { class: 'tab-tools' });
  const listBox = h('div');

  const renderTabs = () => {
    replace(tabBar, TABS.map((k) => h('button', {
      type: 'button', role: 'tab', class: ['tab', k === tab ? 'active' : null], 'data-tab': k,
      'aria-selected': k === tab ? 'true' : 'false',
      onclick: () => { tab = k; refresh(); },
    }, t('activities.tab_' + k))));
    replace(toolbar);
    if (tab === 'published') {
      const cb = h('input', { type: 'checkbox', id: 'include-past', checked: includePast });
      cb.addEventListener('change', () => { includePast = cb.checked; refresh(); });
      toolbar.appendChild(h('label', { class: 'check' }, cb, ' ', t('activities.include_past')));
    }
  };

  const refresh = () => {
    ctx.app.setQuery('/activities', { status: tab, past: tab === 'published' && includePast ? '1' : '' });
    renderTabs();
    const list = activityList(tab, includePast, mayAct);
    replace(listBox, list.el);
    list.reload();
  };

  const createBtn = mayAct
    ? button(t('activities.create'), { 'data-action': 'create', onclick: () => createDialog(() => { if (tab === 'pending_review') refresh(); }) }, 'primary')
    : null;

  refresh();
  return h('main', { 'data-page': 'activities' },
    pageHeader(t('nav.activities'), createBtn),
    section(null, h('div', { class: 'tab-row' }, tabBar, toolbar), listBox));
}

function activityList(tab, includePast, mayAct) {
  const columns = [
    { label: t('activity.title'), render: (a) => h('a', { href: `#/activities/${encodeURIComponent(a.id)}` }, a.title) },
    { label: t('activity.category'), render: (a) => a.category },
    { label: t('activity.time'), render: (a) => h('span', { class: 'nowrap-lines' }, fmtTime(a.starts_at), h('br'), fmtTime(a.ends_at)) },
    { label: t('activity.location'), render: (a) => a.location },
    { label: t('activity.signed_up'), render: (a) => `${a.signed_up ?? 0} / ${a.capacity}` },
    { label: t('common.status'), render: (a) => h('span', { class: 'status-cell' }, statusTag(a.status)) },
    { label: t('common.actions'), class: 'actions', render: (a) => rowActions(a, mayAct) },
  ];
  return pagedTable({
    columns,
    rowAttrs: (a) => ({ 'data-id': a.id, 'data-status': a.status }),
    fetchPage: (cursor) => api.get('/activities', {
      status: tab,
      org_id: orgId(),
      // upcoming first; with "recently finished" the list starts 30 days back
      from: tab === 'published' ? new Date(Date.now() - (includePast ? 30 * 86400e3 : 0)).toISOString() : null,
      cursor,
      limit: 50,
    }),
  });
}

function rowActions(a, mayAct) {
  const box = h('div', { class: 'row-actions' },
    h('a', { class: 'btn btn-link btn-sm', href: `#/activities/${encodeURIComponent(a.id)}`, 'data-action': 'view' }, t('common.view')));
  if (mayAct && a.status === 'pending_review') {
    box.appendChild(button(t('review.approve'), {
      class: 'btn-sm', 'data-action': 'approve',
      onclick: (e) => review(a, 'approve', e.currentTarget.closest('tr')),
    }, 'primary'));
    box.appendChild(button(t('review.reject'), {
      class: 'btn-sm', 'data-action': 'reject',
      onclick: (e) => review(a, 'reject', e.currentTarget.closest('tr')),
    }, 'danger'));
  }
  return box;
}

/** Approve or reject a pending activity; updates the row (tr) when given. */
export async function review(a, decision, tr) {
  const reject = decision === 'reject';
  const res = await confirmDialog({
    title: t(reject ? 'review.reject_title' : 'review.approve_title'),
    message: t(reject ? 'review.reject_confirm' : 'review.approve_confirm', { title: a.title }),
    facts: [
      [t('activity.time'), `${fmtTime(a.starts_at)} – ${fmtTime(a.ends_at)}`],
      [t('activity.capacity'), String(a.capacity)],
    ],
    okText: t(reject ? 'review.reject' : 'review.approve'),
    danger: reject,
    inputs: reject ? [{ name: 'reason', label: t('review.reason'), type: 'textarea', required: true }] : [],
    onOk: async (values) => {
      const body = reject ? { decision, reason: values.reason } : { decision };
      const updated = await api.post(`/activities/${encodeURIComponent(a.id)}/review`, body);
      a.status = (updated && updated.status) || (reject ? 'rejected' : 'published');
    },
  });
  if (!res) return false;
  if (tr) {
    tr.dataset.status = a.status;
    const cell = tr.querySelector('.status-cell');
    if (cell) replace(cell, statusTag(a.status));
    tr.querySelectorAll('[data-action="approve"], [data-action="reject"]').forEach((b) => b.remove());
  }
  toast(t(reject ? 'review.rejected' : 'review.approved', { title: a.title }), 'success');
  return true;
}

async function createDialog(onCreated) {
  const orgSel = select([[orgId(), state.org.org_name || orgId()]], { id: 'act-org', value: orgId() });
  // the organising org may be a child of the current one
  api.get(`/orgs/${encodeURIComponent(orgId())}/children`, { limit: 200 }).then((r) => {
    for (const c of (r && r.items) || []) orgSel.appendChild(h('option', { value: c.id }, `— ${c.name}`));
  }).catch(() => { /* the current org is enough */ });

  const start = new Date(Date.now() + 24 * 3600e3);
  start.setMinutes(0, 0, 0);
  const end = new Date(start.getTime() + 2 * 3600e3);
  const title = h('input', { id: 'act-title', maxlength: 100, required: true });
  const category = h('input', { id: 'act-category', maxlength: 30, required: true, list: 'act-categories' });
  const categories = h('datalist', { id: 'act-categories' },
    ['助老', '环保', '文明实践', '社区服务', '助学', '应急'].map((c) => h('option', { value: c })));
  const starts = h('input', { id: 'act-starts', type: 'datetime-local', value: isoToLocalInput(start.toISOString()), required: true });
  const ends = h('input', { id: 'act-ends', type: 'datetime-local', value: isoToLocalInput(end.toISOString()), required: true });
  const capacity = h('input', { id: 'act-capacity', type: 'number', min: 1, max: 10000, value: '20', required: true, inputmode: 'numeric' });
  const location = h('input', { id: 'act-location', maxlength: 200 });
  const pph = h('input', { id: 'act-pph', inputmode: 'decimal', placeholder: t('activities.pph_placeholder') });
  const description = h('textarea', { id: 'act-description', rows: 3, maxlength: 2000 });
  const errBox = h('div');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-confirm': 'ok' }, t('activities.submit'));
  const cancel = button(t('common.cancel'), { 'data-confirm': 'cancel' });

  const form = h('form', { class: 'form-grid', novalidate: true, id: 'activity-form' },
    field(t('activity.org'), orgSel, { required: true }),
    field(t('activity.title'), title, { required: true }),
    field(t('activity.category'), category, { required: true }),
    categories,
    field(t('activity.starts_at'), starts, { required: true }),
    field(t('activity.ends_at'), ends, { required: true }),
    field(t('activity.capacity'), capacity, { required: true }),
    field(t('activity.location'), location),
    field(t('activity.points_per_hour'), pph, { hint: t('activities.pph_hint') }),
    field(t('activity.description'), description),
    errBox);
  const dlg = modal({ title: t('activities.create'), body: form, footer: [cancel, submit], wide: true });
  cancel.addEventListener('click', () => dlg.close());

  const send = async (e) => {
    e.preventDefault();
    replace(errBox);
    const problems = [];
    const s = localInputToIso(starts.value);
    const en = localInputToIso(ends.value);
    const cap = Number(capacity.value);
    if (!title.value.trim()) problems.push(t('form.required', { field: t('activity.title') }));
    if (!category.value.trim()) problems.push(t('form.required', { field: t('activity.category') }));
    if (!s) problems.push(t('form.required', { field: t('activity.starts_at') }));
    if (!en) problems.push(t('form.required', { field: t('activity.ends_at') }));
    if (s && en && new Date(en) <= new Date(s)) problems.push(t('activities.end_before_start'));
    if (!Number.isInteger(cap) || cap < 1 || cap > 10000) problems.push(t('activities.bad_capacity'));
    if (pph.value.trim() && !AMOUNT_RE.test(pph.value.trim())) problems.push(t('form.invalid', { field: t('activity.points_per_hour') }));
    if (problems.length) {
      errBox.appendChild(h('div', { class: 'error-message banner' }, h('ul', { class: 'facts' }, problems.map((p) => h('li', null, p)))));
      return;
    }
    const body = {
      org_id: orgSel.value,
      title: title.value.trim(),
      category: category.value.trim(),
      starts_at: s,
      ends_at: en,
      capacity: cap,
    };
    if (location.value.trim()) body.location = location.value.trim();
    if (description.value.trim()) body.description = description.value.trim();
    if (pph.value.trim()) body.points_per_hour = pph.value.trim();
    await busy(submit, async () => {
      try {
        const created = await api.post('/activities', body);
        dlg.close();
        toast(t('activities.created', { title: created && created.title ? created.title : body.title }), 'success');
        onCreated(created);
      } catch (err) {
        replace(errBox, errorBanner(err));
      }
    });
  };
  form.addEventListener('submit', (e) => { send(e); });
  submit.addEventListener('click', (e) => { send(e); });
}
