import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { bootstrapAdmin } from '../admin-api/bootstrap.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../audit/recorder.ts';
import { CONFIG_FIELDS, type Config, type LogFormat, loadConfig, requireProductionSettings } from '../config/config.ts';
import { ensureDevOperator } from '../console/bootstrap.ts';
import { SYSTEM_ACTOR } from '../domain/audit.ts';
import { systemClock } from '../domain/clock.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { createAdminServices } from '../server/admin.ts';
import { consoleSecretForWorkers } from '../server/console.ts';
import { createLogger, HeldDestination, logDestination } from '../server/logger.ts';
import { answerMetricsRequests, clusterExposition, METRICS_PATH, serveMetrics } from '../server/metrics-listener.ts';
import { nodeMetrics } from '../server/node-metrics.ts';
import { createServer, type Server, type ServerConfig, warmLimits } from '../server/server.ts';
import { isWarmSnapshot, takeWarmSnapshot, type WarmSnapshot } from '../server/warm-start.ts';
import { openStore } from '../store/open.ts';
import { devPublicUrl, ensureDevKeySecret } from './context.ts';

export const DEV_ENVIRONMENT = 'DEVELOPMENT';
/** Where `serve --dev` serves `/metrics` unless GATEHOUSE_METRICS_PORT says otherwise (Prometheus exporters' customary range). */
export const DEV_METRICS_PORT = 9464;
/** The admin API and web console in dev mode, unless GATEHOUSE_ADMIN_PORT says otherwise. */
export const DEV_ADMIN_PORT = 8081;

/** GATEHOUSE_LOG_FORMAT, else lines for people in dev mode and JSON in production. */
export function logFormat(config: Pick<Config, 'logFormat'>, dev: boolean): LogFormat {
  return config.logFormat ?? (dev ? 'pretty' : 'json');
}

/** Resolves the server configuration: production mode demands the settings dev mode fills in. */
export function serverConfig(loaded: Config, dev: boolean): ServerConfig {
  if (!dev) {
    requireProductionSettings(loaded);
    return loaded;
  }
  return Object.freeze({
    ...loaded,
    publicUrl: loaded.publicUrl ?? devPublicUrl(loaded),
    keySecret: loaded.keySecret ?? ensureDevKeySecret(loaded),
    metricsPort: loaded.metricsPort ?? DEV_METRICS_PORT,
    adminPort: loaded.adminPort ?? DEV_ADMIN_PORT,
  });
}

export interface ServeOptions {
  dev: boolean;
  /** Worker processes (node:cluster). Default: one per core in production, one in dev mode. */
  workers?: number;
}

/**
 * `gatehouse serve [--dev] [--workers N]`: migrate, (dev) create demo data, listen, stop cleanly
 * on SIGINT/SIGTERM. With several workers the primary process does the one-time work and the
 * workers share the port; they keep no state another worker could change unseen beyond the
 * signing-key cache bound (GATEHOUSE_CACHE_TTL).
 */
export async function serve(options: ServeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const workers = options.workers ?? (options.dev ? 1 : availableParallelism());
  const signals = handleSignals();
  if (cluster.isWorker) return serveWorker(options, signals);
  const loaded = loadConfig();
  const config = serverConfig(loaded, options.dev);
  // Metrics on the dev default port are a convenience: a busy port does not stop a dev server.
  const metricsServing = options.dev && loaded.metricsPort === undefined ? 'if-port-free' : 'always';
  const logs = new HeldDestination(logDestination(logFormat(config, options.dev)));
  const logger = createLogger(config.logLevel, logs);
  // A single process observes its own store; with workers, each worker observes its own.
  const metrics = workers <= 1 ? nodeMetrics(config) : undefined;
  const store = openStore(config.databaseUrl, { timeoutMs: config.databaseTimeout * 1000, observer: metrics });
  await whenAvailable(() => store.migrate(), logger, 'waiting for the database before starting');
  const devData = options.dev
    ? await whenAvailable(() => bootstrapDevelopment(config, store), logger, 'waiting for the database to create the demo data')
    : undefined;

  if (workers <= 1) {
    await serveAlone({ config, store, logger, logs, metrics, metricsServing, signals, out }, options.dev, devData);
    return;
  }

  // Prometheus metrics: the primary serves every worker's, aggregated.
  const onBusy = (port: number) => logger.warn({ port }, 'the metrics port is in use; serving no /metrics');
  const metricsListener = await serveMetrics(metricsServing, config.metricsHost, config.metricsPort, clusterExposition(), onBusy);
  const lines = await banner(config, store, `http://${config.host}:${config.port}`, options.dev, devData, workers, metricsListener?.address);
  // The web console: one client secret for every worker (forked workers inherit the environment).
  const consoleSecret = await consoleSecretForWorkers(config, store, systemClock, systemAudit(config, store));
  if (consoleSecret !== undefined) process.env[CONFIG_FIELDS.consoleClientSecret.env] = consoleSecret;
  // Warm start: the primary keeps a recent snapshot of what workers serve and gives it to each
  // worker it starts, so a worker started again during a database outage serves the usual clients.
  const warm = await WarmSnapshots.start(store, config, logger);
  cluster.on('message', (worker, message) => warm.answer(worker, message));
  // The dev key secret now exists on disk, so every worker resolves the same configuration.
  cluster.setupPrimary({ args: process.argv.slice(2) });
  let listening = 0;
  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('listening', (_worker, address) => {
    // Admin API: each worker also listens on the shared admin port; the banner counts public listeners.
    if (config.adminPort !== undefined && address.port === config.adminPort) return;
    listening += 1;
    if (listening === workers) out.write(lines);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`gatehouse: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    fork();
  });
  for (let i = 0; i < workers; i++) fork();
  signals.onStop(async () => {
    stopping = true;
    // Each worker drains on its own (readyz 503, requests still served, then closed); one that
    // outlives its drain period, shutdown timeout and last database calls by far is killed.
    await stopWorkers((drainSeconds(config, options.dev) + config.shutdownTimeout + 2 * config.databaseTimeout + 5) * 1000);
    await metricsListener?.close();
    warm.stop();
    await store.close();
  });
}

/** One process serving alone: warm, listen, then the banner and only then what it logged meanwhile. */
async function serveAlone(
  node: {
    config: ServerConfig;
    store: Store;
    logger: Logger;
    logs: HeldDestination;
    metrics: ReturnType<typeof nodeMetrics>;
    metricsServing: 'if-port-free' | 'always';
    signals: SignalHandling;
    out: NodeJS.WritableStream;
  },
  dev: boolean,
  devData: DevData | undefined,
): Promise<void> {
  const { config, store, logger, logs, metrics, metricsServing, signals, out } = node;
  // What the server logs while it starts waits for the banner, so the banner reads as one block.
  logs.hold();
  try {
    const app = await createServer(config, { store, logger, metrics, serveMetrics: metricsServing });
    signals.onStop((signal) => shutDown(app, store, config, dev, logger, signal));
    await app.warm();
    const address = await app.start();
    out.write(await banner(config, store, address, dev, devData, 1, app.metricsAddress()));
  } finally {
    logs.release();
  }
}

const WARM_REQUEST = 'gatehouse.warm.request';
const WARM_ANSWER = 'gatehouse.warm';
/** How often the primary reads its snapshot again. */
const WARM_REFRESH_MS = 5 * 60_000;
/** How long a starting worker waits for the primary's snapshot. */
const WARM_ANSWER_TIMEOUT_MS = 3_000;

/** The primary's snapshot for its workers, read at start and every `WARM_REFRESH_MS` while the database answers. */
class WarmSnapshots {
  private current: WarmSnapshot | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.refresh(), WARM_REFRESH_MS).unref();
  }

  static async start(store: Store, config: ServerConfig, logger: Logger): Promise<WarmSnapshots> {
    const snapshots = new WarmSnapshots(store, config, logger);
    await snapshots.refresh();
    return snapshots;
  }

  /** Answers a worker's request for the snapshot (any other message is not ours). */
  answer(worker: { send(message: unknown): boolean }, message: unknown): void {
    if ((message as { type?: unknown } | null)?.type !== WARM_REQUEST) return;
    worker.send({ type: WARM_ANSWER, snapshot: this.current ?? null });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const next = await takeWarmSnapshot(this.store, systemClock, warmLimits(this.config));
      // An unreadable database keeps the last snapshot: it is what an outage needs.
      if (next) this.current = next;
    } catch (error) {
      this.logger.warn({ err: error }, 'the warm-start snapshot could not be read');
    }
  }
}

/** The primary's snapshot, asked for over the cluster's IPC channel; undefined if it has none or does not answer in time. */
function snapshotFromPrimary(): Promise<WarmSnapshot | undefined> {
  if (!process.send) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = (snapshot: WarmSnapshot | undefined) => {
      clearTimeout(timeout);
      process.off('message', onMessage);
      resolve(snapshot);
    };
    const onMessage = (message: unknown) => {
      const answer = message as { type?: unknown; snapshot?: unknown } | null;
      if (answer?.type === WARM_ANSWER) done(isWarmSnapshot(answer.snapshot) ? answer.snapshot : undefined);
    };
    const timeout = setTimeout(() => done(undefined), WARM_ANSWER_TIMEOUT_MS);
    process.on('message', onMessage);
    process.send?.({ type: WARM_REQUEST });
  });
}

/** SIGTERM to every worker; one still running after `limitMs` gets SIGKILL. Resolves when all have exited. */
async function stopWorkers(limitMs: number): Promise<void> {
  const exits = Object.values(cluster.workers ?? {}).map(
    (worker) =>
      new Promise<void>((resolve) => {
        if (!worker || worker.isDead()) return resolve();
        const kill = setTimeout(() => worker.process.kill('SIGKILL'), limitMs);
        worker.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        worker.process.kill('SIGTERM');
      }),
  );
  await Promise.all(exits);
}

async function serveWorker(options: ServeOptions, signals: SignalHandling): Promise<void> {
  const config = serverConfig(loadConfig(), options.dev);
  const logger = createLogger(config.logLevel, logDestination(logFormat(config, options.dev)));
  const metrics = nodeMetrics(config);
  const store = openStore(config.databaseUrl, { timeoutMs: config.databaseTimeout * 1000, observer: metrics });
  const app = await createServer(config, { store, logger, metrics, serveMetrics: 'never' });
  if (metrics) answerMetricsRequests(metrics.registry);
  signals.onStop((signal) => shutDown(app, store, config, options.dev, logger, signal));
  await app.warm(await snapshotFromPrimary());
  await app.start();
}

/**
 * Runs a start-up step that needs the database, waiting for it when it cannot be reached yet (a
 * node started before its database, or during an outage): retried every second, reported every ten.
 */
async function whenAvailable<T>(step: () => Promise<T>, logger: Logger, waiting: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await step();
      if (attempt > 0) logger.info('the database answers; starting');
      return result;
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      if (attempt % 10 === 0) logger.warn({ reason: error.reason }, waiting);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Seconds between the signal and closing the listener: 5 by default, 0 in dev mode unless set. */
function drainSeconds(config: ServerConfig, dev: boolean): number {
  return config.drainPeriod ?? (dev ? 0 : DEFAULT_DRAIN_SECONDS);
}

const DEFAULT_DRAIN_SECONDS = 5;

/**
 * The shutdown sequence: `/readyz` says 503 at once while every request is still served (with
 * `Connection: close`) for the drain period, so a load balancer can take the node out; then the
 * listener closes, idle connections close, requests in flight complete (within the shutdown
 * timeout), the last quota counts are shared and the database is closed.
 */
async function shutDown(app: Server, store: Store, config: ServerConfig, dev: boolean, logger: Logger, signal: string): Promise<void> {
  const drain = drainSeconds(config, dev);
  logger.info({ signal, drainSeconds: drain }, 'shutting down: draining');
  app.drain();
  if (drain > 0) await new Promise((resolve) => setTimeout(resolve, drain * 1000));
  await app.stop(config.shutdownTimeout * 1000);
  await store.close();
  logger.info('stopped');
}

export interface DevData {
  /** The demo client, created on an empty database. */
  demo?: { clientId: string; secret: string } | undefined;
  /** The console's operator, created with the management environment. */
  operator?: { username: string; password: string } | undefined;
}

/**
 * Dev mode: on an empty database, the DEVELOPMENT environment and a demo client; and, when the
 * management environment does not exist yet, it (with the admin API and an admin client) and a
 * console operator `admin` whose password is printed once.
 */
async function bootstrapDevelopment(config: ServerConfig, store: Store): Promise<DevData> {
  const audit = systemAudit(config, store);
  const services = createAdminServices(config, store, systemClock, undefined, { audit, actor: SYSTEM_ACTOR });
  const existing = (await store.environments.list()).map((env) => env.name);
  const data: DevData = {};
  if (existing.length === 0) {
    await services.admin.createEnvironment(DEV_ENVIRONMENT);
    const client = await services.admin.createClient({ env: DEV_ENVIRONMENT, name: 'Demo client', scopes: ['read', 'write'] });
    data.demo = { clientId: client.client_id, secret: client.client_secret ?? '' };
  }
  if (!existing.includes(config.adminEnvironment)) {
    await bootstrapAdmin(services, config.adminEnvironment);
    data.operator = await ensureDevOperator(services.users, config.adminEnvironment);
  }
  return data;
}

/** The audit log of the primary's own changes (dev data, the console client), stored with the system as actor. */
function systemAudit(config: ServerConfig, store: Store): AuditRecorder {
  return new AuditRecorder(store.audit, systemClock, NO_AUDIT_LINES, { outbox: config.auditWebhookUrl !== undefined });
}

async function banner(
  config: ServerConfig,
  store: Store,
  address: string,
  dev: boolean,
  devData: DevData | undefined,
  workers = 1,
  metricsAddress?: string,
): Promise<string> {
  const mode = `${dev ? 'development' : 'production'} mode${workers > 1 ? `, ${workers} workers` : ''}`;
  const lines = [`Gatehouse is listening on ${address} (${mode})`];
  if (metricsAddress) lines.push(`  Prometheus metrics on ${metricsAddress}${METRICS_PATH}`);
  try {
    for (const env of await store.environments.list()) {
      const urls = issuerUrls(config.publicUrl, env);
      lines.push(
        `  ${env.name}: issuer ${urls.issuer}`,
        `    metadata ${urls.metadata}`,
        `    OpenID   ${urls.openidConfiguration}`,
        `    JWKS     ${urls.jwks}`,
      );
    }
  } catch (error) {
    // The server runs already: a database that blinked now must not stop it.
    if (!(error instanceof StorageUnavailableError)) throw error;
    lines.push(`  (the environments cannot be listed now: ${error.reason})`);
  }
  const compat = config.surfaces.filter((s) => s.profile !== 'standard');
  if (compat.length > 0) {
    lines.push(`  compatibility surfaces: ${compat.map((s) => s.name).join(', ')} (routes per environment: ENV_ISSUER/openapi.json)`);
  }
  // Admin API
  if (config.adminPort !== undefined) lines.push(`  admin API http://${config.adminHost}:${config.adminPort}/admin/v1 (tokens of ${config.adminEnvironment})`);
  const demo = devData?.demo;
  if (devData?.operator) {
    const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
    lines.push(
      '',
      `Web console: http://${host}:${config.adminPort}/console/ — sign in as ${devData.operator.username} with password ${devData.operator.password} (shown only now)`,
    );
  }
  if (demo) {
    const token = issuerUrls(config.publicUrl, { name: DEV_ENVIRONMENT }).token;
    lines.push(
      '',
      'Created environment DEVELOPMENT and a demo client. Its secret is shown only now; get a token with:',
      `  curl -s -u '${demo.clientId}:${demo.secret}' -d grant_type=client_credentials ${token}`,
    );
  } else if (dev) {
    lines.push('', 'A new secret for a client: ./bin/gatehouse client rotate-secret CLIENT_ID --env DEVELOPMENT');
  }
  return `${lines.join('\n')}\n`;
}

interface SignalHandling {
  /** What the first SIGINT or SIGTERM runs once the server is up; the process then exits 0. */
  onStop(stop: (signal: string) => Promise<void>): void;
}

/**
 * SIGINT and SIGTERM from the first moment. Before the server is up a signal exits 0 at once;
 * after, the first one runs the stop sequence and every later one is ignored: a signal sent to
 * the whole process group (systemd's default, `kill -TERM -PGID`, init wrappers) reaches each
 * worker next to the one the primary passes on, and must not cut the drain short. SIGKILL
 * remains for an operator who cannot wait.
 */
function handleSignals(): SignalHandling {
  let stop: ((signal: string) => Promise<void>) | undefined;
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!stop) process.exit(0);
    void stop(signal).finally(() => process.exit(0));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  return {
    onStop(next) {
      stop = next;
    },
  };
}
