import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BrowserSessions } from '../accounts/browser-sessions.ts';
import { UserAuthenticator } from '../accounts/users.ts';
import { CONFIG_FIELDS } from '../config/config.ts';
import { keyedHasher } from '../crypto/secrets.ts';
import { type Clock, systemClock } from '../domain/clock.ts';
import { EventBus } from '../domain/events.ts';
import type { Store } from '../domain/storage.ts';
import { createHttpApp } from '../http/app.ts';
import { createOAuthCore, type OAuthCore } from '../oauth/core.ts';
import { EnvironmentResolver } from '../oauth/environments.ts';
import { KeyRotation } from '../oauth/key-rotation.ts';
import { buildSurfaces } from '../surfaces/surface-set.ts';
import { buildAdminApi } from './admin-api.ts';
import { createLogger } from './logger.ts';
import { httpOptions, oauthPolicy, type ServerConfig } from './policies.ts';
import { SWEEP_INTERVAL_MS, sweepExpired } from './sweeper.ts';

export type { ServerConfig };

export interface ServerDeps {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** Where the core's events go; the server adds its own listeners (metrics, audit, usage). */
  events?: EventBus;
}

/** One Gatehouse node: the OAuth core, its HTTP surface and its background tasks, over one store. */
export interface Server {
  /** The public HTTP surface (`server.inject` serves a request without listening). */
  readonly server: FastifyInstance;
  readonly core: OAuthCore;
  /** What the core and the accounts report; metrics, audit and usage listen here. */
  readonly events: EventBus;
  /** The admin API (its own listener), when GATEHOUSE_ADMIN_PORT is set; `inject` serves without listening. */
  readonly adminServer: FastifyInstance | undefined;
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
  const events = deps.events ?? new EventBus((error) => logger.warn({ err: error }, 'an event listener failed'));
  const core = createOAuthCore(oauthPolicy(config), config.keySecret, store, clock, logger, events);
  const environments = new EnvironmentResolver(store, config.publicUrl, clock, config.cacheTtl * 1000, config.cacheStaleIfError * 1000);
  const http = await createHttpApp(httpOptions(config), {
    core,
    environments,
    sessions: new BrowserSessions(store, clock, config.sessionTtl * 1000),
    users: new UserAuthenticator(store, clock, loginPolicy(config), keyedHasher(config.keySecret, 'login attempts'), events),
    surfaces: buildSurfaces(config, CONFIG_FIELDS.surfaces.env),
    clock,
    logger,
    ping: () => store.ping(),
  });
  // Admin API: its own listener, only when GATEHOUSE_ADMIN_PORT is set.
  const adminApi = await buildAdminApi(config, { store, core, environments, clock, logger });
  const tasks = new BackgroundTasks(logger);
  const stopListening = store.health.onChange((h) => {
    if (h.available) logger.info('the database answers again');
    else logger.warn({ reason: h.reason }, 'the database is unavailable; requests that need it answer 503 until it answers again');
  });
  return {
    server: http.server,
    core,
    events,
    adminServer: adminApi?.server,
    async start() {
      const address = await http.listen();
      if (adminApi) logger.info({ address: await adminApi.listen() }, 'the admin API is listening');
      tasks.every(SWEEP_INTERVAL_MS, () => sweepExpired(store, clock, logger, config.loginWindow * 1000, config.quotaWindow * 1000));
      tasks.every(config.quotaSyncInterval, () => core.quotas.sync());
      const rotation = new KeyRotation(store, () => config.keySecret, clock, config);
      tasks.every(KEY_ROTATION_CHECK_MS, async () => {
        const started = await rotation.runSchedules();
        if (started.length === 0) return;
        const names = new Map((await store.environments.list()).map((env) => [env.id, env.name]));
        for (const { envId, kid } of started) {
          logger.info({ envId, kid }, 'scheduled signing-key rotation: a next key is published');
          events.emit({ type: 'signing_key.rotated', env: { id: envId, name: names.get(envId) ?? envId }, kid, trigger: 'scheduled' });
        }
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
      await adminApi?.close();
      await core.quotas.sync();
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
