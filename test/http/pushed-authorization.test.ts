import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { importJWK, SignJWT } from 'jose';
import { type CreatedKey, ServiceAccountService } from '../../src/admin/service-accounts.ts';
import { UserService } from '../../src/admin/users.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';
import { type CodeFlowFixture, PASSWORD, pkce, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { dpopKey, dpopProof } from '../helpers/dpop.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/;

function assertJsonError(res: LightMyRequestResponse, status: number, code: string, description?: RegExp): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers.location, undefined, 'never a redirect');
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.error, code, res.body);
  if (description) assert.match(String(body.error_description), description);
}

function assertErrorPage(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.headers.location, undefined);
  assert.match(String(res.headers['content-type']), /^text\/html/);
}

for (const database of await testDatabases()) {
  describe(`pushed authorization requests (RFC 9126) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;
    let counter = 0;
    const ENV_NAME = 'DEVELOPMENT';

    const push = (env: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
      t.app.server.inject({ method: 'POST', url: `/envs/${env}/par`, headers: { 'content-type': FORM, ...headers }, payload: form(params) });
    const request = (clientId: string, extra: Record<string, string> = {}) => ({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      state: 'st',
      scope: 'invoices:read',
      ...extra,
    });
    const pushed = async (extra: Record<string, string> = {}): Promise<string> => {
      const res = await push(ENV_NAME, request(fixture.clientId, extra), { authorization: basic(fixture.clientId, fixture.clientSecret) });
      assert.equal(res.statusCode, 201, res.body);
      return String((res.json() as { request_uri: string }).request_uri);
    };

    before(async () => {
      t = await suite.build({ pushedRequestTtl: 90 });
      fixture = await setUpCodeFlow(t);
    });

    it('answers 201 with a request_uri and expires_in, then /authorize continues with the pushed request through login and consent', async () => {
      const res = await push(ENV_NAME, request(fixture.clientId, { scope: 'invoices:write' }), {
        authorization: basic(fixture.clientId, fixture.clientSecret),
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json() as { request_uri: string; expires_in: number };
      assert.match(body.request_uri, REQUEST_URI);
      assert.equal(body.expires_in, 90);
      const browser = new TestBrowser(t);
      // RFC 9126 §4: other parameters are ignored; the pushed request is the whole request.
      const first = await browser.authorize({ client_id: fixture.clientId, request_uri: body.request_uri, scope: 'invoices:read', state: 'ignored' });
      const toConsent = await browser.login(first, fixture.username);
      const page = await browser.get(String(toConsent.headers.location));
      assert.match(page.body, /Invoice App/);
      assert.match(page.body, /invoices:write/);
      assert.doesNotMatch(page.body, /invoices:read/);
      const done = await browser.consent(toConsent, 'allow');
      const location = new URL(String(done.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      assert.equal(location.searchParams.get('state'), 'st');
      assert.ok(location.searchParams.get('code'));
      assert.equal(location.searchParams.get('iss'), `${PUBLIC_URL}/envs/${ENV_NAME}`);
    });

    it('a request_uri is used once, only with the client_id that pushed it, and not after it expires', async () => {
      const browser = new TestBrowser(t);
      const uri = await pushed();
      assertErrorPage(await browser.authorize({ client_id: fixture.publicClientId, request_uri: uri }));
      // Refused for another client without being used up.
      const ok = await browser.authorize({ client_id: fixture.clientId, request_uri: uri });
      assert.equal(ok.statusCode, 303, ok.body);
      assert.match(String(ok.headers.location), /\/login\?request=/);
      assertErrorPage(await browser.authorize({ client_id: fixture.clientId, request_uri: uri }));
      const late = await pushed();
      t.clock.advance(90_000);
      assertErrorPage(await browser.authorize({ client_id: fixture.clientId, request_uri: late }));
      assertErrorPage(await browser.authorize({ request_uri: await pushed() }));
      assertErrorPage(await browser.authorize({ client_id: fixture.clientId, request_uri: 'urn:ietf:params:oauth:request_uri:nope' }));
    });

    it('stores only a hash of the request_uri and never the client secret', async () => {
      const res = await push(ENV_NAME, { ...request(fixture.clientId), client_secret: fixture.clientSecret });
      assert.equal(res.statusCode, 201, res.body);
      const uri = String((res.json() as { request_uri: string }).request_uri);
      const id = uri.split(':').pop() as string;
      const envId = (await suite.store.environments.findByName(ENV_NAME))?.id as string;
      // Looked up by the hash of its random part only; the raw value finds nothing.
      assert.equal(await suite.store.pushedRequests.take(envId, id, fixture.clientId, t.clock.now()), undefined);
      const stored = await suite.store.pushedRequests.take(envId, hashSecret(id), fixture.clientId, t.clock.now());
      assert.ok(stored);
      assert.equal(stored.params.client_secret, undefined);
      assert.equal(stored.params.redirect_uri, REDIRECT_URI);
    });

    it('authenticates the client as the token endpoint does', async () => {
      assertJsonError(await push(ENV_NAME, request(fixture.clientId), { authorization: basic(fixture.clientId, 'wrong') }), 401, 'invalid_client');
      assertJsonError(await push(ENV_NAME, request(fixture.clientId)), 401, 'invalid_client');
      assertJsonError(await push(ENV_NAME, request('unknown')), 401, 'invalid_client');
      // A public client identifies itself with client_id alone.
      const res = await push(ENV_NAME, request(fixture.publicClientId));
      assert.equal(res.statusCode, 201, res.body);
    });

    it('checks the pushed request like /authorize and answers every refusal as JSON', async () => {
      const auth = { authorization: basic(fixture.clientId, fixture.clientSecret) };
      assertJsonError(await push(ENV_NAME, request(fixture.clientId, { request_uri: 'urn:x' }), auth), 400, 'invalid_request', /request_uri/);
      assertJsonError(
        await push(ENV_NAME, request(fixture.clientId, { redirect_uri: 'https://evil.example/cb' }), auth),
        400,
        'invalid_request',
        /redirect_uri/,
      );
      const { code_challenge: _c, ...noPkce } = request(fixture.clientId);
      assertJsonError(await push(ENV_NAME, noPkce, auth), 400, 'invalid_request', /code_challenge/);
      assertJsonError(await push(ENV_NAME, request(fixture.clientId, { code_challenge_method: 'plain' }), auth), 400, 'invalid_request', /S256/);
      assertJsonError(await push(ENV_NAME, request(fixture.clientId, { response_type: 'token' }), auth), 400, 'invalid_request', /unsupported_response_type/);
      assertJsonError(await push(ENV_NAME, request(fixture.clientId, { scope: 'admin' }), auth), 400, 'invalid_scope');
      assertJsonError(await push(ENV_NAME, request(fixture.clientId, { resource: 'not-a-uri' }), auth), 400, 'invalid_target');
    });

    it('a client or environment requiring pushed requests gets plain /authorize requests refused by redirect', async () => {
      await t.admin.updateClient(ENV_NAME, fixture.clientId, { requirePushedAuthorizationRequests: true });
      const browser = new TestBrowser(t);
      const refused = await browser.authorize(request(fixture.clientId));
      assert.equal(refused.statusCode, 303);
      const location = new URL(String(refused.headers.location));
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.match(String(location.searchParams.get('error_description')), /pushed/);
      assert.equal(location.searchParams.get('iss'), `${PUBLIC_URL}/envs/${ENV_NAME}`);
      const ok = await browser.authorize({ client_id: fixture.clientId, request_uri: await pushed() });
      assert.match(String(ok.headers.location), /\/login\?request=/);
      await t.admin.updateClient(ENV_NAME, fixture.clientId, { requirePushedAuthorizationRequests: false });

      const env = `par-env-${++counter}`;
      const other = await setUpCodeFlow(t, { env });
      await t.admin.updateEnvironment(env, { requirePushedAuthorizationRequests: true });
      const res = await new TestBrowser(t).authorize(request(other.publicClientId), `/envs/${env}/authorize`);
      assert.equal(new URL(String(res.headers.location)).searchParams.get('error'), 'invalid_request');
      const metadata = await t.app.server.inject({ method: 'GET', url: `/.well-known/oauth-authorization-server/envs/${env}` });
      const doc = metadata.json() as Record<string, unknown>;
      assert.equal(doc.require_pushed_authorization_requests, true);
      assert.equal(doc.pushed_authorization_request_endpoint, `${PUBLIC_URL}/envs/${env}/par`);
    });
  });

  describe(`the FAPI 2.0 Security Profile switch on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    const env = 'FAPI';
    const issuer = `${PUBLIC_URL}/envs/${env}`;
    let confidential: { client_id: string; client_secret?: string };
    let publicClient: { client_id: string };
    let key: CreatedKey;
    let username: string;

    const assertion = async (clientId: string, k: CreatedKey, aud = issuer) => {
      const now = Math.floor(t.clock.now() / 1000);
      return new SignJWT({ iss: clientId, sub: clientId, aud, iat: now, exp: now + 60, jti: randomUUID() })
        .setProtectedHeader({ alg: k.alg, kid: k.kid })
        .sign(await importJWK(k.private_jwk, k.alg));
    };
    const post = (path: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
      t.app.server.inject({ method: 'POST', url: `/envs/${env}/${path}`, headers: { 'content-type': FORM, ...headers }, payload: form(params) });
    const authRequest = (clientId: string, challenge: string) => ({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'read',
    });

    before(async () => {
      t = await suite.build({ authorizationCodeTtl: 600 });
      await t.admin.createEnvironment(env);
      await t.admin.updateEnvironment(env, { securityProfile: 'fapi2' });
      confidential = await t.admin.createClient({ env, name: 'Bank App', grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [REDIRECT_URI] });
      publicClient = await t.admin.createClient({
        env,
        name: 'SPA',
        kind: 'public',
        grantTypes: ['authorization_code'],
        scopes: ['read'],
        redirectUris: [REDIRECT_URI],
      });
      key = await new ServiceAccountService(t.config, suite.store, t.clock).createKey(env, confidential.client_id, 'ES256', 'client');
      username = `bob-${randomUUID().slice(0, 8)}`;
      await new UserService(t.config, t.store, t.clock).create({ env, username, password: PASSWORD });
    });

    it('accepts only PS256, ES256 and EdDSA signatures (§5.4.1): an RS256 client key and an RS256 DPoP proof are refused', async () => {
      const rsaKey = await new ServiceAccountService(t.config, suite.store, t.clock).createKey(env, confidential.client_id, 'RS256', 'client');
      assertJsonError(
        await post('par', {
          ...authRequest(confidential.client_id, pkce().challenge),
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await assertion(confidential.client_id, rsaKey),
        }),
        401,
        'invalid_client',
        /PS256, ES256, EdDSA/,
      );
      const rsaProof = await dpopProof(await dpopKey('RS256'), { htu: `${issuer}/token`, iat: Math.floor(t.clock.now() / 1000) });
      const token = await post(
        'token',
        {
          grant_type: 'authorization_code',
          code: 'unused',
          redirect_uri: REDIRECT_URI,
          code_verifier: 'unused',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await assertion(confidential.client_id, key),
        },
        { dpop: rsaProof },
      );
      assertJsonError(token, 400, 'invalid_dpop_proof', /PS256, ES256, EdDSA/);
      const metadata = (await t.app.server.inject({ method: 'GET', url: `/envs/${env}/.well-known/openid-configuration` })).json() as Record<string, string[]>;
      assert.deepEqual(metadata.token_endpoint_auth_signing_alg_values_supported, ['ES256', 'EdDSA']);
      assert.ok(!metadata.dpop_signing_alg_values_supported?.includes('RS256'));
    });

    it('refuses a plain authorization request, client_secret authentication and public clients', async () => {
      const plain = await new TestBrowser(t).authorize(authRequest(confidential.client_id, pkce().challenge), `/envs/${env}/authorize`);
      assert.equal(new URL(String(plain.headers.location)).searchParams.get('error'), 'invalid_request');
      const secret = String(confidential.client_secret);
      assertJsonError(
        await post('par', authRequest(confidential.client_id, pkce().challenge), { authorization: basic(confidential.client_id, secret) }),
        401,
        'invalid_client',
        /private_key_jwt/,
      );
      assertJsonError(
        await post('par', { ...authRequest(confidential.client_id, pkce().challenge), client_secret: secret }),
        401,
        'invalid_client',
        /private_key_jwt/,
      );
      assertJsonError(await post('par', authRequest(publicClient.client_id, pkce().challenge)), 401, 'invalid_client');
      assertJsonError(
        await post(
          'token',
          { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI, code_verifier: 'y' },
          { authorization: basic(confidential.client_id, secret) },
        ),
        401,
        'invalid_client',
      );
      assertJsonError(await post('introspect', { token: 'x' }, { authorization: basic(confidential.client_id, secret) }), 401, 'invalid_client');
      assertJsonError(await post('revoke', { token: 'x' }, { authorization: basic(confidential.client_id, secret) }), 401, 'invalid_client');
      // §5.3.2.1: only the issuer identifier is accepted as the assertion's audience.
      const wrongAud = await assertion(confidential.client_id, key, `${issuer}/par`);
      assertJsonError(
        await post('par', { ...authRequest(confidential.client_id, pkce().challenge), client_assertion_type: ASSERTION_TYPE, client_assertion: wrongAud }),
        401,
        'invalid_client',
      );
      assertJsonError(
        await post('par', {
          ...authRequest(confidential.client_id, pkce().challenge),
          response_mode: 'fragment',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await assertion(confidential.client_id, key),
        }),
        400,
        'invalid_request',
        /response_mode/,
      );
    });

    it('completes the code flow for a private_key_jwt client, with a code living 60 seconds whatever the configuration', async () => {
      const codeFlow = async () => {
        const { verifier, challenge } = pkce();
        const res = await post('par', {
          ...authRequest(confidential.client_id, challenge),
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await assertion(confidential.client_id, key),
        });
        assert.equal(res.statusCode, 201, res.body);
        const browser = new TestBrowser(t);
        const requestUri = String((res.json() as { request_uri: string }).request_uri);
        let step = await browser.authorize({ client_id: confidential.client_id, request_uri: requestUri }, `/envs/${env}/authorize`);
        if (/\/login\?/.test(String(step.headers.location))) step = await browser.login(step, username);
        if (/\/consent\?/.test(String(step.headers.location))) step = await browser.consent(step, 'allow');
        const location = new URL(String(step.headers.location));
        assert.equal(location.searchParams.get('iss'), issuer);
        const code = String(location.searchParams.get('code'));
        // FAPI 2.0 §5.3.2.1: sender-constrained tokens only, so the redemption carries a DPoP proof.
        return async (withProof = true) =>
          post(
            'token',
            {
              grant_type: 'authorization_code',
              code,
              redirect_uri: REDIRECT_URI,
              code_verifier: verifier,
              client_assertion_type: ASSERTION_TYPE,
              client_assertion: await assertion(confidential.client_id, key),
            },
            withProof ? { dpop: await dpopProof(proofKey, { htu: `${issuer}/token`, iat: Math.floor(t.clock.now() / 1000) }) } : {},
          );
      };
      const proofKey = await dpopKey();
      const inTime = await codeFlow();
      t.clock.advance(59_000);
      assertJsonError(await inTime(false), 400, 'invalid_dpop_proof');
      const token = await inTime();
      assert.equal(token.statusCode, 200, token.body);
      assert.equal((token.json() as { token_type: string }).token_type, 'DPoP');
      const late = await codeFlow();
      t.clock.advance(61_000);
      assertJsonError(await late(), 400, 'invalid_grant');

      const metadata = (await t.app.server.inject({ method: 'GET', url: `/envs/${env}/.well-known/openid-configuration` })).json() as Record<string, unknown>;
      assert.equal(metadata.require_pushed_authorization_requests, true);
      assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['private_key_jwt']);
      assert.deepEqual(metadata.introspection_endpoint_auth_methods_supported, ['private_key_jwt']);
      assert.deepEqual(metadata.revocation_endpoint_auth_methods_supported, ['private_key_jwt']);
    });
  });
}
