import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BrowserSessions } from '../accounts/browser-sessions.ts';
import { UserAuthenticator } from '../accounts/users.ts';
import type { Config } from '../config/config.ts';
import { keyedHasher } from '../crypto/secrets.ts';
import { type Clock, systemClock } from '../domain/clock.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import { createOAuthCore, type OAuthCore } from '../oauth/core.ts';
import { EnvironmentResolver } from '../oauth/environments.ts';
import { createLogger } from '../server/logger.ts';
import { buildSurfaces } from '../surfaces/surface-set.ts';
import { openApiRoutes } from './openapi.ts';
import { authorizationRoutes } from './routes/authorization-routes.ts';
import { discoveryRoutes, documentErrorHandler } from './routes/discovery-routes.ts';
import { surfaceRoutes } from './surface-routes.ts';

export type ServerConfig = Config & { publicUrl: string; keySecret: Buffer };

export interface AppDeps {
  store: Store;
  clock?: Clock;
  logger?: Logger;
}

export interface App {
  readonly server: FastifyInstance;
  readonly core: OAuthCore;
  /** Listens on the configured host and port; returns the bound address (port 0 picks one). */
  start(): Promise<string>;
  /**
   * The first step of a graceful shutdown: `/readyz` answers 503 at once so a load balancer
   * takes the node out, while every request, on new connections too, is still served, each
   * response with `Connection: close` so keep-alive connections end cleanly after it.
   */
  drain(): void;
  /**
   * Stops accepting connections, closes idle ones, waits for requests in flight (at most
   * `timeoutMs`, then closes what is left) and shares the last quota counts. Does not close the store.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/** Wires the public HTTP surface from configuration and dependencies; the one place that does. */
export async function createApp(config: ServerConfig, deps: AppDeps): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const core = createOAuthCore(config, config.keySecret, deps.store, clock, logger);
  const environments = new EnvironmentResolver(deps.store, config.publicUrl, clock, config.cacheTtl * 1000, config.cacheStaleIfError * 1000);
  const sessions = new BrowserSessions(deps.store, clock, config.sessionTtl * 1000);
  const users = new UserAuthenticator(
    deps.store,
    clock,
    {
      usernameLimit: config.loginUsernameLimit,
      addressLimit: config.loginAddressLimit,
      windowMs: config.loginWindow * 1000,
      passwordCost: { log2N: config.passwordHashCost, r: 8, p: 1 },
    },
    keyedHasher(config.keySecret, 'login attempts'),
  );

  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    // The issuer comes from configuration, never from forwarding headers. X-Forwarded-For is
    // believed only from the configured proxies, for throttling by the real client address.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors Fastify raises before any route runs (an overlong path segment, a malformed URL)
    // get Gatehouse's envelope too.
    frameworkErrors: (error, request, reply) => void documentErrorHandler(error, request, reply),
  });

  let draining = false;
  // While draining, each response is its connection's last: clients reconnect (to another node,
  // once the load balancer has taken this one out) instead of racing the close of an idle socket.
  server.addHook('onRequest', (_request, reply, done) => {
    if (draining) reply.header('connection', 'close');
    done();
  });
  server.setErrorHandler(documentErrorHandler);

  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (draining) return reply.status(503).send({ status: 'draining', reason: 'the server is shutting down' });
    try {
      await deps.store.ping();
      return { status: 'ready' };
    } catch (error) {
      const reason = error instanceof StorageUnavailableError ? error.reason : 'the database check failed';
      return reply.status(503).send({ status: 'unavailable', reason });
    }
  });
  await server.register(discoveryRoutes, { core, environments });
  const surfaces = buildSurfaces(config);
  const publicBase = config.publicUrl.replace(/\/+$/, '');
  for (const surface of surfaces) {
    await server.register(surfaceRoutes, { surface, core, environments, clock, bodyLimit: config.bodyLimit, publicBase });
  }
  await server.register(authorizationRoutes, {
    core,
    environments,
    sessions,
    users,
    clock,
    bodyLimit: config.bodyLimit,
    secureCookies: new URL(config.publicUrl).protocol === 'https:',
    authorizeRoutes: surfaces.flatMap((surface) => surface.routes.filter((r) => r.endpoint === 'authorization').map((r) => ({ surface, url: r.url }))),
  });
  const grants = new Map(core.grants.grantTypes().map((type) => [type, core.grants.get(type)?.parameters ?? []]));
  await server.register(openApiRoutes, { surfaces, environments, publicBase, grants });
  server.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'not_found', error_description: 'no such endpoint' }));
  await server.ready();

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, task: () => Promise<unknown>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void task()
        .catch((error: unknown) => logger.warn({ err: error }, 'a background task failed'))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  const health = deps.store.health;
  const stopListening = health.onChange((h) => {
    if (h.available) logger.info('the database answers again');
    else logger.warn({ reason: h.reason }, 'the database is unavailable; requests that need it answer 503 until it answers again');
  });
  return {
    server,
    core,
    async start() {
      const address = await server.listen({ host: config.host, port: config.port });
      every(SWEEP_INTERVAL_MS, () => sweepExpired(deps.store, clock, logger, config.loginWindow * 1000, config.quotaWindow * 1000));
      every(config.quotaSyncInterval, () => core.quotas.sync());
      // While the database is unavailable a probe notices its return, even with no traffic.
      every(HEALTH_PROBE_MS, async () => {
        if (!health.available) await deps.store.ping().catch(() => {});
      });
      return address;
    },
    drain() {
      draining = true;
    },
    async stop(timeoutMs = 30_000) {
      draining = true;
      for (const timer of timers.splice(0)) clearInterval(timer);
      stopListening();
      const closed = server.close();
      const deadline = setTimeout(() => server.server.closeAllConnections(), timeoutMs);
      deadline.unref();
      await closed;
      clearTimeout(deadline);
      await core.quotas.sync();
    },
  };
}

const HEALTH_PROBE_MS = 1000;

const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

// A consumed code is kept this long past its expiry, so a late replay still revokes its tokens.
const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Deletes expired records that can no longer matter: tokens, revocations, assertion ids, sessions, codes, families. */
export async function sweepExpired(store: Store, clock: Clock, logger: Logger, loginWindowMs: number, quotaWindowMs: number): Promise<void> {
  try {
    const now = clock.now();
    const counts = {
      tokens: await store.accessTokens.deleteExpired(now),
      revocations: await store.revokedJwts.deleteExpired(now),
      assertions: await store.usedAssertions.deleteExpired(now),
      sessions: await store.browserSessions.deleteExpired(now),
      pending: await store.authorizationRequests.deleteExpired(now),
      codes: await store.authorizationCodes.deleteExpired(now - CODE_RETENTION_MS),
      families: await store.tokenFamilies.deleteExpired(now),
      loginWindows: await store.loginAttempts.deleteExpired(now - loginWindowMs),
      // Failure windows are at most a day long (GATEHOUSE_AUTH_FAILURE_WINDOW).
      rateWindows: await store.rateCounters.deleteExpired(now - Math.max(quotaWindowMs, DAY_MS)),
    };
    if (Object.values(counts).some((n) => n > 0)) logger.debug(counts, 'expired records deleted');
  } catch (error) {
    logger.warn({ err: error }, 'could not delete expired records');
  }
}
