import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { AuditRecorder, NO_AUDIT_LINES } from '../audit/recorder.ts';
import { type Config, decodeKeySecret, loadConfig } from '../config/config.ts';
import { randomToken } from '../crypto/secrets.ts';
import type { AuditActor } from '../domain/audit.ts';
import { systemClock } from '../domain/clock.ts';
import { createAdminServices } from '../server/admin.ts';
import { openStore } from '../store/open.ts';
import type { LocalAdminContext } from './admin-context.ts';

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
