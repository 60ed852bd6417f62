import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, pagedTable, button, statusTag, stars,
  fmtTime, amount, fmtAmount, descriptions, mono, table, empty,
} from '../ui.js';
import { canAct } from '../state.js';
import { approve, issueResetCode } from './people.js';
import { txLink, orgName } from './names.js';

export async function render(ctx) {
  const id = ctx.params.id;
  const enc = encodeURIComponent(id);
  const v = await api.get(`/volunteers/${enc}`);
  const mayAct = canAct();

  const actions = [];
  if (mayAct && v.status === 'pending') {
    const b = button(t('people.approve'), {
      'data-action': 'approve',
      onclick: async (e) => {
        if (await approve('volunteers', v, e.currentTarget)) ctx.app.rerender();
      },
    }, 'primary');
    actions.push(b);
  }
  if (mayAct) {
    actions.push(button(t('reset.button'), {
      'data-action': 'reset-code',
      onclick: () => issueResetCode('volunteers', v),
    }, 'default'));
  }

  const balanceBox = h('div', { class: 'stat-grid' }, loading());
  const starsBox = h('div', null, loading());
  const violationsBox = h('div', null, loading());

  const profile = descriptions([
    [t('people.name'), v.name],
    [t('people.phone'), v.phone],
    [t('people.community'), orgName(v.community_id, v.community_name)],
    [t('common.status'), statusTag(v.status)],
    [t('people.star_level'), stars(v.star_level)],
    [t('people.skills'), v.skills && v.skills.length ? v.skills.join('、') : '—'],
    [t('people.rating'), v.rating_avg ? `${v.rating_avg} (${v.rating_count || 0})` : t('people.no_rating')],
    [t('people.registered_at'), fmtTime(v.created_at)],
    [t('people.approved_at'), fmtTime(v.approved_at)],
    v.suspended_until ? [t('people.suspended_until'), fmtTime(v.suspended_until)] : null,
    [t('common.id'), mono(v.id)],
  ]);

  const entries = pagedTable({
    columns: [
      { label: t('entry.time'), render: (e) => fmtTime(e.created_at) },
      { label: t('entry.kind'), render: (e) => t('tx.' + e.kind, null, e.kind) },
      { label: t('entry.asset'), render: (e) => t('asset.' + e.asset, null, e.asset) },
      { label: t('entry.amount'), render: (e) => amount(e.amount) },
      { label: t('entry.balance_after'), render: (e) => fmtAmount(e.balance_after) },
      { label: t('entry.reason'), render: (e) => e.reason },
      { label: t('entry.transaction'), render: (e) => txLink(e.transaction_id) },
    ],
    rowAttrs: (e) => ({ 'data-id': e.transaction_id }),
    fetchPage: (cursor) => api.get(`/volunteers/${enc}/entries`, { cursor, limit: 20 }),
  });
  entries.reload();

  api.get(`/volunteers/${enc}/balance`).then((b) => {
    replace(balanceBox,
      stat(t('balance.points'), fmtAmount(b.points), 'points'),
      stat(t('balance.lifetime_points'), fmtAmount(b.lifetime_points), 'lifetime_points'),
      stat(t('balance.hours'), fmtAmount(b.hours), 'hours'),
      stat(t('balance.star_level'), stars(b.star_level), 'star_level'),
      stat(t('balance.next_star_hours'), b.next_star_hours === null || b.next_star_hours === undefined ? t('balance.top_level') : fmtAmount(b.next_star_hours), 'next_star_hours'));
  }).catch((err) => replace(balanceBox, errorBanner(err)));

  api.get(`/volunteers/${enc}/stars`).then((st) => {
    const head = descriptions([
      [t('balance.star_level'), stars(st.star_level)],
      [t('balance.hours'), fmtAmount(st.hours)],
      st.barred_until ? [t('stars.barred_until'), fmtTime(st.barred_until)] : null,
      st.rule_version ? [t('stars.rule_version'), mono(st.rule_version)] : null,
    ]);
    const hist = st.history || [];
    replace(starsBox, head, hist.length ? table([
      { label: t('stars.reached_at'), render: (x) => fmtTime(x.reached_at) },
      { label: t('stars.change'), render: (x) => `${x.from_level ?? 0}★ → ${x.to_level ?? 0}★` },
      { label: t('balance.hours'), render: (x) => fmtAmount(x.hours) },
      { label: t('stars.rule_version'), render: (x) => mono(x.rule_version) },
      { label: t('entry.transaction'), render: (x) => txLink(x.transaction_id) },
    ], hist).el : empty(t('stars.none')));
  }).catch((err) => replace(starsBox, errorBanner(err)));

  api.get(`/volunteers/${enc}/violations`).then((vs) => {
    const items = (vs && vs.items) || [];
    replace(violationsBox, items.length ? table([
      { label: t('violation.time'), render: (x) => fmtTime(x.created_at) },
      { label: t('violation.kind'), render: (x) => t('violation.kind_' + x.kind, null, x.kind) },
      { label: t('violation.reason'), render: (x) => x.reason },
      { label: t('violation.reversals'), render: (x) => String((x.reversals || []).length) },
      { label: t('violation.penalty'), render: (x) => `${fmtAmount(x.penalty_applied)}${x.penalty_capped ? ' ' + t('violation.capped') : ''}` },
      { label: t('violation.suspended_until'), render: (x) => fmtTime(x.suspended_until) },
    ], items).el : empty(t('violation.none')));
  }).catch((err) => replace(violationsBox, errorBanner(err)));

  return h('main', { 'data-page': 'volunteer', 'data-id': v.id },
    h('div', { class: 'breadcrumb' }, h('a', { href: '#/volunteers' }, t('nav.volunteers')), ' / ', v.name),
    pageHeader(v.name, ...actions),
    section(t('volunteer.profile'), profile),
    section(t('volunteer.balance'), balanceBox),
    section(t('volunteer.entries'), entries.el),
    section(t('volunteer.stars'), starsBox),
    section(t('volunteer.violations'), violationsBox));
}

function stat(label, value, key) {
  return h('div', { class: 'stat', 'data-stat': key },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value));
}
