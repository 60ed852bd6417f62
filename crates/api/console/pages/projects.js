// Projects (项目制) made of matched list items: run by their lead, assessed
// and closed (验收) by the org whose list the item was on.
import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, statusTag, fmtTime, fmtAmount, drawer,
  descriptions, confirmDialog, toast, tabs, table, loading, errorBanner, stars,
} from '../ui.js';
import { orgId, canAct } from '../state.js';
import { idText } from './names.js';

const STATUSES = ['running', 'planned', 'assessing', 'closed', 'cancelled'];

export function render(ctx) {
  const mayAct = canAct();
  let status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'running';
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const box = h('div');
  const refresh = () => {
    ctx.app.setQuery('/projects', { status });
    replace(tabBar, tabs(STATUSES, status, (k) => t('status.' + k), (k) => { status = k; refresh(); }));
    const list = pagedTable({
      columns: [
        { label: t('projects.title'), render: (p) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); details(p.id); } }, p.title) },
        { label: t('lists.category'), render: (p) => p.category },
        { label: t('projects.lead'), render: (p) => p.lead.name || '—' },
        { label: t('projects.org'), render: (p) => p.org_name || idText(p.org_id) },
        { label: t('common.status'), render: (p) => statusTag(p.status) },
        { label: t('projects.rating'), render: (p) => (p.rating ? stars(p.rating) : '—') },
        { label: t('common.created_at'), render: (p) => fmtTime(p.created_at) },
        { label: t('common.actions'), class: 'actions', render: (p) => actions(p, mayAct, refresh) },
      ],
      rowAttrs: (p) => ({ 'data-id': p.id, 'data-status': p.status }),
      fetchPage: (cursor) => api.get('/projects', { org_id: orgId(), status, cursor, limit: 50 }),
    });
    replace(box, list.el);
    list.reload();
  };
  refresh();
  if (ctx.query.get('open')) details(ctx.query.get('open'));
  return h('main', { 'data-page': 'projects' },
    pageHeader(t('nav.projects')),
    section(null, tabBar, box));
}

function actions(p, mayAct, refresh) {
  const row = [];
  if (mayAct) {
    const next = { planned: 'start', running: 'assess', assessing: 'close' }[p.status];
    if (next) row.push(button(t('projects.' + next), { class: 'btn-sm', 'data-action': next, onclick: () => move(p, next, refresh) }, 'primary'));
    if (p.status === 'planned' || p.status === 'running') {
      row.push(button(t('projects.cancel'), { class: 'btn-sm', 'data-action': 'cancel', onclick: () => move(p, 'cancel', refresh) }, 'danger'));
    }
  }
  row.push(button(t('common.details'), { class: 'btn-sm', 'data-action': 'details', onclick: () => details(p.id) }, 'link'));
  return h('div', { class: 'row-actions' }, row);
}

const INPUTS = {
  close: () => [
    { name: 'result', label: t('projects.result'), type: 'textarea', required: true },
    { name: 'rating', label: t('projects.rating'), inputmode: 'numeric', required: true, pattern: /^[1-5]$/, patternMessage: t('projects.rating_hint') },
  ],
  cancel: () => [{ name: 'reason', label: t('common.reason'), type: 'textarea' }],
};

async function move(p, verb, refresh) {
  const res = await confirmDialog({
    title: t('projects.' + verb),
    message: t('projects.' + verb + '_confirm', { title: p.title }),
    okText: t('projects.' + verb),
    danger: verb === 'cancel',
    inputs: INPUTS[verb] ? INPUTS[verb]() : [],
    onOk: (v) => {
      let body;
      if (verb === 'close') body = { result: v.result, rating: Number(v.rating) };
      if (verb === 'cancel') body = v.reason ? { reason: v.reason } : undefined;
      return api.post(`/projects/${encodeURIComponent(p.id)}/${verb}`, body);
    },
  });
  if (res) { toast(t('common.done')); refresh(); }
}

async function details(id) {
  const body = h('div', null, loading());
  drawer({ title: t('nav.projects'), body });
  let p;
  try {
    p = await api.get(`/projects/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(body, errorBanner(err));
    return;
  }
  replace(body,
    descriptions([
      [t('projects.title'), p.title],
      [t('common.status'), statusTag(p.status)],
      [t('projects.item'), `${t('lists.list_' + p.item.list, null, p.item.list)} · ${p.item.title}`],
      [t('lists.description'), p.item.description],
      [t('projects.lead'), p.lead.name || '—'],
      [t('projects.org'), p.org_name || idText(p.org_id)],
      [t('projects.started_at'), fmtTime(p.started_at)],
      [t('projects.closed_at'), fmtTime(p.closed_at)],
      [t('projects.result'), p.result || '—'],
      [t('projects.rating'), p.rating ? stars(p.rating) : '—'],
      [t('projects.totals'), t('teams.tally', { activities: p.totals.activities, volunteers: p.totals.volunteers, hours: fmtAmount(p.totals.hours), points: fmtAmount(p.totals.points) })],
    ]),
    h('h3', null, t('teams.activities')),
    p.activities.length ? table([
      { label: t('activity.title'), render: (a) => h('a', { href: `#/activities/${encodeURIComponent(a.id)}` }, a.title) },
      { label: t('activity.starts_at'), render: (a) => fmtTime(a.starts_at) },
      { label: t('common.status'), render: (a) => statusTag(a.status) },
    ], p.activities).el : h('p', { class: 'muted' }, '—'));
}
