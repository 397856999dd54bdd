import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { runImport } from '../../src/import/engine.ts';
import { readJsonLines } from '../../src/import/jsonl.ts';
import { REDIRECT_URI, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { jsonAnswer, surfacesConfig } from '../helpers/surfaces.ts';

const ENV = 'PRODUCTION';
const HOUR = 3_600_000;
const sha256hex = (value: string) => createHash('sha256').update(value).digest('hex');

// A Doorkeeper application with hash_secrets (bcrypt), its user, and a token row (hashed tokens), as JSON Lines.
function doorkeeperExport(now: number): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return [
    {
      kind: 'client',
      client_id: 'fT3b8ZrMq0dV7kLw2sYhXn9cPa4eGu1J',
      name: 'RightSignature integration',
      confidential: true,
      secret: { format: 'bcrypt', value: bcrypt.hashSync('old-doorkeeper-secret', 4) },
      redirect_uris: [REDIRECT_URI],
      scopes: ['read', 'write'],
      grant_types: ['authorization_code', 'refresh_token'],
    },
    {
      kind: 'user',
      source_id: '7',
      username: 'signer@example.test',
      enabled: true,
      password: { format: 'bcrypt', value: bcrypt.hashSync('signer password', 4) },
    },
    {
      kind: 'refresh_token',
      token: { format: 'sha256-hex', value: sha256hex('old-refresh-token') },
      client_id: 'fT3b8ZrMq0dV7kLw2sYhXn9cPa4eGu1J',
      user_source_id: '7',
      scopes: ['read'],
      issued_at: iso(now - HOUR),
      expires_at: null,
      revoked: false,
      access_token: { format: 'sha256-hex', value: sha256hex('old-access-token'), expires_at: iso(now + HOUR), revoked: false },
    },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n');
}

for (const database of await testDatabases()) {
  describe(`an imported Doorkeeper client at the RightSignature surface on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    const CLIENT = 'fT3b8ZrMq0dV7kLw2sYhXn9cPa4eGu1J';

    before(async () => {
      t = await suite.build(surfacesConfig());
      await t.admin.createEnvironment(ENV);
      const env = await t.store.environments.findByName(ENV);
      assert.ok(env);
      const lifetimes = { refreshTokenIdleTtl: t.config.refreshTokenIdleTtl, refreshTokenAbsoluteTtl: t.config.refreshTokenAbsoluteTtl };
      const report = await runImport(readJsonLines(Readable.from(doorkeeperExport(t.clock.now()))), {
        env,
        store: t.store,
        clock: t.clock,
        lifetimes,
        sourceId: 'rightsignature-export',
      });
      assert.equal(report.counts.refresh_token.imported, 1, JSON.stringify(report));
    });

    it('answers token info for the old access token, then refreshes with the old id, secret and refresh token', async () => {
      const info = await t.app.server.inject({ method: 'GET', url: '/oauth/token/info', headers: { authorization: 'Bearer old-access-token' } });
      const body = jsonAnswer(info, 200);
      assert.deepEqual(body.scope, ['read']);
      assert.deepEqual(body.application, { uid: CLIENT });
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'refresh_token', refresh_token: 'old-refresh-token', client_id: CLIENT, client_secret: 'old-doorkeeper-secret' }),
      });
      const token = jsonAnswer(res, 200);
      assert.equal(token.token_type, 'bearer');
      assert.match(String(token.refresh_token), /^grt_/);
      const revoke = await t.app.server.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { authorization: basic(CLIENT, 'old-doorkeeper-secret'), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ token: String(token.access_token) }),
      });
      assert.equal(revoke.statusCode, 200, revoke.body);
    });

    it('lets the imported confidential client authorize without PKCE, as it did at Doorkeeper, and asks no consent again', async () => {
      const browser = new TestBrowser(t);
      const start = await browser.authorize(
        { response_type: 'code', client_id: CLIENT, redirect_uri: REDIRECT_URI, scope: 'read', state: 'rs' },
        '/oauth/authorize',
      );
      assert.equal(start.statusCode, 303, start.body);
      const handedOver = await browser.get(String(start.headers.location));
      const done = await browser.login(handedOver, 'signer@example.test', 'signer password');
      assert.equal(done.statusCode, 303, done.body);
      const location = new URL(String(done.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      const code = location.searchParams.get('code');
      assert.ok(code);
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT, client_secret: 'old-doorkeeper-secret' }),
      });
      jsonAnswer(res, 200);
    });
  });
}
