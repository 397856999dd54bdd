import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CoreEvent } from '../../src/domain/events.ts';
import { obtainCode, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';

/** The events `t`'s core emits from now on, without the `env` field (checked separately). */
function recordEvents(t: TestApp): { events: CoreEvent[]; types: () => string[] } {
  const events: CoreEvent[] = [];
  t.app.events.listen((event) => events.push(event));
  return { events, types: () => events.map((e) => e.type) };
}

function tokenRequest(t: TestApp, env: string, auth: string | undefined, params: Record<string, string>) {
  return t.app.server.inject({
    method: 'POST',
    url: `/envs/${env}/token`,
    headers: { 'content-type': FORM, ...(auth ? { authorization: auth } : {}) },
    payload: form(params),
  });
}

for (const database of await testDatabases()) {
  describe(`core events on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    it('a token names its client, grant and secret; a wrong secret names a known client, an unknown id names none', async () => {
      const t = await suite.build({ authFailureLimit: 2 });
      const env = `events-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const client = await t.admin.createClient({ env, name: 'svc', scopes: ['read'] });
      const secret = String(client.client_secret);
      const { events, types } = recordEvents(t);

      assert.equal((await tokenRequest(t, env, basic(client.client_id, secret), { grant_type: 'client_credentials' })).statusCode, 200);
      const issued = events[0];
      assert.ok(issued?.type === 'token.issued');
      assert.equal(issued.env.name, env);
      assert.equal(issued.clientId, client.client_id);
      assert.equal(issued.grantType, 'client_credentials');
      assert.equal(issued.userId, undefined);
      const secretId = (await t.store.clients.activeSecrets(issued.env.id, client.client_id, t.clock.now()))[0]?.id;
      assert.deepEqual(issued.credential, { kind: 'client_secret', id: secretId });

      events.length = 0;
      for (let i = 0; i < 3; i++) await tokenRequest(t, env, basic(client.client_id, 'wrong'), { grant_type: 'client_credentials' });
      await tokenRequest(t, env, basic('no-such-client', 'wrong'), { grant_type: 'client_credentials' });
      const failures = events.filter((e) => e.type === 'client.authentication_failed');
      assert.deepEqual(
        failures.map((e) => [e.clientId, e.throttled]),
        [
          [client.client_id, false],
          [client.client_id, false],
          [client.client_id, true],
          [undefined, false],
        ],
      );
      const refused = events.filter((e) => e.type === 'token.refused');
      assert.deepEqual(
        refused.map((e) => [e.code, e.clientId]),
        [
          ['invalid_client', undefined],
          ['invalid_client', undefined],
          ['too_many_requests', undefined],
          ['invalid_client', undefined],
        ],
      );
      assert.ok(!JSON.stringify(events).includes(secret) && !JSON.stringify(events).includes('wrong'), 'no secret in any event');
      assert.ok(!types().includes('token.issued'));
    });

    it('a used-up quota is reported with its client', async () => {
      const t = await suite.build();
      const env = `events-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const client = await t.admin.createClient({ env, name: 'svc', scopes: ['read'], quota: 1 });
      const auth = basic(client.client_id, String(client.client_secret));
      const { events } = recordEvents(t);
      assert.equal((await tokenRequest(t, env, auth, { grant_type: 'client_credentials' })).statusCode, 200);
      assert.equal((await tokenRequest(t, env, auth, { grant_type: 'client_credentials' })).statusCode, 429);
      const quota = events.find((e) => e.type === 'client.quota_exceeded');
      assert.ok(quota?.type === 'client.quota_exceeded');
      assert.equal(quota.clientId, client.client_id);
      const refused = events.find((e) => e.type === 'token.refused');
      assert.ok(refused?.type === 'token.refused');
      assert.deepEqual([refused.code, refused.reason], ['too_many_requests', 'quota_exceeded']);
    });

    it('the code flow reports logins, the user of its tokens, a reused code and a reused refresh token', async () => {
      const t = await suite.build({ loginUsernameLimit: 2 });
      const env = `events-${database.name}-${++counter}`;
      const fixture = await setUpCodeFlow(t, { env });
      const { events, types } = recordEvents(t);
      const authorizePath = `/envs/${env}/authorize`;
      const { code, verifier } = await obtainCode(t, fixture, { authorizePath });
      const login = events.find((e) => e.type === 'user.login');
      assert.ok(login?.type === 'user.login' && login.outcome === 'success' && login.userId?.startsWith('usr_'));
      const auth = basic(fixture.clientId, fixture.clientSecret);
      const exchange = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
      const first = await tokenRequest(t, env, auth, exchange);
      assert.equal(first.statusCode, 200, first.body);
      const issued = events.find((e) => e.type === 'token.issued');
      assert.ok(issued?.type === 'token.issued');
      assert.equal(issued.userId, login.userId);
      assert.equal(issued.grantType, 'authorization_code');

      assert.equal((await tokenRequest(t, env, auth, exchange)).statusCode, 400);
      assert.ok(types().includes('authorization_code.reused'));

      const { code: code2, verifier: verifier2 } = await obtainCode(t, fixture, { authorizePath });
      const second = await tokenRequest(t, env, auth, { ...exchange, code: code2, code_verifier: verifier2 });
      const refreshToken = JSON.parse(second.body).refresh_token as string;
      const refresh = { grant_type: 'refresh_token', refresh_token: refreshToken };
      assert.equal((await tokenRequest(t, env, auth, refresh)).statusCode, 200);
      assert.equal((await tokenRequest(t, env, auth, refresh)).statusCode, 400);
      const reused = events.find((e) => e.type === 'refresh_token.reused');
      assert.ok(reused?.type === 'refresh_token.reused');
      assert.equal(reused.clientId, fixture.clientId);

      // Wrong passwords: failures, then one lockout report when the username first goes over its limit.
      events.length = 0;
      for (let i = 0; i < 4; i++) {
        const browser = new TestBrowser(t);
        const toLogin = await browser.authorize(
          { response_type: 'code', client_id: fixture.clientId, redirect_uri: REDIRECT_URI, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' },
          authorizePath,
        );
        await browser.login(toLogin, fixture.username, 'not the password');
      }
      const logins = events.filter((e) => e.type === 'user.login').map((e) => (e.type === 'user.login' ? e.outcome : ''));
      assert.deepEqual(logins, ['failure', 'failure', 'throttled', 'throttled']);
      const lockouts = events.filter((e) => e.type === 'user.locked_out');
      assert.equal(lockouts.length, 1);
      const serialized = JSON.stringify(events);
      for (const secret of [fixture.clientSecret, refreshToken, code, 'not the password']) assert.ok(!serialized.includes(secret));
    });
  });
}
