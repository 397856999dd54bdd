import { escapeHtml } from '../pages/layout.ts';

const WIDTH = 640;
const HEIGHT = 160;
const BASELINE = 130;
const TOP = 16;

/**
 * Tokens per day as a small inline SVG bar chart: no script, no style attribute (the CSP allows
 * neither), colours from the stylesheet through `currentColor`. The same numbers follow as a
 * table for screen readers and for reading exact values.
 */
export function usageChart(points: readonly { day: string; count: number }[], caption: string): string {
  if (points.length === 0) return '<p class="empty">No tokens issued in this period.</p>';
  const max = Math.max(1, ...points.map((p) => p.count));
  const slot = WIDTH / points.length;
  const barWidth = Math.max(2, slot * 0.7);
  const bars = points.map((p, i) => {
    const h = Math.round(((BASELINE - TOP) * p.count) / max);
    const x = (i * slot + (slot - barWidth) / 2).toFixed(1);
    return `<rect x="${x}" y="${BASELINE - h}" width="${barWidth.toFixed(1)}" height="${h}" fill="currentColor"><title>${escapeHtml(p.day)}: ${p.count}</title></rect>`;
  });
  const first = points[0]?.day ?? '';
  const last = points[points.length - 1]?.day ?? '';
  const svg = [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(caption)}">`,
    `<line x1="0" y1="${BASELINE}" x2="${WIDTH}" y2="${BASELINE}" stroke="currentColor" stroke-width="1"/>`,
    ...bars,
    `<text x="0" y="${HEIGHT - 10}">${escapeHtml(first)}</text>`,
    `<text x="${WIDTH}" y="${HEIGHT - 10}" text-anchor="end">${escapeHtml(last)}</text>`,
    `<text x="0" y="11">max ${max}</text>`,
    '</svg>',
  ].join('');
  const rows = points.map((p) => `<tr><th scope="row">${escapeHtml(p.day)}</th><td>${p.count}</td></tr>`).join('');
  const table = `<details><summary>As a table</summary><div class="table-wrap"><table><caption class="sr-only">${escapeHtml(caption)}</caption><thead><tr><th scope="col">Day (UTC)</th><th scope="col">Tokens</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
  return svg + table;
}
