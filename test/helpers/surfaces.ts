import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import { type Config, loadConfig } from '../../src/config/config.ts';
import type { TestApp } from './fixtures.ts';

/** The example configuration the README documents: all four compatibility profiles at once. */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../examples/compatibility-surfaces.json', import.meta.url));

/** Config overrides for a test app serving the surfaces of `file` (the example by default). */
export function surfacesConfig(file = EXAMPLE_CONFIG): Partial<Config> {
  return { surfaces: loadConfig({ GATEHOUSE_LOG_LEVEL: 'silent' }, file).surfaces, passwordHashCost: 10, loginAddressLimit: 10_000 };
}

/** Surfaces parsed from an inline JSON array, as the config file's `surfaces` key. */
export function inlineSurfaces(surfaces: unknown[]): Partial<Config> {
  return { surfaces: loadConfig({ GATEHOUSE_LOG_LEVEL: 'silent', GATEHOUSE_SURFACES: JSON.stringify(surfaces) }).surfaces };
}

/** Creates DEVELOPMENT, STAGING and PRODUCTION if they do not exist yet. */
export async function createEnvironments(t: TestApp): Promise<void> {
  for (const env of ['DEVELOPMENT', 'STAGING', 'PRODUCTION']) await t.admin.createEnvironment(env).catch(() => undefined);
}

/** POSTs a JSON body. */
export function postJson(t: TestApp, url: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.app.server.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
}

/** Asserts a 2xx/4xx/5xx JSON answer with no-store and returns its body. */
export function jsonAnswer(res: LightMyRequestResponse, status: number): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json() as Record<string, unknown>;
}
