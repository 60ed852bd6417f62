import * as api from '../api.js';
import { t } from '../i18n/index.js';
import {
  h, replace, loading, errorBanner, section, pageHeader, pagedTable, button, confirmDialog, toast,
  statusTag, fmtTime, fmtAmount, mono, table, empty, busy, uuid, clear, descriptions,
} from '../ui.js';
import { idText } from './names.js';
import { canOperateSite, isOperatorOnly, state } from '../state.js';

const ORDER_STATUSES = ['reserved', 'fulfilled', 'cancelled', 'expired'];

export async function render(ctx) {
  const id = ctx.params.id;
  const enc = encodeURIComponent(id);
  const site = await api.get(`/sites/${enc}`);
  const mayOperate = canOperateSite(id);
  let status = ORDER_STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'reserved';

  const stockBox = h('div', null, loading());
  const ordersBox = h('div');
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const handout = mayOperate ? handoutPanel(site, {
    onDone: (order) => {
      const tr = ordersBox.querySelector(`tr[data-id="${cssEscape(order.id)}"]`);
      if (tr) {
        tr.dataset.status = 'fulfilled';
        const cell = tr.querySelector('.status-cell');
        if (cell) replace(cell, statusTag('fulfilled'));
        tr.querySelectorAll('[data-action="handout"]').forEach((b) => b.remove());
      }
      loadStock();
    },
  }) : null;

  const loadStock = async () => {
    try {
      const r = await api.get('/catalog', { site_id: id });
      renderStock(site, (r && r.items) || [], stockBox, mayOperate, loadStock);
    } catch (err) {
      replace(stockBox, errorBanner(err));
    }
  };

  const refreshOrders = () => {
    ctx.app.setQuery(`/sites/${id}`, { status: status === 'reserved' ? '' : status });
    replace(tabBar, ORDER_STATUSES.map((k) => h('button', {
      type: 'button', role: 'tab', class: ['tab', k === status ? 'active' : null], 'data-tab': k,
      'aria-selected': k === status ? 'true' : 'false',
      onclick: () => { status = k; refreshOrders(); },
    }, t('status.' + k))));
    const list = ordersList(site, status, mayOperate, handout);
    replace(ordersBox, list.el);
    list.reload();
  };

  refreshOrders();
  loadStock();

  const crumbs = isOperatorOnly() && state.siteScopes.length <= 1
    ? null
    : h('div', { class: 'breadcrumb' }, h('a', { href: '#/sites' }, t('nav.sites')), ' / ', site.name);

  return h('main', { 'data-page': 'site', 'data-id': site.id },
    crumbs,
    pageHeader(site.name, h('span', { class: 'muted' }, site.address || '')),
    handout ? section(t('handout.title'), handout.el) : null,
    section(t('orders.title'), tabBar, ordersBox),
    section(t('stock.title'), stockBox));
}

function cssEscape(v) {
  return (window.CSS && CSS.escape) ? CSS.escape(v) : String(v).replace(/["\\]/g, '\\$&');
}

function orderLabel(o) {
  return `${o.volunteer_name || o.volunteer_id} ${o.volunteer_phone || ''} · ${o.item_name || o.item_id} ×${o.quantity} · ${fmtAmount(o.points)} ${t('common.points_unit')}`;
}

function handoutPanel(site, { onDone }) {
  const orders = new Map();
  const orderSel = h('select', { id: 'handout-order', 'aria-label': t('handout.order') },
    h('option', { value: '' }, t('handout.choose')));
  const details = h('div', { class: 'handout-details' });
  const code = h('input', {
    id: 'pickup-code', name: 'pickup_code', inputmode: 'numeric', autocomplete: 'off', maxlength: 12,
    placeholder: t('handout.code_placeholder'), class: 'code-input',
  });
  const fulfil = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'fulfil' }, t('handout.fulfil'));
  const errBox = h('div');
  const form = h('form', { class: 'handout-form', novalidate: true, id: 'handout-form' },
    h('div', { class: 'field' }, h('label', { for: 'handout-order' }, t('handout.order')), orderSel),
    details,
    h('div', { class: 'field' }, h('label', { for: 'pickup-code' }, t('handout.code')), code),
    h('div', { class: 'form-actions' }, fulfil),
    errBox);

  const showDetails = () => {
    clear(details);
    const o = orders.get(orderSel.value);
    if (!o) return;
    details.appendChild(descriptions([
      [t('orders.volunteer'), `${o.volunteer_name || o.volunteer_id}`],
      [t('orders.phone'), o.volunteer_phone],
      [t('orders.item'), `${o.item_name || o.item_id} ×${o.quantity}`],
      [t('balance.points'), fmtAmount(o.points)],
      [t('orders.expires_at'), fmtTime(o.expires_at)],
    ]));
  };
  const addOrder = (o) => {
    if (orders.has(o.id)) return;
    orders.set(o.id, o);
    orderSel.appendChild(h('option', { value: o.id }, orderLabel(o)));
  };
  const choose = (o) => {
    addOrder(o);
    orderSel.value = o.id;
    showDetails();
    clear(errBox);
    code.value = '';
    form.scrollIntoView({ behavior: 'smooth', block: 'start' });
    code.focus();
  };
  orderSel.addEventListener('change', () => { showDetails(); clear(errBox); });

  api.get(`/sites/${encodeURIComponent(site.id)}/redemptions`, { status: 'reserved', limit: 200 })
    .then((r) => { for (const o of (r && r.items) || []) addOrder(o); })
    .catch((err) => replace(errBox, errorBanner(err)));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(errBox);
    const o = orders.get(orderSel.value);
    const c = code.value.replace(/\s+/g, '');
    if (!o) { errBox.appendChild(h('div', { class: 'error-message' }, t('handout.no_order'))); orderSel.focus(); return; }
    if (!c) { errBox.appendChild(h('div', { class: 'error-message' }, t('handout.no_code'))); code.focus(); return; }
    busy(fulfil, async () => {
      try {
        const done = await api.post(`/redemptions/${encodeURIComponent(o.id)}/fulfil`, { pickup_code: c }, { idempotencyKey: uuid() });
        toast(t('handout.done', { item: o.item_name || o.item_id, qty: o.quantity, name: o.volunteer_name || '' }), 'success');
        orders.delete(o.id);
        const opt = [...orderSel.options].find((x) => x.value === o.id);
        if (opt) opt.remove();
        orderSel.value = '';
        code.value = '';
        showDetails();
        onDone({ ...o, ...(done || {}) });
      } catch (err) {
        replace(errBox, errorBanner(err));
        code.select();
      }
    });
  });

  return { el: h('div', null, h('p', { class: 'muted small' }, t('handout.hint')), form), choose };
}

function ordersList(site, status, mayOperate, handout) {
  const columns = [
    { label: t('orders.volunteer'), render: (o) => o.volunteer_name || idText(o.volunteer_id) },
    { label: t('orders.phone'), render: (o) => o.volunteer_phone },
    { label: t('orders.item'), render: (o) => o.item_name || mono(o.item_id) },
    { label: t('orders.quantity'), render: (o) => String(o.quantity) },
    { label: t('balance.points'), render: (o) => fmtAmount(o.points) },
    { label: t('common.status'), render: (o) => h('span', { class: 'status-cell' }, statusTag(o.status)) },
    { label: t('orders.created_at'), render: (o) => fmtTime(o.created_at) },
    status === 'reserved'
      ? { label: t('orders.expires_at'), render: (o) => fmtTime(o.expires_at) }
      : { label: t('orders.closed_at'), render: (o) => fmtTime(o.closed_at) },
  ];
  if (mayOperate && status === 'reserved' && handout) {
    columns.push({
      label: t('common.actions'),
      class: 'actions',
      render: (o) => (o.status === 'reserved'
        ? button(t('handout.button'), { class: 'btn-sm', 'data-action': 'handout', onclick: () => handout.choose(o) }, 'primary')
        : ''),
    });
  }
  return pagedTable({
    columns,
    rowAttrs: (o) => ({ 'data-id': o.id, 'data-status': o.status }),
    fetchPage: (cursor) => api.get(`/sites/${encodeURIComponent(site.id)}/redemptions`, { status, cursor, limit: 50 }),
    emptyText: t('orders.none'),
  });
}

function renderStock(site, items, box, mayOperate, reload) {
  if (!items.length) { replace(box, empty(t('stock.none'))); return; }
  const columns = [
    { label: t('stock.item'), render: (i) => h('span', null, h('strong', null, i.name), i.description ? h('div', { class: 'muted small' }, i.description) : null) },
    { label: t('stock.price'), render: (i) => fmtAmount(i.points_price) },
    { label: t('stock.available'), render: (i) => h('span', { class: ['stock-count', Number(i.stock) <= 0 ? 'out' : null], 'data-stock': String(i.stock ?? 0) }, String(i.stock ?? 0)) },
    { label: t('stock.reserved'), render: (i) => String(i.reserved ?? 0) },
    { label: t('stock.min_star'), render: (i) => (i.min_star_level ? `${i.min_star_level}★` : '—') },
    { label: t('stock.limit'), render: (i) => (i.limit_per_person_per_quarter ? String(i.limit_per_person_per_quarter) : t('rules.unlimited')) },
    { label: t('common.status'), render: (i) => statusTag(i.status) },
  ];
  if (mayOperate) {
    columns.push({
      label: t('common.actions'),
      class: 'actions',
      render: (i) => button(t('stock.restock'), { class: 'btn-sm', 'data-action': 'restock', onclick: () => restock(site, i, reload) }, 'link'),
    });
  }
  replace(box, table(columns, items, (i) => ({ 'data-id': i.id })).el);
}

async function restock(site, item, reload) {
  const res = await confirmDialog({
    title: t('stock.restock_title', { item: item.name }),
    message: t('stock.restock_hint'),
    facts: [[t('stock.available'), String(item.stock ?? 0)], [t('stock.reserved'), String(item.reserved ?? 0)]],
    okText: t('stock.restock_ok'),
    inputs: [
      { name: 'delta', label: t('stock.delta'), type: 'number', inputmode: 'numeric', required: true, pattern: /^-?[1-9][0-9]{0,5}$/, patternMessage: t('stock.bad_delta') },
      { name: 'reason', label: t('stock.reason'), required: true, placeholder: t('stock.reason_placeholder') },
    ],
    onOk: async (values) => {
      const r = await api.post(`/sites/${encodeURIComponent(site.id)}/stock`, { item_id: item.id, delta: Number(values.delta), reason: values.reason });
      toast(t('stock.done', { item: item.name, n: r && (r.available ?? r.quantity) !== undefined ? (r.available ?? r.quantity) : '' }), 'success');
    },
  });
  if (res) reload();
}
