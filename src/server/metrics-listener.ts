import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** One scrape's answer: the text exposition format and its content type. */
export interface Exposition {
  contentType: string;
  body: string;
}

export interface MetricsListener {
  /** `http://host:port` as bound (port 0 picks one). */
  readonly address: string;
  close(): Promise<void>;
}

export const METRICS_PATH = '/metrics';

/**
 * A listener of its own for `GET /metrics`, apart from the public port: scrapes reach it only
 * where the operator binds it (loopback by default). Anything else is 404, another method 405.
 */
export async function startMetricsListener(host: string, port: number, render: () => Promise<Exposition>): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return void response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    }
    render().then(
      (exposition) => response.writeHead(200, { 'content-type': exposition.contentType, 'cache-control': 'no-store' }).end(exposition.body),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { address: `http://${shownHost}:${bound.port}`, close: () => closeServer(server) };
}

/**
 * Where `/metrics` is served: `always` (a busy port fails the start), `if-port-free` (the dev
 * default: a second `serve --dev` runs without metrics rather than not at all), `never` (a
 * worker: the primary serves them).
 */
export type MetricsServing = 'always' | 'if-port-free' | 'never';

/** Starts the listener as `serving` says; undefined when there is none. */
export async function serveMetrics(
  serving: MetricsServing,
  host: string,
  port: number | undefined,
  render: () => Promise<Exposition>,
  onBusy: (port: number) => void,
): Promise<MetricsListener | undefined> {
  if (serving === 'never' || port === undefined) return undefined;
  try {
    return await startMetricsListener(host, port, render);
  } catch (error) {
    if (serving !== 'if-port-free' || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    onBusy(port);
    return undefined;
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One registry's exposition. */
export const registryExposition = (registry: Registry) => async (): Promise<Exposition> => ({
  contentType: registry.contentType,
  body: spellNaN(await registry.metrics()),
});

/**
 * prom-client writes a NaN value (an event-loop histogram with no sample yet) as `Nan`;
 * Prometheus reads either, stricter parsers only the format's own `NaN`.
 */
const spellNaN = (text: string): string => text.replace(/ Nan$/gm, ' NaN');

type metric = MetricObjectWithValues<MetricValue<string>>;

const REQUEST = 'gatehouse:metrics-request';
const RESPONSE = 'gatehouse:metrics-response';

interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  metrics: metric[];
}

/** In a worker: answers the primary's scrape requests with this registry's metrics. */
export function answerMetricsRequests(registry: Registry): () => void {
  const onMessage = (message: { type?: unknown; id?: unknown }) => {
    if (message?.type !== REQUEST || typeof message.id !== 'number') return;
    const id = message.id;
    void registry.getMetricsAsJSON().then((metrics) => process.send?.({ type: RESPONSE, id, metrics } satisfies MetricsResponse));
  };
  process.on('message', onMessage);
  return () => process.off('message', onMessage);
}

/**
 * In the primary: the workers' metrics, aggregated by each metric's rule (counters and
 * histograms sum; gauges that are the same everywhere take the max). prom-client's own
 * `clusterMetrics()` fails the whole scrape when a worker does not answer; here a worker that
 * is exiting or starting is left out after `timeoutMs` and `gatehouse_metrics_workers_reporting`
 * says how many answered.
 */
export function clusterExposition(timeoutMs = 1000): () => Promise<Exposition> {
  let next = 0;
  return async () => {
    const id = next++;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
    const answers = await Promise.all(workers.map((worker) => askWorker(worker, id, timeoutMs)));
    const reported = answers.filter((a): a is metric[] => a !== undefined);
    const aggregated = AggregatorRegistry.aggregate(reported);
    return { contentType: aggregated.contentType, body: spellNaN(await aggregated.metrics()) + reportingGauge(reported.length, workers.length) };
  };
}

function askWorker(worker: Worker, id: number, timeoutMs: number): Promise<metric[] | undefined> {
  return new Promise((resolve) => {
    const finish = (value: metric[] | undefined) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(value);
    };
    const onMessage = (message: Partial<MetricsResponse>) => {
      if (message?.type === RESPONSE && message.id === id) finish(message.metrics);
    };
    const onExit = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    try {
      worker.send({ type: REQUEST, id });
    } catch {
      finish(undefined);
    }
  });
}

/** The metrics only the primary of `--workers` adds to the aggregated view. */
export const CLUSTER_METRIC_NAMES = ['gatehouse_metrics_workers_reporting', 'gatehouse_metrics_workers'] as const;

function reportingGauge(reporting: number, workers: number): string {
  return [
    '# HELP gatehouse_metrics_workers_reporting Workers whose metrics this scrape includes',
    '# TYPE gatehouse_metrics_workers_reporting gauge',
    `gatehouse_metrics_workers_reporting ${reporting}`,
    '# HELP gatehouse_metrics_workers Workers running when this scrape started',
    '# TYPE gatehouse_metrics_workers gauge',
    `gatehouse_metrics_workers ${workers}`,
    '',
  ].join('\n');
}
