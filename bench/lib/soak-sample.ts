import { closeSync, openSync, readSync } from 'node:fs';
import type { IntervalCounts } from './soak-load.ts';
import type { SoakRow } from './soak-report.ts';

/** One line of the probe preloaded into each server process (see soak-probe.mjs). */
export interface ProbeLine {
  pid: number;
  primary: boolean;
  at: number;
  p50: number;
  p99: number;
  max: number;
  rssMiB: number;
}

/** Reads the lines the probes appended since the last call; a half-written last line waits. */
export class ProbeFile {
  private offset = 0;
  private pending = '';

  constructor(private readonly path: string) {}

  read(): ProbeLine[] {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return []; // No probe has written yet.
    }
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (let n = readSync(fd, buffer, 0, buffer.length, this.offset); n > 0; n = readSync(fd, buffer, 0, buffer.length, this.offset)) {
        this.offset += n;
        this.pending += buffer.toString('utf8', 0, n);
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return lines.filter(Boolean).flatMap((line) => {
      try {
        return [JSON.parse(line) as ProbeLine];
      } catch {
        return [];
      }
    });
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}

/**
 * One table row. Loop delay is the worst of the serving processes (with several workers the
 * primary only supervises, so it is left out); RSS comes from /proc, or else from the probes.
 */
export function buildRow(
  counts: IntervalCounts,
  at: { elapsed: number; seconds: number },
  rssMiB: number | undefined,
  probes: ProbeLine[],
  workers: number,
): SoakRow {
  const sorted = Float64Array.from(counts.latencies).sort();
  const latencies = Array.from(sorted);
  const serving = workers > 1 ? probes.filter((p) => !p.primary) : probes;
  const worst = (pick: (p: ProbeLine) => number) => (serving.length ? Math.max(...serving.map(pick)) : null);
  return {
    elapsed: at.elapsed,
    seconds: at.seconds,
    sent: counts.sent,
    dropped: counts.dropped,
    ok: counts.ok,
    expected4xx: counts.expected4xx,
    unexpected: counts.unexpected,
    rate: at.seconds > 0 ? latencies.length / at.seconds : 0,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? null,
    rssMiB: rssMiB ?? probeRss(probes),
    loopP50: worst((p) => p.p50),
    loopP99: worst((p) => p.p99),
    loopMax: worst((p) => p.max),
  };
}

/** The latest RSS each process reported, summed. */
function probeRss(probes: ProbeLine[]): number | null {
  if (probes.length === 0) return null;
  const latest = new Map<number, number>();
  for (const p of probes) latest.set(p.pid, p.rssMiB);
  return [...latest.values()].reduce((a, b) => a + b, 0);
}
