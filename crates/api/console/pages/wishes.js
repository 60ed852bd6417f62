import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, section, pageHeader, pagedTable, button, statusTag, fmtTime, fmtAmount, drawer,
  descriptions,
} from '../ui.js';
import { orgId } from '../state.js';
import { volunteerLink, idText } from './names.js';

const STATUSES = ['open', 'claimed', 'fulfilled', 'confirmed'];

export function render(ctx) {
  let status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'open';
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const box = h('div');

  const refresh = () => {
    ctx.app.setQuery('/wishes', { status });
    replace(tabBar, STATUSES.map((k) => h('button', {
      type: 'button', role: 'tab', class: ['tab', k === status ? 'active' : null], 'data-tab': k,
      'aria-selected': k === status ? 'true' : 'false',
      onclick: () => { status = k; refresh(); },
    }, t('status.' + k))));
    const list = pagedTable({
      columns: [
        { label: t('wishes.category'), render: (w) => w.category },
        { label: t('wishes.description'), render: (w) => h('span', { class: 'clamp' }, w.description) },
        { label: t('wishes.budget'), render: (w) => fmtAmount(w.budget) },
        { label: t('common.status'), render: (w) => statusTag(w.status) },
        { label: t('wishes.requester'), render: (w) => w.requester_name || idText(w.requester_id) },
        { label: t('wishes.claimed_by'), render: (w) => claimer(w) },
        { label: t('common.created_at'), render: (w) => fmtTime(w.created_at) },
        { label: t('common.actions'), class: 'actions', render: (w) => button(t('common.details'), { class: 'btn-sm', 'data-action': 'details', onclick: () => details(w) }, 'link') },
      ],
      rowAttrs: (w) => ({ 'data-id': w.id, 'data-status': w.status }),
      fetchPage: (cursor) => api.get('/wishes', { org_id: orgId(), status, cursor, limit: 50 }),
    });
    replace(box, list.el);
    list.reload();
  };
  refresh();
  return h('main', { 'data-page': 'wishes' },
    pageHeader(t('nav.wishes')),
    section(null, tabBar, box));
}

function claimer(w) {
  if (w.claimed_by_volunteer) {
    return volunteerLink(w.claimed_by_volunteer, w.claimed_by_volunteer_name);
  }
  if (w.claimed_by_org) return w.claimed_by_org_name || w.claimed_by_org;
  return '—';
}

function details(w) {
  drawer({
    title: `${w.category || t('nav.wishes')} · ${t('status.' + w.status, null, w.status)}`,
    body: descriptions([
      [t('common.status'), statusTag(w.status)],
      [t('wishes.category'), w.category],
      [t('wishes.description'), w.description],
      [t('wishes.budget'), fmtAmount(w.budget)],
      [t('wishes.requester'), w.requester_name || idText(w.requester_id)],
      [t('wishes.community'), w.community_name || idText(w.community_id)],
      [t('wishes.claimed_by'), claimer(w)],
      [t('wishes.fulfil_note'), w.fulfil_note],
      [t('wishes.fulfilled_at'), fmtTime(w.fulfilled_at)],
      [t('wishes.confirmed_at'), fmtTime(w.confirmed_at)],
      [t('wishes.award'), idText(w.award_id)],
      [t('common.created_at'), fmtTime(w.created_at)],
      [t('common.id'), idText(w.id)],
    ]),
  });
}
