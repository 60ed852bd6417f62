import * as api from '../api.js';
import { t } from '../i18n/index.js';
import { h, section, pageHeader, table, empty, fmtTime } from '../ui.js';
import { state, orgId, isOperatorOnly } from '../state.js';

export async function render() {
  let items;
  if (isOperatorOnly()) {
    items = state.siteScopes.map((s) => ({ id: s.site_id, name: s.site_name || s.site_id, org_id: s.org_id, address: '' }));
  } else {
    const r = await api.get('/sites', { org_id: orgId() });
    items = (r && r.items) || [];
  }
  const mine = new Set(state.siteScopes.map((s) => s.site_id));
  const body = items.length ? table([
    { label: t('sites.name'), render: (s) => h('a', { href: `#/sites/${encodeURIComponent(s.id)}` }, s.name) },
    { label: t('sites.address'), render: (s) => s.address },
    { label: t('sites.yours'), render: (s) => (mine.has(s.id) ? h('span', { class: 'tag tag-blue' }, t('sites.operator_here')) : '—') },
    { label: t('common.created_at'), render: (s) => fmtTime(s.created_at) },
        { label: t('common.actions'), class: 'actions', render: (s) => h('a', { class: 'btn btn-link btn-sm', href: `#/sites/${encodeURIComponent(s.id)}`, 'data-action': 'open' }, t('sites.open')) },
  ], items, (s) => ({ 'data-id': s.id })).el : empty();
  return h('main', { 'data-page': 'sites' },
    pageHeader(t('nav.sites')),
    section(null, h('p', { class: 'muted small' }, t('sites.hint')), body));
}
