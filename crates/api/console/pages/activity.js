import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, button, confirmDialog, toast, statusTag,
  fmtTime, fmtAmount, descriptions, mono, table, empty, field, localInputToIso, isoToLocalInput,
  busy, uuid, clear,
} from '../ui.js';
import { canAct } from '../state.js';
import { review } from './activities.js';
import { volunteerPicker } from './picker.js';
import { volunteerLink as personLink, idText, txLink } from './names.js';

export async function render(ctx) {
  const id = ctx.params.id;
  const enc = encodeURIComponent(id);
  const a = await api.get(`/activities/${enc}`);
  const mayAct = canAct();

  const actions = [];
  if (mayAct && a.status === 'pending_review') {
    actions.push(button(t('review.approve'), {
      'data-action': 'approve',
      onclick: async () => { if (await review(a, 'approve')) ctx.app.rerender(); },
    }, 'primary'));
    actions.push(button(t('review.reject'), {
      'data-action': 'reject',
      onclick: async () => { if (await review(a, 'reject')) ctx.app.rerender(); },
    }, 'danger'));
  }
  if (mayAct && a.status === 'published') {
    actions.push(button(t('checkin.button'), { 'data-action': 'checkin-code', onclick: () => showCheckinCode(a) }, 'default'));
    actions.push(button(t('settle.button'), { 'data-action': 'settle', onclick: () => settle(a, attendanceBox, resultBox) }, 'primary'));
  }

  const attendanceBox = h('div', null, loading());
  const resultBox = h('div', { id: 'settle-result' });
  loadAttendance(a, attendanceBox);

  const info = descriptions([
    [t('activity.title'), a.title],
    [t('activity.category'), a.category],
    [t('common.status'), statusTag(a.status)],
    [t('activity.starts_at'), fmtTime(a.starts_at)],
    [t('activity.ends_at'), fmtTime(a.ends_at)],
    [t('activity.location'), a.location],
    [t('activity.signed_up'), `${a.signed_up ?? 0} / ${a.capacity}`],
    [t('activity.points_per_hour'), a.points_per_hour ? fmtAmount(a.points_per_hour) : t('activity.pph_default')],
    [t('activity.description'), a.description],
    a.review_reason ? [t('review.reason'), a.review_reason] : null,
    a.reviewed_at ? [t('activity.reviewed_at'), fmtTime(a.reviewed_at)] : null,
    [t('common.created_at'), fmtTime(a.created_at)],
    [t('common.id'), mono(a.id)],
  ]);

  return h('main', { 'data-page': 'activity', 'data-id': a.id },
    h('div', { class: 'breadcrumb' }, h('a', { href: '#/activities' }, t('nav.activities')), ' / ', a.title),
    pageHeader(a.title, ...actions),
    section(t('activity.info'), info),
    mayAct && a.status === 'published' ? section(t('attendance.record'), recordForm(a, attendanceBox)) : null,
    section(t('attendance.title'), attendanceBox),
    section(t('settle.result_title'), resultBox));
}

async function loadAttendance(a, box) {
  replace(box, loading());
  try {
    const r = await api.get(`/activities/${encodeURIComponent(a.id)}/attendance`);
    const items = (r && r.items) || [];
    if (!items.length) { replace(box, empty(t('attendance.none'))); return; }
    replace(box, table([
      { label: t('attendance.volunteer'), render: (x) => volunteerLink(x) },
      { label: t('attendance.check_in'), render: (x) => fmtTime(x.check_in_at) },
      { label: t('attendance.check_out'), render: (x) => fmtTime(x.check_out_at) },
      { label: t('attendance.source'), render: (x) => t('attendance.source_' + x.source, null, x.source) },
      { label: t('attendance.settled'), render: (x) => h('span', { class: `tag tag-${x.settled ? 'green' : 'orange'}` }, t(x.settled ? 'attendance.settled_yes' : 'attendance.settled_no')) },
      { label: t('attendance.outcome'), render: (x) => (x.outcome ? t('skip.' + x.outcome, null, x.outcome) : '—') },
      { label: t('balance.hours'), render: (x) => fmtAmount(x.hours) },
      { label: t('balance.points'), render: (x) => fmtAmount(x.points) },
      { label: t('entry.transaction'), render: (x) => txLink(x.transaction_id) },
    ], items, (x) => ({ 'data-id': x.id })).el);
  } catch (err) {
    replace(box, errorBanner(err));
  }
}

function volunteerLink(x) {
  return personLink(x.volunteer_id, x.volunteer_name);
}

function recordForm(a, attendanceBox) {
  const picker = volunteerPicker({ id: 'att-volunteer' });
  const inAt = h('input', { id: 'att-in', type: 'datetime-local', value: isoToLocalInput(a.starts_at), required: true });
  const outAt = h('input', { id: 'att-out', type: 'datetime-local', value: isoToLocalInput(a.ends_at), required: true });
  const errBox = h('div');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'record-attendance' }, t('attendance.save'));
  const form = h('form', { class: 'form-grid compact', novalidate: true },
    field(t('attendance.volunteer'), picker.el, { required: true, id: 'att-volunteer' }),
    field(t('attendance.check_in'), inAt, { required: true }),
    field(t('attendance.check_out'), outAt, { required: true }),
    h('div', { class: 'form-actions' }, submit),
    errBox);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(errBox);
    const vid = picker.value();
    const ci = localInputToIso(inAt.value);
    const co = localInputToIso(outAt.value);
    if (!vid || !ci || !co) {
      errBox.appendChild(h('div', { class: 'error-message' }, t('attendance.missing')));
      return;
    }
    if (new Date(co) <= new Date(ci)) {
      errBox.appendChild(h('div', { class: 'error-message' }, t('attendance.out_before_in')));
      return;
    }
    busy(submit, async () => {
      try {
        await api.post(`/activities/${encodeURIComponent(a.id)}/attendance`, { volunteer_id: vid, check_in_at: ci, check_out_at: co });
        toast(t('attendance.saved'), 'success');
        picker.reset();
        loadAttendance(a, attendanceBox);
      } catch (err) {
        replace(errBox, errorBanner(err));
      }
    });
  });
  return h('div', null, h('p', { class: 'muted small' }, t('attendance.record_hint')), form);
}

async function settle(a, attendanceBox, resultBox) {
  const key = uuid();
  let result = null;
  const res = await confirmDialog({
    title: t('settle.title'),
    message: t('settle.confirm', { title: a.title }),
    facts: [[t('activity.time'), `${fmtTime(a.starts_at)} – ${fmtTime(a.ends_at)}`]],
    okText: t('settle.ok'),
    onOk: async () => {
      result = await api.post(`/activities/${encodeURIComponent(a.id)}/settle`, undefined, { idempotencyKey: key });
    },
  });
  if (!res || !result) return;
  toast(t('settle.done', { settled: result.settled ?? 0, skipped: result.skipped ?? 0 }), 'success');
  renderSettleResult(result, resultBox);
  loadAttendance(a, attendanceBox);
  resultBox.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function renderSettleResult(result, box) {
  const rows = [
    ...(result.transactions || []).map((x) => ({ ...x, outcome: 'settled' })),
    ...(result.skipped_items || []).map((x) => ({ ...x, outcome: 'skipped' })),
  ];
  replace(box,
    h('div', { class: 'settle-summary' },
      h('span', { class: 'tag tag-green', 'data-count': 'settled' }, t('settle.settled_n', { n: result.settled ?? 0 })),
      ' ',
      h('span', { class: 'tag tag-orange', 'data-count': 'skipped' }, t('settle.skipped_n', { n: result.skipped ?? 0 }))),
    rows.length ? table([
      { label: t('settle.attendance'), render: (x) => idText(x.attendance_id) },
      { label: t('attendance.volunteer'), render: (x) => (x.volunteer_id ? volunteerLink(x) : '—') },
      { label: t('settle.outcome'), render: (x) => (x.outcome === 'settled'
        ? h('span', { class: 'tag tag-green' }, t('settle.outcome_settled'))
        : h('span', { class: 'tag tag-orange' }, t('skip.' + x.reason, null, x.reason || t('settle.outcome_skipped')))) },
      { label: t('balance.hours'), render: (x) => fmtAmount(x.hours) },
      { label: t('balance.points'), render: (x) => fmtAmount(x.points) },
      { label: t('settle.to_pool'), render: (x) => fmtAmount(x.to_pool) },
      { label: t('entry.transaction'), render: (x) => txLink(x.transaction_id) },
    ], rows, (x) => ({ 'data-attendance': x.attendance_id || '', 'data-outcome': x.outcome })).el : empty(t('settle.nothing')));
}

// ---------- the check-in code, full screen ----------

function showCheckinCode(a) {
  const codeEl = h('div', { id: 'checkin-code', class: 'checkin-digits', 'aria-live': 'polite' }, '······');
  const validEl = h('div', { class: 'checkin-valid' });
  const errEl = h('div', { class: 'checkin-error' });
  const closeBtn = h('button', { type: 'button', class: 'btn btn-default checkin-close', 'data-action': 'close' }, t('checkin.close'));
  const overlay = h('div', { class: 'fullscreen checkin', role: 'dialog', 'aria-modal': 'true', 'aria-label': t('checkin.button') },
    h('div', { class: 'checkin-title' }, a.title),
    h('div', { class: 'checkin-hint' }, t('checkin.hint')),
    codeEl,
    validEl,
    errEl,
    closeBtn);
  document.body.appendChild(overlay);
  document.body.classList.add('modal-open');
  if (overlay.requestFullscreen) overlay.requestFullscreen().catch(() => { /* a fixed overlay is enough */ });

  let timer = null;
  let tick = null;
  let validUntil = null;
  let closed = false;

  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    clearInterval(tick);
    document.removeEventListener('keydown', onKey);
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    overlay.remove();
    document.body.classList.remove('modal-open');
  };
  const onKey = (e) => { if (e.key === 'Escape') close(); };
  document.addEventListener('keydown', onKey);
  closeBtn.addEventListener('click', close);
  // leaving the page closes it
  window.addEventListener('hashchange', close, { once: true });

  const showLeft = () => {
    if (!validUntil) return;
    const left = Math.max(0, Math.round((validUntil.getTime() - Date.now()) / 1000));
    const mm = String(Math.floor(left / 60)).padStart(2, '0');
    const ss = String(left % 60).padStart(2, '0');
    validEl.textContent = t('checkin.valid_until', { time: fmtTime(validUntil.toISOString()), left: `${mm}:${ss}` });
  };

  const load = async () => {
    if (closed) return;
    try {
      const c = await api.get(`/activities/${encodeURIComponent(a.id)}/code`);
      if (closed) return;
      clear(errEl);
      codeEl.textContent = String(c.code);
      const prev = validUntil;
      validUntil = new Date(c.valid_until);
      if (Number.isNaN(validUntil.getTime())) {
        validUntil = null;
        validEl.textContent = '';
        timer = setTimeout(load, 30000);
        return;
      }
      showLeft();
      // fetch the next code a few seconds before this one runs out; if the
      // server still gives the same one, ask again just as it rotates
      const same = prev && prev.getTime() === validUntil.getTime();
      const until = validUntil.getTime() - Date.now();
      const wait = same ? Math.max(1000, until + 300) : Math.max(2000, until - 5000);
      timer = setTimeout(load, Math.min(wait, 5 * 60 * 1000));
    } catch (err) {
      if (closed) return;
      replace(errEl, errorBanner(err));
      if (err && err.silent) { close(); return; }
      timer = setTimeout(load, 10000);
    }
  };
  tick = setInterval(showLeft, 1000);
  load();
}
