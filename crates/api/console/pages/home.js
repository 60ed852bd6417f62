import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, pagedTable, button, confirmDialog, toast,
  fmtTime, roleLabel,
} from '../ui.js';
import { idText } from './names.js';
import { state, orgId, canAct } from '../state.js';

const QUEUES = [
  ['pending_volunteers', '#/volunteers?status=pending'],
  ['pending_residents', '#/residents?status=pending'],
  ['activities_to_review', '#/activities?status=pending_review'],
  ['awards_to_approve', '#/cases?status=pending'],
  ['disputed_requests', '#/services?status=disputed'],
  ['open_wishes', '#/wishes?status=open'],
  ['reserved_orders', '#/sites'],
];

export async function render() {
  const org = orgId();
  const queues = h('div', { class: 'queue-grid' }, loading());
  const main = h('main', { 'data-page': 'home' },
    pageHeader(t('home.title'), h('span', { class: 'muted' }, state.org ? state.org.org_name || '' : '')),
    section(t('home.todo'), queues),
    grantsSection(org));

  api.get(`/orgs/${encodeURIComponent(org)}/queues`).then((q) => {
    replace(queues, QUEUES.map(([key, href]) => {
      const n = Number(q[key] ?? 0);
      return h('a', { class: ['queue-card', n > 0 ? 'has-work' : 'no-work'], href, 'data-queue': key },
        h('span', { class: 'count' }, String(n)),
        h('span', { class: 'queue-label' }, t('queue.' + key)),
        h('span', { class: 'queue-go', 'aria-hidden': 'true' }, '›'));
    }));
  }).catch((err) => replace(queues, errorBanner(err)));

  return main;
}

function grantsSection(org) {
  const mayRevoke = canAct();
  const columns = [
    { label: t('grants.name'), render: (g) => g.name || idText(g.user_id) },
    { label: t('grants.phone'), render: (g) => g.phone },
    { label: t('grants.role'), render: (g) => h('span', { class: 'tag tag-blue' }, roleLabel(g.role)) },
    { label: t('grants.where'), render: (g) => (g.site_id ? `${g.site_name || g.site_id}` : g.org_name || g.org_id) },
    { label: t('grants.granted_at'), render: (g) => fmtTime(g.created_at) },
  ];
  if (mayRevoke) {
    columns.push({
      label: t('common.actions'),
      class: 'actions',
      render: (g) => {
        if (state.me && g.user_id === state.me.id) return h('span', { class: 'muted' }, t('grants.you'));
        return button(t('grants.revoke'), {
          'data-action': 'revoke',
          class: 'btn-sm',
          onclick: (e) => revoke(e.currentTarget, g),
        }, 'danger-link');
      },
    });
  }
  const list = pagedTable({
    columns,
    rowAttrs: (g) => ({ 'data-id': g.user_id, 'data-role': g.role }),
    fetchPage: (cursor) => api.get(`/orgs/${encodeURIComponent(org)}/admins`, { cursor, limit: 50 }),
  });
  list.reload();
  return section(t('grants.title'), h('p', { class: 'muted small' }, t('grants.hint')), list.el);
}

async function revoke(btn, g) {
  const where = g.site_id ? g.site_name || g.site_id : g.org_name || g.org_id;
  const path = g.role === 'site_operator' && g.site_id
    ? `/sites/${encodeURIComponent(g.site_id)}/operators/${encodeURIComponent(g.user_id)}`
    : `/orgs/${encodeURIComponent(g.org_id)}/admins/${encodeURIComponent(g.user_id)}`;
  const res = await confirmDialog({
    title: t('grants.revoke_title'),
    message: t('grants.revoke_confirm', { name: g.name || g.user_id, role: roleLabel(g.role), where }),
    okText: t('grants.revoke'),
    danger: true,
    onOk: () => api.del(path),
  });
  if (!res) return;
  const tr = btn.closest('tr');
  if (tr) tr.remove();
  toast(t('grants.revoked'), 'success');
}
