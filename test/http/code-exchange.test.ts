import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { UserService } from '../../src/admin/users.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';
import { type CodeFlowFixture, ENV, obtainCode, pkce, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;
const DAY = 86_400_000;

function assertError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal((res.json() as { error: string }).error, code, res.body);
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
  scope: string;
  token_type: string;
  expires_in: number;
}

function assertTokens(res: LightMyRequestResponse): Tokens {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  return res.json() as Tokens;
}

for (const database of await testDatabases()) {
  describe(`authorization_code and refresh_token grants on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;

    const post = (path: string, params: Record<string, string>, authorization?: string) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
        payload: form(params),
      });
    const auth = () => basic(fixture.clientId, fixture.clientSecret);
    const redeem = (code: string, verifier: string, extra: Record<string, string> = {}, authorization: string | null = auth()) =>
      post('token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI, ...extra }, authorization ?? undefined);
    const refresh = (refreshToken: string, extra: Record<string, string> = {}) =>
      post('token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, auth());
    const active = async (token: string) => (await post('introspect', { token }, auth())).json().active as boolean;

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginAddressLimit: 10_000 });
      fixture = await setUpCodeFlow(t);
    });

    it('advertises the authorization endpoint, S256 and iss in metadata', async () => {
      const metadata = (await t.app.server.inject(`/.well-known/oauth-authorization-server/envs/${ENV}`)).json();
      assert.equal(metadata.authorization_endpoint, `${ISSUER}/authorize`);
      assert.deepEqual(metadata.response_types_supported, ['code']);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      for (const grant of ['authorization_code', 'refresh_token']) assert.ok(metadata.grant_types_supported.includes(grant));
      assert.ok(metadata.token_endpoint_auth_methods_supported.includes('none'));
    });

    it('exchanges a code for a user JWT and a refresh token', async () => {
      const { code, verifier } = await obtainCode(t, fixture, { scope: 'invoices:read' });
      const tokens = assertTokens(await redeem(code, verifier));
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.scope, 'invoices:read');
      assert.match(String(tokens.refresh_token), /^grt_[A-Za-z0-9_-]{43}$/);
      const claims = decodeJwt(tokens.access_token);
      assert.match(String(claims.sub), /^usr_/);
      assert.equal(claims.client_id, fixture.clientId);
      assert.equal(claims.iss, ISSUER);
      assert.equal(claims.scope, 'invoices:read');
      // Only hashes are stored.
      assert.ok(
        await t.store.tokenFamilies.findRefreshToken((await t.store.environments.findByName(ENV))?.id as string, hashSecret(tokens.refresh_token as string)),
      );
    });

    it('lets a public client redeem with PKCE and its client_id alone', async () => {
      const { code, verifier } = await obtainCode(t, fixture, { clientId: fixture.publicClientId });
      const tokens = assertTokens(await redeem(code, verifier, { client_id: fixture.publicClientId }, null));
      assert.ok(tokens.refresh_token);
      const next = assertTokens(
        await post('token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: fixture.publicClientId }),
      );
      assert.notEqual(next.refresh_token, tokens.refresh_token);
    });

    it('binds the code to its verifier, redirect_uri, client and lifetime', async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      assertError(await redeem(code, pkce().verifier), 400, 'invalid_grant');
      const second = await obtainCode(t, fixture);
      assertError(await post('token', { grant_type: 'authorization_code', code: second.code, redirect_uri: REDIRECT_URI }, auth()), 400, 'invalid_request');
      const third = await obtainCode(t, fixture);
      assertError(await redeem(third.code, third.verifier, { redirect_uri: 'http://127.0.0.1/native-callback' }), 400, 'invalid_grant');
      const fourth = await obtainCode(t, fixture);
      assertError(await redeem(fourth.code, fourth.verifier, { client_id: fixture.publicClientId }, null), 400, 'invalid_grant');
      const fifth = await obtainCode(t, fixture);
      t.clock.advance(61_000);
      assertError(await redeem(fifth.code, fifth.verifier), 400, 'invalid_grant');
      assertError(await redeem('gac_unknown', verifier), 400, 'invalid_grant');
      assertError(await redeem(code, verifier), 400, 'invalid_grant');
      assertError(await redeem(code, verifier, {}, basic(fixture.clientId, 'wrong')), 401, 'invalid_client');
    });

    it('never redeems a code issued without a challenge with a verifier', async () => {
      const env = await t.store.environments.findByName(ENV);
      const user = (await t.store.users.list(env?.id as string))[0];
      await t.store.authorizationCodes.insert({
        codeHash: hashSecret('gac_no_challenge'),
        envId: env?.id as string,
        clientId: fixture.clientId,
        userId: user?.userId as string,
        redirectUri: REDIRECT_URI,
        scope: ['invoices:read'],
        codeChallenge: null,
        familyId: 'family-no-challenge',
        issuedAt: t.clock.now(),
        expiresAt: t.clock.now() + 60_000,
        consumedAt: null,
      });
      assertError(await redeem('gac_no_challenge', pkce().verifier), 400, 'invalid_grant');
    });

    it('revokes everything the first redemption issued when a code is redeemed twice', async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      const tokens = assertTokens(await redeem(code, verifier));
      assert.equal(await active(tokens.access_token), true);
      assertError(await redeem(code, verifier), 400, 'invalid_grant');
      assert.equal(await active(tokens.access_token), false);
      assertError(await refresh(tokens.refresh_token as string), 400, 'invalid_grant');
    });

    it('rotates refresh tokens; a rotated token presented again revokes the whole family', async () => {
      const { code, verifier } = await obtainCode(t, fixture, { scope: 'invoices:read invoices:write' });
      const first = assertTokens(await redeem(code, verifier));
      const second = assertTokens(await refresh(first.refresh_token as string));
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.equal(second.scope, 'invoices:read invoices:write');
      const third = assertTokens(await refresh(second.refresh_token as string));
      assert.equal(await active(third.access_token), true);

      assertError(await refresh(first.refresh_token as string), 400, 'invalid_grant');
      assertError(await refresh(third.refresh_token as string), 400, 'invalid_grant');
      for (const token of [first, second, third]) assert.equal(await active(token.access_token), false);
    });

    it('narrows scope on refresh but never widens it, and binds the token to its client', async () => {
      const { code, verifier } = await obtainCode(t, fixture, { scope: 'invoices:read invoices:write' });
      const first = assertTokens(await redeem(code, verifier));
      const narrowed = assertTokens(await refresh(first.refresh_token as string, { scope: 'invoices:read' }));
      assert.equal(narrowed.scope, 'invoices:read');
      assert.equal(decodeJwt(narrowed.access_token).scope, 'invoices:read');
      // The family keeps the granted scope: the next refresh may ask for all of it again.
      const full = assertTokens(await refresh(narrowed.refresh_token as string));
      assert.equal(full.scope, 'invoices:read invoices:write');
      assertError(await refresh(full.refresh_token as string, { scope: 'invoices:read admin' }), 400, 'invalid_scope');
      const other = await t.admin.createClient({
        env: ENV,
        name: 'other',
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['invoices:read'],
        redirectUris: [REDIRECT_URI],
      });
      assertError(
        await post(
          'token',
          { grant_type: 'refresh_token', refresh_token: full.refresh_token as string },
          basic(other.client_id, other.client_secret as string),
        ),
        400,
        'invalid_grant',
      );
      // Neither refusal consumed the token.
      assertTokens(await refresh(full.refresh_token as string));
    });

    it('expires refresh tokens when idle and at the family’s absolute lifetime', async () => {
      const idle = await obtainCode(t, fixture);
      const idleTokens = assertTokens(await redeem(idle.code, idle.verifier));
      t.clock.advance(14 * DAY + 1000);
      assertError(await refresh(idleTokens.refresh_token as string), 400, 'invalid_grant');

      const busy = await obtainCode(t, fixture);
      let tokens = assertTokens(await redeem(busy.code, busy.verifier));
      for (let day = 0; day < 80; day += 10) {
        t.clock.advance(10 * DAY);
        tokens = assertTokens(await refresh(tokens.refresh_token as string));
      }
      t.clock.advance(11 * DAY);
      assertError(await refresh(tokens.refresh_token as string), 400, 'invalid_grant');
    });

    it('revoking a refresh token (RFC 7009) revokes its family’s access tokens; another client cannot', async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      const first = assertTokens(await redeem(code, verifier));
      const second = assertTokens(await refresh(first.refresh_token as string));
      const other = await t.admin.createClient({ env: ENV, name: 'stranger' });
      const foreign = await post('revoke', { token: second.refresh_token as string }, basic(other.client_id, other.client_secret as string));
      assert.equal(foreign.statusCode, 200);
      assert.equal(await active(second.access_token), true);
      const revoked = await post('revoke', { token: second.refresh_token as string, token_type_hint: 'refresh_token' }, auth());
      assert.equal(revoked.statusCode, 200);
      assert.equal(await active(first.access_token), false);
      assert.equal(await active(second.access_token), false);
      assertError(await refresh(second.refresh_token as string), 400, 'invalid_grant');
    });

    it('stops refreshing once the user is disabled', async () => {
      const other = await setUpCodeFlow(t);
      const { code, verifier } = await obtainCode(t, other);
      const tokens = (
        await post(
          'token',
          { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI },
          basic(other.clientId, other.clientSecret),
        )
      ).json() as Tokens;
      await t.store.users.setEnabled((await t.store.environments.findByName(ENV))?.id as string, other.username, false, t.clock.now());
      assertError(
        await post('token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, basic(other.clientId, other.clientSecret)),
        400,
        'invalid_grant',
      );
    });

    for (const change of ['disable', 'set-password'] as const) {
      it(`revokes every token and session of a user on ${change}`, async () => {
        const other = await setUpCodeFlow(t);
        const { code, verifier, browser } = await obtainCode(t, other);
        const authorization = basic(other.clientId, other.clientSecret);
        const tokens = assertTokens(
          await post('token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, authorization),
        );
        const users = new UserService(t.config, t.store, t.clock);
        if (change === 'disable') {
          await users.setEnabled(ENV, other.username, false);
          await users.setEnabled(ENV, other.username, true);
        } else {
          await users.setPassword(ENV, other.username, 'a brand new passphrase');
        }
        assert.equal((await post('introspect', { token: tokens.access_token }, authorization)).json().active, false);
        assertError(await post('token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, authorization), 400, 'invalid_grant');
        // The browser session is gone: the next authorization asks for the password again.
        const { challenge } = pkce();
        const next = await browser.authorize({
          response_type: 'code',
          client_id: other.clientId,
          redirect_uri: REDIRECT_URI,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        });
        assert.match(String(next.headers.location), /\/login\?request=/);
      });
    }

    it('gives exactly one of 20 simultaneous redemptions of a code a token, the rest invalid_grant, no 5xx', async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      const results = await Promise.all(Array.from({ length: 20 }, () => redeem(code, verifier)));
      const statuses = results.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join());
      for (const res of results.filter((r) => r.statusCode !== 200)) assertError(res, 400, 'invalid_grant');
    });

    it('gives exactly one of 20 simultaneous refreshes a token, the rest invalid_grant, no 5xx', async () => {
      const { code, verifier } = await obtainCode(t, fixture);
      const tokens = assertTokens(await redeem(code, verifier));
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(tokens.refresh_token as string)));
      const statuses = results.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join());
      for (const res of results.filter((r) => r.statusCode !== 200)) assertError(res, 400, 'invalid_grant');
    });

    it('issues opaque user tokens for opaque clients, revoked with their family', async () => {
      const opaqueClient = await t.admin.createClient({
        env: ENV,
        name: 'Opaque App',
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['invoices:read'],
        redirectUris: [REDIRECT_URI],
        tokenFormat: 'opaque',
      });
      const fx = { ...fixture, clientId: opaqueClient.client_id, clientSecret: opaqueClient.client_secret as string };
      const { code, verifier } = await obtainCode(t, fx);
      const authorization = basic(fx.clientId, fx.clientSecret);
      const tokens = assertTokens(await redeem(code, verifier, {}, authorization));
      assert.match(tokens.access_token, /^gat_/);
      const introspected = (await post('introspect', { token: tokens.access_token }, authorization)).json();
      assert.equal(introspected.active, true);
      assert.match(introspected.sub, /^usr_/);
      assertError(await redeem(code, verifier, {}, authorization), 400, 'invalid_grant');
      assert.equal((await post('introspect', { token: tokens.access_token }, authorization)).json().active, false);
    });

    it('never returns a refresh token to a client without the refresh_token grant', async () => {
      const noRefresh = await t.admin.createClient({
        env: ENV,
        name: 'No Refresh',
        grantTypes: ['authorization_code'],
        scopes: ['invoices:read'],
        redirectUris: [REDIRECT_URI],
      });
      const fx = { ...fixture, clientId: noRefresh.client_id, clientSecret: noRefresh.client_secret as string };
      const { code, verifier } = await obtainCode(t, fx);
      const tokens = assertTokens(await redeem(code, verifier, {}, basic(fx.clientId, fx.clientSecret)));
      assert.equal(tokens.refresh_token, undefined);
    });
  });
}
