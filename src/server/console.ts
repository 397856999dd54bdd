import type { FastifyInstance } from 'fastify';
import { ADMIN_API_IDENTIFIER } from '../admin-api/auth.ts';
import type { AuditRecorder } from '../audit/recorder.ts';
import { ensureConsoleClient } from '../console/bootstrap.ts';
import { coreConsoleAuth } from '../console/core-auth.ts';
import type { ConsoleAuditProvider, ConsoleDeps } from '../console/deps.ts';
import { auditEntry, consoleOperatorOf, usageFromCounts } from '../console/providers.ts';
import { registerConsole } from '../console/routes.ts';
import type { AuditLog } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { EnvironmentResolver } from '../oauth/environments.ts';
import { type AdminServices, createAdminServices } from './admin.ts';
import { consoleRedirectUri, type ServerConfig } from './policies.ts';

/**
 * Everything the web console needs on one node: its client in the management environment
 * (created on first use, and named to this node's OAuth core as the only first-party client),
 * sign-in over this node's OAuth core, cookies sealed under a key
 * derived from the key secret (shared by every node). Without `clientSecret` an existing console
 * client gets a new secret: right for one development node, wrong for several, which must be
 * given the secret `ensureConsoleClient` returned when it created the client.
 */
export async function createConsoleDeps(p: {
  config: ServerConfig;
  store: Store;
  clock: Clock;
  core: OAuthCore;
  services: AdminServices;
  managementEnv: string;
  /** The console's callback as the browser reaches it: `<admin listener origin>/console/callback`. */
  redirectUri: string;
  /** Usually `config.consoleClientSecret`. */
  clientSecret?: string | undefined;
  /** The admin API's identifier in the management environment: the console client is allowed on it. */
  adminApi?: string | undefined;
  /** The services each signed-in operator acts with: what they change is recorded with them as actor. */
  servicesFor: ConsoleDeps['servicesFor'];
  operatorName?: ConsoleDeps['operatorName'];
  audit?: ConsoleDeps['audit'];
  usage?: ConsoleDeps['usage'];
}): Promise<ConsoleDeps> {
  const { config, store, clock, core, services, managementEnv, redirectUri } = p;
  const ensured = await ensureConsoleClient(services.admin, managementEnv, redirectUri, {
    rotate: p.clientSecret === undefined,
    ...(p.adminApi ? { allowOn: { apis: services.apis, identifier: p.adminApi } } : {}),
  });
  const clientSecret = p.clientSecret ?? ensured.clientSecret;
  if (clientSecret === undefined) throw new Error('the console client exists but its secret is unknown');
  // This client, and no other of the management environment, signs in without a consent page.
  core.authorization.setFirstPartyClient(ensured.clientId);
  const environments = new EnvironmentResolver(store, config.publicUrl, clock, config.cacheTtl * 1000, config.cacheStaleIfError * 1000);
  return {
    clock,
    issuer: (await environments.resolve(managementEnv)).urls.issuer,
    client: { clientId: ensured.clientId, clientSecret, redirectUri },
    ...coreConsoleAuth(core, environments, managementEnv),
    cookieSecret: config.keySecret,
    sessionTtl: config.consoleSessionTtl,
    servicesFor: p.servicesFor,
    operatorName: p.operatorName,
    audit: p.audit,
    usage: p.usage,
  };
}

/**
 * Mounts the web console under /console on the admin listener, when the management environment
 * exists (`gatehouse admin bootstrap`, or `serve --dev`): what an operator changes there is
 * recorded with the console client and the operator as actor; the console shows recent audit
 * events and each client's tokens per day.
 */
export async function mountConsole(
  server: FastifyInstance,
  p: { config: ServerConfig; store: Store; clock: Clock; core: OAuthCore; audit: AuditRecorder; adminApi: string },
): Promise<void> {
  const { config, store, clock, core, audit } = p;
  if (config.adminPort === undefined || !(await store.environments.findByName(config.adminEnvironment))) return;
  const services = createAdminServices(config, store, clock, core, { audit, actor: { kind: 'system', id: 'console' } });
  const deps = await createConsoleDeps({
    config,
    store,
    clock,
    core,
    services,
    managementEnv: config.adminEnvironment,
    redirectUri: consoleRedirectUri(config),
    clientSecret: config.consoleClientSecret,
    adminApi: p.adminApi,
    // Every console read and change goes through the operator's own services: no path is left
    // that records a console action as the system.
    servicesFor: (operator) =>
      createAdminServices(config, store, clock, core, { audit, actor: { kind: 'admin_client', id: `${operator.clientId}/${operator.subject}` } }),
    operatorName: (subject) => operatorName(store, config.adminEnvironment, subject),
    audit: auditWithOperators(store, config.adminEnvironment),
    usage: usageFromCounts(async (env, clientId, from, to) => {
      const found = await store.environments.findByName(env);
      return found ? store.usage.tokenCounts(found.id, clientId, from, to) : new Map();
    }, clock),
  });
  await registerConsole(server, deps);
}

/**
 * For `serve --workers N` without GATEHOUSE_CONSOLE_CLIENT_SECRET: the primary gives the console
 * client a new secret once and hands it to every worker (through their environment). Each worker
 * giving it one of its own would leave only the last one working. Undefined when no console is
 * served (no admin port, or no management environment yet).
 */
export async function consoleSecretForWorkers(config: ServerConfig, store: Store, clock: Clock, audit: AuditLog): Promise<string | undefined> {
  if (config.adminPort === undefined || config.consoleClientSecret !== undefined) return undefined;
  if (!(await store.environments.findByName(config.adminEnvironment))) return undefined;
  const services = createAdminServices(config, store, clock, undefined, { audit, actor: { kind: 'system', id: 'console' } });
  const ensured = await ensureConsoleClient(services.admin, config.adminEnvironment, consoleRedirectUri(config), {
    rotate: true,
    allowOn: { apis: services.apis, identifier: ADMIN_API_IDENTIFIER },
  });
  return ensured.clientSecret;
}

/** The operator's profile name, else their username; undefined for a subject that is no user of the management environment. */
export async function operatorName(store: Store, managementEnv: string, subject: string): Promise<string | undefined> {
  const env = await store.environments.findByName(managementEnv);
  const user = env ? await store.users.find(env.id, subject) : undefined;
  if (!user) return undefined;
  const name = user.profile?.name;
  return name ? `${name} (${user.username})` : user.username;
}

/**
 * The console's audit log read from the store: an action a console operator took (actor
 * `admin_client <console client id>/<user id>`) names the operator, as the top bar does, when the
 * user id is a user of the management environment; any other actor, or an unknown user, is shown
 * as recorded. The stored events are never changed.
 */
export function auditWithOperators(store: Store, managementEnv: string): ConsoleAuditProvider {
  return {
    async recent({ limit, environment }) {
      const events = await store.audit.list({ limit, envName: environment });
      const names = new Map<string, Promise<string | undefined>>();
      const nameOf = (subject: string): Promise<string | undefined> => {
        let name = names.get(subject);
        if (!name) {
          name = operatorName(store, managementEnv, subject);
          names.set(subject, name);
        }
        return name;
      };
      return Promise.all(
        events.map(async (event) => {
          const subject = consoleOperatorOf(event.actor);
          return auditEntry(event, subject === undefined ? undefined : await nameOf(subject));
        }),
      );
    },
  };
}
