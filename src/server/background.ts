import type { Logger } from 'pino';
import type { AuditLog } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import type { EventSink } from '../domain/events.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { KeyRotation } from '../oauth/key-rotation.ts';
import { BACKCHANNEL_LOGOUT_INTERVAL_MS, BackchannelLogoutDeliverer } from '../oauth/openid/logout-delivery.ts';
import { deleteUnusedRegisteredClients } from '../oauth/registration/unused-clients.ts';
import type { GatehouseMetrics } from '../observability/metrics.ts';
import { type MetricsListener, type MetricsServing, registryExposition, serveMetrics } from './metrics-listener.ts';
import { refreshSigningKeyAges } from './node-metrics.ts';
import type { ServerConfig } from './policies.ts';
import { SWEEP_INTERVAL_MS, sweepExpired } from './sweeper.ts';

const HEALTH_PROBE_MS = 1000;
/**
 * How often a node records due key switches and starts due scheduled rotations. Signing does not
 * wait for it (keys switch by their timestamps); a scheduled rotation starts at most this late.
 */
const KEY_ROTATION_CHECK_MS = 60_000;

/** Periodic tasks of one node: never two runs of a task at once, failures logged, stopped together. */
export class BackgroundTasks {
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

interface NodeParts {
  config: ServerConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
}

/**
 * Gives each environment created before ID Tokens existed its RS256 key, active at once: such an
 * environment has issued no ID Token yet, so no copy of its JWKS needs to list the key ahead (the
 * other nodes publish it within GATEHOUSE_CACHE_TTL, and a relying party meeting the new kid
 * before refetches the JWKS), while an ID Token asked for meanwhile needs a key to sign. This
 * is where environments of an older schema get the RS256 lineage: every node runs it when it starts, before
 * it listens (`startKeyLineages`), and again with each scheduled-rotation check. Several nodes may
 * start at once: storage's one-active-key index lets one insert per environment, and the others
 * read its key (`SigningKeyStore.startLineage`).
 */
export async function addMissingKeyLineages(rotation: KeyRotation, core: Pick<OAuthCore, 'keys'>, logger: Logger): Promise<void> {
  for (const { envId, kid, alg } of await rotation.addMissingLineages()) {
    core.keys.invalidate(envId);
    logger.info({ envId, kid, alg }, 'an environment without an RS256 signing key got one, for ID Tokens');
  }
}

/** At a node's start: `addMissingKeyLineages`; a failure (the database is down) is logged and retried by the background task. */
export async function startKeyLineages(parts: NodeParts & { core: OAuthCore }): Promise<void> {
  const { config, store, clock, logger, core } = parts;
  await addMissingKeyLineages(new KeyRotation(store, () => config.keySecret, clock, config), core, logger).catch((error: unknown) =>
    logger.warn({ err: error }, 'the RS256 signing keys of older environments could not be added yet; retrying with the key-rotation check'),
  );
}

/** The core's upkeep: expired rows swept, quota counts shared, scheduled key rotations, the database probed while it is down. */
export function scheduleNodeTasks(tasks: BackgroundTasks, parts: NodeParts & { core: OAuthCore; events: EventSink; audit?: AuditLog }): void {
  const { config, store, clock, logger, core, events } = parts;
  tasks.every(SWEEP_INTERVAL_MS, () => sweepExpired(store, clock, logger, config.loginWindow * 1000, config.quotaWindow * 1000));
  if (parts.audit) tasks.every(SWEEP_INTERVAL_MS, () => sweepUnusedRegistrations(parts, parts.audit as AuditLog));
  tasks.every(config.quotaSyncInterval, () => core.quotas.sync());
  const rotation = new KeyRotation(store, () => config.keySecret, clock, config);
  tasks.every(KEY_ROTATION_CHECK_MS, async () => {
    // Also here, not only at start: an environment an older node created during a rolling upgrade.
    await addMissingKeyLineages(rotation, core, logger);
    const started = await rotation.runSchedules();
    if (started.length === 0) return;
    const names = new Map((await store.environments.list()).map((env) => [env.id, env.name]));
    for (const { envId, kid, alg } of started) {
      logger.info({ envId, kid, alg }, 'scheduled signing-key rotation: a next key is published');
      events.emit({ type: 'signing_key.rotated', env: { id: envId, name: names.get(envId) ?? envId }, kid, trigger: 'scheduled' });
    }
  });
  // Back-Channel Logout: logout tokens go out off the request path. Receivers on http and loopback
  // addresses are allowed only when the server itself is (the public URL is http, which
  // configuration allows only on a loopback host: a development server).
  const logouts = new BackchannelLogoutDeliverer(store, core.keys, clock, events, logger, {
    publicUrl: config.publicUrl,
    allowLoopback: new URL(config.publicUrl).protocol === 'http:',
  });
  tasks.every(BACKCHANNEL_LOGOUT_INTERVAL_MS, () =>
    // While the database is unavailable the outbox waits; the node reports the outage once.
    logouts.deliverBacklog().catch((error: unknown) => {
      if (!(error instanceof StorageUnavailableError)) throw error;
    }),
  );
  // While the database is unavailable a probe notices its return, even with no traffic.
  tasks.every(HEALTH_PROBE_MS, async () => {
    if (!store.health.available) await store.ping().catch(() => {});
  });
}

/** Serves `/metrics` (unless `serving` says otherwise) and keeps the signing-key ages current. */
export async function startMetrics(
  metrics: GatehouseMetrics,
  parts: NodeParts & { tasks: BackgroundTasks },
  serving: MetricsServing = 'always',
): Promise<MetricsListener | undefined> {
  const { config, store, clock, logger, tasks } = parts;
  const render = registryExposition(metrics.registry);
  const onBusy = (port: number) => logger.warn({ port }, 'the metrics port is in use; serving no /metrics');
  const listener = await serveMetrics(serving, config.metricsHost, config.metricsPort, render, onBusy);
  await refreshSigningKeyAges(metrics, store, clock).catch(() => {});
  tasks.every(KEY_ROTATION_CHECK_MS, () => refreshSigningKeyAges(metrics, store, clock));
  return listener;
}

/** RFC 7591 registrations: dynamic clients unused for their environment's `unusedClientDays` are deleted. */
async function sweepUnusedRegistrations(parts: NodeParts & { core: OAuthCore }, audit: AuditLog): Promise<void> {
  const { store, clock, logger, core } = parts;
  try {
    const deleted = await deleteUnusedRegisteredClients(store, clock, audit, (envId, clientId) => core.clients.invalidate(envId, clientId));
    if (deleted > 0) logger.info({ deleted }, 'unused dynamically registered clients deleted');
  } catch (error) {
    logger.warn({ err: error }, 'could not delete unused dynamically registered clients');
  }
}
