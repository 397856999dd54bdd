import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { CONFIG_FIELDS, type Config, type LogFormat, loadConfig, requireProductionSettings } from '../config/config.ts';
import { systemClock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import { consoleSecretForWorkers } from '../server/console.ts';
import { createLogger, HeldDestination, logDestination } from '../server/logger.ts';
import { answerMetricsRequests, clusterExposition, serveMetrics } from '../server/metrics-listener.ts';
import { nodeMetrics } from '../server/node-metrics.ts';
import { createServer, type ServerConfig } from '../server/server.ts';
import { openStore } from '../store/open.ts';
import { devPublicUrl, ensureDevKeySecret } from './local-context.ts';
import { snapshotFromPrimary, stopWorkers, WarmSnapshots } from './serve-cluster.ts';
import { banner, bootstrapDevelopment, type DevData, systemAudit } from './serve-dev.ts';
import { drainSeconds, handleSignals, type SignalHandling, shutDown, whenAvailable } from './serve-lifecycle.ts';

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

export async function serveWorker(options: ServeOptions, signals: SignalHandling): Promise<void> {
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

export { DEV_ENVIRONMENT, type DevData } from './serve-dev.ts';
