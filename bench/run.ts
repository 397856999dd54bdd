import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { abOptions, runAb } from './lib/ab.ts';
import { presignDpopProofs } from './lib/dpop.ts';
import { runEnumeration } from './lib/enumeration.ts';
import {
  BENCH_ENV,
  basicHeader,
  type Credentials,
  freshPostgresDatabase,
  type GatehouseFixture,
  mintToken,
  presignAssertions,
  startGatehouse,
} from './lib/gatehouse.ts';
import { seedOpaqueTokens } from './lib/growth.ts';
import { IMPORTED_SECRET, importBcryptClients } from './lib/imported.ts';
import { type LoadOptions, type LoadResult, measure } from './lib/load.ts';
import { canPin, pinLoadGenerator, SERVER_CPU, startServer } from './lib/processes.ts';
import { type BenchReport, markdownTable, type ScenarioResult, writeReport } from './lib/report.ts';
import { cycle, sendingSeconds as sendingSecondsOf } from './lib/scenarios.ts';
import { mintAuthorizationCodes, mintDeviceCodes, mintRefreshTokens } from './lib/single-use.ts';
import { evaluateTargets } from './lib/targets.ts';

/**
 * `npm run bench [-- --quick]`: the bare node:http baseline, Gatehouse on SQLite and on
 * PostgreSQL, and node-oidc-provider, all driven by autocannon over 127.0.0.1 in one run.
 * Every rate is reported as a ratio to the baseline measured in this same run.
 * `--ab REF` compares a git revision with the working tree instead (bench/lib/ab.ts).
 */
const quick = process.argv.includes('--quick');
const importedOnly = process.argv.includes('--imported');
/** `--observation`: only the comparison of a node with and without metrics, audit and usage. */
const observationOnly = process.argv.includes('--observation');
const POSTGRES_ADMIN_URL = process.env.GATEHOUSE_BENCH_POSTGRES_URL ?? process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const plan = quick
  ? { duration: 1, warmup: 0.25, connections: [10], growth: [100, 1_000], workers: false }
  : { duration: 10, warmup: 3, connections: [10, 50], growth: [1_000, 1_000_000], workers: true };

pinLoadGenerator();

const results: ScenarioResult[] = [];
const derived: Record<string, number> = {};
const baselineRate = new Map<number, number>();
let port = 19_100;
const nextPort = () => ++port;

function record(server: string, scenario: string, connections: number, result: LoadResult): void {
  const base = baselineRate.get(connections) ?? Number.NaN;
  const row: ScenarioResult = { server, scenario, connections, ...result, ratio: result.requestsPerSecond / base };
  results.push(row);
  process.stdout.write(
    `${server.padEnd(18)} ${scenario.padEnd(28)} c=${String(connections).padEnd(3)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  ratio ${row.ratio.toFixed(3)}  p50 ${result.p50} ms  p99 ${result.p99} ms  errors ${result.errors}  non-2xx ${result.non2xx}\n`,
  );
}

async function scenario(server: string, name: string, options: Omit<LoadOptions, 'connections' | 'durationSeconds' | 'warmupSeconds'>): Promise<void> {
  for (const connections of plan.connections) {
    record(server, name, connections, await measure({ ...options, connections, durationSeconds: plan.duration, warmupSeconds: plan.warmup }));
  }
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

async function runBaseline(): Promise<void> {
  const server = await startServer('node', ['--import', 'tsx', 'bench/servers/baseline.ts'], { cpu: SERVER_CPU, ready: /listening (\d+)/ });
  try {
    for (const connections of plan.connections) {
      const result = await measure({
        url: `http://127.0.0.1:${server.port}/token`,
        body: 'grant_type=client_credentials',
        connections,
        durationSeconds: plan.duration,
        warmupSeconds: plan.warmup,
      });
      baselineRate.set(connections, result.requestsPerSecond);
      record('baseline', 'node:http small POST', connections, result);
    }
  } finally {
    await server.stop();
  }
  // A reference, not a target: the same bare server signing one ES256 signature per request.
  const signing = await startServer('node', ['--import', 'tsx', 'bench/servers/baseline.ts'], {
    cpu: SERVER_CPU,
    ready: /listening (\d+)/,
    env: { BASELINE_SIGN: 'ES256' },
  });
  try {
    await scenario('baseline + ES256', 'node:http + one ES256 signature', {
      url: `http://127.0.0.1:${signing.port}/token`,
      body: 'grant_type=client_credentials',
    });
  } finally {
    await signing.stop();
  }
}

/** Seconds one measure() call can send requests for (warm-up included). */
const sendingSeconds = sendingSecondsOf(plan.warmup, plan.duration);

/**
 * A scenario whose every request consumes a value minted just before each concurrency level
 * (authorization codes live at most 600 s). The pool is sized from the fastest rate measured
 * so far in this run for `server` at that concurrency (introspection or revocation, which do a
 * fraction of the work: a single measurement, such as the first, cold client_credentials one,
 * can be depressed by noise), at least 2,000/s, with a 1.25× margin. Values are never reused
 * (a reused code or refresh token is a correct 400): if the pool still runs out, the run stops
 * with an error naming the scenario.
 */
async function singleUseScenario(
  server: string,
  name: string,
  options: { url: string; headers: Record<string, string>; mint: (count: number) => Promise<string[]>; expect?: LoadOptions['expect'] },
): Promise<void> {
  const { mint, ...target } = options;
  for (const connections of plan.connections) {
    const earlier = results.filter((r) => r.server === server && r.connections === connections).map((r) => r.requestsPerSecond);
    const perSecond = 1.25 * Math.max(2000, ...earlier);
    const values = await mint(Math.ceil(perSecond * sendingSeconds));
    const body = cycle(values, true, `${server} ${name} c=${connections}`);
    record(server, name, connections, await measure({ ...target, body, connections, durationSeconds: plan.duration, warmupSeconds: plan.warmup }));
  }
}

async function runGatehouse(label: string, databaseUrl: string): Promise<void> {
  const g = await startGatehouse({ databaseUrl, port: nextPort(), cpu: SERVER_CPU, workers: 1 });
  try {
    const auth = (c: Credentials) => ({ authorization: basicHeader(c) });
    await quotaComparison(label, g);
    await dpopComparison(label, g);
    await scenario(label, 'client_credentials → opaque', { url: g.tokenUrl, headers: auth(g.opaqueClient), body: 'grant_type=client_credentials' });
    await runImported(label, g, databaseUrl);
    const opaque = await mintToken(g, g.opaqueClient);
    const jwt = await mintToken(g, g.jwtClient);
    await scenario(label, 'introspect opaque', { url: g.introspectUrl, headers: auth(g.resourceServer), body: form({ token: opaque }) });
    await scenario(label, 'introspect JWT', { url: g.introspectUrl, headers: auth(g.resourceServer), body: form({ token: jwt }) });
    const toRevoke = await Promise.all(Array.from({ length: 200 }, () => mintToken(g, g.opaqueClient)));
    await scenario(label, 'revoke opaque', { url: g.revokeUrl, headers: auth(g.opaqueClient), body: cycle(toRevoke.map((token) => form({ token }))) });
    // Sized from this server's client_credentials → opaque rate in this run (at least 4,000/s; a
    // jwt-bearer request does more work), with a margin, for the whole time autocannon sends
    // (warm-up included): on a quiet machine 4,000/s over the measured seconds was not enough.
    const issued = results.filter((r) => r.server === label && r.scenario === 'client_credentials → opaque').map((r) => r.requestsPerSecond);
    const fastest = Math.max(4000, ...issued);
    const expected = Math.ceil(1.25 * fastest * sendingSeconds * plan.connections.length);
    const assertions = await presignAssertions(g, expected);
    await scenario(label, 'jwt-bearer', { url: g.tokenUrl, body: cycle(assertions, true, `${label} jwt-bearer`) });
    const codeClient = auth(g.codeClient);
    await singleUseScenario(label, 'authorization_code redemption', { url: g.tokenUrl, headers: codeClient, mint: (n) => mintAuthorizationCodes(g, n) });
    // Its OpenID twins: the same redemption plus an ID Token (RS256 by default, ES256 on request).
    for (const [name, client] of [
      ['OpenID code → ID Token RS256', g.oidcClient],
      ['OpenID code → ID Token ES256', g.oidcEs256Client],
    ] as const) {
      if (client) await singleUseScenario(label, name, { url: g.tokenUrl, headers: auth(client), mint: (n) => mintAuthorizationCodes(g, n, client) });
    }
    await singleUseScenario(label, 'refresh_token rotation', { url: g.tokenUrl, headers: codeClient, mint: (n) => mintRefreshTokens(g, n) });
    await deviceScenarios(label, g);
    await runGrowth(label, g, databaseUrl);
  } finally {
    await g.server.stop();
  }
}

/**
 * The device flow's token requests (RFC 8628 §3.4–3.5): a poll of an approved device code,
 * which redeems it as a code is redeemed, and a first poll of a pending one, answered
 * `authorization_pending` (400, counted as expected; any other answer fails the run). Their
 * plain twin is authorization_code redemption, measured just before in the same run.
 */
async function deviceScenarios(label: string, g: GatehouseFixture): Promise<void> {
  const device = g.deviceClient;
  if (!device) return;
  const headers = { authorization: basicHeader(device) };
  const approved = 'device_code poll, approved → tokens';
  const pending = 'device_code poll → authorization_pending';
  await singleUseScenario(label, approved, { url: g.tokenUrl, headers, mint: (n) => mintDeviceCodes(g, device, n, 'approved') });
  await singleUseScenario(label, pending, {
    url: g.tokenUrl,
    headers,
    mint: (n) => mintDeviceCodes(g, device, n, 'pending'),
    expect: { status: 400, bodyIncludes: '"authorization_pending"' },
  });
  const rate = (name: string, connections: number) =>
    results.find((r) => r.server === label && r.scenario === name && r.connections === connections)?.requestsPerSecond;
  for (const connections of plan.connections) {
    const twin = rate('authorization_code redemption', connections);
    if (!twin) continue;
    for (const name of [approved, pending]) {
      const measured = rate(name, connections);
      if (measured) derived[`${label}: ${name} ÷ authorization_code redemption (c=${connections}, same run)`] = measured / twin;
    }
  }
}

/**
 * client_credentials → JWT as a bearer token and DPoP-bound (RFC 9449), one after the other at
 * each concurrency; the derived figure is the DPoP-bound rate ÷ the bearer rate of this run. Every
 * DPoP request carries a fresh proof, pre-signed before its level (a jti is single use): the
 * server verifies it and spends its jti in the database.
 */
async function dpopComparison(label: string, g: GatehouseFixture): Promise<void> {
  const body = 'grant_type=client_credentials';
  const headers = { authorization: basicHeader(g.jwtClient) };
  for (const connections of plan.connections) {
    const timing = { connections, durationSeconds: plan.duration, warmupSeconds: plan.warmup };
    const bearer = await measure({ url: g.tokenUrl, headers, body, ...timing });
    const proofs = cycle(presignDpopProofs(g.tokenUrl, Math.ceil(1.25 * Math.max(2000, bearer.requestsPerSecond) * sendingSeconds)), true, 'DPoP proofs');
    const bound = await measure({ url: g.tokenUrl, headers, body, perRequestHeaders: () => ({ dpop: proofs() }), ...timing });
    record(label, 'client_credentials → JWT, DPoP-bound', connections, bound);
    derived[`${label}: client_credentials → JWT, DPoP-bound ÷ bearer (c=${connections}, same run)`] = bound.requestsPerSecond / bearer.requestsPerSecond;
  }
}

/**
 * client_credentials → JWT without and with a quota, twice each at each concurrency in the order
 * without, with, with, without, so that neither a noisy moment nor a drift of the machine lands
 * on one side only; the derived figure compares the means.
 * Quota accounting is local with a shared counter synced every second: no database round trip
 * per request.
 */
async function quotaComparison(label: string, g: GatehouseFixture): Promise<void> {
  const body = 'grant_type=client_credentials';
  for (const connections of plan.connections) {
    const rates: Record<'without' | 'with', number[]> = { without: [], with: [] };
    for (let round = 0; round < 2; round++) {
      for (const side of round === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        const client = side === 'with' ? g.quotaClient : g.jwtClient;
        const result = await measure({
          url: g.tokenUrl,
          headers: { authorization: basicHeader(client) },
          body,
          connections,
          durationSeconds: plan.duration,
          warmupSeconds: plan.warmup,
        });
        if (round === 0) record(label, side === 'with' ? 'client_credentials → JWT, quota set' : 'client_credentials → JWT', connections, result);
        rates[side].push(result.requestsPerSecond);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    derived[`${label}: client_credentials → JWT with a quota ÷ without (c=${connections}, two runs each)`] = mean(rates.with) / mean(rates.without);
  }
}

/**
 * The settings of the observed side of the observation comparison: a metrics port (the audit log
 * and the usage recorder are always on), so the comparison prices all of it at once.
 */
function observedServerEnv(metricsPort: number): Record<string, string> {
  return { GATEHOUSE_METRICS_PORT: String(metricsPort) };
}

/**
 * client_credentials → JWT on two SQLite servers alike but for observation, measured in the order
 * off, on, on, off at each concurrency, like the quota comparison. On: `gatehouse serve` with a
 * metrics port, so metrics, the audit log and the usage recorder all hear every request. Off: the
 * same node with no listener on its event bus and no metrics. Both run bench/servers/gatehouse-node.ts.
 */
async function runMetricsComparison(dir: string): Promise<void> {
  const metricsPort = nextPort();
  const off = await startGatehouse({
    databaseUrl: join(dir, 'metrics-off.db'),
    port: nextPort(),
    cpu: SERVER_CPU,
    command: ['--import', 'tsx', 'bench/servers/gatehouse-node.ts', '--no-listeners'],
  });
  const on = await startGatehouse({
    databaseUrl: join(dir, 'metrics-on.db'),
    port: nextPort(),
    cpu: SERVER_CPU,
    command: ['--import', 'tsx', 'bench/servers/gatehouse-node.ts'],
    serverEnv: observedServerEnv(metricsPort),
  });
  try {
    for (const connections of plan.connections) {
      const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
      for (const side of ['off', 'on', 'on', 'off'] as const) {
        const g = side === 'on' ? on : off;
        const result = await measure({
          url: g.tokenUrl,
          headers: { authorization: basicHeader(g.jwtClient) },
          body: 'grant_type=client_credentials',
          connections,
          durationSeconds: plan.duration,
          warmupSeconds: plan.warmup,
        });
        if (rates[side].length === 0) record('gatehouse-sqlite', `client_credentials → JWT, observed ${side}`, connections, result);
        rates[side].push(result.requestsPerSecond);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      derived[`gatehouse-sqlite: client_credentials → JWT with metrics, audit and usage ÷ without (c=${connections}, two runs each)`] =
        mean(rates.on) / mean(rates.off);
    }
    // The observed side really observed: its scrape counts the token requests.
    const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    if (!/^gatehouse_http_requests_total\{endpoint="token"[^}]*outcome="2xx"\} [1-9]/m.test(scrape)) {
      throw new Error('the metrics-on server recorded no token request');
    }
  } finally {
    await on.server.stop();
    await off.server.stop();
  }
}

/**
 * client_credentials for clients imported with a bcrypt secret: on first use (every request a
 * different client, so each goes through the legacy queue and is re-hashed), then for one client
 * after its re-hash, next to a native client in the same run. First use runs at concurrency 10
 * only: the legacy queue takes 2 running and 32 waiting per process, and answers 503 beyond that
 * by design.
 */
async function runImported(label: string, g: GatehouseFixture, databaseUrl: string): Promise<void> {
  const firstUse = quick ? 100 : 600;
  const ids = await importBcryptClients(databaseUrl, BENCH_ENV, firstUse + 2);
  const flooded = ids.pop() as string;
  const bodies = ids.slice(1).map((id) => form({ grant_type: 'client_credentials', client_id: id, client_secret: IMPORTED_SECRET }));
  const next = cycle(bodies, true, `${label} imported first use`);
  const first = await measure({ url: g.tokenUrl, body: next, connections: 10, durationSeconds: plan.duration, warmupSeconds: plan.warmup });
  record(label, 'cc, imported bcrypt, 1st use', 10, first);
  const rehashed = { id: ids[0] as string, secret: IMPORTED_SECRET };
  await mintToken(g, rehashed);
  // Native and re-hashed in the order native, imported, imported, native at each concurrency, so
  // that neither a noisy moment nor a drift of the shared machine lands on one side only.
  for (const connections of plan.connections) {
    const options = { url: g.tokenUrl, body: 'grant_type=client_credentials', connections, durationSeconds: plan.duration, warmupSeconds: plan.warmup };
    const rates: Record<'native' | 'imported', number[]> = { native: [], imported: [] };
    for (const side of ['native', 'imported', 'imported', 'native'] as const) {
      const result = await measure({ ...options, headers: { authorization: basicHeader(side === 'native' ? g.opaqueClient : rehashed) } });
      if (rates[side].length === 0) record(label, side === 'native' ? 'cc → opaque, native (same run)' : 'cc, imported, re-hashed', connections, result);
      rates[side].push(result.requestsPerSecond);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const native = mean(rates.native);
    derived[`${label}: client_credentials, imported client after its re-hash ÷ native (c=${connections}, two runs each)`] = mean(rates.imported) / native;
    if (connections === 10) derived[`${label}: client_credentials, imported bcrypt client on first use ÷ native (c=10)`] = first.requestsPerSecond / native;
    if (connections === 10) {
      const underImported = await nativeDuringFlood(label, g, flooded, 'imported bcrypt');
      const underNative = await nativeDuringFlood(label, g, g.jwtClient.id, 'native');
      derived[`${label}: client_credentials, native while an imported bcrypt client is flooded ÷ while a native client is (c=10)`] =
        underImported / underNative;
    }
  }
}

/**
 * The native client's rate at concurrency 10 while 20 connections send wrong secrets for another
 * client (401, then 429 or, for an imported client whose share of the legacy queue is full, 503,
 * by design; the flood itself is not recorded). Flooding an imported bcrypt client should cost
 * the others no more than flooding a native one: bcrypt runs on its worker thread.
 */
async function nativeDuringFlood(label: string, g: GatehouseFixture, floodedId: string, flooded: string): Promise<number> {
  const wrong = form({ grant_type: 'client_credentials', client_id: floodedId, client_secret: 'not-the-secret' });
  const flood = measure({ url: g.tokenUrl, body: wrong, connections: 20, durationSeconds: plan.duration + plan.warmup + 1, warmupSeconds: 0 });
  const during = await measure({
    url: g.tokenUrl,
    headers: { authorization: basicHeader(g.opaqueClient) },
    body: 'grant_type=client_credentials',
    connections: 10,
    durationSeconds: plan.duration,
    warmupSeconds: plan.warmup,
  });
  await flood;
  record(label, `cc → opaque, native, ${flooded} flooded`, 10, during);
  return during.requestsPerSecond;
}

/** Introspection of an opaque token with few and with many stored tokens. */
async function runGrowth(label: string, g: GatehouseFixture, databaseUrl: string): Promise<void> {
  const token = await mintToken(g, g.opaqueClient);
  const rates: number[] = [];
  let stored = 0;
  for (const size of plan.growth) {
    stored += await seedOpaqueTokens(databaseUrl, size - stored);
    const connections = Math.max(...plan.connections);
    const result = await measure({
      url: g.introspectUrl,
      headers: { authorization: basicHeader(g.resourceServer) },
      body: form({ token }),
      connections,
      durationSeconds: plan.duration,
      warmupSeconds: plan.warmup,
    });
    record(label, `introspect opaque, ${size.toLocaleString('en')} stored`, connections, result);
    rates.push(result.requestsPerSecond);
  }
  derived[`${label}: introspection rate with ${plan.growth[1]?.toLocaleString('en')} stored ÷ with ${plan.growth[0]?.toLocaleString('en')}`] =
    (rates[1] ?? 0) / (rates[0] ?? 1);
}

async function runWorkers(databasePrefix: string): Promise<void> {
  const rates: Record<number, number> = {};
  for (const workers of [1, 2]) {
    const g = await startGatehouse({
      databaseUrl: `${databasePrefix}-${workers}.db`,
      port: nextPort(),
      workers,
      ...(workers === 1 ? { cpu: SERVER_CPU } : {}),
    });
    try {
      const connections = Math.max(...plan.connections);
      const result = await measure({
        url: g.tokenUrl,
        headers: { authorization: basicHeader(g.jwtClient) },
        body: 'grant_type=client_credentials',
        connections,
        durationSeconds: plan.duration,
        warmupSeconds: plan.warmup,
      });
      record(`gatehouse-sqlite ×${workers}`, 'client_credentials → JWT', connections, result);
      rates[workers] = result.requestsPerSecond;
    } finally {
      await g.server.stop();
    }
  }
  derived['client_credentials: 2 workers ÷ 1 worker (SQLite, load generator shares a core)'] = (rates[2] ?? 0) / (rates[1] ?? 1);
}

async function runPeer(): Promise<void> {
  const secret = 'bench-secret-with-enough-entropy-000000000000';
  const server = await startServer('node', ['--import', 'tsx', 'bench/servers/oidc-provider.ts'], {
    cpu: SERVER_CPU,
    env: { PORT: String(nextPort()), PEER_CLIENT_ID: 'bench', PEER_CLIENT_SECRET: secret },
    ready: /listening (\d+)/,
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const headers = { authorization: basicHeader({ id: 'bench', secret }) };
    await scenario('oidc-provider', 'client_credentials → JWT', { url: `${base}/token`, headers, body: 'grant_type=client_credentials&scope=read' });
    const response = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&resource=urn%3Abench%3Aopaque',
    });
    const { access_token: opaque } = (await response.json()) as { access_token: string };
    await scenario('oidc-provider', 'introspect opaque', { url: `${base}/token/introspection`, headers, body: form({ token: opaque }) });
  } finally {
    await server.stop();
  }
}

/** `--imported`: only the baseline and the imported-client scenarios, on SQLite (a few minutes). */
async function runImportedOnly(databaseUrl: string): Promise<void> {
  const g = await startGatehouse({ databaseUrl, port: nextPort(), cpu: SERVER_CPU, workers: 1 });
  try {
    await runImported('gatehouse-sqlite', g, databaseUrl);
  } finally {
    await g.server.stop();
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--ab')) {
    await runAb(abOptions(process.argv.slice(2), POSTGRES_ADMIN_URL));
    return;
  }
  if (process.argv.includes('--enumeration')) {
    const at = process.argv.indexOf('--samples');
    const kinds = process.argv.indexOf('--kinds');
    await runEnumeration(at > 0 ? Number(process.argv[at + 1]) : quick ? 50 : 500, kinds > 0 ? (process.argv[kinds + 1] ?? '').split(',') : undefined);
    return;
  }
  const startedAt = new Date().toISOString();
  const sqliteDir = execFileSync('mktemp', ['-d', '/tmp/gatehouse-bench-XXXXXX']).toString().trim();
  await runBaseline();
  if (importedOnly) {
    await runImportedOnly(join(sqliteDir, 'bench.db'));
    execFileSync('rm', ['-rf', sqliteDir]);
    process.stdout.write(`${JSON.stringify(derived, null, 2)}\n`);
    return;
  }
  await runMetricsComparison(sqliteDir);
  if (observationOnly) {
    execFileSync('rm', ['-rf', sqliteDir]);
    process.stdout.write(`${JSON.stringify(derived, null, 2)}\n`);
    return;
  }
  await runGatehouse('gatehouse-sqlite', join(sqliteDir, 'bench.db'));
  await runGatehouse('gatehouse-postgres', await freshPostgresDatabase(POSTGRES_ADMIN_URL, 'gatehouse_bench'));
  if (plan.workers) await runWorkers(join(sqliteDir, 'workers'));
  await runPeer();
  execFileSync('rm', ['-rf', sqliteDir]);

  const report: BenchReport = {
    startedAt,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, pinned: canPin },
    mode: quick ? 'quick' : 'full',
    results,
    derived,
    targets: quick ? [] : evaluateTargets(results, derived),
  };
  const paths = writeReport(join('bench', 'results'), report);
  process.stdout.write(`\n${markdownTable(report)}\nWritten: ${paths.json}, ${paths.markdown}, ${paths.svg}\n`);
  const failures = results.filter((r) => r.errors > 0 || r.non2xx > 0);
  if (failures.length > 0) {
    process.stderr.write(`bench: ${failures.length} scenario(s) had errors or non-2xx responses\n`);
    process.exit(1);
  }
}

await main();
