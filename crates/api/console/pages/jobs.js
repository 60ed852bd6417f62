import * as api from '../api.js';
import { t } from '../i18n/index.js';
import { idText } from './names.js';
import { h, replace, loading, errorBanner, section, pageHeader, table, fmtTime, statusTag, empty, button, busy, reportError } from '../ui.js';

export function render() {
  const box = h('div', null, loading());
  const more = h('div', { class: 'more' });
  let tbl = null;

  const columns = [
    { label: t('jobs.job'), render: (j) => h('strong', null, t('job.' + j.job, null, j.job)) },
    { label: t('common.status'), render: (j) => statusTag(j.status) },
    { label: t('jobs.started_at'), render: (j) => fmtTime(j.started_at) },
    { label: t('jobs.finished_at'), render: (j) => fmtTime(j.finished_at) },
    { label: t('jobs.actor'), render: (j) => j.actor_name || (j.actor_id === 'system' ? t('role.system') : idText(j.actor_id)) },
    { label: t('jobs.summary'), render: (j) => summary(j.summary) },
  ];

  const showMore = (cursor) => {
    replace(more);
    if (!cursor) return;
    const btn = button(t('common.load_more'), { 'data-action': 'load-more' });
    btn.addEventListener('click', () => busy(btn, async () => {
      try {
        const r = await api.get('/jobs', { cursor, limit: 50 });
        tbl.addRows((r && r.items) || []);
        showMore(r && r.next_cursor);
      } catch (err) {
        reportError(err);
      }
    }));
    more.appendChild(btn);
  };

  api.get('/jobs', { limit: 50 }).then((r) => {
    const items = (r && r.items) || [];
    if (!items.length) { replace(box, empty()); return; }
    tbl = table(columns, items, (j) => ({ 'data-id': j.id, 'data-status': j.status }));
    replace(box, tbl.el, more);
    showMore(r.next_cursor);
  }).catch((err) => {
    if (err && err.status === 403) {
      // not platform staff: say so plainly, this is not a failure
      replace(box, h('div', { class: 'notice notice-info', id: 'jobs-forbidden', 'data-code': err.code }, err.message || t('jobs.forbidden')));
    } else {
      replace(box, errorBanner(err));
    }
  });

  return h('main', { 'data-page': 'jobs' },
    pageHeader(t('nav.jobs')),
    section(null, h('p', { class: 'muted small' }, t('jobs.hint')), box));
}

function summary(sm) {
  if (!sm || typeof sm !== 'object') return sm ? String(sm) : '—';
  const parts = [];
  for (const k of ['units', 'changed', 'skipped']) {
    if (sm[k] !== undefined) parts.push(`${t('jobs.' + k)} ${sm[k]}`);
  }
  const rest = Object.entries(sm).filter(([k]) => !['units', 'changed', 'skipped'].includes(k));
  return h('div', { class: 'job-summary' },
    parts.length ? h('div', null, parts.join(' · ')) : null,
    rest.length ? h('details', null, h('summary', null, t('common.details')),
      h('pre', { class: 'json' }, JSON.stringify(Object.fromEntries(rest), null, 2))) : null);
}
