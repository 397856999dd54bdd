import { bootstrapAdmin } from '../admin-api/bootstrap.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../audit/recorder.ts';
import { ensureDevOperator } from '../console/bootstrap.ts';
import { SYSTEM_ACTOR } from '../domain/audit.ts';
import { systemClock } from '../domain/clock.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { createAdminServices } from '../server/admin.ts';
import { METRICS_PATH } from '../server/metrics-listener.ts';
import type { ServerConfig } from '../server/server.ts';

/** The environment `serve --dev` creates and fills with demo data. */
export const DEV_ENVIRONMENT = 'DEVELOPMENT';

export interface DevData {
  /** The demo client, created on an empty database. */
  demo?: { clientId: string; secret: string } | undefined;
  /** The console's operator, created with the management environment. */
  operator?: { username: string; password: string } | undefined;
}

/**
 * Dev mode: on an empty database, the DEVELOPMENT environment and a demo client; and, when the
 * management environment does not exist yet, it (with the admin API and an admin client) and a
 * console operator `admin` whose password is printed once.
 */
export async function bootstrapDevelopment(config: ServerConfig, store: Store): Promise<DevData> {
  const audit = systemAudit(config, store);
  const services = createAdminServices(config, store, systemClock, undefined, { audit, actor: SYSTEM_ACTOR });
  const existing = (await store.environments.list()).map((env) => env.name);
  const data: DevData = {};
  if (existing.length === 0) {
    await services.admin.createEnvironment(DEV_ENVIRONMENT);
    const client = await services.admin.createClient({ env: DEV_ENVIRONMENT, name: 'Demo client', scopes: ['read', 'write'] });
    data.demo = { clientId: client.client_id, secret: client.client_secret ?? '' };
  }
  if (!existing.includes(config.adminEnvironment)) {
    await bootstrapAdmin(services, config.adminEnvironment);
    data.operator = await ensureDevOperator(services.users, config.adminEnvironment);
  }
  return data;
}

/** The audit log of the primary's own changes (dev data, the console client), stored with the system as actor. */
export function systemAudit(config: ServerConfig, store: Store): AuditRecorder {
  return new AuditRecorder(store.audit, systemClock, NO_AUDIT_LINES, { outbox: config.auditWebhookUrl !== undefined });
}

export async function banner(
  config: ServerConfig,
  store: Store,
  address: string,
  dev: boolean,
  devData: DevData | undefined,
  workers = 1,
  metricsAddress?: string,
): Promise<string> {
  const mode = `${dev ? 'development' : 'production'} mode${workers > 1 ? `, ${workers} workers` : ''}`;
  const lines = [`Gatehouse is listening on ${address} (${mode})`];
  if (metricsAddress) lines.push(`  Prometheus metrics on ${metricsAddress}${METRICS_PATH}`);
  try {
    for (const env of await store.environments.list()) {
      const urls = issuerUrls(config.publicUrl, env);
      lines.push(
        `  ${env.name}: issuer ${urls.issuer}`,
        `    metadata ${urls.metadata}`,
        `    OpenID   ${urls.openidConfiguration}`,
        `    JWKS     ${urls.jwks}`,
      );
    }
  } catch (error) {
    // The server runs already: a database that blinked now must not stop it.
    if (!(error instanceof StorageUnavailableError)) throw error;
    lines.push(`  (the environments cannot be listed now: ${error.reason})`);
  }
  const compat = config.surfaces.filter((s) => s.profile !== 'standard');
  if (compat.length > 0) {
    lines.push(`  compatibility surfaces: ${compat.map((s) => s.name).join(', ')} (routes per environment: ENV_ISSUER/openapi.json)`);
  }
  // Admin API
  if (config.adminPort !== undefined) lines.push(`  admin API http://${config.adminHost}:${config.adminPort}/admin/v1 (tokens of ${config.adminEnvironment})`);
  const demo = devData?.demo;
  if (devData?.operator) {
    const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
    lines.push(
      '',
      `Web console: http://${host}:${config.adminPort}/console/ — sign in as ${devData.operator.username} with password ${devData.operator.password} (shown only now)`,
    );
  }
  if (demo) {
    const token = issuerUrls(config.publicUrl, { name: DEV_ENVIRONMENT }).token;
    lines.push(
      '',
      'Created environment DEVELOPMENT and a demo client. Its secret is shown only now; get a token with:',
      `  curl -s -u '${demo.clientId}:${demo.secret}' -d grant_type=client_credentials ${token}`,
    );
  } else if (dev) {
    lines.push('', 'A new secret for a client: ./bin/gatehouse client rotate-secret CLIENT_ID --env DEVELOPMENT');
  }
  return `${lines.join('\n')}\n`;
}
