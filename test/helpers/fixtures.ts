import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { after, before } from 'node:test';
import type { Logger } from 'pino';
import { AdminService } from '../../src/admin/admin-service.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import type { MetadataDocumentFetchDeps } from '../../src/oauth/client-metadata-documents/wiring.ts';
import { createLogger } from '../../src/server/logger.ts';
import { type Server as App, createServer, type ServerConfig } from '../../src/server/server.ts';
import type { TestDatabase } from './databases.ts';

export const PUBLIC_URL = 'https://auth.example.test';
export const KEY_SECRET = randomBytes(32);

/** A server configuration for tests: defaults, a fixed public URL, overrides on top. */
export function testConfig(overrides: Partial<Config> = {}): ServerConfig {
  const base = loadConfig({ GATEHOUSE_LOG_LEVEL: 'silent' });
  return Object.freeze({ ...base, publicUrl: PUBLIC_URL, keySecret: KEY_SECRET, port: 0, ...overrides }) as ServerConfig;
}

export interface TestApp {
  app: App;
  admin: AdminService;
  clock: ManualClock;
  config: ServerConfig;
  store: Store;
}

/** What a test app may differ in besides its configuration. */
export interface TestAppOptions {
  logger?: Logger;
  /** Where the manual clock starts (epoch ms); default 2026-06-01 12:00 UTC. */
  now?: number;
  /** The resolver and trust store metadata documents are fetched with (a test CA, a fixed host). */
  metadataDocumentFetch?: MetadataDocumentFetchDeps;
}

/** Builds an app over `store` with a manual clock; nothing listens (use `app.server.inject`). */
export async function buildTestApp(store: Store, overrides: Partial<Config> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const clock = new ManualClock(options.now ?? Date.UTC(2026, 5, 1, 12, 0, 0));
  const { logger = createLogger('silent'), metadataDocumentFetch } = options;
  const app = await createServer(config, { store, clock, logger, ...(metadataDocumentFetch ? { metadataDocumentFetch } : {}) });
  const admin = new AdminService(config, config.keySecret, store, app.core, clock);
  return { app, admin, clock, config, store };
}

export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export const form = (params: Record<string, string>): string => new URLSearchParams(params).toString();

/**
 * Opens a fresh store of `database` before the enclosing suite and, after it, stops every app
 * built with `build` and drops the store.
 */
export function suiteStore(database: TestDatabase, hooks: { before: typeof before; after: typeof after }) {
  let store: Store | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  const apps: TestApp[] = [];
  hooks.before(async () => {
    ({ store, cleanup } = await database.open());
  });
  hooks.after(async () => {
    for (const t of apps) await t.app.stop();
    await cleanup?.();
  });
  return {
    get store(): Store {
      assert.ok(store, 'the suite store is opened in before()');
      return store;
    },
    /** Builds a test app over the suite's store and stops it with the suite. */
    async build(overrides: Partial<Config> = {}, options: TestAppOptions = {}): Promise<TestApp> {
      const t = await buildTestApp(this.store, overrides, options);
      apps.push(t);
      return t;
    },
    /** Stops `t` with the suite (for apps built some other way). */
    track(t: TestApp): void {
      apps.push(t);
    },
  };
}
