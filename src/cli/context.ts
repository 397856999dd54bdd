import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { AdminService } from '../admin/admin-service.ts';
import type { ApiService } from '../admin/apis.ts';
import type { AuditEventService } from '../admin/audit-events.ts';
import type { ClientMetadataDocumentService } from '../admin/client-metadata-documents.ts';
import type { ServiceAccountService } from '../admin/service-accounts.ts';
import type { UserService } from '../admin/users.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../audit/recorder.ts';
import { type Config, decodeKeySecret, loadConfig } from '../config/config.ts';
import { randomToken } from '../crypto/secrets.ts';
import type { AuditActor } from '../domain/audit.ts';
import { systemClock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import { createAdminServices } from '../server/admin.ts';
import { openStore } from '../store/open.ts';
import { type CliAdmin, type CliApis, type CliAuditEvents, type CliServiceAccounts, type CliUsers, remoteCredentials, remoteServices } from './remote-admin.ts';
import type { CliBranding } from './remote-branding.ts';

export const KEY_SECRET_FILE = 'key-secret';

/** Reads the key secret that `serve --dev` keeps in the data folder, if there is one. */
export function readDevKeySecret(config: Config): Buffer | undefined {
  const path = join(config.dataDir, KEY_SECRET_FILE);
  if (!existsSync(path)) return undefined;
  return decodeKeySecret(readFileSync(path, 'utf8'), path);
}

/** Creates the dev key secret (0600) on first use. */
export function ensureDevKeySecret(config: Config): Buffer {
  const existing = readDevKeySecret(config);
  if (existing) return existing;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secret = randomToken(32);
  writeFileSync(join(config.dataDir, KEY_SECRET_FILE), `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return decodeKeySecret(secret, KEY_SECRET_FILE);
}

/** The public URL a dev server on this host and port answers on. */
export function devPublicUrl(config: Config): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/** What a data command works with: the services on this machine, or a running node's admin API with `--server`. */
export interface AdminContext {
  config: Config & { publicUrl: string };
  admin: CliAdmin;
  serviceAccounts: CliServiceAccounts;
  users: CliUsers;
  apis: CliApis;
  auditEvents: CliAuditEvents;
  branding?: CliBranding;
  close(): Promise<void>;
}

/** On this machine only: the store itself and the full application services. */
export interface LocalAdminContext extends AdminContext {
  store: Store;
  admin: AdminService;
  serviceAccounts: ServiceAccountService;
  users: UserService;
  apis: ApiService;
  auditEvents: AuditEventService;
  metadataDocuments: ClientMetadataDocumentService;
}

/**
 * What an admin command needs: configuration, the migrated store and the application services.
 * Without GATEHOUSE_PUBLIC_URL / GATEHOUSE_KEY_SECRET it falls back to what `serve --dev` uses.
 */
export async function openAdminContext(env: NodeJS.ProcessEnv = process.env): Promise<LocalAdminContext> {
  const loaded = loadConfig(env);
  const publicUrl = loaded.publicUrl ?? devPublicUrl(loaded);
  const keySecret = loaded.keySecret ?? readDevKeySecret(loaded);
  const config = Object.freeze({ ...loaded, publicUrl });
  const store = openStore(config.databaseUrl);
  await store.migrate();
  // Changes made here are audit events of the OS user; the servers log their own events, the CLI only stores them.
  const audit = new AuditRecorder(store.audit, systemClock, NO_AUDIT_LINES, { outbox: config.auditWebhookUrl !== undefined });
  const services = createAdminServices(Object.freeze({ ...config, keySecret }), store, systemClock, undefined, { audit, actor: cliActor(env) });
  return { config, store, ...services, close: () => store.close() };
}

/** The operator running the CLI: the OS user name (from the environment where the user database has no entry). */
export function cliActor(env: NodeJS.ProcessEnv = process.env): AuditActor {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = env.USER ?? env.LOGNAME;
  }
  return { kind: 'cli', id: name || 'unknown' };
}

/** `--server URL` of the command being run, set by the CLI before each action; undefined: work locally. */
let remoteServer: string | undefined;

export function useServer(url: string | undefined): void {
  remoteServer = url;
}

/** The `--server URL` of the command being run, if any. */
export const currentServer = (): string | undefined => remoteServer;

/** The context of a command run with `--server`: the admin API client, with the credentials from the environment. */
export function openRemoteContext(server: string, env: NodeJS.ProcessEnv = process.env): AdminContext {
  const loaded = loadConfig(env);
  const config = Object.freeze({ ...loaded, publicUrl: loaded.publicUrl ?? server });
  const credentials = remoteCredentials(env, { publicUrl: loaded.publicUrl, adminEnvironment: loaded.adminEnvironment });
  return { config, ...remoteServices(server, credentials), close: async () => {} };
}

/** Wraps a data command: locally, or against `--server`; opens the context, runs, and always closes it. */
export function withAdmin<A extends unknown[]>(fn: (ctx: AdminContext, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = remoteServer === undefined ? await openAdminContext() : openRemoteContext(remoteServer);
    try {
      await fn(ctx, ...args);
    } finally {
      await ctx.close();
    }
  };
}

/** Wraps a command that works on this machine only (the CLI refuses `--server` for it before it runs). */
export function withLocalAdmin<A extends unknown[]>(fn: (ctx: LocalAdminContext, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = await openAdminContext();
    try {
      await fn(ctx, ...args);
    } finally {
      await ctx.close();
    }
  };
}
