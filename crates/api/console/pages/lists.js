// The three lists (需求清单 · 资源清单 · 项目清单) with two-way claiming:
// publish for the current org, claim for it, confirm or decline claims.
import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, statusTagAs, fmtTime, drawer, descriptions,
  confirmDialog, toast, tabs, table, loading, errorBanner, select,
} from '../ui.js';
import { orgId, canAct } from '../state.js';
import { idText } from './names.js';

const LISTS = ['need', 'resource', 'project'];
const STATUSES = ['open', 'claimed', 'matched', 'withdrawn'];

export function render(ctx) {
  const mayAct = canAct();
  let list = LISTS.includes(ctx.query.get('list')) ? ctx.query.get('list') : 'need';
  let status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'open';
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const statusPick = select(STATUSES.map((s) => [s, t('lists.status_' + s)]), {
    'aria-label': t('common.status'), 'data-filter': 'status',
    onchange: (e) => { status = e.target.value; refresh(); },
  });
  statusPick.value = status;
  // Items are claimed across the district; one's own are in one's subtree.
  let scope = ctx.query.get('scope') === 'mine' ? 'mine' : 'district';
  const scopePick = select([['district', t('lists.scope_district')], ['mine', t('lists.scope_mine')]], {
    'aria-label': t('lists.scope'), 'data-filter': 'scope',
    onchange: (e) => { scope = e.target.value; refresh(); },
  });
  scopePick.value = scope;
  let district = null;
  const scopeOrg = async () => {
    if (scope === 'mine') return orgId();
    if (!district) {
      const org = await api.get(`/orgs/${encodeURIComponent(orgId())}`);
      district = (org && org.district_id) || orgId();
    }
    return district;
  };
  const box = h('div');
  const refresh = () => {
    ctx.app.setQuery('/lists', { list, status, scope: scope === 'mine' ? 'mine' : null });
    replace(tabBar, tabs(LISTS, list, (k) => t('lists.list_' + k), (k) => { list = k; refresh(); }));
    const table = pagedTable({
      columns: [
        { label: t('lists.title'), render: (i) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); details(i.id); } }, i.title) },
        { label: t('lists.category'), render: (i) => i.category },
        { label: t('lists.owner'), render: (i) => i.unit_name || i.org_name || idText(i.org_id) },
        { label: t('lists.quantity'), render: (i) => (i.quantity == null ? '—' : String(i.quantity)) },
        { label: t('common.status'), render: (i) => statusTagAs(i.status, 'lists.status_') },
        { label: t('lists.claimant'), render: (i) => claimant(i.claim) },
        { label: t('common.created_at'), render: (i) => fmtTime(i.created_at) },
        { label: t('common.actions'), class: 'actions', render: (i) => actions(i, mayAct, refresh) },
      ],
      rowAttrs: (i) => ({ 'data-id': i.id, 'data-status': i.status }),
      fetchPage: async (cursor) => api.get('/list-items', { list, org_id: await scopeOrg(), status, cursor, limit: 50 }),
    });
    replace(box, table.el);
    table.reload();
  };
  refresh();
  const publishBtn = mayAct
    ? button(t('lists.publish'), { 'data-action': 'publish', onclick: () => publish(list, refresh) }, 'primary')
    : null;
  return h('main', { 'data-page': 'lists' },
    pageHeader(t('nav.lists'), publishBtn),
    section(null, tabBar, h('div', { class: 'filters' }, scopePick, statusPick), box));
}

function claimant(c) {
  if (!c) return '—';
  return c.by_unit_name || c.by_org_name || c.by_team_name || idText(c.by_unit_id || c.by_org_id || c.by_team_id);
}

/** What the current org may do: claim what others published, decide on
 *  claims of what it published (the server checks either way). */
function actions(i, mayAct, refresh) {
  const row = [];
  if (mayAct) {
    const own = !i.unit_id && i.org_id === orgId();
    if (i.status === 'open' && !own) {
      row.push(button(t('lists.claim'), { class: 'btn-sm', 'data-action': 'claim', onclick: () => claim(i, refresh) }, 'primary'));
    }
    if (i.status === 'claimed' && i.claim && i.claim.by_org_id === orgId()) {
      row.push(button(t('lists.unclaim'), { class: 'btn-sm', 'data-action': 'unclaim', onclick: () => step(i, 'unclaim', refresh) }, 'danger'));
    }
    if (i.status === 'claimed' && own) {
      row.push(button(t('lists.confirm'), { class: 'btn-sm', 'data-action': 'confirm', onclick: () => step(i, 'confirm', refresh) }, 'primary'));
      row.push(button(t('lists.decline'), { class: 'btn-sm', 'data-action': 'decline', onclick: () => step(i, 'decline', refresh) }, 'danger'));
    }
  }
  row.push(button(t('common.details'), { class: 'btn-sm', 'data-action': 'details', onclick: () => details(i.id) }, 'link'));
  return h('div', { class: 'row-actions' }, row);
}

async function claim(i, refresh) {
  const res = await confirmDialog({
    title: t('lists.claim'),
    message: t('lists.claim_confirm', { title: i.title }),
    okText: t('lists.claim'),
    inputs: [{ name: 'note', label: t('lists.note'), type: 'textarea' }],
    onOk: (v) => api.post(`/list-items/${encodeURIComponent(i.id)}/claim`, { by_org_id: orgId(), note: v.note || undefined }),
  });
  if (res) { toast(t('common.done')); refresh(); }
}

async function step(i, verb, refresh) {
  const decline = verb === 'decline' || verb === 'unclaim';
  let made = null;
  const res = await confirmDialog({
    title: t('lists.' + verb),
    message: t('lists.' + verb + '_confirm', { title: i.title, claimant: claimant(i.claim) }),
    okText: t('lists.' + verb),
    danger: decline,
    inputs: decline ? [{ name: 'reason', label: t('common.reason'), type: 'textarea' }] : [],
    onOk: async (v) => {
      made = await api.post(`/list-items/${encodeURIComponent(i.id)}/${verb}`, decline ? { reason: v.reason || undefined } : undefined);
    },
  });
  if (!res) return;
  toast(made && made.project ? t('lists.project_made', { title: made.project.title }) : t('common.done'));
  refresh();
}

async function publish(list, refresh) {
  const res = await confirmDialog({
    title: t('lists.publish_title', { list: t('lists.list_' + list) }),
    okText: t('lists.publish'),
    inputs: [
      { name: 'category', label: t('lists.category'), required: true },
      { name: 'title', label: t('lists.title'), required: true },
      { name: 'description', label: t('lists.description'), type: 'textarea', required: true },
      { name: 'quantity', label: t('lists.quantity'), inputmode: 'numeric', pattern: /^[1-9][0-9]{0,5}$/ },
    ],
    onOk: (v) => api.post('/list-items', {
      list, org_id: orgId(), category: v.category, title: v.title, description: v.description,
      quantity: v.quantity ? Number(v.quantity) : undefined,
    }),
  });
  if (res) { toast(t('common.done')); refresh(); }
}

async function details(id) {
  const body = h('div', null, loading());
  drawer({ title: t('nav.lists'), body });
  let i;
  try {
    i = await api.get(`/list-items/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(body, errorBanner(err));
    return;
  }
  replace(body,
    descriptions([
      [t('lists.title'), i.title],
      [t('lists.list'), t('lists.list_' + i.list)],
      [t('common.status'), statusTagAs(i.status, 'lists.status_')],
      [t('lists.category'), i.category],
      [t('lists.description'), i.description],
      [t('lists.owner'), i.unit_name || i.org_name || idText(i.org_id)],
      [t('lists.quantity'), i.quantity == null ? '—' : String(i.quantity)],
      [t('lists.until'), fmtTime(i.until)],
      [t('lists.project'), i.project_id ? h('a', { href: `#/projects?open=${encodeURIComponent(i.project_id)}` }, t('lists.project_link')) : '—'],
    ]),
    h('h3', null, t('lists.claims')),
    i.claims.length ? table([
      { label: t('lists.claimant'), render: (c) => idText(c.by_unit_id || c.by_org_id || c.by_team_id) },
      { label: t('lists.note'), render: (c) => c.note || '—' },
      { label: t('lists.claimed_at'), render: (c) => fmtTime(c.claimed_at) },
      { label: t('lists.outcome'), render: (c) => t('lists.outcome_' + c.outcome, null, c.outcome) },
      { label: t('common.reason'), render: (c) => c.reason || '—' },
    ], i.claims).el : h('p', { class: 'muted' }, '—'));
}
