import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AbSample, type AbSetup, formatAb, writeAbReport } from './ab-report.ts';
import { Cleanup } from './cleanup.ts';
import { dropPostgresDatabase, freshPostgresDatabase, type GatehouseFixture, type PreparedGatehouse, serveGatehouse } from './gatehouse.ts';
import { measure } from './load.ts';
import { freePort } from './net.ts';
import { SERVER_CPU, type Started, startServer } from './processes.ts';
import { type HotScenario, hotScenarios, scenarioLoad, sendingSeconds, singleUseCount } from './scenarios.ts';
import { buildBundle, checkOutRevision } from './worktree.ts';

/**
 * `npm run bench -- --ab REF [--rounds N] [--seconds S] [--scenarios a,b] [--databases sqlite,postgres]`:
 * the hot scenarios on REF ("A", built in a temporary git worktree) and on the working tree
 * ("B"), in alternating rounds (A B, B A, A B, …) so that a noisy moment or a drift of a shared
 * machine lands on both sides, with the bare node:http baseline and the `node:http + one ES256
 * signature` reference measured in every round of the same run.
 */
export interface AbOptions extends AbSetup {
  scenarios: HotScenario[];
  databases: ('sqlite' | 'postgres')[];
  postgresAdminUrl: string;
}

type Side = 'A' | 'B';

export function abOptions(argv: string[], postgresAdminUrl: string): AbOptions {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      ab: { type: 'string' },
      rounds: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      scenarios: { type: 'string' },
      databases: { type: 'string', default: 'sqlite,postgres' },
    },
  });
  const text = (value: string | boolean | undefined) => (typeof value === 'string' ? value : undefined);
  const ref = text(values.ab);
  if (ref === undefined) throw new Error('--ab needs a git revision, such as main or a commit');
  const databases = (text(values.databases) ?? '').split(',');
  if (databases.some((d) => d !== 'sqlite' && d !== 'postgres')) throw new Error('--databases takes sqlite, postgres or both');
  return {
    ref,
    commit: '',
    rounds: Number(text(values.rounds)),
    seconds: Number(text(values.seconds)),
    warmup: Number(text(values.warmup)),
    connections: Number(text(values.connections)),
    scenarios: hotScenarios(text(values.scenarios)),
    databases: databases as AbOptions['databases'],
    postgresAdminUrl,
  };
}

/** Round `round` runs the sides in the order A B when even, B A when odd: A B B A A B … */
const order = (round: number): Side[] => (round % 2 === 0 ? ['A', 'B'] : ['B', 'A']);

/** Runs the comparison, prints its table and writes bench/results/ab-*.json; cleans up whatever happens. */
export async function runAb(options: AbOptions): Promise<void> {
  const cleanup = new Cleanup();
  const stopListening = cleanup.onInterrupt();
  try {
    const root = process.cwd();
    const checkedOut = checkOutRevision(root, options.ref, cleanup);
    buildBundle(root);
    const roots: Record<Side, string> = { A: checkedOut.root, B: root };
    // Only what the report states: the PostgreSQL URL may carry a password.
    const { ref, rounds, seconds, warmup, connections } = options;
    const setup: AbSetup = { ref, commit: checkedOut.commit, rounds, seconds, warmup, connections };
    const references = await startReferences(cleanup);
    const samples: AbSample[] = [];
    for (const database of options.databases) {
      const servers = { A: await startSide('A', roots.A, database, options, cleanup), B: await startSide('B', roots.B, database, options, cleanup) };
      for (let round = 0; round < options.rounds; round++) {
        samples.push(...(await measureReferences(references, database, round, options)));
        for (const scenario of options.scenarios) {
          for (const side of order(round)) samples.push(await measureSide(servers[side], side, scenario, database, round, options, samples));
        }
      }
      await servers.A.server.stop();
      await servers.B.server.stop();
    }
    process.stdout.write(`\n${formatAb(setup, samples)}`);
    process.stdout.write(`Written: ${writeAbReport(join('bench', 'results'), setup, samples)}\n`);
    if (samples.some((s) => s.errors > 0 || s.non2xx > 0)) {
      process.stderr.write('bench --ab: some rounds had errors or non-2xx responses (see above)\n');
      process.exitCode = 1;
    }
  } finally {
    await cleanup.run();
    stopListening();
  }
}

/** The bare node:http server and the same server signing one ES256 signature per request. */
async function startReferences(cleanup: Cleanup): Promise<Record<'baseline' | 'es256', Started>> {
  const start = async (env: Record<string, string>) => {
    const server = await startServer('node', ['--import', 'tsx', 'bench/servers/baseline.ts'], { cpu: SERVER_CPU, ready: /listening (\d+)/, env });
    cleanup.add('stopping a reference server', () => server.stop());
    return server;
  };
  return { baseline: await start({}), es256: await start({ BASELINE_SIGN: 'ES256' }) };
}

async function measureReferences(references: Record<'baseline' | 'es256', Started>, database: string, round: number, options: AbOptions): Promise<AbSample[]> {
  const samples: AbSample[] = [];
  for (const side of ['baseline', 'es256'] as const) {
    const result = await measure({
      url: `http://127.0.0.1:${references[side].port}/token`,
      body: 'grant_type=client_credentials',
      connections: options.connections,
      durationSeconds: options.seconds,
      warmupSeconds: options.warmup,
    });
    samples.push({ side, scenario: side, database, round, ...result });
  }
  return samples;
}

/** Prepares a database with `root`'s own migrations (in a child process there) and serves it with `root`'s bin/gatehouse. */
async function startSide(side: Side, root: string, database: string, options: AbOptions, cleanup: Cleanup): Promise<GatehouseFixture> {
  let databaseUrl: string;
  if (database === 'postgres') {
    databaseUrl = await freshPostgresDatabase(options.postgresAdminUrl, `gatehouse_ab_${side.toLowerCase()}_${process.pid}`);
    cleanup.add(`dropping ${databaseUrl}`, () => dropPostgresDatabase(options.postgresAdminUrl, databaseUrl));
  } else {
    const dir = mkdtempSync(join(tmpdir(), `gatehouse-ab-${side}-`));
    cleanup.add(`removing ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    databaseUrl = join(dir, 'bench.db');
  }
  const prepared = await prepareIn(root, databaseUrl, await freePort());
  // No drain period: stopping takes milliseconds instead of five seconds.
  const fixture = await serveGatehouse(prepared, { root, cpu: SERVER_CPU, workers: 1, serverEnv: { GATEHOUSE_DRAIN_PERIOD: '0' } });
  cleanup.add(`stopping side ${side}`, () => fixture.server.stop());
  return fixture;
}

function prepareIn(root: string, databaseUrl: string, port: number): Promise<PreparedGatehouse> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['--import', 'tsx', 'bench/prepare-gatehouse.ts', databaseUrl, String(port)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('PREPARED '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('PREPARED '.length)) as PreparedGatehouse);
      else reject(new Error(`preparing a database in ${root} failed (exit ${code}):\n${output}`));
    });
  });
}

/** Single-use values for one measurement: for 1.5 × the fastest rate seen for the scenario so far (at least 3,000/s). */
function singleUseFor(scenario: HotScenario, samples: AbSample[], options: AbOptions): number {
  const fastest = Math.max(3000, ...samples.filter((s) => s.scenario === scenario).map((s) => 1.5 * s.requestsPerSecond));
  return singleUseCount(fastest, sendingSeconds(options.warmup, options.seconds));
}

async function measureSide(
  fixture: GatehouseFixture,
  side: Side,
  scenario: HotScenario,
  database: string,
  round: number,
  options: AbOptions,
  samples: AbSample[],
): Promise<AbSample> {
  const load = await scenarioLoad(fixture, scenario, singleUseFor(scenario, samples, options));
  const result = await measure({ ...load, connections: options.connections, durationSeconds: options.seconds, warmupSeconds: options.warmup });
  const sample = { side, scenario, database, round, ...result };
  process.stdout.write(
    `round ${round + 1} ${database.padEnd(8)} ${side} ${scenario.padEnd(18)} ${result.requestsPerSecond.toFixed(0).padStart(6)} req/s  non-2xx ${result.non2xx}  errors ${result.errors}\n`,
  );
  return sample;
}
