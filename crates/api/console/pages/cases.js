import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, pagedTable, button, confirmDialog, toast,
  statusTag, fmtTime, fmtAmount, amount, mono, table, empty, modal, field, localInputToIso, busy,
  uuid, AMOUNT_RE,
} from '../ui.js';
import { txLink } from './names.js';
import { orgId, canAct } from '../state.js';

const STATUSES = ['pending', 'approved', 'rejected'];

export function render(ctx) {
  const mayAct = canAct();
  let status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'pending';

  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const awardsBox = h('div');
  const rulesBox = h('div', null, loading());

  const refreshAwards = () => {
    ctx.app.setQuery('/cases', { status });
    replace(tabBar, STATUSES.map((k) => h('button', {
      type: 'button', role: 'tab', class: ['tab', k === status ? 'active' : null], 'data-tab': k,
      'aria-selected': k === status ? 'true' : 'false',
      onclick: () => { status = k; refreshAwards(); },
    }, t('cases.tab_' + k))));
    const list = awardsList(status, mayAct);
    replace(awardsBox, list.el);
    list.reload();
  };

  const loadRules = async () => {
    replace(rulesBox, loading());
    try {
      const r = await api.get('/case-rules', { org_id: orgId(), all_versions: 'true' });
      renderRules((r && r.items) || [], rulesBox, mayAct, loadRules);
    } catch (err) {
      replace(rulesBox, errorBanner(err));
    }
  };

  refreshAwards();
  loadRules();

  const publishBtn = mayAct
    ? button(t('rules.publish'), { 'data-action': 'publish-rule', onclick: () => ruleDialog(null, loadRules) }, 'primary')
    : null;

  return h('main', { 'data-page': 'cases' },
    pageHeader(t('nav.cases')),
    section(t('cases.awards'), tabBar, awardsBox),
    section(h('div', { class: 'card-head-row' }, h('h2', null, t('rules.title')), publishBtn), rulesBox));
}

function awardsList(status, mayAct) {
  const columns = [
    { label: t('cases.volunteer'), render: (a) => h('a', { href: `#/volunteers/${encodeURIComponent(a.volunteer_id)}` }, a.volunteer_name || a.volunteer_id) },
    { label: t('cases.rule'), render: (a) => h('span', null, a.rule_name || a.rule_code, h('br'), h('code', { class: 'mono small' }, a.rule_code)) },
    { label: t('balance.points'), render: (a) => amount(a.points) },
    { label: t('balance.hours'), render: (a) => fmtAmount(a.hours) },
    { label: t('cases.occurred_at'), render: (a) => fmtTime(a.occurred_at) },
    { label: t('cases.evidence'), render: (a) => (a.evidence ? h('span', { class: 'clamp' }, a.evidence) : '—') },
    { label: t('common.status'), render: (a) => h('span', { class: 'status-cell' }, statusTag(a.status)) },
    { label: t('cases.filed_at'), render: (a) => fmtTime(a.created_at) },
  ];
  if (status !== 'pending') {
    columns.push({ label: t('cases.decided_at'), render: (a) => fmtTime(a.decided_at) });
    columns.push({ label: t('cases.decision_reason'), render: (a) => a.decision_reason });
    columns.push({ label: t('entry.transaction'), render: (a) => txLink(a.transaction_id) });
  }
  if (mayAct && status === 'pending') {
    columns.push({ label: t('common.actions'), class: 'actions', render: (a) => awardActions(a) });
  }
  return pagedTable({
    columns,
    rowAttrs: (a) => ({ 'data-id': a.id, 'data-status': a.status }),
    fetchPage: (cursor) => api.get('/case-awards', { org_id: orgId(), status, cursor, limit: 50 }),
  });
}

function awardActions(a) {
  return h('div', { class: 'row-actions' },
    button(t('cases.approve'), { class: 'btn-sm', 'data-action': 'approve', onclick: (e) => decide(a, 'approve', e.currentTarget.closest('tr')) }, 'primary'),
    button(t('cases.reject'), { class: 'btn-sm', 'data-action': 'reject', onclick: (e) => decide(a, 'reject', e.currentTarget.closest('tr')) }, 'danger'));
}

async function decide(a, decision, tr) {
  const reject = decision === 'reject';
  const key = uuid();
  let updated = null;
  const res = await confirmDialog({
    title: t(reject ? 'cases.reject_title' : 'cases.approve_title'),
    message: reject
      ? t('cases.reject_confirm', { name: a.volunteer_name || a.volunteer_id, rule: a.rule_name || a.rule_code })
      : t('cases.approve_confirm', { name: a.volunteer_name || a.volunteer_id, points: fmtAmount(a.points), hours: fmtAmount(a.hours) }),
    facts: [
      [t('cases.rule'), `${a.rule_name || ''} (${a.rule_code})`],
      [t('balance.points'), fmtAmount(a.points)],
      [t('balance.hours'), fmtAmount(a.hours)],
      [t('cases.occurred_at'), fmtTime(a.occurred_at)],
      [t('cases.evidence'), a.evidence || '—'],
    ],
    okText: t(reject ? 'cases.reject' : 'cases.approve'),
    danger: reject,
    inputs: reject ? [{ name: 'reason', label: t('cases.decision_reason'), type: 'textarea', required: true }] : [],
    onOk: async (values) => {
      const path = `/case-awards/${encodeURIComponent(a.id)}/${reject ? 'reject' : 'approve'}`;
      updated = reject
        ? await api.post(path, { reason: values.reason })
        : await api.post(path, undefined, { idempotencyKey: key });
    },
  });
  if (!res) return;
  a.status = (updated && updated.status) || (reject ? 'rejected' : 'approved');
  if (tr) {
    tr.dataset.status = a.status;
    const cell = tr.querySelector('.status-cell');
    if (cell) replace(cell, statusTag(a.status));
    tr.querySelectorAll('[data-action="approve"], [data-action="reject"]').forEach((b) => b.remove());
  }
  const txId = updated && (updated.transaction_id || (updated.transaction && updated.transaction.id));
  toast(reject ? t('cases.rejected') : t('cases.approved', { tx: txId || '—' }), 'success');
}

function renderRules(items, box, mayAct, reload) {
  if (!items.length) { replace(box, empty(t('rules.none'))); return; }
  // newest version of each code first, older versions after it
  const byCode = new Map();
  for (const r of items) {
    if (!byCode.has(r.code)) byCode.set(r.code, []);
    byCode.get(r.code).push(r);
  }
  const rows = [];
  for (const list of byCode.values()) {
    list.sort((x, y) => (y.version ?? 0) - (x.version ?? 0));
    list.forEach((r, i) => rows.push({ ...r, latest: i === 0, versions: list.length }));
  }
  const columns = [
    { label: t('rules.code'), render: (r) => (r.latest ? h('code', { class: 'mono' }, r.code) : h('span', { class: 'muted small' }, '↳')) },
    { label: t('rules.name'), render: (r) => r.name },
    { label: t('rules.version'), render: (r) => h('span', null, `v${r.version}`, r.latest ? h('span', { class: 'tag tag-green small-tag' }, t('rules.current')) : null) },
    { label: t('balance.points'), render: (r) => fmtAmount(r.points) },
    { label: t('balance.hours'), render: (r) => fmtAmount(r.hours) },
    { label: t('rules.max_per_year'), render: (r) => (r.max_per_person_per_year ? String(r.max_per_person_per_year) : t('rules.unlimited')) },
    { label: t('rules.evidence_required'), render: (r) => t(r.evidence_required ? 'common.yes' : 'common.no') },
    { label: t('rules.effective_from'), render: (r) => fmtTime(r.effective_from) },
  ];
  if (mayAct) {
    columns.push({
      label: t('common.actions'),
      class: 'actions',
      render: (r) => (r.latest ? button(t('rules.new_version'), { class: 'btn-sm', 'data-action': 'new-version', onclick: () => ruleDialog(r, reload) }, 'link') : ''),
    });
  }
  replace(box, table(columns, rows, (r) => ({ 'data-id': r.id, 'data-code': r.code, class: r.latest ? null : 'old-version' })).el);
}

function ruleDialog(base, onDone) {
  const code = h('input', { id: 'rule-code', maxlength: 50, value: base ? base.code : '', readOnly: !!base, placeholder: 'blood_donation', pattern: '[a-z0-9_]{1,50}' });
  const name = h('input', { id: 'rule-name', maxlength: 100, value: base ? base.name : '' });
  const points = h('input', { id: 'rule-points', inputmode: 'decimal', value: base ? base.points : '' });
  const hours = h('input', { id: 'rule-hours', inputmode: 'decimal', value: base ? base.hours : '0' });
  const maxPer = h('input', { id: 'rule-max', type: 'number', min: 1, max: 366, value: base && base.max_per_person_per_year ? String(base.max_per_person_per_year) : '' });
  const evidence = h('input', { id: 'rule-evidence', type: 'checkbox', checked: !!(base && base.evidence_required) });
  const from = h('input', { id: 'rule-from', type: 'datetime-local' });
  const errBox = h('div');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-confirm': 'ok' }, t('rules.publish'));
  const cancel = button(t('common.cancel'), { 'data-confirm': 'cancel' });
  const form = h('form', { class: 'form-grid', novalidate: true },
    field(t('rules.code'), code, { required: true, hint: t('rules.code_hint') }),
    field(t('rules.name'), name, { required: true }),
    field(t('balance.points'), points, { required: true }),
    field(t('balance.hours'), hours),
    field(t('rules.max_per_year'), maxPer, { hint: t('rules.max_hint') }),
    field(t('rules.effective_from'), from, { hint: t('rules.from_hint') }),
    h('label', { class: 'check' }, evidence, ' ', t('rules.evidence_required')),
    h('p', { class: 'muted small' }, t('rules.versions_hint')),
    errBox);
  const dlg = modal({ title: base ? t('rules.new_version_of', { code: base.code }) : t('rules.publish'), body: form, footer: [cancel, submit], wide: true });
  cancel.addEventListener('click', () => dlg.close());
  const send = async (e) => {
    e.preventDefault();
    replace(errBox);
    const problems = [];
    const c = code.value.trim();
    if (!/^[a-z0-9_]{1,50}$/.test(c)) problems.push(t('rules.bad_code'));
    if (!name.value.trim()) problems.push(t('form.required', { field: t('rules.name') }));
    if (!AMOUNT_RE.test(points.value.trim())) problems.push(t('form.invalid', { field: t('balance.points') }));
    if (hours.value.trim() && !AMOUNT_RE.test(hours.value.trim())) problems.push(t('form.invalid', { field: t('balance.hours') }));
    const mp = maxPer.value.trim();
    if (mp && !(Number.isInteger(Number(mp)) && Number(mp) >= 1 && Number(mp) <= 366)) problems.push(t('form.invalid', { field: t('rules.max_per_year') }));
    if (problems.length) {
      errBox.appendChild(h('div', { class: 'error-message banner' }, h('ul', { class: 'facts' }, problems.map((p) => h('li', null, p)))));
      return;
    }
    const body = { org_id: orgId(), code: c, name: name.value.trim(), points: points.value.trim(), evidence_required: evidence.checked };
    if (hours.value.trim()) body.hours = hours.value.trim();
    if (mp) body.max_per_person_per_year = Number(mp);
    const ef = localInputToIso(from.value);
    if (ef) body.effective_from = ef;
    await busy(submit, async () => {
      try {
        const r = await api.post('/case-rules', body);
        dlg.close();
        toast(t('rules.published', { code: c, version: r && r.version ? r.version : '' }), 'success');
        onDone();
      } catch (err) {
        replace(errBox, errorBanner(err));
      }
    });
  };
  form.addEventListener('submit', (e) => { send(e); });
  submit.addEventListener('click', (e) => { send(e); });
}
