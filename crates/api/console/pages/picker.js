// Pick an active volunteer of the current org by name or phone prefix.

import * as api from '../api.js';
import { t } from '../i18n/index.js';
import { h, replace, clear, errorBanner, stars } from '../ui.js';
import { orgId } from '../state.js';

export function volunteerPicker({ id }) {
  let chosen = null;
  const input = h('input', {
    id, type: 'search', autocomplete: 'off', placeholder: t('picker.placeholder'), 'aria-label': t('picker.label'), maxlength: 50,
  });
  const results = h('ul', { class: 'picker-results', role: 'listbox' });
  const selected = h('div', { class: 'picker-selected' });
  const el = h('div', { class: 'picker' }, input, selected, results);
  let timer = null;
  let gen = 0;

  const showChosen = () => {
    clear(selected);
    if (!chosen) return;
    selected.appendChild(h('span', { class: 'tag tag-blue', 'data-volunteer-id': chosen.id },
      `${chosen.name} · ${chosen.phone || ''}`));
    selected.appendChild(h('button', {
      type: 'button', class: 'btn btn-link btn-sm', onclick: () => { chosen = null; showChosen(); input.focus(); },
    }, t('picker.change')));
  };

  const search = async () => {
    const q = input.value.trim();
    const my = ++gen;
    if (!q) { clear(results); return; }
    try {
      const r = await api.get('/volunteers', { org_id: orgId(), status: 'active', q, limit: 10 });
      if (my !== gen) return;
      const items = (r && r.items) || [];
      if (!items.length) { replace(results, h('li', { class: 'muted' }, t('picker.none'))); return; }
      replace(results, items.map((v) => h('li', null, h('button', {
        type: 'button', class: 'picker-option', role: 'option', 'data-volunteer-id': v.id,
        onclick: () => { chosen = v; input.value = ''; clear(results); showChosen(); },
      }, h('strong', null, v.name), ' ', h('span', { class: 'muted' }, v.phone || ''), ' ',
      h('span', { class: 'muted' }, v.community_name || ''), ' ', stars(v.star_level)))));
    } catch (err) {
      if (my === gen) replace(results, h('li', null, errorBanner(err)));
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { search(); }, 300);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); search(); }
  });

  return {
    el,
    value: () => (chosen ? chosen.id : null),
    chosen: () => chosen,
    reset: () => { chosen = null; input.value = ''; clear(results); showChosen(); },
  };
}
