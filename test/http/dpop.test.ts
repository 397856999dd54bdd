import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, exportJWK, SignJWT } from 'jose';
import { type CodeFlowFixture, ENV, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { type DpopKey, dpopKey, dpopProof, type ProofOptions } from '../helpers/dpop.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const TOKEN_URL = `${PUBLIC_URL}/envs/${ENV}/token`;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function assertError(res: LightMyRequestResponse, code: string, status = 400): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal((res.json() as { error: string }).error, code, res.body);
}

for (const database of await testDatabases()) {
  describe(`DPoP at the token endpoint (RFC 9449) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    let machine: { id: string; secret: string };
    let key: DpopKey;
    let otherKey: DpopKey;

    const now = () => Math.floor(t.clock.now() / 1000);
    const proof = (options: Partial<ProofOptions> = {}, signer = key) => dpopProof(signer, { htu: TOKEN_URL, iat: now(), ...options });
    const token = (params: Record<string, string>, headers: Record<string, string | string[]> = {}, authorization?: string) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}), ...headers },
        payload: form(params),
      });
    const machineToken = (dpop?: string | string[]) =>
      token({ grant_type: 'client_credentials' }, dpop === undefined ? {} : { dpop }, basic(machine.id, machine.secret));

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginAddressLimit: 10_000 });
      fixture = await setUpCodeFlow(t, { scopes: ['openid', 'invoices:read', 'invoices:write'] });
      const created = await t.admin.createClient({ env: ENV, name: 'Machine', grantTypes: ['client_credentials'] });
      machine = { id: created.client_id, secret: created.client_secret as string };
      key = await dpopKey('ES256');
      otherKey = await dpopKey('EdDSA');
    });

    it('binds a client_credentials token to the proof key: token_type DPoP, cnf.jkt, introspection says so', async () => {
      const res = await machineToken(await proof());
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { access_token: string; token_type: string };
      assert.equal(body.token_type, 'DPoP');
      assert.deepEqual(decodeJwt(body.access_token).cnf, { jkt: key.jkt });
      assert.equal(res.headers['dpop-nonce'], undefined);
      const introspected = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/introspect`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(machine.id, machine.secret) },
        payload: form({ token: body.access_token }),
      });
      const answer = introspected.json() as { active: boolean; token_type: string; cnf: { jkt: string } };
      assert.equal(answer.active, true, introspected.body);
      assert.equal(answer.token_type, 'DPoP');
      assert.deepEqual(answer.cnf, { jkt: key.jkt });
    });

    it('still issues bearer tokens without a proof', async () => {
      const res = await machineToken();
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as { token_type: string }).token_type, 'Bearer');
    });

    it('accepts RS256 and PS256 proofs', async () => {
      for (const alg of ['RS256', 'PS256']) {
        const res = await machineToken(await proof({}, await dpopKey(alg)));
        assert.equal(res.statusCode, 200, `${alg}: ${res.body}`);
      }
    });

    it('refuses each malformed or mismatched proof with invalid_dpop_proof', async () => {
      const hmac = await new SignJWT({ htm: 'POST', htu: TOKEN_URL, jti: 'h1' })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
        .setIssuedAt(now())
        .sign(new Uint8Array(32).fill(7));
      const unsigned = `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${b64({ htm: 'POST', htu: TOKEN_URL, jti: 'n1', iat: now() })}.`;
      const cases: Record<string, string | string[]> = {
        'wrong typ': await proof({ typ: 'JWT' }),
        'alg none': unsigned,
        HS256: hmac,
        'private jwk': await proof({ jwk: await exportJWK(key.privateKey) }),
        'bad signature': await proof({ jwk: otherKey.publicJwk }),
        'htm GET': await proof({ htm: 'GET' }),
        'htu of another endpoint': await proof({ htu: `${PUBLIC_URL}/envs/${ENV}/introspect` }),
        'htu of another environment': await proof({ htu: `${PUBLIC_URL}/envs/OTHER/token` }),
        'iat too old': await proof({ iat: now() - 600 }),
        'iat in the future': await proof({ iat: now() + 600 }),
        'two DPoP headers': [await proof(), await proof()],
        'not a JWT': 'not-a-jwt',
      };
      for (const [name, dpop] of Object.entries(cases)) {
        const res = await machineToken(dpop);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal((res.json() as { error: string }).error, 'invalid_dpop_proof', `${name}: ${res.body}`);
      }
    });

    it('ignores the query of htu and accepts iat within the window', async () => {
      const res = await machineToken(await proof({ htu: `${TOKEN_URL}?x=1#f`, iat: now() - 50 }));
      assert.equal(res.statusCode, 200, res.body);
    });

    it('refuses a replayed jti', async () => {
      const once = await proof();
      assert.equal((await machineToken(once)).statusCode, 200);
      assertError(await machineToken(once), 'invalid_dpop_proof');
    });

    it('requires a proof of a client registered with dpop_bound_access_tokens', async () => {
      const created = await t.admin.createClient({ env: ENV, name: 'Bound', grantTypes: ['client_credentials'], dpopBoundAccessTokens: true });
      assert.equal(created.dpop_bound_access_tokens, true);
      const auth = basic(created.client_id, created.client_secret as string);
      assertError(await token({ grant_type: 'client_credentials' }, {}, auth), 'invalid_dpop_proof');
      const res = await token({ grant_type: 'client_credentials' }, { dpop: await proof() }, auth);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as { token_type: string }).token_type, 'DPoP');
    });

    async function codeFor(clientId: string, extra: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
      const browser = new TestBrowser(t);
      const { verifier, challenge } = pkce();
      let res = await browser.authorize({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
        ...extra,
      });
      if (/\/login\?/.test(String(res.headers.location))) res = await browser.login(res, fixture.username);
      if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
      assert.equal(res.statusCode, 303, res.body);
      const code = new URL(String(res.headers.location)).searchParams.get('code');
      assert.ok(code, String(res.headers.location));
      return { code, verifier };
    }
    const redeem = (clientId: string, code: string, verifier: string, headers: Record<string, string> = {}) =>
      token({ grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, headers);

    it("binds a public client's refresh tokens to its key (§5.8)", async () => {
      const { code, verifier } = await codeFor(fixture.publicClientId);
      const res = await redeem(fixture.publicClientId, code, verifier, { dpop: await proof() });
      assert.equal(res.statusCode, 200, res.body);
      const issued = res.json() as { refresh_token: string; token_type: string };
      assert.equal(issued.token_type, 'DPoP');
      const refresh = (refreshToken: string, headers: Record<string, string>) =>
        token({ grant_type: 'refresh_token', client_id: fixture.publicClientId, refresh_token: refreshToken }, headers);
      assertError(await refresh(issued.refresh_token, {}), 'invalid_grant');
      assertError(await refresh(issued.refresh_token, { dpop: await proof({}, otherKey) }), 'invalid_grant');
      const ok = await refresh(issued.refresh_token, { dpop: await proof() });
      assert.equal(ok.statusCode, 200, ok.body);
      const next = ok.json() as { access_token: string; token_type: string };
      assert.equal(next.token_type, 'DPoP');
      assert.deepEqual(decodeJwt(next.access_token).cnf, { jkt: key.jkt });
    });

    it("does not bind a confidential client's refresh tokens; its access tokens follow the proof", async () => {
      const { code, verifier } = await codeFor(fixture.clientId);
      const auth = basic(fixture.clientId, fixture.clientSecret);
      const res = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, { dpop: await proof() }, auth);
      assert.equal(res.statusCode, 200, res.body);
      const { refresh_token: refreshToken } = res.json() as { refresh_token: string };
      const bearer = await token({ grant_type: 'refresh_token', refresh_token: refreshToken }, {}, auth);
      assert.equal(bearer.statusCode, 200, bearer.body);
      assert.equal((bearer.json() as { token_type: string }).token_type, 'Bearer');
    });

    it('serves UserInfo to a DPoP-bound token only as DPoP, with a proof for the request and the token (§7)', async () => {
      const { code, verifier } = await codeFor(fixture.publicClientId, { scope: 'openid' });
      const res = await redeem(fixture.publicClientId, code, verifier, { dpop: await proof() });
      assert.equal(res.statusCode, 200, res.body);
      const { access_token: accessToken } = res.json() as { access_token: string };
      const userinfoUrl = `${PUBLIC_URL}/envs/${ENV}/userinfo`;
      const call = (authorization: string, dpop?: string, method: 'GET' | 'POST' = 'GET') =>
        t.app.server.inject({ method, url: `/envs/${ENV}/userinfo`, headers: { authorization, ...(dpop === undefined ? {} : { dpop }) } });
      const refused = (answer: Awaited<ReturnType<typeof call>>, code: string) => {
        assert.equal(answer.statusCode, 401, answer.body);
        assert.equal((answer.json() as { error: string }).error, code);
        return String(answer.headers['www-authenticate']);
      };
      const forRequest = (options: Partial<ProofOptions> = {}, signer = key) => proof({ htm: 'GET', htu: userinfoUrl, accessToken, ...options }, signer);
      // As a bearer token: refused, whatever else comes with it (RFC 9449 §7.1).
      assert.match(refused(await call(`Bearer ${accessToken}`), 'invalid_token'), /^Bearer /);
      assert.match(refused(await call(`Bearer ${accessToken}`, await forRequest()), 'invalid_token'), /^Bearer /);
      // As DPoP: each broken proof is refused with a DPoP challenge naming the algorithms.
      assert.match(refused(await call(`DPoP ${accessToken}`), 'invalid_dpop_proof'), /^DPoP error="invalid_dpop_proof", .*algs="ES256 /);
      refused(await call(`DPoP ${accessToken}`, await forRequest({ htm: 'POST' })), 'invalid_dpop_proof');
      refused(await call(`DPoP ${accessToken}`, await forRequest({ htu: `${PUBLIC_URL}/envs/${ENV}/token` })), 'invalid_dpop_proof');
      refused(await call(`DPoP ${accessToken}`, await forRequest({ accessToken: `${accessToken}x` })), 'invalid_dpop_proof');
      refused(await call(`DPoP ${accessToken}`, await forRequest({}, otherKey)), 'invalid_token');
      // A correct proof: the claims; the same proof again: a replay.
      const good = await forRequest();
      const answer = await call(`DPoP ${accessToken}`, good);
      assert.equal(answer.statusCode, 200, answer.body);
      assert.equal(typeof (answer.json() as { sub: unknown }).sub, 'string');
      refused(await call(`DPoP ${accessToken}`, good), 'invalid_dpop_proof');
      const posted = await call(`DPoP ${accessToken}`, await forRequest({ htm: 'POST' }), 'POST');
      assert.equal(posted.statusCode, 200, posted.body);
      // A bearer token presented as DPoP is refused: it is bound to no key.
      const bearer = await machineToken();
      const { access_token: plain } = bearer.json() as { access_token: string };
      assert.equal((bearer.json() as { token_type: string }).token_type, 'Bearer');
      refused(await call(`DPoP ${plain}`, await forRequest({ accessToken: plain })), 'invalid_token');
    });

    it('redeems a code requested with dpop_jkt only with a proof of that key (§10)', async () => {
      const first = await codeFor(fixture.publicClientId, { dpop_jkt: key.jkt });
      assertError(await redeem(fixture.publicClientId, first.code, first.verifier, { dpop: await proof({}, otherKey) }), 'invalid_grant');
      const second = await codeFor(fixture.publicClientId, { dpop_jkt: key.jkt });
      assertError(await redeem(fixture.publicClientId, second.code, second.verifier), 'invalid_grant');
      const third = await codeFor(fixture.publicClientId, { dpop_jkt: key.jkt });
      const ok = await redeem(fixture.publicClientId, third.code, third.verifier, { dpop: await proof() });
      assert.equal(ok.statusCode, 200, ok.body);
    });

    it('refuses a malformed dpop_jkt at /authorize', async () => {
      const browser = new TestBrowser(t);
      const { challenge } = pkce();
      const res = await browser.authorize({
        response_type: 'code',
        client_id: fixture.publicClientId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        dpop_jkt: 'short',
      });
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(new URL(String(res.headers.location)).searchParams.get('error'), 'invalid_request');
    });

    it('publishes dpop_signing_alg_values_supported', async () => {
      const res = await t.app.server.inject({ method: 'GET', url: `/envs/${ENV}/.well-known/oauth-authorization-server` });
      const algs = (res.json() as { dpop_signing_alg_values_supported: string[] }).dpop_signing_alg_values_supported;
      for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256']) assert.ok(algs.includes(alg), alg);
      assert.ok(!algs.includes('none') && !algs.some((a) => a.startsWith('HS')));
    });

    it('asks for a server nonce when the environment requires one (§8), and accepts it', async () => {
      // An environment that requires nonces before its first request (nodes cache environments).
      const env = 'NONCES';
      await t.admin.createEnvironment(env);
      const view = await t.admin.setDpopNonceRequired(env, true);
      assert.equal(view.dpop_nonce_required, true);
      const created = await t.admin.createClient({ env, name: 'Machine', grantTypes: ['client_credentials'] });
      const htu = `${PUBLIC_URL}/envs/${env}/token`;
      const send = (dpop: string) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic(created.client_id, created.client_secret as string),
            dpop,
          },
          payload: form({ grant_type: 'client_credentials' }),
        });
      const refused = await send(await proof({ htu }));
      assertError(refused, 'use_dpop_nonce');
      const nonce = refused.headers['dpop-nonce'];
      assert.equal(typeof nonce, 'string');
      assertError(await send(await proof({ htu, nonce: 'stale' })), 'use_dpop_nonce');
      const res = await send(await proof({ htu, nonce: nonce as string }));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['dpop-nonce'], nonce);
      // Nonces rotate: one from two periods ago is refused, with the current one offered.
      t.clock.advance(10 * 60 * 1000 + 1);
      const rotated = await send(await proof({ htu, nonce: nonce as string }));
      assertError(rotated, 'use_dpop_nonce');
      assert.notEqual(rotated.headers['dpop-nonce'], nonce);
    });
  });
}
