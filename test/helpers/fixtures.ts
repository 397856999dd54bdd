import { randomBytes } from 'node:crypto';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/clock.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { type App, createApp, type ServerConfig } from '../../src/http/app.ts';
import { createLogger } from '../../src/http/logger.ts';
import type { Store } from '../../src/store/store.ts';

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
}

/** Builds an app over `store` with a manual clock; nothing listens (use `app.server.inject`). */
export async function buildTestApp(store: Store, overrides: Partial<Config> = {}, logger = createLogger('silent')): Promise<TestApp> {
  const config = testConfig(overrides);
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
  const app = await createApp(config, { store, clock, logger });
  const admin = new AdminService(config, config.keySecret, store, app.core.keys, clock);
  return { app, admin, clock, config };
}

export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export const form = (params: Record<string, string>): string => new URLSearchParams(params).toString();
