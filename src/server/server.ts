import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BrowserSessions } from '../accounts/browser-sessions.ts';
import { UserAuthenticator } from '../accounts/users.ts';
import { CONFIG_FIELDS } from '../config/config.ts';
import { keyedHasher } from '../crypto/secrets.ts';
import { type Clock, systemClock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import { createHttpApp } from '../http/app.ts';
import { createOAuthCore, type OAuthCore } from '../oauth/core.ts';
import { EnvironmentResolver } from '../oauth/environments.ts';
import { KeyRotation } from '../oauth/key-rotation.ts';
import { UsageRecorder } from '../observability/usage.ts';
import { buildSurfaces } from '../surfaces/surface-set.ts';
import { createLogger } from './logger.ts';
import { httpOptions, oauthPolicy, type ServerConfig } from './policies.ts';
import { SWEEP_INTERVAL_MS, sweepExpired } from './sweeper.ts';

export type { ServerConfig };

export interface ServerDeps {
  store: Store;
  clock?: Clock;
  logger?: Logger;
}

/** One Gatehouse node: the OAuth core, its HTTP surface and its background tasks, over one store. */
export interface Server {
  /** The public HTTP surface (`server.inject` serves a request without listening). */
  readonly server: FastifyInstance;
  readonly core: OAuthCore;
  /** Last-used times and daily token counts: `usage.listener` takes the core's events; written every GATEHOUSE_USAGE_FLUSH_INTERVAL and at stop. */
  readonly usage: UsageRecorder;
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

const HEALTH_PROBE_MS = 1000;
/**
 * How often a node records due key switches and starts due scheduled rotations. Signing does not
 * wait for it (keys switch by their timestamps); a scheduled rotation starts at most this late.
 */
const KEY_ROTATION_CHECK_MS = 60_000;

/**
 * Wires one node from the validated configuration: the only place that knows every layer. Each
 * part gets the plain values it needs (policies, options), never the configuration itself.
 */
export async function createServer(config: ServerConfig, deps: ServerDeps): Promise<Server> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const store = deps.store;
  const core = createOAuthCore(oauthPolicy(config), config.keySecret, store, clock, logger);
  const http = await createHttpApp(httpOptions(config), {
    core,
    environments: new EnvironmentResolver(store, config.publicUrl, clock, config.cacheTtl * 1000, config.cacheStaleIfError * 1000),
    sessions: new BrowserSessions(store, clock, config.sessionTtl * 1000),
    users: new UserAuthenticator(store, clock, loginPolicy(config), keyedHasher(config.keySecret, 'login attempts')),
    surfaces: buildSurfaces(config, CONFIG_FIELDS.surfaces.env),
    clock,
    logger,
    ping: () => store.ping(),
  });
  const tasks = new BackgroundTasks(logger);
  // Usage records: gathered in memory from core events, written in batches.
  const usage = new UsageRecorder(store.usage, clock, {
    onDropped: (count) => logger.warn({ count }, 'usage records dropped: the database refused the last batches and the usage limit was reached'),
    onError: (error) => logger.warn({ err: error }, 'an early usage flush failed; the batch is kept for the next one'),
  });
  const stopListening = store.health.onChange((h) => {
    if (h.available) logger.info('the database answers again');
    else logger.warn({ reason: h.reason }, 'the database is unavailable; requests that need it answer 503 until it answers again');
  });
  return {
    server: http.server,
    core,
    usage,
    async start() {
      const address = await http.listen();
      tasks.every(SWEEP_INTERVAL_MS, () => sweepExpired(store, clock, logger, config.loginWindow * 1000, config.quotaWindow * 1000));
      tasks.every(config.quotaSyncInterval, () => core.quotas.sync());
      tasks.every(config.usageFlushInterval * 1000, () => usage.flush());
      const rotation = new KeyRotation(store, () => config.keySecret, clock, config);
      tasks.every(KEY_ROTATION_CHECK_MS, async () => {
        for (const envId of await rotation.runSchedules()) logger.info({ envId }, 'scheduled signing-key rotation: a next key is published');
      });
      // While the database is unavailable a probe notices its return, even with no traffic.
      tasks.every(HEALTH_PROBE_MS, async () => {
        if (!store.health.available) await store.ping().catch(() => {});
      });
      return address;
    },
    drain: () => http.drain(),
    async stop(timeoutMs = 30_000) {
      tasks.stop();
      stopListening();
      await http.close(timeoutMs);
      await core.quotas.sync();
      // The last usage records of this node; if the database refuses them now they are lost, and logged.
      await usage.flush().catch((error: unknown) => logger.warn({ err: error }, 'the last usage records could not be written'));
    },
  };
}

function loginPolicy(config: ServerConfig) {
  return {
    usernameLimit: config.loginUsernameLimit,
    addressLimit: config.loginAddressLimit,
    windowMs: config.loginWindow * 1000,
    passwordCost: { log2N: config.passwordHashCost, r: 8, p: 1 },
  };
}

/** Periodic tasks of one node: never two runs of a task at once, failures logged, stopped together. */
class BackgroundTasks {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly logger: Logger) {}

  every(ms: number, task: () => Promise<unknown>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void task()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'a background task failed'))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }
}
