// Volunteer teams (志愿服务队伍): applications to approve, each team's
// members, activities, figures and its own account of group honours.
import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, statusTag, fmtTime, fmtAmount, drawer,
  descriptions, confirmDialog, toast, table, tabs, uuid, loading, errorBanner, localInputToIso,
  AMOUNT_RE,
} from '../ui.js';
import { orgId, canAct } from '../state.js';
import { volunteerLink, idText } from './names.js';

const STATUSES = ['active', 'pending', 'dissolved', 'rejected'];

export function render(ctx) {
  const mayAct = canAct();
  let status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'active';
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const box = h('div');
  const refresh = () => {
    ctx.app.setQuery('/teams', { status });
    replace(tabBar, tabs(STATUSES, status, (k) => t('teams.tab_' + k), (k) => { status = k; refresh(); }));
    const list = pagedTable({
      columns: [
        { label: t('teams.name'), render: (x) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); details(x.id, refresh); } }, x.name) },
        { label: t('teams.category'), render: (x) => x.category },
        { label: t('teams.org'), render: (x) => x.org_name || idText(x.org_id) },
        { label: t('teams.leader'), render: (x) => volunteerLink(x.leader_id, x.leader_name) },
        { label: t('common.status'), render: (x) => statusTag(x.status) },
        { label: t('common.created_at'), render: (x) => fmtTime(x.created_at) },
        { label: t('common.actions'), class: 'actions', render: (x) => actions(x, mayAct, refresh) },
      ],
      rowAttrs: (x) => ({ 'data-id': x.id, 'data-status': x.status }),
      fetchPage: (cursor) => api.get('/teams', { org_id: orgId(), status, cursor, limit: 50 }),
    });
    replace(box, list.el);
    list.reload();
  };
  refresh();
  return h('main', { 'data-page': 'teams' },
    pageHeader(t('nav.teams')),
    section(null, tabBar, box));
}

function actions(x, mayAct, refresh) {
  const row = [button(t('common.details'), { class: 'btn-sm', 'data-action': 'details', onclick: () => details(x.id, refresh) }, 'link')];
  if (mayAct && x.status === 'pending') {
    row.push(button(t('teams.approve'), { class: 'btn-sm', 'data-action': 'approve', onclick: () => decide(x, 'approve', refresh) }, 'primary'));
    row.push(button(t('teams.reject'), { class: 'btn-sm', 'data-action': 'reject', onclick: () => decide(x, 'reject', refresh) }, 'danger'));
  }
  return h('div', { class: 'row-actions' }, row);
}

async function decide(x, step, refresh) {
  const reject = step === 'reject';
  const res = await confirmDialog({
    title: t('teams.' + step + '_title'),
    message: t('teams.' + step + '_confirm', { name: x.name }),
    facts: [[t('teams.org'), x.org_name || x.org_id], [t('teams.leader'), x.leader_name || x.leader_id], [t('teams.category'), x.category]],
    okText: t('teams.' + step),
    danger: reject,
    inputs: reject ? [{ name: 'reason', label: t('common.reason'), type: 'textarea', required: true }] : [],
    onOk: (v) => api.post(`/teams/${encodeURIComponent(x.id)}/${step}`, reject ? { reason: v.reason } : undefined),
  });
  if (res) { toast(t('common.done')); refresh(); }
}

async function details(id, refresh) {
  const body = h('div', null, loading());
  drawer({ title: t('nav.teams'), body });
  const load = async () => {
    let x;
    try {
      x = await api.get(`/teams/${encodeURIComponent(id)}`);
    } catch (err) {
      replace(body, errorBanner(err));
      return;
    }
    const mayAct = canAct() && x.status === 'active';
    const again = () => { load(); refresh(); };
    replace(body,
      descriptions([
        [t('teams.name'), x.name],
        [t('common.status'), statusTag(x.status)],
        [t('teams.org'), x.org_name || idText(x.org_id)],
        [t('teams.leader'), volunteerLink(x.leader_id, x.leader_name)],
        [t('teams.category'), x.category],
        [t('teams.description'), x.description || '—'],
        [t('teams.members'), String(x.member_count)],
        [t('teams.totals'), tallyText(x.totals)],
        [t('teams.this_year'), tallyText(x.this_year)],
        [t('teams.account'), `${t('asset.POINT')} ${fmtAmount(x.account.points)} · ${t('asset.HOUR')} ${fmtAmount(x.account.hours)}`],
      ]),
      mayAct ? h('div', { class: 'row-actions' },
        button(t('teams.honour'), { 'data-action': 'honour', onclick: () => honour(x, again) }, 'primary'),
        button(t('teams.grant'), { 'data-action': 'grant', onclick: () => grant(x, again) }),
        button(t('teams.donate'), { 'data-action': 'donate', onclick: () => donate(x, again) })) : null,
      h('h3', null, t('teams.members')),
      table([
        { label: t('teams.member'), render: (m) => volunteerLink(m.volunteer_id, m.name) },
        { label: t('teams.joined_at'), render: (m) => fmtTime(m.joined_at) },
        { label: '', render: (m) => (m.leader ? t('teams.is_leader') : '') },
      ], x.members).el,
      h('h3', null, t('teams.activities')),
      x.activities.length ? table([
        { label: t('activity.title'), render: (a) => h('a', { href: `#/activities/${encodeURIComponent(a.id)}` }, a.title) },
        { label: t('activity.starts_at'), render: (a) => fmtTime(a.starts_at) },
        { label: t('common.status'), render: (a) => statusTag(a.status) },
      ], x.activities).el : h('p', { class: 'muted' }, '—'),
      h('h3', null, t('teams.honours')),
      x.honours.length ? table([
        { label: t('cases.rule'), render: (o) => o.rule_code },
        { label: t('cases.occurred_at'), render: (o) => fmtTime(o.occurred_at) },
        { label: t('cases.evidence'), render: (o) => o.evidence || '—' },
      ], x.honours).el : h('p', { class: 'muted' }, '—'));
  };
  load();
}

function tallyText(x) {
  return t('teams.tally', { activities: x.activities, volunteers: x.volunteers, hours: fmtAmount(x.hours), points: fmtAmount(x.points) });
}

async function honour(x, done) {
  const key = uuid();
  const res = await confirmDialog({
    title: t('teams.honour'),
    message: t('teams.honour_confirm', { name: x.name }),
    okText: t('teams.honour'),
    inputs: [
      { name: 'rule_code', label: t('rules.code'), required: true },
      { name: 'occurred_at', label: t('cases.occurred_at'), type: 'datetime-local', required: true },
      { name: 'evidence', label: t('cases.evidence'), type: 'textarea' },
    ],
    onOk: (v) => api.post(`/teams/${encodeURIComponent(x.id)}/honours`, {
      rule_code: v.rule_code, occurred_at: localInputToIso(v.occurred_at), evidence: v.evidence || undefined,
    }, { idempotencyKey: key }),
  });
  if (res) { toast(t('common.done')); done(); }
}

async function grant(x, done) {
  const key = uuid();
  const res = await confirmDialog({
    title: t('teams.grant'),
    message: t('teams.grant_confirm', { name: x.name, points: fmtAmount(x.account.points) }),
    okText: t('teams.grant'),
    danger: true,
    inputs: [
      { name: 'volunteer_id', label: t('teams.member_id'), required: true, placeholder: x.members.map((m) => m.name).join('、') },
      { name: 'points', label: t('balance.points'), required: true, inputmode: 'decimal', pattern: AMOUNT_RE },
      { name: 'reason', label: t('common.reason'), type: 'textarea', required: true },
    ],
    onOk: (v) => {
      const member = x.members.find((m) => m.volunteer_id === v.volunteer_id || m.name === v.volunteer_id);
      return api.post(`/teams/${encodeURIComponent(x.id)}/grant`, {
        volunteer_id: member ? member.volunteer_id : v.volunteer_id, points: v.points, reason: v.reason,
      }, { idempotencyKey: key });
    },
  });
  if (res) { toast(t('common.done')); done(); }
}

async function donate(x, done) {
  const key = uuid();
  const res = await confirmDialog({
    title: t('teams.donate'),
    message: t('teams.donate_confirm', { name: x.name, points: fmtAmount(x.account.points) }),
    okText: t('teams.donate'),
    danger: true,
    inputs: [
      { name: 'points', label: t('balance.points'), required: true, inputmode: 'decimal', pattern: AMOUNT_RE },
      { name: 'reason', label: t('common.reason'), type: 'textarea' },
    ],
    onOk: (v) => api.post(`/teams/${encodeURIComponent(x.id)}/donate`, { points: v.points, reason: v.reason || undefined }, { idempotencyKey: key }),
  });
  if (res) { toast(t('common.done')); done(); }
}
