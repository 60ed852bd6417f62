// Partner units (共建单位) and the people who report from them (双报到).
import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, statusTag, fmtTime, fmtAmount, drawer,
  descriptions, confirmDialog, toast, table, tabs, loading, errorBanner,
} from '../ui.js';
import { orgId, canAct } from '../state.js';
import { volunteerLink, idText } from './names.js';

const STATUSES = ['active', 'pending', 'withdrawn', 'rejected'];

export function render(ctx) {
  const mayAct = canAct();
  let status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'active';
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const box = h('div');
  const refresh = () => {
    ctx.app.setQuery('/units', { status });
    replace(tabBar, tabs(STATUSES, status, (k) => t('units.tab_' + k), (k) => { status = k; refresh(); }));
    const list = pagedTable({
      columns: [
        { label: t('units.name'), render: (u) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); details(u.id); } }, u.name) },
        { label: t('units.kind'), render: (u) => t('units.kind_' + u.kind, null, u.kind) },
        { label: t('units.org'), render: (u) => u.org_name || idText(u.org_id) },
        { label: t('units.contact'), render: (u) => u.contact || '—' },
        { label: t('common.status'), render: (u) => statusTag(u.status) },
        { label: t('common.created_at'), render: (u) => fmtTime(u.created_at) },
        { label: t('common.actions'), class: 'actions', render: (u) => actions(u, mayAct, refresh) },
      ],
      rowAttrs: (u) => ({ 'data-id': u.id, 'data-status': u.status }),
      fetchPage: (cursor) => api.get('/units', { org_id: orgId(), status, cursor, limit: 50 }),
    });
    replace(box, list.el);
    list.reload();
  };
  refresh();
  return h('main', { 'data-page': 'units' },
    pageHeader(t('nav.units')),
    section(null, tabBar, box));
}

function actions(u, mayAct, refresh) {
  const row = [button(t('common.details'), { class: 'btn-sm', 'data-action': 'details', onclick: () => details(u.id) }, 'link')];
  if (mayAct && u.status === 'pending') {
    row.push(button(t('units.approve'), { class: 'btn-sm', 'data-action': 'approve', onclick: () => decide(u, 'approve', refresh) }, 'primary'));
    row.push(button(t('units.reject'), { class: 'btn-sm', 'data-action': 'reject', onclick: () => decide(u, 'reject', refresh) }, 'danger'));
  }
  return h('div', { class: 'row-actions' }, row);
}

async function decide(u, step, refresh) {
  const reject = step === 'reject';
  const res = await confirmDialog({
    title: t('units.' + step),
    message: t('units.' + step + '_confirm', { name: u.name }),
    facts: [[t('units.kind'), t('units.kind_' + u.kind, null, u.kind)], [t('units.org'), u.org_name || u.org_id], [t('units.contact'), u.contact || '—']],
    okText: t('units.' + step),
    danger: reject,
    inputs: reject ? [{ name: 'reason', label: t('common.reason'), type: 'textarea', required: true }] : [],
    onOk: (v) => api.post(`/units/${encodeURIComponent(u.id)}/${step}`, reject ? { reason: v.reason } : undefined),
  });
  if (res) { toast(t('common.done')); refresh(); }
}

async function details(id) {
  const body = h('div', null, loading());
  drawer({ title: t('nav.units'), body });
  let u;
  try {
    u = await api.get(`/units/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(body, errorBanner(err));
    return;
  }
  replace(body,
    descriptions([
      [t('units.name'), u.name],
      [t('common.status'), statusTag(u.status)],
      [t('units.kind'), t('units.kind_' + u.kind, null, u.kind)],
      [t('units.org'), u.org_name || idText(u.org_id)],
      [t('units.contact'), u.contact || '—'],
      [t('units.members'), String(u.member_count)],
    ]),
    h('h3', null, t('units.members')),
    u.members && u.members.length ? table([
      { label: t('units.member'), render: (m) => volunteerLink(m.volunteer_id, m.name) },
      { label: t('units.community'), render: (m) => m.community_name || idText(m.community_id) },
      { label: t('units.service_hours'), render: (m) => (m.confirmed ? fmtAmount(m.service_hours) : t('units.unconfirmed')) },
      { label: t('units.reported_at'), render: (m) => fmtTime(m.reported_at) },
    ], u.members).el : h('p', { class: 'muted' }, '—'));
}
