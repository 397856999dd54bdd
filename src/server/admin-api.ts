import type { Logger } from 'pino';
import { type AdminApp, type AdminCallRecord, createAdminApp } from '../admin-api/app.ts';
import { ADMIN_API_IDENTIFIER, AdminAuthenticator, AdminRateLimiter } from '../admin-api/auth.ts';
import { Idempotency } from '../admin-api/idempotency.ts';
import type { AuditRecorder } from '../audit/recorder.ts';
import { keyedHasher } from '../crypto/secrets.ts';
import { type NewAuditEvent, SYSTEM_ACTOR } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import { createAdminServices } from './admin.ts';
import { mountConsole } from './console.ts';
import type { ServerConfig } from './policies.ts';

/**
 * The admin API of one node, on its own listener (GATEHOUSE_ADMIN_HOST:GATEHOUSE_ADMIN_PORT), or
 * undefined when no admin port is configured. It shares the node's OAuth core, so a change made
 * through it refreshes this node's caches at once.
 */
export async function buildAdminApi(
  config: ServerConfig,
  deps: { store: Store; core: OAuthCore; environments: EnvironmentResolver; clock: Clock; logger: Logger; audit: AuditRecorder },
): Promise<AdminApp | undefined> {
  if (config.adminPort === undefined) return undefined;
  const { store, core, clock, logger, audit } = deps;
  return createAdminApp(
    { host: config.adminHost, port: config.adminPort, bodyLimit: config.bodyLimit, managementEnv: config.adminEnvironment },
    {
      // One set per call, so the services of each call can name its admin client as their actor.
      servicesFor: (caller) => createAdminServices(config, store, clock, core, { audit, actor: { kind: 'admin_client', id: caller.clientId } }),
      authenticator: new AdminAuthenticator(core, deps.environments, config.adminEnvironment),
      limiter: new AdminRateLimiter(config.adminRateLimit, clock),
      idempotency: new Idempotency(store.idempotencyKeys, clock, keyedHasher(config.keySecret, 'admin idempotency keys')),
      clock,
      logger,
      managementEnv: config.adminEnvironment,
      onCall: (call) => audit.enqueue(callEvent(call)),
      // The web console, on the same listener, once the management environment exists.
      extend: (server) => mountConsole(server, { config, store, clock, core, audit, adminApi: ADMIN_API_IDENTIFIER }),
    },
  );
}

/**
 * Every admin call as an audit event (its change, if any, is recorded by the services too): a
 * call without a valid token as `admin.authentication_failed`, naming no one.
 */
function callEvent(call: AdminCallRecord): NewAuditEvent {
  const details = { method: call.method, operation: call.operationId, status: call.status, ...(call.env ? { environment: call.env } : {}) };
  const outcome = call.status < 400 ? 'success' : 'failure';
  if (call.clientId === undefined) {
    return {
      type: 'admin.authentication_failed',
      environment: null,
      actor: SYSTEM_ACTOR,
      subject: { kind: 'admin_api', id: call.operationId },
      outcome,
      details,
    };
  }
  const actor = { kind: 'admin_client', id: call.clientId } as const;
  return { type: 'admin.request', environment: null, actor, subject: { kind: 'admin_api', id: call.operationId }, outcome, details };
}
