import * as api from '../api.js';
import { t, getLang } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, table, empty, fmtAmount, localDate, busy,
  reportError, toast,
} from '../ui.js';
import { barChart } from '../charts.js';
import { state, orgId } from '../state.js';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function defaultPeriod() {
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth() - 11, 1);
  return { from: localDate(from), to: localDate(today) };
}

function monthsBetween(from, to) {
  const out = [];
  let y = Number(from.slice(0, 4));
  let m = Number(from.slice(5, 7));
  const ey = Number(to.slice(0, 4));
  const em = Number(to.slice(5, 7));
  let guard = 0;
  while ((y < ey || (y === ey && m <= em)) && guard < 240) {
    out.push(`${y}-${String(m).padStart(2, '0')}`);
    m += 1;
    if (m > 12) { m = 1; y += 1; }
    guard += 1;
  }
  return out;
}

function monthCategory(key, i) {
  const [yy, mm] = key.split('-');
  const label = getLang() === 'en'
    ? new Date(Number(yy), Number(mm) - 1, 1).toLocaleString('en-GB', { month: 'short' })
    : `${Number(mm)}月`;
  return { key, label, sub: i === 0 || mm === '01' ? yy : null, full: key };
}

const FIGURES = ['hours', 'points_issued', 'points_redeemed', 'points_expired', 'active_volunteers', 'new_registrations', 'requests_served', 'average_rating'];

export function render(ctx) {
  const def = defaultPeriod();
  const qFrom = ctx.query.get('from');
  const qTo = ctx.query.get('to');
  const reportOrg = ctx.query.get('org') || orgId();
  const fromIn = h('input', { id: 'report-from', type: 'date', value: qFrom && DATE_RE.test(qFrom) ? qFrom : def.from });
  const toIn = h('input', { id: 'report-to', type: 'date', value: qTo && DATE_RE.test(qTo) ? qTo : def.to });
  const runBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'run-report' }, t('reports.run'));
  const csv = h('a', { href: '#', id: 'export-csv', class: 'btn btn-default', 'data-action': 'export-csv', role: 'button' }, t('reports.csv'));
  const body = h('div', null, loading());

  const period = () => ({ org_id: reportOrg, from: fromIn.value, to: toIn.value });

  const load = async () => {
    const p = period();
    if (!DATE_RE.test(p.from) || !DATE_RE.test(p.to) || p.from > p.to) {
      replace(body, h('div', { class: 'error-message banner' }, t('reports.bad_period')));
      return;
    }
    ctx.app.setQuery('/reports', { org: reportOrg !== orgId() ? reportOrg : '', from: p.from !== def.from ? p.from : '', to: p.to !== def.to ? p.to : '' });
    replace(body, loading());
    try {
      const r = await api.get('/reports/summary', p);
      replace(body, ...renderReport(r, p));
    } catch (err) {
      replace(body, errorBanner(err));
    }
  };

  const form = h('form', { class: 'filters' },
    h('label', { class: 'filter' }, h('span', null, t('reports.from')), fromIn),
    h('label', { class: 'filter' }, h('span', null, t('reports.to')), toIn),
    h('div', { class: 'filter-buttons' }, runBtn, csv));
  form.addEventListener('submit', (e) => { e.preventDefault(); busy(runBtn, load); });

  let exporting = false;
  csv.addEventListener('click', async (e) => {
    e.preventDefault();
    if (exporting) return;
    exporting = true;
    csv.classList.add('busy');
    const p = period();
    try {
      const blob = await api.blob('/reports/export', { ...p, format: 'csv' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `timebank-report-${p.from}-${p.to}.csv`, class: 'hidden' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      toast(t('reports.csv_done'), 'success');
    } catch (err) {
      reportError(err);
    } finally {
      exporting = false;
      csv.classList.remove('busy');
    }
  });

  load();
  const crumbs = reportOrg !== orgId()
    ? h('div', { class: 'breadcrumb' }, h('a', { href: '#/reports' }, `${t('nav.reports')} · ${state.org ? state.org.org_name || '' : ''}`), ' / ', t('reports.child_view'))
    : null;
  return h('main', { 'data-page': 'reports' },
    crumbs,
    pageHeader(t('nav.reports')),
    section(null, form, body));
}

function renderReport(r, p) {
  const totals = r.totals || {};
  const keys = [...new Set([...monthsBetween(p.from, p.to), ...Object.keys(r.months || {})])].sort();
  const cats = keys.map(monthCategory);
  const m = (k, f) => (r.months && r.months[k] && r.months[k][f] !== undefined && r.months[k][f] !== null ? r.months[k][f] : '0');

  const stats = h('div', { class: 'stat-grid' },
    FIGURES.map((f) => h('div', { class: 'stat', 'data-stat': f },
      h('div', { class: 'stat-label' }, t('report.' + f)),
      h('div', { class: 'stat-value' }, totals[f] === null || totals[f] === undefined ? '—' : fmtAmount(totals[f])))));

  const monthly = barChart({
    name: 'monthly',
    title: t('reports.chart_monthly'),
    categories: cats,
    series: [
      { key: 'hours', label: t('report.hours'), values: keys.map((k) => m(k, 'hours')) },
      { key: 'points_issued', label: t('report.points_issued'), values: keys.map((k) => m(k, 'points_issued')) },
    ],
    xLabel: t('reports.axis_month'),
    yLabel: t('reports.axis_amount'),
  });
  const flows = barChart({
    name: 'flows',
    title: t('reports.chart_flows'),
    categories: cats,
    series: [
      { key: 'points_issued', label: t('report.points_issued'), values: keys.map((k) => m(k, 'points_issued')) },
      { key: 'points_redeemed', label: t('report.points_redeemed'), values: keys.map((k) => m(k, 'points_redeemed')) },
      { key: 'points_expired', label: t('report.points_expired'), values: keys.map((k) => m(k, 'points_expired')) },
    ],
    xLabel: t('reports.axis_month'),
    yLabel: t('reports.axis_points'),
  });
  const levels = Array.isArray(r.star_levels) ? [...r.star_levels].sort((a, b) => a.level - b.level) : [];
  const starsChart = levels.length ? barChart({
    name: 'stars',
    title: t('reports.chart_stars'),
    categories: levels.map((l) => ({ key: String(l.level), label: Number(l.level) > 0 ? `${l.level}★` : t('star.none'), full: Number(l.level) > 0 ? t('star.level', { n: l.level }) : t('star.none') })),
    series: [{ key: 'volunteers', label: t('reports.volunteers'), values: levels.map((l) => String(l.volunteers ?? 0)) }],
    xLabel: t('reports.axis_star'),
    yLabel: t('reports.axis_people'),
    integer: true,
  }) : h('figure', { class: 'chart' }, h('figcaption', null, h('span', { class: 'chart-title' }, t('reports.chart_stars'))), empty());

  const children = r.children || [];
  const childTable = children.length ? table([
    { label: t('reports.child_org'), render: (c) => h('a', { href: `#/reports?org=${encodeURIComponent(c.org_id)}&from=${p.from}&to=${p.to}`, 'data-org': c.org_id }, c.name || c.org_id) },
    ...FIGURES.map((f) => ({ label: t('report.' + f), render: (c) => (c[f] === null || c[f] === undefined ? '—' : fmtAmount(c[f])), class: 'num' })),
  ], children, (c) => ({ 'data-id': c.org_id })).el : empty(t('reports.no_children'));

  return [
    h('p', { class: 'muted small' }, t('reports.period', { from: p.from, to: p.to })),
    stats,
    h('div', { class: 'charts' }, monthly, flows, starsChart),
    h('h2', { class: 'sub-title' }, t('reports.children')),
    childTable,
  ];
}
