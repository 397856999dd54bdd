import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mergeProfiles, monotonicMicros, readProfile, type TimeWindow } from './lib/cpu-profile.ts';
import { renderFlameGraph } from './lib/flame-graph.ts';
import { dropPostgresDatabase, freshPostgresDatabase, type GatehouseFixture, startGatehouse } from './lib/gatehouse.ts';
import { measure } from './lib/load.ts';
import { freePort } from './lib/net.ts';
import { pinLoadGenerator, SERVER_CPU } from './lib/processes.ts';
import { breakdown, formatBreakdown } from './lib/profile-breakdown.ts';
import { HOT_SCENARIOS, type HotScenario, hotScenarios, scenarioLoad, sendingSeconds, singleUseCount } from './lib/scenarios.ts';

/**
 * `npm run bench:profile [-- SCENARIO|all] [--workers N] [--postgres] [--seconds S] [--from DIR]`: runs one
 * (or every) hot scenario against `gatehouse serve` started under `node --cpu-prof`, then writes
 * the profile of the process(es) that served, a flame graph (SVG) and the self-time breakdown to
 * bench/results/profile/SCENARIO[-postgres][-wN]/ and prints the breakdown.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workers: { type: 'string', default: '1' },
    postgres: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    /** Re-renders the breakdown and the flame graph of a directory this command wrote, without a run. */
    from: { type: 'string' },
  },
});
const workers = Number(values.workers);
const timing = { durationSeconds: Number(values.seconds), warmupSeconds: 2, connections: Number(values.connections) };
const POSTGRES_ADMIN_URL = process.env.GATEHOUSE_BENCH_POSTGRES_URL ?? process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Single-use values are minted for up to this rate (the profiled server runs slower than this). */
const SINGLE_USE_RATE = 4000;

/** The `.cpuprofile` files of the processes that served: the workers', or the single process's. */
function servingProfiles(dir: string, primaryPid: number | undefined): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  // CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile
  const workerFiles = files.filter((f) => Number(f.split('.')[3]) !== primaryPid);
  const chosen = workers > 1 ? workerFiles : files;
  if (chosen.length === 0) throw new Error(`no .cpuprofile was written to ${dir} (found: ${files.join(', ') || 'none'})`);
  return chosen.map((f) => join(dir, f));
}

async function databaseFor(dir: string): Promise<string> {
  if (!values.postgres) return join(dir, 'bench.db');
  return freshPostgresDatabase(POSTGRES_ADMIN_URL, `gatehouse_profile_${process.pid}`);
}

async function profileScenario(scenario: HotScenario): Promise<void> {
  const name = `${scenario}${values.postgres ? '-postgres' : ''}${workers > 1 ? `-w${workers}` : ''}`;
  const dir = join('bench', 'results', 'profile', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const databaseUrl = await databaseFor(dir);
  let g: GatehouseFixture | undefined;
  try {
    g = await startGatehouse({
      databaseUrl,
      port: await freePort(),
      workers,
      ...(workers > 1 ? {} : { cpu: SERVER_CPU }),
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      // V8 writes a profile only when the process exits by itself: no drain period, and time to
      // write the profile before stop() would resort to SIGKILL.
      serverEnv: { GATEHOUSE_DRAIN_PERIOD: '0' },
      stopGraceMs: 60_000,
    });
    const load = await scenarioLoad(g, scenario, singleUseCount(SINGLE_USE_RATE, sendingSeconds(timing.warmupSeconds, timing.durationSeconds)));
    await measure({ ...load, ...timing, durationSeconds: timing.warmupSeconds, warmupSeconds: 0 });
    const window = { from: monotonicMicros(), to: 0 };
    const result = await measure({ ...load, ...timing, warmupSeconds: 0 });
    window.to = monotonicMicros();
    const title = `${HOT_SCENARIOS[scenario]}, ${values.postgres ? 'PostgreSQL' : 'SQLite'}, ${workers > 1 ? `${workers} workers` : 'one process'}`;
    const summary = `${title}: ${result.requestsPerSecond.toFixed(0)} req/s at c=${timing.connections}, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}`;
    await g.server.stop();
    writeReports(dir, { profiles: servingProfiles(dir, g.server.child.pid), window, summary });
  } finally {
    await g?.server.stop();
    if (values.postgres) await dropPostgresDatabase(POSTGRES_ADMIN_URL, databaseUrl);
    else rmSync(databaseUrl, { force: true });
  }
}

/** What a profile directory's `run.json` keeps, so that its reports can be rendered again. */
interface ProfiledRun {
  profiles: string[];
  window: TimeWindow;
  summary: string;
}

/** The breakdown and the flame graph of the measured load (start-up, warm-up and shutdown left out). */
function writeReports(dir: string, run: ProfiledRun): void {
  writeFileSync(join(dir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  const tree = mergeProfiles(run.profiles.map(readProfile), run.window);
  const text = `${run.summary}\nprofiles: ${run.profiles.join(', ')}\n${formatBreakdown(breakdown(tree))}`;
  writeFileSync(join(dir, 'breakdown.txt'), text);
  writeFileSync(join(dir, 'flame.svg'), renderFlameGraph(tree, run.summary));
  process.stdout.write(`\n${text}\nWritten: ${join(dir, 'flame.svg')}, ${join(dir, 'breakdown.txt')}\n`);
}

if (values.from !== undefined) {
  writeReports(values.from, JSON.parse(readFileSync(join(values.from, 'run.json'), 'utf8')) as ProfiledRun);
  process.exit(0);
}
pinLoadGenerator();
// bin/gatehouse runs the bundle: build it from the current source so the profile is of this code.
execFileSync('npm', ['run', '--silent', 'build:cli'], { stdio: 'inherit' });
for (const scenario of hotScenarios(positionals[0] ?? 'cc-jwt')) await profileScenario(scenario);
