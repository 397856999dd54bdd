import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One sampling interval. Milliseconds unless named otherwise; null where nothing was measured. */
export interface SoakRow {
  /** Seconds from the start of the load to the end of this interval. */
  elapsed: number;
  seconds: number;
  sent: number;
  dropped: number;
  ok: number;
  expected4xx: number;
  unexpected: number;
  /** Responses that arrived per second. */
  rate: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  rssMiB: number | null;
  /** Event-loop delay beyond the probe's timer resolution, of the worst serving process. */
  loopP50: number | null;
  loopP99: number | null;
  loopMax: number | null;
}

export interface SoakReport {
  startedAt: string;
  settings: { rate: number; durationSeconds: number; intervalSeconds: number; workers: number; database: string; wrongSecretTraffic: boolean };
  machine: { node: string; cpus: number; model: string };
  /** Why the run ended before its duration, if it did. */
  cutShort: string | null;
  rows: SoakRow[];
  totals: { sent: number; dropped: number; ok: number; expected4xx: number; unexpected: number };
  /** Answers by request kind and status over the whole run. */
  statuses: Record<string, number>;
  /** The first few unexpected answers. */
  examples: string[];
}

const fmt = (n: number | null, digits = 1) => (n === null || !Number.isFinite(n) ? '-' : n.toFixed(digits));

export function clock(seconds: number): string {
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0'));
  return s >= 3600 ? hms.join(':') : `${hms[1]}:${hms[2]}`;
}

export function summaryLine(report: SoakReport): string {
  const first = report.rows[0];
  const last = report.rows.at(-1);
  const t = report.totals;
  return (
    `RSS ${fmt(first?.rssMiB ?? null)} → ${fmt(last?.rssMiB ?? null)} MiB, p99 ${fmt(first?.p99 ?? null)} → ${fmt(last?.p99 ?? null)} ms ` +
    `(first → last interval); ${t.sent} requests sent, ${t.unexpected} unexpected errors, ${t.dropped} dropped.`
  );
}

export function markdownReport(report: SoakReport): string {
  const s = report.settings;
  const lines = [
    `Gatehouse soak, ${report.startedAt}: ${s.rate} req/s offered for ${clock(s.durationSeconds)}, sampled every ${s.intervalSeconds} s, ` +
      `${s.workers} worker${s.workers === 1 ? '' : 's'}, ${s.database}.`,
    `Machine: ${report.machine.cpus} × ${report.machine.model}, Node ${report.machine.node}.`,
    ...(report.cutShort ? [`Cut short: ${report.cutShort}.`] : []),
    '',
    '| time | req/s | p50 ms | p99 ms | max ms | 4xx (expected) | unexpected | dropped | RSS MiB | loop p50 ms | loop p99 ms | loop max ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of report.rows) {
    const cells = [clock(r.elapsed), fmt(r.rate, 0), fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.max, 1), r.expected4xx, r.unexpected, r.dropped, fmt(r.rssMiB)];
    lines.push(`| ${[...cells, fmt(r.loopP50, 2), fmt(r.loopP99, 2), fmt(r.loopMax, 1)].join(' | ')} |`);
  }
  lines.push('', summaryLine(report));
  const statuses = Object.entries(report.statuses).sort(([a], [b]) => a.localeCompare(b));
  if (statuses.length) lines.push('', `Answers by request and status: ${statuses.map(([key, n]) => `${key}: ${n}`).join(', ')}.`);
  if (report.examples.length) lines.push('', 'Unexpected answers (first few):', ...report.examples.map((e) => `- ${e.replace(/\s+/g, ' ')}`));
  return `${lines.join('\n')}\n`;
}

interface Series {
  label: string;
  colour: string;
  points: [number, number | null][];
}

const WIDTH = 900;
const PANEL = { left: 70, right: 20, height: 240 };

/** Two panels over elapsed time: server RSS, then request p99 and event-loop delay p99. */
export function soakChart(report: SoakReport): { svg: string; width: number; height: number } {
  const end = Math.max(1, ...report.rows.map((r) => r.elapsed));
  const rss: Series = { label: 'server RSS (MiB)', colour: '#2f6f9f', points: report.rows.map((r) => [r.elapsed, r.rssMiB]) };
  const p99: Series = { label: 'request p99 (ms)', colour: '#b0643c', points: report.rows.map((r) => [r.elapsed, r.p99]) };
  const loop: Series = { label: 'event-loop delay p99 (ms)', colour: '#5a8f3c', points: report.rows.map((r) => [r.elapsed, r.loopP99]) };
  const height = 2 * PANEL.height + 190;
  const s = report.settings;
  const title = `Gatehouse soak ${report.startedAt}: ${s.rate} req/s, ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${s.database}`;
  return {
    width: WIDTH,
    height,
    svg: [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
      // The chart's accessible name, so it can be committed beside the README that shows it.
      `<title>${escapeXml(`${title}: server RSS, request p99 and event-loop delay p99 over time`)}</title>`,
      `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
      `<text x="10" y="20" font-weight="bold">${escapeXml(title)}</text>`,
      ...panel(60, end, 'MiB', [rss]),
      ...panel(PANEL.height + 130, end, 'ms', [p99, loop]),
      `<text x="${(PANEL.left + WIDTH - PANEL.right) / 2}" y="${height - 8}" text-anchor="middle">time since the load started</text>`,
      '</svg>',
    ].join('\n'),
  };
}

function panel(top: number, end: number, unit: string, series: Series[]): string[] {
  const right = WIDTH - PANEL.right;
  const bottom = top + PANEL.height;
  const values = series.flatMap((one) => one.points.map(([, v]) => v).filter((v): v is number => v !== null));
  const yMax = niceCeiling(Math.max(0, ...values));
  const x = (t: number) => PANEL.left + (t / end) * (right - PANEL.left);
  const y = (v: number) => bottom - (v / yMax) * PANEL.height;
  const out = [`<rect x="${PANEL.left}" y="${top}" width="${right - PANEL.left}" height="${PANEL.height}" fill="none" stroke="#999"/>`];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(`<line x1="${PANEL.left}" x2="${right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${PANEL.left - 6}" y="${y(v) + 4}" text-anchor="end">${formatTick(v)}</text>`);
  }
  const step = timeStep(end);
  for (let t = 0; t <= end; t += step) out.push(`<text x="${x(t)}" y="${bottom + 16}" text-anchor="middle">${clock(t)}</text>`);
  out.push(`<text x="14" y="${top + PANEL.height / 2}" transform="rotate(-90 14 ${top + PANEL.height / 2})" text-anchor="middle">${unit}</text>`);
  series.forEach((one, i) => {
    const points = one.points.filter((p): p is [number, number] => p[1] !== null).map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${one.colour}" stroke-width="2" points="${points.join(' ')}"/>`);
    for (const point of points) out.push(`<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="2.5" fill="${one.colour}"/>`);
    out.push(`<rect x="${PANEL.left + i * 240}" y="${top - 16}" width="12" height="4" fill="${one.colour}"/>`);
    out.push(`<text x="${PANEL.left + i * 240 + 18}" y="${top - 10}">${escapeXml(one.label)}</text>`);
  });
  return out;
}

/** The smallest 1, 2 or 5 × 10^n at or above `value`, so the axis ticks are round numbers. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * magnitude >= value) ?? 10) * magnitude;
}

/** A round step between time labels (1 s to 6 h) that gives at most eight of them. */
function timeStep(end: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600];
  return steps.find((step) => end / step <= 8) ?? Math.ceil(end / 8 / 3600) * 3600;
}

const formatTick = (v: number) => (v >= 10 || v === 0 ? v.toFixed(0) : v.toPrecision(2));
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Writes soak-<timestamp>.json, .md and .svg, and a .png when Debian's chromium is there. */
export async function writeSoakReport(dir: string, report: SoakReport): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `soak-${report.startedAt.replace(/[:.]/g, '-')}`);
  const chart = soakChart(report);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownReport(report));
  writeFileSync(`${base}.svg`, `${chart.svg}\n`);
  const written = [`${base}.json`, `${base}.md`, `${base}.svg`];
  if (await renderPng(chart, `${base}.png`)) written.push(`${base}.png`);
  return written;
}

const CHROMIUM = '/usr/bin/chromium';

async function renderPng(chart: { svg: string; width: number; height: number }, path: string): Promise<boolean> {
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(`soak: ${CHROMIUM} is missing, so no PNG (the SVG has the same chart; apt-get install chromium adds it)\n`);
    return false;
  }
  try {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: chart.width, height: chart.height } });
      await page.setContent(`<!doctype html><html><body style="margin:0">${chart.svg}</body></html>`);
      await page.locator('svg').screenshot({ path });
    } finally {
      await browser.close();
    }
    return true;
  } catch (error) {
    // The chart is a convenience: a browser that will not start must not fail the soak.
    process.stderr.write(`soak: rendering the PNG failed, the SVG remains: ${(error as Error).message}\n`);
    return false;
  }
}
