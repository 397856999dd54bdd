import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canUseWrongSecretSource, OpenLoopLoad } from './lib/soak-load.ts';
import { clock, markdownReport, type SoakReport, type SoakRow, writeSoakReport } from './lib/soak-report.ts';
import { buildRow, ProbeFile } from './lib/soak-sample.ts';
import { SOAK_ENV, type SoakServer, SoakSetupError, serverRssMiB, startSoakServer } from './lib/soak-server.ts';

/**
 * `npm run soak -- [--rate R] [--duration D] [--interval I] [--workers N] [--database URL] [--bin PATH]`:
 * runs the built Gatehouse for a long while under a steady open-loop load (client_credentials
 * tokens, introspection, a few wrong secrets) and records, per interval, latency, errors, the
 * server's memory and its event-loop delay, to show leaks and slow degradation that a short
 * benchmark cannot. Exits 0 when the whole run got no unexpected answer.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: npm run soak -- [options]
  --rate R          requests per second offered (default 200)
  --duration D      how long, e.g. 90s, 10m, 1h (default 30m)
  --interval I      sampling interval (default 10s; shorter for short runs)
  --workers N       server worker processes (default 1)
  --database URL    a postgres:// URL (default: SQLite in a temporary folder); it must not hold a SOAK environment
  --bin PATH        the built CLI (default dist/gatehouse.js)`;
/** Requests allowed open at once; beyond it a due request is counted as dropped instead. */
const MAX_IN_FLIGHT = 256;

interface Settings {
  rate: number;
  durationMs: number;
  intervalMs: number;
  workers: number;
  databaseUrl: string;
  bin: string;
}

class UsageError extends Error {}

/** `90s`, `10m`, `1h`, `500ms`; a bare number is seconds. */
function parseDuration(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match?.[1]) throw new UsageError(`${name} must look like 90s, 10m or 1h, not ${JSON.stringify(text)}`);
  const ms = Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (ms < 1000) throw new UsageError(`${name} must be at least 1s`);
  return ms;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '30m' },
      interval: { type: 'string' },
      workers: { type: 'string', default: '1' },
      database: { type: 'string', default: '' },
      bin: { type: 'string', default: join(ROOT, 'dist', 'gatehouse.js') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const rate = Number(values.rate);
  const workers = Number(values.workers);
  if (!(rate > 0 && rate <= 100_000)) throw new UsageError('--rate must be a number of requests per second from 1 to 100000');
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new UsageError('--workers must be a whole number from 1 to 256');
  const durationMs = parseDuration(values.duration, '--duration');
  // About 30 rows for a short run, one every 10 s for a long one.
  const intervalMs = values.interval ? parseDuration(values.interval, '--interval') : Math.min(10_000, Math.max(1000, Math.round(durationMs / 30_000) * 1000));
  if (intervalMs > durationMs) throw new UsageError('--interval must not be longer than --duration');
  return { rate, durationMs, intervalMs, workers, databaseUrl: values.database, bin: resolve(values.bin) };
}

/** Resolves with why the run must end early: Ctrl-C, SIGTERM, or the server exiting. */
function cutShortSignal(child: ChildProcess): { promise: Promise<string>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<string>((resolve) => {
    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C gives up on the report; the exit hook still stops the server.
      if (++interrupts > 1) process.exit(130);
      process.stderr.write(`\nsoak: ${signal}, stopping the load\n`);
      resolve(`interrupted by ${signal}`);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => resolve(`the server exited (${signal ?? code})`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    child.once('exit', onExit);
    dispose = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      child.off('exit', onExit);
    };
  });
  return { promise, dispose: () => dispose() };
}

// Unreferenced: a wait abandoned by Ctrl-C must not hold the finished script open.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

/** Drives the load and samples at each interval boundary until the duration ends or the run is cut short. */
async function soak(
  settings: Settings,
  server: SoakServer,
  probes: ProbeFile,
  probeOrigin: number,
): Promise<Pick<SoakReport, 'rows' | 'cutShort' | 'examples' | 'statuses'> & { wrongSecret: boolean }> {
  const wrongSecret = await canUseWrongSecretSource(server.port);
  if (!wrongSecret) process.stderr.write('soak: 127.0.0.2 is not a usable loopback source here, so no wrong-secret requests are sent\n');
  const load = new OpenLoopLoad(
    { port: server.port, env: SOAK_ENV, clientId: server.clientId, clientSecret: server.clientSecret },
    { rate: settings.rate, maxInFlight: MAX_IN_FLIGHT, wrongSecret },
  );
  const cut = cutShortSignal(server.child);
  // The load starts just after a point of the probes' grid, so each probe line lands shortly
  // before the sample it belongs to, and the lines covering start-up are dropped.
  const margin = Math.min(1000, settings.intervalMs / 4);
  const gridPoint = probeOrigin + Math.ceil((Date.now() - probeOrigin) / settings.intervalMs) * settings.intervalMs;
  await Promise.race([sleep(gridPoint + margin - Date.now()), cut.promise]);
  probes.read();
  const rows: SoakRow[] = [];
  const examples: string[] = [];
  const start = performance.now();
  let last = start;
  const sample = (at: number, leftOpen = 0) => {
    const counts = load.take();
    counts.unexpected += leftOpen;
    if (leftOpen > 0) counts.examples.push(`${leftOpen} requests were still open when the load stopped`);
    examples.push(...counts.examples.slice(0, Math.max(0, 10 - examples.length)));
    const row = buildRow(
      counts,
      { elapsed: (at - start) / 1000, seconds: (at - last) / 1000 },
      serverRssMiB(server.child.pid ?? 0),
      probes.read(),
      settings.workers,
    );
    rows.push(row);
    last = at;
    progress(row);
  };
  load.start();
  let cutShort: string | null = null;
  for (let k = 1; cutShort === null; k++) {
    const boundary = Math.min(k * settings.intervalMs, settings.durationMs);
    cutShort = await Promise.race([sleep(start + boundary - performance.now()).then(() => null), cut.promise]);
    if (cutShort === null && boundary < settings.durationMs) {
      sample(performance.now());
      continue;
    }
    // The last interval ends when sending stops; answers still arriving are counted in it.
    const stoppedAt = performance.now();
    sample(stoppedAt, await load.stop(5000));
    break;
  }
  cut.dispose();
  return { rows, cutShort, examples, wrongSecret, statuses: Object.fromEntries(load.statuses) };
}

function progress(row: SoakRow): void {
  const f = (n: number | null, digits: number, unit = '') => (n === null ? '-' : `${n.toFixed(digits)}${unit}`);
  process.stderr.write(
    `soak ${clock(row.elapsed)}  ${f(row.rate, 0)} req/s  p99 ${f(row.p99, 2, ' ms')}  unexpected ${row.unexpected}  dropped ${row.dropped}  ` +
      `RSS ${f(row.rssMiB, 1, ' MiB')}  loop p99 ${f(row.loopP99, 2, ' ms')}\n`,
  );
}

function totals(rows: SoakRow[]): SoakReport['totals'] {
  const sum = (pick: (r: SoakRow) => number) => rows.reduce((total, r) => total + pick(r), 0);
  return {
    sent: sum((r) => r.sent),
    dropped: sum((r) => r.dropped),
    ok: sum((r) => r.ok),
    expected4xx: sum((r) => r.expected4xx),
    unexpected: sum((r) => r.unexpected),
  };
}

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    if (!error.message) process.stdout.write(`${USAGE}\n`);
    else process.stderr.write(`soak: ${error.message}\n${USAGE}\n`);
    return error.message ? 2 : 0;
  }
  if (!existsSync(settings.bin)) {
    process.stderr.write(`soak: ${settings.bin} is missing; run \`npm run build\` first (or pass --bin PATH to a bundle of src/cli/main.ts)\n`);
    return 2;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
  const probeFile = join(dataDir, 'probe.jsonl');
  const probeOrigin = Date.now();
  let server: SoakServer | undefined;
  try {
    const startedAt = new Date().toISOString();
    server = await startSoakServer({
      bin: settings.bin,
      dataDir,
      databaseUrl: settings.databaseUrl,
      workers: settings.workers,
      probeModule: join(ROOT, 'bench', 'lib', 'soak-probe.mjs'),
      probeFile,
      probeIntervalMs: settings.intervalMs,
      probeOrigin,
    });
    process.stderr.write(`soak: Gatehouse (pid ${server.child.pid}) on ${server.baseUrl}, ${settings.rate} req/s for ${clock(settings.durationMs / 1000)}\n`);
    const run = await soak(settings, server, new ProbeFile(probeFile), probeOrigin);
    const report: SoakReport = {
      startedAt,
      settings: {
        rate: settings.rate,
        durationSeconds: settings.durationMs / 1000,
        intervalSeconds: settings.intervalMs / 1000,
        workers: settings.workers,
        database: /^postgres(ql)?:/.test(settings.databaseUrl) ? 'PostgreSQL' : 'SQLite',
        wrongSecretTraffic: run.wrongSecret,
      },
      machine: { node: process.version, cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
      cutShort: run.cutShort,
      rows: run.rows,
      totals: totals(run.rows),
      examples: run.examples,
      statuses: run.statuses,
    };
    process.stdout.write(`\n${markdownReport(report)}`);
    if (run.cutShort?.startsWith('the server exited')) process.stderr.write(`soak: the server's last output:\n${server.output()}\n`);
    await server.stop();
    for (const path of await writeSoakReport(join(ROOT, 'bench', 'results'), report)) process.stderr.write(`soak: wrote ${path}\n`);
    return report.cutShort === null && report.totals.unexpected === 0 ? 0 : 1;
  } finally {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`soak: ${error instanceof SoakSetupError ? error.message : ((error as Error).stack ?? error)}\n`);
  process.exitCode = 1;
}
