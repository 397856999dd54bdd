import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { UserService } from '../../src/admin/users.ts';
import { BackchannelLogoutDeliverer } from '../../src/oauth/openid/logout-delivery.ts';
import { PASSWORD, pkce, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';
import { createOidcClient, createOidcEnv, OIDC_REDIRECT_URI } from '../helpers/openid.ts';

for (const database of await testDatabases()) {
  describe(`sign-in, ID Token, RP-initiated and back-channel logout (${database.name})`, () => {
    const suite = suiteStore(database, { before, after });
    const received: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    before(() => new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r)));
    after(() => new Promise<void>((r) => receiver.close(() => r())));

    it('works end to end', async () => {
      const t = await suite.build({ passwordHashCost: 10 });
      const env = await createOidcEnv(t, 'FLOW');
      const rp = await createOidcClient(t, 'FLOW');
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/bc`;
      await t.store.clients.update({
        ...rp.client,
        postLogoutRedirectUris: ['https://rp.example.test/bye'],
        backchannelLogoutUri: url,
        logoutRevokesTokens: true,
      });
      t.app.core.clients.invalidate(env.id, rp.clientId);
      await new UserService(t.config, t.store, t.clock).create({ env: 'FLOW', username: 'ada', password: PASSWORD });
      const browser = new TestBrowser(t);
      const { verifier, challenge } = pkce();
      let res = await browser.authorize(
        {
          response_type: 'code',
          client_id: rp.clientId,
          redirect_uri: OIDC_REDIRECT_URI,
          scope: 'openid profile',
          state: 's',
          nonce: 'n-1',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        '/envs/FLOW/authorize',
      );
      res = await browser.login(res, 'ada');
      if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
      const code = new URL(String(res.headers.location)).searchParams.get('code') as string;
      const tokenRes = await t.app.server.inject({
        method: 'POST',
        url: '/envs/FLOW/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rp.clientId, rp.secret) },
        payload: form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: OIDC_REDIRECT_URI }),
      });
      assert.equal(tokenRes.statusCode, 200, tokenRes.body);
      const tokens = tokenRes.json() as { id_token: string; refresh_token: string };
      const idClaims = decodeJwt(tokens.id_token);
      assert.ok(idClaims.sid, 'the ID Token carries sid');
      const discovery = (await t.app.server.inject('/envs/FLOW/.well-known/openid-configuration')).json() as { end_session_endpoint: string };
      assert.equal(discovery.end_session_endpoint, `${PUBLIC_URL}/envs/FLOW/logout`);

      const logout = await browser.get(
        `/envs/FLOW/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://rp.example.test/bye', state: 'bye' })}`,
      );
      assert.equal(logout.statusCode, 303, logout.body);
      assert.equal(logout.headers.location, 'https://rp.example.test/bye?state=bye');

      const none = await browser.authorize(
        {
          response_type: 'code',
          client_id: rp.clientId,
          redirect_uri: OIDC_REDIRECT_URI,
          scope: 'openid',
          state: 's2',
          prompt: 'none',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        '/envs/FLOW/authorize',
      );
      assert.equal(new URL(String(none.headers.location)).searchParams.get('error'), 'login_required', String(none.headers.location));
      const refresh = await t.app.server.inject({
        method: 'POST',
        url: '/envs/FLOW/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rp.clientId, rp.secret) },
        payload: form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      });
      assert.equal(refresh.statusCode, 400, 'the refresh token was revoked with the session');

      const worker = new BackchannelLogoutDeliverer(
        t.store,
        t.app.core.keys,
        t.clock,
        t.app.events,
        { warn() {} },
        { publicUrl: PUBLIC_URL, allowLoopback: true },
      );
      assert.deepEqual(await worker.deliverDue(), { delivered: 1, failed: 0 });
      const jwks = (await t.app.server.inject('/envs/FLOW/jwks.json')).json();
      const { payload } = await jwtVerify(received[0] as string, createLocalJWKSet(jwks), {
        issuer: `${PUBLIC_URL}/envs/FLOW`,
        audience: rp.clientId,
        typ: 'logout+jwt',
        algorithms: ['RS256'],
        currentDate: new Date(t.clock.now()),
      });
      assert.equal(payload.sid, idClaims.sid);
      assert.equal(payload.sub, idClaims.sub);
    });
  });
}
