import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, pagedTable, table, fmtTime, amount, mono,
  select, drawer, descriptions, busy, empty, localDate, clear,
} from '../ui.js';
import { orgId } from '../state.js';
import { idText } from './names.js';

const KINDS = ['earn_hours', 'case_award', 'redeem', 'refund', 'gift', 'service_payment', 'reversal', 'penalty', 'expiry', 'adjustment', 'pool_grant'];

export function render(ctx) {
  const verifyBox = h('div', { class: 'verify' }, loading());
  const reverify = h('button', { type: 'button', class: 'btn btn-default btn-sm', 'data-action': 'verify' }, t('ledger.verify_again'));
  reverify.addEventListener('click', () => busy(reverify, () => verify(verifyBox)));
  verify(verifyBox);

  // lookup by id
  const lookupIn = h('input', { id: 'tx-lookup', type: 'search', placeholder: t('ledger.lookup_placeholder'), autocomplete: 'off', maxlength: 100 });
  const lookupBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'lookup' }, t('ledger.lookup'));
  const lookupErr = h('div');
  const lookupForm = h('form', { class: 'filters' },
    h('label', { class: 'filter grow' }, h('span', null, t('ledger.transaction_id')), lookupIn),
    h('div', { class: 'filter-buttons' }, lookupBtn));
  lookupForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(lookupErr);
    const id = lookupIn.value.trim();
    if (!id) return;
    busy(lookupBtn, async () => {
      try {
        const tx = await api.get(`/transactions/${encodeURIComponent(id)}`);
        showTransaction(tx);
      } catch (err) {
        replace(lookupErr, errorBanner(err));
      }
    });
  });

  // audit trail
  const kind0 = KINDS.includes(ctx.query.get('kind')) ? ctx.query.get('kind') : '';
  const kindSel = select([['', t('common.all')], ...KINDS.map((k) => [k, t('tx.' + k)])], { id: 'filter-kind', value: kind0, 'aria-label': t('ledger.kind') });
  const monthAgo = new Date();
  monthAgo.setDate(monthAgo.getDate() - 30);
  const fromIn = h('input', { id: 'filter-from', type: 'date', value: ctx.query.get('from') || localDate(monthAgo) });
  const toIn = h('input', { id: 'filter-to', type: 'date', value: ctx.query.get('to') || localDate(new Date()) });
  const applyBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'search' }, t('filter.search'));
  const trailForm = h('form', { class: 'filters' },
    h('label', { class: 'filter' }, h('span', null, t('ledger.kind')), kindSel),
    h('label', { class: 'filter' }, h('span', null, t('reports.from')), fromIn),
    h('label', { class: 'filter' }, h('span', null, t('reports.to')), toIn),
    h('div', { class: 'filter-buttons' }, applyBtn));

  const range = () => {
    // whole local days, sent as RFC 3339 instants
    const f = fromIn.value ? new Date(`${fromIn.value}T00:00:00`) : null;
    const tt = toIn.value ? new Date(`${toIn.value}T00:00:00`) : null;
    if (tt) tt.setDate(tt.getDate() + 1);
    return { from: f && !Number.isNaN(f.getTime()) ? f.toISOString() : null, to: tt && !Number.isNaN(tt.getTime()) ? tt.toISOString() : null };
  };

  const wanted = ctx.query.get('tx');
  if (wanted) {
    lookupIn.value = wanted;
    setTimeout(() => lookupForm.requestSubmit(), 0);
  }

  const trail = pagedTable({
    columns: [
      { label: t('ledger.time'), render: (x) => fmtTime(x.created_at) },
      { label: t('ledger.kind'), render: (x) => h('span', { class: 'tag tag-default' }, t('tx.' + x.kind, null, x.kind)) },
      { label: t('ledger.reason'), render: (x) => h('span', { class: 'clamp' }, x.reason || '') },
      { label: t('ledger.actor'), render: (x) => x.actor_name || idText(x.actor_id) },
      { label: t('ledger.postings'), render: (x) => postingsSummary(x.postings) },
      { label: t('ledger.external_id'), render: (x) => (x.external_id ? h('code', { class: 'mono clamp', title: x.external_id }, x.external_id) : '—') },
      { label: t('common.actions'), class: 'actions', render: (x) => h('button', { type: 'button', class: 'btn btn-link btn-sm', 'data-action': 'details', onclick: () => showTransaction(x) }, t('common.details')) },
    ],
    rowAttrs: (x) => ({ 'data-id': x.id, 'data-kind': x.kind }),
    fetchPage: (cursor) => api.get('/transactions', { org_id: orgId(), kind: kindSel.value, ...range(), cursor, limit: 50 }),
  });
  trailForm.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.app.setQuery('/ledger', { kind: kindSel.value, from: fromIn.value, to: toIn.value });
    trail.reload();
  });
  kindSel.addEventListener('change', () => trailForm.requestSubmit());
  trail.reload();

  return h('main', { 'data-page': 'ledger' },
    pageHeader(t('nav.ledger')),
    section(h('div', { class: 'card-head-row' }, h('h2', null, t('ledger.verify_title')), reverify), verifyBox),
    section(t('ledger.lookup_title'), lookupForm, lookupErr),
    section(t('ledger.trail'), trailForm, trail.el));
}

async function verify(box) {
  replace(box, loading());
  try {
    const r = await api.get('/ledger/verify');
    const problems = r.problems || [];
    replace(box,
      h('div', { class: 'verify-head' },
        h('span', { id: 'ledger-verify', class: ['badge', r.ok ? 'badge-ok' : 'badge-bad'], 'data-ok': r.ok ? 'true' : 'false' },
          r.ok ? t('ledger.ok') : t('ledger.bad', { n: problems.length })),
        h('span', { class: 'muted small' }, t('ledger.checked', {
          accounts: r.accounts_checked ?? 0, postings: r.postings_checked ?? 0, transactions: r.transactions_checked ?? 0,
        })),
        h('span', { class: 'muted small', id: 'ledger-scope' }, t(r.scope === 'ledger' ? 'ledger.scope_ledger' : 'ledger.scope_subtree'))),
      r.scope === 'ledger' ? h('p', { class: 'muted small', id: 'ledger-checkpoint' },
        r.last_checkpoint
          ? t('ledger.checkpoint', {
            at: new Date(r.last_checkpoint.created_at).toLocaleString(),
            postings: r.last_checkpoint.postings,
            digest: String(r.last_checkpoint.digest).slice(0, 16),
          })
          : t('ledger.no_checkpoint')) : null,
      problems.length ? table([
        { label: t('ledger.problem_code'), render: (p) => mono(p.code) },
        { label: t('ledger.problem_message'), render: (p) => p.message },
        { label: t('ledger.account'), render: (p) => mono(p.account_id) },
        { label: t('ledger.transaction_id'), render: (p) => mono(p.transaction_id) },
      ], problems).el : null);
  } catch (err) {
    replace(box, errorBanner(err));
  }
}

function postingsSummary(postings) {
  if (!postings || !postings.length) return '—';
  return h('ul', { class: 'postings' }, postings.map((p) => h('li', null,
    h('span', { class: 'posting-owner' }, p.owner_name || t('account.' + p.account_kind, null, p.account_kind)),
    ' ',
    amount(p.amount),
    ' ',
    h('span', { class: 'muted small' }, t('asset.' + p.asset, null, p.asset)))));
}

function showTransaction(tx) {
  drawer({
    title: `${t('tx.' + tx.kind, null, tx.kind)} · ${fmtTime(tx.created_at)}`,
    body: [
      descriptions([
        [t('ledger.transaction_id'), mono(tx.id)],
        [t('ledger.kind'), t('tx.' + tx.kind, null, tx.kind)],
        [t('ledger.reason'), tx.reason],
        [t('ledger.actor'), tx.actor_name || mono(tx.actor_id)],
        [t('ledger.external_id'), mono(tx.external_id)],
        [t('ledger.rule_version'), mono(tx.rule_version)],
        [t('ledger.reverses'), mono(tx.reverses_id)],
        [t('ledger.reversed_by'), mono(tx.reversed_by)],
        [t('ledger.request_id'), mono(tx.request_id)],
        [t('ledger.time'), fmtTime(tx.created_at)],
      ]),
      h('h3', null, t('ledger.postings')),
      (tx.postings && tx.postings.length) ? table([
        { label: t('ledger.account_kind'), render: (p) => t('account.' + p.account_kind, null, p.account_kind) },
        { label: t('ledger.owner'), render: (p) => p.owner_name || mono(p.owner_id) },
        { label: t('entry.asset'), render: (p) => t('asset.' + p.asset, null, p.asset) },
        { label: t('entry.amount'), render: (p) => amount(p.amount) },
        { label: t('entry.balance_after'), render: (p) => (p.balance_after !== undefined ? String(p.balance_after) : '—') },
        { label: t('ledger.account'), render: (p) => mono(p.account_id) },
      ], tx.postings).el : empty(),
    ],
  });
}
