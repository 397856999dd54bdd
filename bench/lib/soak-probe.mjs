// Preloaded into the Gatehouse server by `npm run soak` (`node --import <this file>`), and so into
// every cluster worker, which inherit the primary's execArgv. At every GATEHOUSE_SOAK_PROBE_ORIGIN
// + k × GATEHOUSE_SOAK_PROBE_INTERVAL_MS (wall clock, so the primary and every worker report on
// the same grid, which the soak script lines its sampling up with) it appends one JSON line
// { pid, primary, at, p50, p99, max, rssMiB } to GATEHOUSE_SOAK_PROBE_FILE.
// Plain JavaScript, so the server runs its built bundle without a TypeScript loader in the way.

import cluster from 'node:cluster';
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.GATEHOUSE_SOAK_PROBE_FILE;
const intervalMs = Number(process.env.GATEHOUSE_SOAK_PROBE_INTERVAL_MS ?? 10_000);
const origin = Number(process.env.GATEHOUSE_SOAK_PROBE_ORIGIN ?? Date.now());
const RESOLUTION_MS = 10;

if (file && intervalMs > 0) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  // The histogram records the time between two timer ticks, so an idle loop reads as the
  // resolution itself: only what exceeds it is delay.
  const delayMs = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const report = () => {
    const line = {
      pid: process.pid,
      primary: cluster.isPrimary,
      at: Date.now(),
      p50: delayMs(histogram.percentile(50)),
      p99: delayMs(histogram.percentile(99)),
      max: delayMs(histogram.max),
      rssMiB: process.memoryUsage.rss() / 1048576,
    };
    histogram.reset();
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // A lost sample must never disturb the server under test; the soak shows it as missing.
    }
  };
  // Each wait is aimed at the next grid point, so ticks do not drift under load as a setInterval
  // would. Rounding keeps a timer that fires a hair early from reporting twice.
  // unref: the probe must not keep a stopping server alive.
  const schedule = () => {
    const now = Date.now();
    const next = origin + (Math.round((now - origin) / intervalMs) + 1) * intervalMs;
    setTimeout(tick, next - now).unref();
  };
  const tick = () => {
    report();
    schedule();
  };
  schedule();
}
