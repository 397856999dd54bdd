import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, generateKeyPair, importJWK, type JWTHeaderParameters, SignJWT } from 'jose';
import { type CreatedKey, ServiceAccountService } from '../../src/admin/service-accounts.ts';
import type { Config } from '../../src/config/config.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FORM = 'application/x-www-form-urlencoded';
const CC = { grant_type: 'client_credentials' };
/** What client authentication says about a failure found before the signature is known to be good. */
const UNDISCLOSED = 'client authentication failed';

type Claims = Record<string, unknown>;
type Params = Record<string, string>;
type Endpoint = 'token' | 'introspect' | 'revoke';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function assertNoStore(res: LightMyRequestResponse): void {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
}

/** Asserts an error; `description` is a pattern or the exact `error_description`. */
function assertError(res: LightMyRequestResponse, status: number, code: string, description?: RegExp | string): void {
  assert.equal(res.statusCode, status, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.error, code, res.body);
  assert.equal(typeof body.error_description, 'string');
  if (typeof description === 'string') assert.equal(body.error_description, description);
  else if (description) assert.match(String(body.error_description), description);
}

/** Asserts a token response and returns the access token. */
function assertToken(res: LightMyRequestResponse, scope = 'read'): string {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, scope);
  return String(body.access_token);
}

function assertActive(res: LightMyRequestResponse, clientId: string): void {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.active, true, res.body);
  assert.equal(body.client_id, clientId);
}

async function sign(key: CreatedKey, claims: Claims, header: Claims = {}): Promise<string> {
  const privateKey = await importJWK(key.private_jwk, key.alg);
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header } as JWTHeaderParameters).sign(privateKey);
}

for (const database of await testDatabases()) {
  describe(`private_key_jwt client authentication (RFC 7523 §2.2) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** A fresh app and environment with a confidential client (read/write, default read) holding one ES256 key. */
    async function setup(overrides: Partial<Config> = {}) {
      const t = await suite.build(overrides);
      const env = `pk-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const accounts = new ServiceAccountService(t.config, suite.store, t.clock);
      const client = await t.admin.createClient({ env, name: 'app', scopes: ['read', 'write'], defaultScopes: ['read'] });
      assert.ok(client.client_secret);
      const id = client.client_id;
      const key = await accounts.createKey(env, id, 'ES256', 'client');
      const issuer = `${PUBLIC_URL}/envs/${env}`;
      const url = (endpoint: Endpoint) => `${issuer}/${endpoint}`;
      const now = () => Math.floor(t.clock.now() / 1000);
      const claims = (extra: Claims = {}): Claims => ({ iss: id, sub: id, aud: url('token'), iat: now(), exp: now() + 300, jti: randomUUID(), ...extra });
      const assertion = (extra: Claims = {}, header: Claims = {}) => sign(key, claims(extra), header);
      const post = (endpoint: Endpoint, params: Params, headers: Params = {}) =>
        t.app.server.inject({ method: 'POST', url: `/envs/${env}/${endpoint}`, headers: { 'content-type': FORM, ...headers }, payload: form(params) });
      /** Authenticates with `jwt` as client_assertion at `endpoint`. */
      const withAssertion = (jwt: string, params: Params = CC, endpoint: Endpoint = 'token', headers: Params = {}) =>
        post(endpoint, { ...params, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }, headers);
      return { ...t, env, accounts, id, secret: client.client_secret, key, issuer, url, now, claims, assertion, post, withAssertion };
    }
    type Setup = Awaited<ReturnType<typeof setup>>;

    describe('accepted assertions', () => {
      it('authenticates a client_credentials request; the token is the client’s own', async () => {
        const s = await setup();
        for (const aud of [s.url('token'), s.issuer, ['https://rs.example.test', s.url('token')]]) {
          const claims = decodeJwt(assertToken(await s.withAssertion(await s.assertion({ aud }), { ...CC, scope: 'read write' }), 'read write'));
          assert.equal(claims.sub, s.id);
          assert.equal(claims.client_id, s.id);
        }
      });

      it('works with EdDSA and RS256 keys too', async () => {
        const s = await setup();
        for (const alg of ['EdDSA', 'RS256']) {
          const key = await s.accounts.createKey(s.env, s.id, alg, 'client');
          assertToken(await s.withAssertion(await sign(key, s.claims())));
        }
      });

      it('accepts a body client_id equal to the assertion’s iss', async () => {
        const s = await setup();
        assertToken(await s.withAssertion(await s.assertion(), { ...CC, client_id: s.id }));
      });

      it('authenticates introspection (aud = introspection URL or issuer) and revocation', async () => {
        const s = await setup();
        const token = assertToken(await s.withAssertion(await s.assertion()));
        for (const aud of [s.url('introspect'), s.issuer]) {
          assertActive(await s.withAssertion(await s.assertion({ aud }), { token }, 'introspect'), s.id);
        }
        const wrongEndpoint = await s.withAssertion(await s.assertion({ aud: s.url('revoke') }), { token }, 'introspect');
        assertError(wrongEndpoint, 401, 'invalid_client', /\baud\b/);
        const revoked = await s.withAssertion(await s.assertion({ aud: s.url('revoke') }), { token }, 'revoke');
        assert.equal(revoked.statusCode, 200, revoked.body);
        const after = await s.withAssertion(await s.assertion({ aud: s.url('introspect') }), { token }, 'introspect');
        assert.deepEqual(after.json(), { active: false });
      });
    });

    describe('refused assertions are 401 invalid_client', () => {
      const refusals: [string, (s: Setup) => Promise<string>, RegExp | string][] = [
        ['a wrong aud', (s) => s.assertion({ aud: 'https://other.example.test/token' }), /\baud\b/],
        ['an expired assertion', (s) => s.assertion({ exp: s.now() - 60 }), /\bexp\b/],
        ['a wrong sub', (s) => s.assertion({ sub: 'someone-else' }), /\bsub\b/],
        ['a wrong iss', (s) => s.assertion({ iss: 'someone-else' }), /\biss\b/],
        ['a missing jti', (s) => s.assertion({ jti: undefined }), /\bjti\b/],
        ['alg none', async (s) => `${b64({ alg: 'none', kid: s.key.kid })}.${b64(s.claims())}.`, /algorithm/],
        ['an unknown kid', (s) => s.assertion({}, { kid: 'no-such-kid' }), UNDISCLOSED],
        [
          'a revoked key',
          async (s) => {
            await s.accounts.revokeKey(s.env, s.id, s.key.kid, 'client');
            return s.assertion();
          },
          UNDISCLOSED,
        ],
        [
          'a bad signature (another key claiming the registered kid)',
          async (s) => new SignJWT(s.claims()).setProtectedHeader({ alg: 'ES256', kid: s.key.kid }).sign((await generateKeyPair('ES256')).privateKey),
          UNDISCLOSED,
        ],
        [
          "an alg other than the key's registered alg",
          async (s) => {
            const ed = await s.accounts.createKey(s.env, s.id, 'EdDSA', 'client');
            return s.assertion({}, { kid: ed.kid });
          },
          UNDISCLOSED,
        ],
        [
          'a disabled client',
          async (s) => {
            await s.admin.setClientEnabled(s.env, s.id, false);
            return s.assertion();
          },
          UNDISCLOSED,
        ],
      ];
      for (const [label, make, description] of refusals) {
        it(`refuses ${label}`, async () => {
          const s = await setup();
          assertError(await s.withAssertion(await make(s)), 401, 'invalid_client', description);
        });
      }

      it('refuses a replayed jti', async () => {
        const s = await setup();
        const jwt = await s.assertion();
        assertToken(await s.withAssertion(jwt));
        assertError(await s.withAssertion(jwt), 401, 'invalid_client', /\bjti\b/);
      });

      // RFC 7523 §3: a jti is kept as long as its assertion would be accepted, here until exp + clock skew.
      it('refuses a replay after exp while the assertion is still accepted thanks to the clock skew', async () => {
        const s = await setup();
        const jwt = await s.assertion({ exp: s.now() + 60 });
        assertToken(await s.withAssertion(jwt));
        s.clock.advance(70_000);
        assertError(await s.withAssertion(jwt), 401, 'invalid_client', /\bjti\b/);
      });

      it('names in its failure event only the client whose key verified the signature, never a made-up id', async () => {
        const s = await setup();
        const named: (string | undefined)[] = [];
        const stop = s.app.events.listen((event) => {
          if (event.type === 'client.authentication_failed') named.push(event.clientId);
        });
        // Not a JWT, a header without kid, and made-up ids in iss and client_id: nobody is named.
        assertError(await s.withAssertion('not.a.jwt', { ...CC, client_id: 'made-up-1' }), 401, 'invalid_client');
        const unsigned = `${b64({ alg: 'ES256' })}.${b64(s.claims({ iss: 'made-up-2' }))}.c2ln`;
        assertError(await s.withAssertion(unsigned), 401, 'invalid_client');
        // Signed by the client's key but refused past the signature (aud, replay): the client is named.
        assertError(await s.withAssertion(await s.assertion({ aud: 'https://elsewhere.example' })), 401, 'invalid_client', /\baud\b/);
        const once = await s.assertion();
        assertToken(await s.withAssertion(once));
        assertError(await s.withAssertion(once), 401, 'invalid_client', /jti/);
        stop();
        assert.deepEqual(named, [undefined, undefined, s.id, s.id]);
      });

      it('refuses a body client_id different from the assertion’s iss', async () => {
        const s = await setup();
        const other = await s.admin.createClient({ env: s.env, name: 'other', scopes: ['read'] });
        assertError(await s.withAssertion(await s.assertion(), { ...CC, client_id: other.client_id }), 401, 'invalid_client');
      });

      it('refuses a wrong client_assertion_type value', async () => {
        const s = await setup();
        const res = await s.post('token', {
          ...CC,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
          client_assertion: await s.assertion(),
        });
        assertError(res, 401, 'invalid_client', /client_assertion_type/);
      });
    });

    describe('malformed combinations are 400 invalid_request', () => {
      it('refuses client_assertion together with HTTP Basic', async () => {
        const s = await setup();
        assertError(await s.withAssertion(await s.assertion(), CC, 'token', { authorization: basic(s.id, s.secret) }), 400, 'invalid_request');
      });

      it('refuses client_assertion together with a body client_secret', async () => {
        const s = await setup();
        assertError(await s.withAssertion(await s.assertion(), { ...CC, client_id: s.id, client_secret: s.secret }), 400, 'invalid_request');
      });

      it('refuses client_assertion without client_assertion_type', async () => {
        const s = await setup();
        assertError(await s.post('token', { ...CC, client_assertion: await s.assertion() }), 400, 'invalid_request', /client_assertion_type/);
      });

      it('refuses client_assertion_type without client_assertion', async () => {
        const s = await setup();
        assertError(await s.post('token', { ...CC, client_assertion_type: ASSERTION_TYPE }), 400, 'invalid_request', /client_assertion\b/);
      });
    });

    describe('throttling', () => {
      it('answers failing assertions 429 with Retry-After past the limit, never a valid one, and recovers after the window', async () => {
        const s = await setup({ authFailureLimit: 3, authFailureWindow: 60 });
        for (let i = 0; i < 3; i++) assertError(await s.withAssertion(await s.assertion({ aud: 'https://wrong.example.test' })), 401, 'invalid_client');
        const res = await s.withAssertion(await s.assertion({ aud: 'https://wrong.example.test' }));
        assertError(res, 429, 'too_many_requests');
        const retryAfter = Number(res.headers['retry-after']);
        assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(res.headers['retry-after']));
        assertToken(await s.withAssertion(await s.assertion()));
        s.clock.advance(61_000);
        assertError(await s.withAssertion(await s.assertion({ aud: 'https://wrong.example.test' })), 401, 'invalid_client');
      });
    });
  });
}
