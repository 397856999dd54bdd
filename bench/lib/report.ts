import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.ts';

export interface ScenarioResult extends LoadResult {
  server: string;
  scenario: string;
  connections: number;
  /** requests/s divided by the baseline's at the same concurrency, in the same run. */
  ratio: number;
}

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; model: string; node: string; pinned: boolean };
  mode: 'full' | 'quick';
  results: ScenarioResult[];
  /** Named figures derived from results (growth ratio, worker scaling, peer comparison). */
  derived: Record<string, number>;
  /** Each target with its threshold, the figure reached and whether it is met. */
  targets: { name: string; threshold: string; value: number; met: boolean }[];
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export function markdownTable(report: BenchReport): string {
  const lines = [
    `Gatehouse benchmark, ${report.mode} mode, ${report.startedAt}`,
    `Machine: ${report.machine.cpus} × ${report.machine.model}, Node ${report.machine.node}, server and load generator ${report.machine.pinned ? 'pinned to different cores' : 'not pinned'}.`,
    '',
    '| server | scenario | c | req/s | ratio to baseline | p50 ms | p99 ms | errors | non-2xx |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of report.results) {
    lines.push(
      `| ${r.server} | ${r.scenario} | ${r.connections} | ${fmt(r.requestsPerSecond)} | ${fmt(r.ratio, 3)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.errors} | ${r.non2xx} |`,
    );
  }
  if (Object.keys(report.derived).length) {
    lines.push('', '| derived figure | value |', '|---|---|');
    for (const [name, value] of Object.entries(report.derived)) lines.push(`| ${name} | ${fmt(value, 3)} |`);
  }
  if (report.targets.length) {
    lines.push('', '| target | threshold | reached | met |', '|---|---|---|---|');
    for (const t of report.targets) lines.push(`| ${t.name} | ${t.threshold} | ${fmt(t.value, 3)} | ${t.met ? 'yes' : 'NO'} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** A horizontal bar chart of every scenario's ratio to the baseline. */
export function ratioChart(results: ScenarioResult[]): string {
  const rows = results.filter((r) => r.server !== 'baseline');
  const barHeight = 18;
  const labelWidth = 360;
  const chartWidth = 440;
  const max = Math.max(1, ...rows.map((r) => r.ratio));
  const height = rows.length * (barHeight + 6) + 50;
  const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = rows.map((r, i) => {
    const y = 30 + i * (barHeight + 6);
    const width = Math.max(1, (r.ratio / max) * chartWidth);
    const colour = r.server.startsWith('gatehouse') ? '#2f6f9f' : '#b0643c';
    return [
      `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${escapeXml(`${r.server} · ${r.scenario} · c=${r.connections}`)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" fill="${colour}"/>`,
      `<text x="${labelWidth + width + 6}" y="${y + 13}">${r.ratio.toFixed(3)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + chartWidth + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="18" font-weight="bold">Requests/s as a ratio to the bare node:http baseline (same run)</text>`,
    ...bars,
    '</svg>',
  ].join('\n');
}

export function writeReport(dir: string, report: BenchReport): { json: string; markdown: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const contents = { json: `${JSON.stringify(report, null, 2)}\n`, md: markdownTable(report), svg: ratioChart(report.results) };
  for (const [ext, text] of Object.entries(contents)) {
    writeFileSync(join(dir, `bench-${report.mode}-${stamp}.${ext}`), text);
    writeFileSync(join(dir, `latest-${report.mode}.${ext}`), text);
  }
  return {
    json: join(dir, `bench-${report.mode}-${stamp}.json`),
    markdown: join(dir, `bench-${report.mode}-${stamp}.md`),
    svg: join(dir, `bench-${report.mode}-${stamp}.svg`),
  };
}
