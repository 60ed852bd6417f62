import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, confirmDialog, toast, statusTag, fmtTime,
  fmtAmount, select, drawer, descriptions, modal, busy, errorBanner, uuid, AMOUNT_RE, clear,
} from '../ui.js';
import { orgId, canAct } from '../state.js';
import { volunteerPicker } from './picker.js';
import { volunteerLink, idText, txLink, orgName } from './names.js';

const STATUSES = ['open', 'dispatched', 'accepted', 'completed', 'disputed', 'rated', 'settled', 'cancelled'];

export function render(ctx) {
  const mayAct = canAct();
  const status0 = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : '';
  const statusSel = select([['', t('common.all')], ...STATUSES.map((s) => [s, t('status.' + s)])],
    { id: 'filter-status', value: status0, 'aria-label': t('filter.status') });

  const columns = [
    { label: t('services.category'), render: (r) => h('strong', null, r.category) },
    { label: t('services.community'), render: (r) => orgName(r.community_id, r.community_name) },
    { label: t('services.description'), render: (r) => h('span', { class: 'clamp' }, r.description || '') },
    { label: t('services.wanted_at'), render: (r) => fmtTime(r.wanted_at) },
    { label: t('services.payment'), render: (r) => t('services.payment_' + r.payment, null, r.payment) },
    { label: t('services.max_hours'), render: (r) => fmtAmount(r.max_hours) },
    { label: t('common.status'), render: (r) => h('span', { class: 'status-cell' }, statusTag(r.status)) },
    { label: t('services.volunteer'), render: (r) => h('span', { class: 'volunteer-cell' }, volunteerLink(r.volunteer_id, r.volunteer_name)) },
    { label: t('services.reported_hours'), render: (r) => fmtAmount(r.reported_hours) },
    { label: t('services.stars'), render: (r) => (r.stars ? '★'.repeat(r.stars) : '—') },
    { label: t('common.created_at'), render: (r) => fmtTime(r.created_at) },
    { label: t('common.actions'), class: 'actions', render: (r) => rowActions(r, mayAct) },
  ];
  const list = pagedTable({
    columns,
    rowAttrs: (r) => ({ 'data-id': r.id, 'data-status': r.status }),
    fetchPage: (cursor) => api.get('/service-requests', { community_id: orgId(), status: statusSel.value, cursor, limit: 50 }),
  });
  statusSel.addEventListener('change', () => {
    ctx.app.setQuery('/services', { status: statusSel.value });
    list.reload();
  });
  list.reload();

  return h('main', { 'data-page': 'services' },
    pageHeader(t('nav.services')),
    section(null,
      h('div', { class: 'filters' }, h('label', { class: 'filter' }, h('span', null, t('filter.status')), statusSel)),
      list.el));
}

function rowActions(r, mayAct) {
  const box = h('div', { class: 'row-actions' },
    button(t('common.details'), { class: 'btn-sm', 'data-action': 'details', onclick: () => details(r) }, 'link'));
  if (mayAct && r.status === 'open') {
    box.appendChild(button(t('services.dispatch'), { class: 'btn-sm', 'data-action': 'dispatch', onclick: (e) => dispatch(r, e.currentTarget.closest('tr')) }, 'primary'));
  }
  if (mayAct && r.status === 'disputed') {
    box.appendChild(button(t('services.resolve'), { class: 'btn-sm', 'data-action': 'resolve', onclick: (e) => resolve(r, e.currentTarget.closest('tr')) }, 'primary'));
  }
  return box;
}

function updateRow(tr, r) {
  if (!tr) return;
  tr.dataset.status = r.status;
  const cell = tr.querySelector('.status-cell');
  if (cell) replace(cell, statusTag(r.status));
  tr.querySelectorAll('[data-action="dispatch"], [data-action="resolve"]').forEach((b) => b.remove());
}

function dispatch(r, tr) {
  const picker = volunteerPicker({ id: 'dispatch-volunteer' });
  const errBox = h('div');
  const ok = h('button', { type: 'button', class: 'btn btn-primary', 'data-confirm': 'ok' }, t('services.dispatch'));
  const cancel = h('button', { type: 'button', class: 'btn btn-default', 'data-confirm': 'cancel' }, t('common.cancel'));
  const dlg = modal({
    title: t('services.dispatch_title'),
    body: [
      descriptions([
        [t('services.category'), r.category],
        [t('services.description'), r.description],
        [t('services.wanted_at'), fmtTime(r.wanted_at)],
      ]),
      h('div', { class: 'field' }, h('label', { for: 'dispatch-volunteer' }, t('services.choose_volunteer')), picker.el),
      (r.declines && r.declines.length) ? h('div', { class: 'notice notice-info' }, t('services.declined_before', { n: r.declines.length })) : null,
      errBox,
    ],
    footer: [cancel, ok],
  });
  cancel.addEventListener('click', () => dlg.close());
  ok.addEventListener('click', () => {
    clear(errBox);
    const vid = picker.value();
    if (!vid) { errBox.appendChild(h('div', { class: 'error-message' }, t('services.no_volunteer'))); return; }
    busy(ok, async () => {
      try {
        const updated = await api.post(`/service-requests/${encodeURIComponent(r.id)}/dispatch`, { volunteer_id: vid });
        Object.assign(r, updated || { status: 'dispatched', volunteer_id: vid });
        dlg.close();
        updateRow(tr, r);
        const v = picker.chosen();
        toast(t('services.dispatched', { name: v ? v.name : vid }), 'success');
      } catch (err) {
        replace(errBox, errorBanner(err));
      }
    });
  });
}

async function resolve(r, tr) {
  const key = uuid();
  let updated = null;
  const res = await confirmDialog({
    title: t('services.resolve_title'),
    message: t('services.resolve_confirm'),
    facts: [
      [t('services.category'), r.category],
      [t('services.reported_hours'), fmtAmount(r.reported_hours)],
      [t('services.max_hours'), fmtAmount(r.max_hours)],
      [t('services.payment'), t('services.payment_' + r.payment, null, r.payment)],
      r.comment ? [t('services.comment'), r.comment] : null,
    ].filter(Boolean),
    okText: t('services.resolve_ok'),
    inputs: [{
      name: 'hours', label: t('services.hours_found'), required: true, inputmode: 'decimal',
      value: r.reported_hours || '', pattern: AMOUNT_RE, patternMessage: t('services.bad_hours'),
    }],
    onOk: async (values) => {
      updated = await api.post(`/service-requests/${encodeURIComponent(r.id)}/resolve`, { hours: values.hours }, { idempotencyKey: key });
    },
  });
  if (!res) return;
  Object.assign(r, updated || { status: 'settled' });
  updateRow(tr, r);
  toast(t('services.resolved', { hours: fmtAmount(r.settled_hours ?? res.values.hours) }), 'success');
}

function details(r) {
  drawer({
    title: `${r.category} · ${t('status.' + r.status, null, r.status)}`,
    body: [
      descriptions([
        [t('common.status'), statusTag(r.status)],
        [t('services.category'), r.category],
        [t('services.description'), r.description],
        [t('services.requester'), r.requester_name || idText(r.requester_id)],
        [t('services.wanted_at'), fmtTime(r.wanted_at)],
        [t('services.wanted_until'), fmtTime(r.wanted_until)],
        [t('services.payment'), t('services.payment_' + r.payment, null, r.payment)],
        [t('services.max_hours'), fmtAmount(r.max_hours)],
        [t('services.held_points'), fmtAmount(r.held_points)],
        [t('services.volunteer'), volunteerLink(r.volunteer_id, r.volunteer_name)],
        [t('services.reported_hours'), fmtAmount(r.reported_hours)],
        [t('services.stars'), r.stars ? '★'.repeat(r.stars) : '—'],
        [t('services.comment'), r.comment],
        [t('services.settled_hours'), fmtAmount(r.settled_hours)],
        [t('services.settled_points'), fmtAmount(r.settled_points)],
        [t('services.settlement_tx'), txLink(r.settlement_transaction_id)],
        [t('services.cancel_reason'), r.cancel_reason],
        [t('common.created_at'), fmtTime(r.created_at)],
        [t('common.id'), idText(r.id)],
      ]),
      r.declines && r.declines.length ? h('div', null,
        h('h3', null, t('services.declines')),
        h('ul', { class: 'plain' }, r.declines.map((d) => h('li', null, `${fmtTime(d.at)} · ${d.volunteer_name || d.volunteer_id}: ${d.reason}`)))) : null,
    ],
  });
}
