import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BrowserSessions } from '../accounts/browser-sessions.ts';
import { createSignInFactors } from '../accounts/sign-in-factors.ts';
import { UserAuthenticator } from '../accounts/users.ts';
import { CONFIG_FIELDS } from '../config/config.ts';
import { keyedHasher } from '../crypto/secrets.ts';
import { type Clock, systemClock } from '../domain/clock.ts';
import { EventBus } from '../domain/events.ts';
import type { Store } from '../domain/storage.ts';
import { createHttpApp } from '../http/app.ts';
import type { MetadataDocumentFetchDeps } from '../oauth/client-metadata-documents/wiring.ts';
import { createOAuthCore, type OAuthCore } from '../oauth/core.ts';
import { EnvironmentResolver } from '../oauth/environments.ts';
import { EndSessionEndpoint } from '../oauth/openid/logout.ts';
import { createRegistrationEndpoint } from '../oauth/registration/registration-endpoint.ts';
import type { GatehouseMetrics } from '../observability/metrics.ts';
import type { UsageRecorder } from '../observability/usage.ts';
import { buildSurfaces } from '../surfaces/surface-set.ts';
import { buildAdminApi } from './admin-api.ts';
import type { AuditNode } from './audit.ts';
import { BackgroundTasks, scheduleNodeTasks, startKeyLineages, startMetrics } from './background.ts';
import { createLogger } from './logger.ts';
import type { MetricsListener, MetricsServing } from './metrics-listener.ts';
import { createObservers } from './observers.ts';
import { httpOptions, oauthPolicy, type ServerConfig } from './policies.ts';
import { primeCaches, takeWarmSnapshot, WARM_CLIENTS_USED_WITHIN_MS, type WarmLimits, type WarmSnapshot } from './warm-start.ts';

export type { ServerConfig };

export interface ServerDeps {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** Where the core's events go; the server adds its own listeners (metrics, audit, usage). */
  events?: EventBus;
  /** This node's metrics (made from the configuration when absent and a metrics port is set). */
  metrics?: GatehouseMetrics | undefined;
  /** Whether this node serves `/metrics` itself when a metrics port is set (default `always`). */
  serveMetrics?: MetricsServing;
  /** How Client ID Metadata Documents are fetched: a resolver and trusted CAs in place of the system's (tests). */
  metadataDocumentFetch?: MetadataDocumentFetchDeps;
}

/** One Gatehouse node: the OAuth core, its HTTP surface and its background tasks, over one store. */
export interface Server {
  /** The public HTTP surface (`server.inject` serves a request without listening). */
  readonly server: FastifyInstance;
  readonly core: OAuthCore;
  /** What the core and the accounts report; metrics, audit and usage listen here. */
  readonly events: EventBus;
  /** The node's audit log: `audit.recorder` takes admin changes; `audit.listener` listens to the core's events. */
  readonly audit: AuditNode;
  /** Prometheus metrics, when enabled: give `metrics.onEvent` to the node's event listeners. */
  readonly metrics: GatehouseMetrics | undefined;
  /** The `/metrics` listener's address once started, if this node serves one. */
  readonly metricsAddress: () => string | undefined;
  /** Last-used times and daily token counts: `usage.listener` takes the core's events; written every GATEHOUSE_USAGE_FLUSH_INTERVAL and at stop. */
  readonly usage: UsageRecorder;
  /** The admin API (its own listener), when GATEHOUSE_ADMIN_PORT is set; `inject` serves without listening. */
  readonly adminServer: FastifyInstance | undefined;
  /**
   * Warm start: fills the node's caches from `snapshot` (one the primary process read), else
   * from the database when it answers, so its usual clients are served at once and through an
   * outage (within GATEHOUSE_CACHE_STALE_IF_ERROR of the read). Returns what it used, if anything.
   */
  warm(snapshot?: WarmSnapshot): Promise<WarmSnapshot | undefined>;
  /** Listens on the configured host and port and starts the background tasks; returns the bound address. */
  start(): Promise<string>;
  /**
   * The first step of a graceful shutdown: `/readyz` answers 503 at once so a load balancer
   * takes the node out, while every request, on new connections too, is still served, each
   * response with `Connection: close` so keep-alive connections end cleanly after it.
   */
  drain(): void;
  /**
   * Stops the background tasks and the listener, closes idle connections, waits for requests in
   * flight (at most `timeoutMs`, then closes what is left) and shares the last quota counts.
   * Does not close the store.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Wires one node from the validated configuration: the only place that knows every layer. Each
 * part gets the plain values it needs (policies, options), never the configuration itself.
 */
export async function createServer(config: ServerConfig, deps: ServerDeps): Promise<Server> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const store = deps.store;
  const events = deps.events ?? new EventBus((error) => logger.warn({ err: error }, 'an event listener failed'));
  const core = createOAuthCore(oauthPolicy(config), config.keySecret, store, clock, logger, events, deps.metadataDocumentFetch);
  const { metrics, audit, usage } = createObservers(config, { store, clock, logger, events, metrics: deps.metrics }, core.grants.grantTypes());
  let metricsListener: MetricsListener | undefined;
  const environments = new EnvironmentResolver(store, config.publicUrl, clock, config.cacheTtl * 1000, config.cacheStaleIfError * 1000);
  const http = await createHttpApp(httpOptions(config), {
    core,
    environments,
    sessions: new BrowserSessions(store, clock, config.sessionTtl * 1000),
    users: new UserAuthenticator(store, clock, loginPolicy(config), keyedHasher(config.keySecret, 'login attempts'), core.legacy, events),
    factors: createSignInFactors(store, clock, config.keySecret, config.publicUrl, events),
    logout: new EndSessionEndpoint(store, core.clients, core.keys, clock, events),
    surfaces: buildSurfaces(config, CONFIG_FIELDS.surfaces.env),
    clock,
    logger,
    ping: () => store.ping(),
    requests: metrics,
    registration: registrationEndpoint(config, store, clock, audit, core, events),
    pageSettings: store.pageSettings,
  });
  // Admin API: its own listener, only when GATEHOUSE_ADMIN_PORT is set.
  const adminApi = await buildAdminApi(config, { store, core, environments, clock, logger, audit: audit.recorder });
  const tasks = new BackgroundTasks(logger);
  const stopListening = store.health.onChange((h) => {
    if (h.available) logger.info('the database answers again');
    else logger.warn({ reason: h.reason }, 'the database is unavailable; requests that need it answer 503 until it answers again');
  });
  return {
    server: http.server,
    core,
    events,
    audit,
    metrics,
    metricsAddress: () => metricsListener?.address,
    usage,
    adminServer: adminApi?.server,
    warm: (given) => warmNode({ config, store, clock, logger, core, environments }, given),
    async start() {
      // Before listening: every environment has its RS256 key when ID Tokens are first asked for.
      await startKeyLineages({ config, store, clock, logger, core });
      const address = await http.listen();
      if (adminApi) logger.info({ address: await adminApi.listen() }, 'the admin API is listening');
      if (metrics) metricsListener = await startMetrics(metrics, { config, store, clock, logger, tasks }, deps.serveMetrics);
      scheduleNodeTasks(tasks, { config, store, clock, logger, core, events, audit: audit.recorder });
      await audit.start((ms, task) => tasks.every(ms, task));
      tasks.every(config.usageFlushInterval * 1000, () => usage.flush());
      return address;
    },
    drain: () => http.drain(),
    async stop(timeoutMs = 30_000) {
      tasks.stop();
      stopListening();
      await http.close(timeoutMs);
      await metricsListener?.close();
      await adminApi?.close();
      await core.quotas.sync();
      // The last usage records of this node; if the database refuses them now they are lost, and logged.
      await usage.flush().catch((error: unknown) => logger.warn({ err: error }, 'the last usage records could not be written'));
      await audit.stop();
    },
  };
}

/** RFC 7591 / 7592: each environment's registration endpoint, recording its changes in the node's audit log. */
function registrationEndpoint(config: ServerConfig, store: Store, clock: Clock, audit: AuditNode, core: OAuthCore, events: EventBus) {
  const { keySecret, clockSkew } = config;
  return createRegistrationEndpoint({ store, clock, audit: audit.recorder, keySecret, clients: core.clients, apis: core.apis, clockSkew, events });
}

function loginPolicy(config: ServerConfig) {
  return {
    usernameLimit: config.loginUsernameLimit,
    addressLimit: config.loginAddressLimit,
    windowMs: config.loginWindow * 1000,
    passwordCost: { log2N: config.passwordHashCost, r: 8, p: 1 },
  };
}

/** Fills a node's caches from `given`, else from a snapshot read now; see `Server.warm`. */
async function warmNode(
  node: { config: ServerConfig; store: Store; clock: Clock; logger: Logger; core: OAuthCore; environments: EnvironmentResolver },
  given: WarmSnapshot | undefined,
): Promise<WarmSnapshot | undefined> {
  const { config, store, clock, logger } = node;
  const snapshot = given ?? (await takeWarmSnapshot(store, clock, warmLimits(config)));
  if (!snapshot) {
    logger.warn('the database cannot be read: starting without a warm cache');
    return undefined;
  }
  primeCaches(node, snapshot);
  const ageSeconds = Math.round((clock.now() - snapshot.takenAt) / 1000);
  logger.info(
    { environments: snapshot.environments.length, clients: snapshot.clients.length, complete: snapshot.complete, ageSeconds },
    'warm start: caches filled',
  );
  return snapshot;
}

/** The bounds of a warm start, from the configuration. */
export function warmLimits(config: Pick<ServerConfig, 'warmStartClients' | 'warmStartTimeout'>): WarmLimits {
  return { usedWithinMs: WARM_CLIENTS_USED_WITHIN_MS, maxClients: config.warmStartClients, budgetMs: config.warmStartTimeout * 1000 };
}
