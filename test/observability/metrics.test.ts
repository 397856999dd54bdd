import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { basic, form, testConfig } from '../helpers/fixtures.ts';

const env = { id: 'env_1', name: 'PRODUCTION' };
const metricsFor = (maxClients = 100) => new GatehouseMetrics({ maxClients, grantTypes: ['client_credentials', 'refresh_token'], processMetrics: false });

/** The value of one series in the text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (wanted.every((w) => inside.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const labelValues = (text: string, name: string, label: string): string[] =>
  [...text.matchAll(new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"`, 'gm'))].map((m) => m[1] ?? '').sort();

describe('metrics from core events', () => {
  it('labels the first clients by id and every later one as other', async () => {
    const metrics = metricsFor(2);
    for (const clientId of ['c1', 'c2', 'c3', 'c4', 'c1']) {
      metrics.onEvent({ type: 'token.issued', env, clientId, grantType: 'client_credentials' });
    }
    const text = await metrics.registry.metrics();
    assert.deepEqual(labelValues(text, 'gatehouse_tokens_issued_total', 'client'), ['c1', 'c2', 'other']);
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { client: 'c1' }), 2);
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { client: 'other' }), 2);
  });

  it('labels issued tokens Bearer or DPoP (RFC 9449)', async () => {
    const metrics = metricsFor();
    metrics.onEvent({ type: 'token.issued', env, clientId: 'c1', grantType: 'client_credentials', dpopBound: true });
    metrics.onEvent({ type: 'token.issued', env, clientId: 'c1', grantType: 'client_credentials', dpopBound: false });
    metrics.onEvent({ type: 'token.issued', env, clientId: 'c1', grantType: 'client_credentials' });
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { token_type: 'DPoP' }), 1);
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { token_type: 'Bearer' }), 2);
  });

  it('labels only known grant types and error codes, whatever a caller sends', async () => {
    const metrics = metricsFor();
    const events: CoreEvent[] = [
      { type: 'token.refused', env, grantType: 'urn:attacker:made-up', code: 'unsupported_grant_type' },
      { type: 'token.refused', env, grantType: 'refresh_token', code: 'invalid_grant' },
      { type: 'token.refused', env, grantType: 'client_credentials', code: 'Not A Code {"x"}' },
    ];
    for (const event of events) metrics.onEvent(event);
    const text = await metrics.registry.metrics();
    assert.deepEqual(labelValues(text, 'gatehouse_token_refusals_total', 'grant_type'), ['client_credentials', 'other', 'refresh_token']);
    assert.deepEqual(labelValues(text, 'gatehouse_token_refusals_total', 'error'), ['invalid_grant', 'other', 'unsupported_grant_type']);
    assert.ok(!text.includes('attacker'));
  });

  it('counts every event kind, and never a username or user id', async () => {
    const metrics = metricsFor();
    const events: CoreEvent[] = [
      { type: 'client.authentication_failed', env, throttled: false, source: '192.0.2.1' },
      { type: 'client.authentication_failed', env, clientId: 'c1', throttled: true, source: '192.0.2.1' },
      { type: 'client.quota_exceeded', env, clientId: 'c1' },
      { type: 'refresh_token.reused', env, clientId: 'c1' },
      { type: 'refresh_token.retried', env, clientId: 'c1' },
      { type: 'authorization_code.reused', env, clientId: 'c1' },
      { type: 'user.login', env, outcome: 'success', userId: 'usr_secret_person' },
      { type: 'user.second_factor', env, method: 'otp', outcome: 'throttled' },
      { type: 'user.second_factor', env, method: 'passkey', outcome: 'success' },
      { type: 'user.locked_out', env, username: 'alice@example.com' },
      { type: 'signing_key.rotated', env, kid: 'kid-1', trigger: 'manual' },
    ];
    for (const event of events) metrics.onEvent(event);
    const text = await metrics.registry.metrics();
    const one = (name: string, labels: Record<string, string>) => assert.equal(sample(text, name, labels), 1, `${name} ${JSON.stringify(labels)}`);
    one('gatehouse_client_auth_failures_total', { client: 'none', throttled: 'false' });
    one('gatehouse_client_auth_failures_total', { client: 'c1', throttled: 'true' });
    one('gatehouse_quota_refusals_total', { environment: 'PRODUCTION', client: 'c1' });
    one('gatehouse_refresh_token_reuse_total', { client: 'c1' });
    one('gatehouse_refresh_token_retries_total', { client: 'c1' });
    one('gatehouse_authorization_code_reuse_total', { client: 'c1' });
    one('gatehouse_logins_total', { outcome: 'success' });
    one('gatehouse_second_factor_attempts_total', { environment: 'PRODUCTION', method: 'otp', outcome: 'throttled' });
    one('gatehouse_second_factor_attempts_total', { environment: 'PRODUCTION', method: 'passkey', outcome: 'success' });
    one('gatehouse_user_lockouts_total', { environment: 'PRODUCTION' });
    one('gatehouse_signing_key_rotations_total', { trigger: 'manual' });
    assert.ok(!text.includes('alice') && !text.includes('usr_secret_person'));
  });

  it('reports the signing key age from the last activation times, at scrape time', async () => {
    let now = 1_000_000;
    const metrics = new GatehouseMetrics({ maxClients: 10, processMetrics: false }, () => now);
    metrics.setSigningKeyActivations(new Map([['PRODUCTION', 400_000]]));
    assert.equal(sample(await metrics.registry.metrics(), 'gatehouse_signing_key_age_seconds', { environment: 'PRODUCTION' }), 600);
    now += 30_000;
    assert.equal(sample(await metrics.registry.metrics(), 'gatehouse_signing_key_age_seconds', { environment: 'PRODUCTION' }), 630);
  });
});

describe('metrics of API requests', () => {
  const secrets: string[] = [];
  let text = '';
  let cleanup: () => Promise<void> = async () => {};

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-metrics-'));
    const store = openStore(join(dir, 'gatehouse.db'));
    await store.migrate();
    const config = testConfig();
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const metrics = metricsFor();
    const app = await createServer(config, { store, clock, logger: createLogger('silent'), metrics });
    cleanup = async () => {
      await app.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
    const admin = new AdminService(config, config.keySecret, store, app.core, clock);
    await admin.createEnvironment('PRODUCTION');
    const client = await admin.createClient({ env: 'PRODUCTION', name: 'billing', scopes: ['read'] });
    const secret = client.client_secret ?? '';
    const inject = (url: string, payload: string, authorization?: string) =>
      app.server.inject({
        method: 'POST',
        url,
        payload,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
      });
    const ok = await inject('/envs/PRODUCTION/token', form({ grant_type: 'client_credentials' }), basic(client.client_id, secret));
    assert.equal(ok.statusCode, 200);
    const token = (ok.json() as { access_token: string }).access_token;
    const madeUp = `gt_${randomBytes(8).toString('hex')}`;
    const wrongSecret = `sec_${randomBytes(8).toString('hex')}`;
    const refresh = `grt_${randomBytes(8).toString('hex')}`;
    secrets.push(secret, token, madeUp, wrongSecret, refresh);
    await inject('/envs/PRODUCTION/token', form({ grant_type: madeUp }), basic(client.client_id, secret));
    await inject('/envs/PRODUCTION/token', form({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: wrongSecret }));
    await inject('/envs/PRODUCTION/token', form({ grant_type: 'refresh_token', refresh_token: refresh }), basic(client.client_id, secret));
    await inject('/envs/PRODUCTION/introspect', form({ token }), basic(client.client_id, secret));
    await inject(`/envs/NO_SUCH_${madeUp}/token`, form({ grant_type: 'client_credentials' }), basic(client.client_id, secret));
    // Refused before the core sees them: no grant_type, and a body that is not a form.
    await inject('/envs/PRODUCTION/token', form({ scope: 'read' }), basic(client.client_id, secret));
    await inject('/envs/PRODUCTION/token', 'grant_type=client_credentials&grant_type=client_credentials', basic(client.client_id, secret));
    await inject('/envs/PRODUCTION/token', `grant_type=client_credentials&pad=${'x'.repeat(config.bodyLimit)}`, basic(client.client_id, secret));
    text = await metrics.registry.metrics();
  });
  after(() => cleanup());

  it('counts requests by endpoint, environment, grant type and outcome', () => {
    const count = (labels: Record<string, string>) => sample(text, 'gatehouse_http_requests_total', labels);
    assert.equal(count({ endpoint: 'token', surface: 'standard', environment: 'PRODUCTION', grant_type: 'client_credentials', outcome: '2xx' }), 1);
    assert.equal(count({ endpoint: 'token', environment: 'PRODUCTION', grant_type: 'other', outcome: 'unsupported_grant_type' }), 1);
    assert.equal(count({ endpoint: 'token', environment: 'PRODUCTION', grant_type: 'client_credentials', outcome: 'invalid_client' }), 1);
    assert.equal(count({ endpoint: 'token', environment: 'PRODUCTION', grant_type: 'refresh_token', outcome: 'unauthorized_client' }), 1);
    assert.equal(count({ endpoint: 'introspection', environment: 'PRODUCTION', grant_type: 'none', outcome: '2xx' }), 1);
    assert.equal(count({ endpoint: 'token', environment: 'unknown', grant_type: 'none', outcome: 'not_found' }), 1);
    assert.equal(sample(text, 'gatehouse_http_request_duration_seconds_count', { endpoint: 'token', surface: 'standard' }), 8);
  });

  it('counts every refused token request by its code, those refused before a grant runs included', () => {
    const refused = (labels: Record<string, string>) => sample(text, 'gatehouse_token_refusals_total', { environment: 'PRODUCTION', ...labels });
    assert.equal(refused({ grant_type: 'other', error: 'unsupported_grant_type' }), 1);
    assert.equal(refused({ grant_type: 'client_credentials', error: 'invalid_client' }), 1);
    assert.equal(refused({ grant_type: 'refresh_token', error: 'unauthorized_client' }), 1);
    // Two unreadable bodies and one over the size limit (413).
    assert.equal(refused({ grant_type: 'none', error: 'invalid_request' }), 3);
  });

  it('puts no secret, token, made-up value or unresolved environment into any series', () => {
    assert.equal(secrets.length, 5);
    for (const secret of secrets) assert.ok(!text.includes(secret), `the scrape contains ${secret.slice(0, 4)}…`);
    assert.ok(!text.includes('NO_SUCH'));
  });
});

describe('metrics of the database', async () => {
  for (const database of await testDatabases()) {
    it(`observes statement latency${database.name === 'postgres' ? ' and the pool' : ''} (${database.name})`, async () => {
      const metrics = metricsFor();
      const { url, schema, drop } = await freshDatabase(database.name);
      const store = openStore(url, { observer: metrics, ...(schema ? { postgresSchema: schema } : {}) });
      try {
        await store.migrate();
        await store.environments.list();
        const text = await metrics.registry.metrics();
        assert.ok((sample(text, 'gatehouse_db_query_duration_seconds_count', { outcome: 'ok' }) ?? 0) > 0);
        if (database.name === 'postgres') assert.ok(sample(text, 'gatehouse_db_pool_connections', { state: 'idle' }) !== undefined);
        else assert.ok(!text.includes('gatehouse_db_pool_connections{'));
      } finally {
        await store.close();
        await drop();
      }
    });
  }
});

async function freshDatabase(name: 'sqlite' | 'postgres'): Promise<{ url: string; schema?: string; drop(): Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-metrics-db-'));
    return { url: join(dir, 'gatehouse.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await run(`create schema ${schema}`);
  return { url: POSTGRES_URL, schema, drop: () => run(`drop schema ${schema} cascade`) };
}
