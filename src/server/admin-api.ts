import type { Logger } from 'pino';
import { type AdminApp, type AdminCallRecord, createAdminApp } from '../admin-api/app.ts';
import { AdminAuthenticator, AdminRateLimiter } from '../admin-api/auth.ts';
import { Idempotency } from '../admin-api/idempotency.ts';
import { keyedHasher } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import { createAdminServices } from './admin.ts';
import type { ServerConfig } from './policies.ts';

/**
 * The admin API of one node, on its own listener (GATEHOUSE_ADMIN_HOST:GATEHOUSE_ADMIN_PORT), or
 * undefined when no admin port is configured. It shares the node's OAuth core, so a change made
 * through it refreshes this node's caches at once.
 */
export async function buildAdminApi(
  config: ServerConfig,
  deps: { store: Store; core: OAuthCore; environments: EnvironmentResolver; clock: Clock; logger: Logger; onCall?: (call: AdminCallRecord) => void },
): Promise<AdminApp | undefined> {
  if (config.adminPort === undefined) return undefined;
  const { store, core, clock, logger } = deps;
  return createAdminApp(
    { host: config.adminHost, port: config.adminPort, bodyLimit: config.bodyLimit, managementEnv: config.adminEnvironment },
    {
      // One set per call, so the services of each call can name its admin client as their actor.
      servicesFor: (_caller) => createAdminServices(config, store, clock, core),
      authenticator: new AdminAuthenticator(core, deps.environments, config.adminEnvironment),
      limiter: new AdminRateLimiter(config.adminRateLimit, clock),
      idempotency: new Idempotency(store.idempotencyKeys, clock, keyedHasher(config.keySecret, 'admin idempotency keys')),
      clock,
      logger,
      managementEnv: config.adminEnvironment,
      ...(deps.onCall ? { onCall: deps.onCall } : {}),
    },
  );
}
