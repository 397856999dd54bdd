import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.ts';
import { HOT_SCENARIOS, type HotScenario } from './scenarios.ts';

/** How an A/B run was set up, as its report states it. */
export interface AbSetup {
  ref: string;
  /** The commit REF resolved to. */
  commit: string;
  rounds: number;
  seconds: number;
  warmup: number;
  connections: number;
}

/** One measurement: of side A or B in a scenario, or of a reference server. */
export interface AbSample extends LoadResult {
  side: 'A' | 'B' | 'baseline' | 'es256';
  scenario: string;
  database: string;
  round: number;
}

export interface AbRow {
  scenario: string;
  database: string;
  a: number;
  b: number;
  /** Mean of B's rounds ÷ mean of A's. */
  ratio: number;
  /** B ÷ A of each round (the two measured back to back), sorted. */
  pairs: number[];
  aToBaseline: number;
  bToBaseline: number;
  aToSignature: number;
  bToSignature: number;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
};
const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

/** One row per scenario and database; reference rates are the medians of the same database's rounds. */
export function abRows(samples: AbSample[]): AbRow[] {
  const rates = (side: AbSample['side'], scenario: string, database: string) =>
    samples
      .filter((s) => s.side === side && s.scenario === scenario && s.database === database)
      .sort((x, y) => x.round - y.round)
      .map((s) => s.requestsPerSecond);
  const rows: AbRow[] = [];
  for (const database of new Set(samples.map((s) => s.database))) {
    const baseline = median(rates('baseline', 'baseline', database));
    const signature = median(rates('es256', 'es256', database));
    const scenarios = new Set(samples.filter((s) => s.database === database && (s.side === 'A' || s.side === 'B')).map((s) => s.scenario));
    for (const scenario of scenarios) {
      const aRates = rates('A', scenario, database);
      const bRates = rates('B', scenario, database);
      const a = median(aRates);
      const b = median(bRates);
      const pairs = aRates.map((rate, i) => (bRates[i] ?? Number.NaN) / rate).sort((x, y) => x - y);
      rows.push({
        scenario,
        database,
        a,
        b,
        ratio: mean(bRates) / mean(aRates),
        pairs,
        aToBaseline: a / baseline,
        bToBaseline: b / baseline,
        aToSignature: a / signature,
        bToSignature: b / signature,
      });
    }
  }
  return rows;
}

const f3 = (x: number) => x.toFixed(3);
const rate = (x: number) => Math.round(x).toLocaleString('en');

/** The table `bench --ab` prints. */
export function formatAb(setup: AbSetup, samples: AbSample[]): string {
  const lines = [
    `A = ${setup.ref} (${setup.commit}), B = the working tree; ${setup.rounds} rounds of ${setup.seconds} s (after ${setup.warmup} s warm-up) per side and scenario at c=${setup.connections}, in the order A B, B A, A B, …`,
    'req/s: median of the rounds. B/A: mean of B ÷ mean of A. pairs: B ÷ A of each round (measured back to back), median and min–max.',
    "÷http, ÷ES256: the side's median ÷ the median of the bare node:http baseline, and of node:http + one ES256 signature, in the same rounds.",
  ];
  for (const database of new Set(samples.map((s) => s.database))) {
    const refs = (side: AbSample['side']) => samples.filter((s) => s.side === side && s.database === database).map((s) => s.requestsPerSecond);
    lines.push(
      '',
      `${database === 'postgres' ? 'PostgreSQL' : 'SQLite'} (node:http ${rate(median(refs('baseline')))} req/s, node:http + ES256 ${rate(median(refs('es256')))} req/s)`,
      `${'scenario'.padEnd(30)} ${'A req/s'.padStart(8)} ${'B req/s'.padStart(8)} ${'B/A'.padStart(6)}  ${'pairs median'.padStart(12)} ${'min–max'.padStart(12)}  ${'A÷http'.padStart(6)} ${'B÷http'.padStart(6)}  ${'A÷ES256'.padStart(7)} ${'B÷ES256'.padStart(7)}`,
    );
    for (const row of abRows(samples).filter((r) => r.database === database)) {
      const name = HOT_SCENARIOS[row.scenario as HotScenario] ?? row.scenario;
      const spread = `${f3(row.pairs[0] ?? Number.NaN)}–${f3(row.pairs.at(-1) ?? Number.NaN)}`;
      lines.push(
        `${name.padEnd(30)} ${rate(row.a).padStart(8)} ${rate(row.b).padStart(8)} ${f3(row.ratio).padStart(6)}  ${f3(median(row.pairs)).padStart(12)} ${spread.padStart(12)}  ${f3(row.aToBaseline).padStart(6)} ${f3(row.bToBaseline).padStart(6)}  ${f3(row.aToSignature).padStart(7)} ${f3(row.bToSignature).padStart(7)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes setup, every sample and the rows as JSON under `dir`; returns the path. */
export function writeAbReport(dir: string, setup: AbSetup, samples: AbSample[]): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `ab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ setup, rows: abRows(samples), samples }, null, 2)}\n`);
  return path;
}
