// Hand-drawn SVG bar charts: no library. Values arrive as decimal strings;
// they are turned into numbers only to size the bars — every label and
// tooltip shows the string as the server sent it.

import { h, s } from './ui.js';

const W = 560;
const H = 300;
const M = { top: 16, right: 12, bottom: 62, left: 60 };

function num(v) {
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : 0;
}

function niceStep(raw, integer) {
  if (raw <= 0) return integer ? 1 : 0.2;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  let step;
  if (f <= 1) step = p;
  else if (f <= 2) step = 2 * p;
  else if (f <= 5) step = 5 * p;
  else step = 10 * p;
  if (integer) step = Math.max(1, Math.round(step));
  return step;
}

function fmtTick(v) {
  if (Math.abs(v) >= 1000) return `${Math.round(v / 100) / 10}k`;
  return String(Math.round(v * 100) / 100);
}

/**
 * barChart({name, title, categories: [{key, label, sub?}], series: [{key, label, values: [raw]}],
 *           xLabel, yLabel, integer})
 * → <figure> with the svg[data-chart=name] and an HTML legend.
 */
export function barChart({ name, title, categories, series, xLabel, yLabel, integer = false }) {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  let max = 0;
  for (const se of series) for (const v of se.values) max = Math.max(max, num(v));
  const step = niceStep(max / 5, integer);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v) => M.top + plotH - (num(v) / top) * plotH;

  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, 'data-chart': name, role: 'img', 'aria-label': title,
    class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet',
  }, s('title', null, title));

  // grid and y ticks
  const grid = s('g', { class: 'grid' });
  for (let v = 0; v <= top + step / 2; v += step) {
    const yy = y(v);
    grid.appendChild(s('line', { x1: M.left, x2: W - M.right, y1: yy, y2: yy, class: v === 0 ? 'axis-line' : 'grid-line' }));
    grid.appendChild(s('text', { x: M.left - 8, y: yy + 4, class: 'tick', 'text-anchor': 'end' }, fmtTick(v)));
  }
  svg.appendChild(grid);

  // y axis
  svg.appendChild(s('line', { x1: M.left, x2: M.left, y1: M.top, y2: M.top + plotH, class: 'axis-line' }));
  svg.appendChild(s('text', {
    class: 'axis-title', 'text-anchor': 'middle',
    transform: `translate(15 ${M.top + plotH / 2}) rotate(-90)`,
  }, yLabel));
  // x axis title
  svg.appendChild(s('text', { class: 'axis-title', 'text-anchor': 'middle', x: M.left + plotW / 2, y: H - 6 }, xLabel));

  const n = Math.max(1, categories.length);
  const group = plotW / n;
  const inner = group * 0.78;
  const barW = Math.max(1, inner / Math.max(1, series.length));
  const bars = s('g', { class: 'bars' });
  categories.forEach((cat, i) => {
    const gx = M.left + i * group + (group - inner) / 2;
    series.forEach((se, j) => {
      const raw = se.values[i];
      const yy = y(raw);
      const hgt = Math.max(0, M.top + plotH - yy);
      const rect = s('rect', {
        x: (gx + j * barW).toFixed(2), y: yy.toFixed(2), width: Math.max(1, barW - 2).toFixed(2), height: hgt.toFixed(2),
        class: `bar series-${j}`, 'data-category': cat.key, 'data-series': se.key, 'data-value': raw ?? '0',
      }, s('title', null, `${cat.full || cat.label} · ${se.label}: ${raw ?? '0'}`));
      bars.appendChild(rect);
    });
    const cx = M.left + i * group + group / 2;
    bars.appendChild(s('text', { x: cx, y: M.top + plotH + 18, class: 'tick', 'text-anchor': 'middle' }, cat.label));
    if (cat.sub) bars.appendChild(s('text', { x: cx, y: M.top + plotH + 34, class: 'tick sub', 'text-anchor': 'middle' }, cat.sub));
  });
  svg.appendChild(bars);

  const legend = h('ul', { class: 'legend' },
    series.map((se, j) => h('li', null, h('span', { class: `swatch series-${j}` }), se.label)));
  return h('figure', { class: 'chart' },
    h('figcaption', null, h('span', { class: 'chart-title' }, title), legend),
    h('div', { class: 'chart-scroll' }, svg));
}
