import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ApiService } from '../../src/admin/apis.ts';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import {
  type BearerErrorCode,
  createDpopNonces,
  createVerifier,
  DPOP_ALGORITHMS,
  MemoryReplayStore,
  type RouteAuthOptions,
  type Verifier,
} from '../../src/resource-server/index.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, suiteStore } from '../helpers/fixtures.ts';
import { ath, DpopClient } from './dpop-client.ts';
import { accessToken, FakeIssuer, ISSUER, NOW, nowSeconds, signingKey, claims as tokenClaims } from './fake-issuer.ts';
import { type Credentials, InProcessIssuer } from './in-process-issuer.ts';
import { ADAPTERS, type ApiAnswer, type ApiCall, type ProtectedApi } from './protected-apis.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sqlite = (await testDatabases()).find((database) => database.name === 'sqlite');
assert.ok(sqlite);

/** A compact JWS with exactly `header`, signed by `signer` (for algorithms Gatehouse never writes). */
function raw(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (data: Buffer) => Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = signer(Buffer.from(input));
  return `${input}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`;
}

const decode = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('forged and unacceptable tokens: the library, its three adapters and Gatehouse introspection agree', () => {
  const suite = suiteStore(sqlite, { before, after });
  let gh: InProcessIssuer;
  let issuer: string;
  let rs: Credentials;
  let verifier: Verifier;
  let valid: { jwt: string; opaque: string; write: string };
  const forged: [string, string][] = [];
  const apis: ProtectedApi[] = [];

  before(async () => {
    gh = new InProcessIssuer(await suite.build());
    for (const env of ['PRODUCTION', 'STAGING']) await gh.t.admin.createEnvironment(env);
    issuer = gh.issuer('PRODUCTION');
    const app = await gh.client('PRODUCTION');
    const opaqueApp = await gh.client('PRODUCTION', { format: 'opaque' });
    rs = await gh.client('PRODUCTION', { resourceServer: true });
    const introspection = { url: `${issuer}/introspect`, clientId: rs.id, clientSecret: rs.secret };
    verifier = createVerifier({
      issuer,
      audience: issuer,
      introspection,
      allowQueryToken: true,
      allowBodyToken: true,
      fetch: gh.fetch,
      now: () => gh.t.clock.now(),
    });
    valid = { jwt: await gh.token('PRODUCTION', app), opaque: await gh.token('PRODUCTION', opaqueApp), write: await gh.token('PRODUCTION', app, 'read write') };
    forged.push(...(await forgeries(app, opaqueApp)));
    for (const adapter of ADAPTERS) apis.push(await adapter(verifier));
  });

  after(async () => {
    for (const api of apis) await api.close();
  });

  /** Every way a token must fail, each built from a real token of this environment or from its real key. */
  async function forgeries(app: Credentials, opaqueApp: Credentials): Promise<[string, string][]> {
    const claims = decode(valid.jwt);
    const now = Math.floor(gh.t.clock.now() / 1000);
    const key = await gh.activeKey('PRODUCTION');
    const [header = '', , signature = ''] = valid.jwt.split('.');
    const publicPem = createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const hs = (secret: string | Buffer) =>
      raw({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, claims, (data) => createHmac('sha256', secret).update(data).digest());
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const revoked = await gh.token('PRODUCTION', opaqueApp);
    await gh.revoke('PRODUCTION', opaqueApp, revoked);
    const stagingApp = await gh.client('STAGING');
    const stagingOpaque = await gh.client('STAGING', { format: 'opaque' });
    return [
      ['tampered payload', `${header}.${b64({ ...claims, scope: 'read write admin' })}.${signature}`],
      ['alg none', raw({ alg: 'none', typ: 'at+jwt', kid: key.kid }, claims, () => '')],
      ['HS256 keyed with the public JWK', hs(JSON.stringify(key.publicJwk))],
      ['HS256 keyed with the public PEM', hs(String(publicPem))],
      ['RS256 under the ES256 key id', raw({ alg: 'RS256', typ: 'at+jwt', kid: key.kid }, claims, (data) => sign('sha256', data, rsa))],
      ['unknown kid', signCompactJwt({ kid: 'not-a-published-key', typ: 'at+jwt' }, claims, stranger, 'ES256')],
      ['typ JWT', await gh.signed('PRODUCTION', claims, 'JWT')],
      ['an id token (typ JWT, aud the client, nonce)', await gh.signed('PRODUCTION', { ...claims, aud: app.id, nonce: 'n-0S6_WzA2Mj', auth_time: now }, 'JWT')],
      ['wrong iss', await gh.signed('PRODUCTION', { ...claims, iss: gh.issuer('STAGING') })],
      ['wrong aud', await gh.signed('PRODUCTION', { ...claims, aud: 'https://elsewhere.example.test' })],
      ['expired', await gh.signed('PRODUCTION', { ...claims, iat: now - 7200, exp: now - 3600 })],
      ['not yet valid', await gh.signed('PRODUCTION', { ...claims, nbf: now + 3600 })],
      ['a JWT of another environment', await gh.token('STAGING', stagingApp)],
      ['an opaque token of another environment', await gh.token('STAGING', stagingOpaque)],
      ['a revoked opaque token', revoked],
      ['an unknown opaque token', `gat_${'A'.repeat(43)}`],
      ['not a token', 'abc'],
    ];
  }

  it('Gatehouse introspection answers exactly {"active": false} for each', async () => {
    for (const [name, token] of forged) assert.deepEqual(await gh.introspect('PRODUCTION', rs, token), { active: false }, name);
    assert.equal((await gh.introspect('PRODUCTION', rs, valid.jwt)).active, true);
  });

  it('the library refuses each with invalid_token', async () => {
    for (const [name, token] of forged) {
      const error = await verifier.verifyToken(token).then(
        () => assert.fail(`${name} was accepted`),
        (e: { code?: string }) => e,
      );
      assert.equal(error.code, 'invalid_token', name);
    }
  });

  for (const index of ADAPTERS.keys()) {
    const adapterName = ['fastify', 'express', 'fetch'][index];
    describe(`through the ${adapterName} adapter`, () => {
      const api = () => apis[index] as ProtectedApi;
      const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

      it('answers each forged token 401 invalid_token with its challenge', async () => {
        for (const [name, token] of forged) {
          const res = await api().call(bearer(token));
          assert.equal(res.status, 401, `${name}: ${res.body}`);
          assert.match(res.headers['www-authenticate'] ?? '', new RegExp(`^Bearer realm="${issuer}", error="invalid_token", error_description="[^"]+"$`), name);
          assert.equal(res.headers['cache-control'], 'no-store', name);
          assert.equal((JSON.parse(res.body) as { error: string }).error, 'invalid_token', name);
          assert.ok(!res.body.includes(token) && !(res.headers['www-authenticate'] ?? '').includes(token), `${name}: the token is echoed`);
        }
      });

      it('serves valid JWT and opaque tokens with their claims', async () => {
        for (const token of [valid.jwt, valid.opaque]) {
          const res = await api().call(bearer(token));
          assert.equal(res.status, 200, res.body);
          const body = JSON.parse(res.body) as { sub: string; client_id: string; scopes: string[] };
          assert.deepEqual(body.scopes, ['read']);
          assert.equal(body.sub, body.client_id);
        }
        const post = await api().call({ method: 'POST', ...bearer(valid.write) });
        assert.equal(post.status, 200, post.body);
      });

      it('answers RFC 6750 errors: no token, missing scope, two methods at once, a body token', async () => {
        const none = await api().call({});
        assert.deepEqual([none.status, none.headers['www-authenticate'], none.body], [401, `Bearer realm="${issuer}"`, '']);
        const scope = await api().call({ method: 'POST', ...bearer(valid.jwt) });
        assert.equal(scope.status, 403);
        assert.match(scope.headers['www-authenticate'] ?? '', /^Bearer realm="[^"]+", error="insufficient_scope", error_description="[^"]+", scope="write"$/);
        const admin = await api().call({ path: '/admin', ...bearer(valid.write) });
        assert.deepEqual([admin.status, (JSON.parse(admin.body) as { error: string }).error], [403, 'insufficient_scope']);
        const twice = await api().call({ path: `/invoices?access_token=${valid.jwt}`, ...bearer(valid.jwt) });
        assert.deepEqual([twice.status, (JSON.parse(twice.body) as { error: string }).error], [400, 'invalid_request']);
        assert.match(twice.headers['www-authenticate'] ?? '', /error="invalid_request"/);
        const form = { 'content-type': 'application/x-www-form-urlencoded' };
        const body = await api().call({ method: 'POST', headers: form, body: `access_token=${valid.write}` });
        assert.equal(body.status, 200, body.body);
        const query = await api().call({ path: `/invoices?access_token=${valid.jwt}` });
        assert.equal(query.status, 200, query.body);
      });
    });
  }

  it('a token obtained for API A is refused by the verifier of API B, and accepted by A (RFC 8707 resource)', async () => {
    const app = await gh.client('PRODUCTION');
    const apisService = new ApiService(gh.t.config, gh.t.store, gh.t.clock, (envId) => gh.t.app.core.apis.invalidate(envId));
    const [billing, reports] = ['https://api.example.test/billing', 'https://api.example.test/reports'];
    for (const identifier of [billing, reports]) {
      await apisService.create({ env: 'PRODUCTION', identifier, name: identifier, scopes: [{ name: 'read', description: 'Read' }], clientIds: [app.id] });
    }
    const res = await gh.t.app.server.inject({
      method: 'POST',
      url: '/envs/PRODUCTION/token',
      headers: { authorization: basic(app.id, app.secret), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource: billing }).toString(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const token = (res.json() as { access_token: string }).access_token;
    const verifierFor = (audience: string) => createVerifier({ issuer, audience, fetch: gh.fetch, now: () => gh.t.clock.now() });
    assert.equal((await verifierFor(billing).verifyToken(token)).claims.aud, billing);
    const error = await verifierFor(reports)
      .verifyToken(token)
      .then(
        () => assert.fail('a token for the billing API was accepted by the reports API'),
        (e: { code?: string }) => e,
      );
    assert.equal(error.code, 'invalid_token');
    // An opaque token that names no API is for the issuer: no API's verifier takes it.
    const opaqueApp = await gh.client('PRODUCTION', { format: 'opaque' });
    const introspection = { url: `${issuer}/introspect`, clientId: rs.id, clientSecret: rs.secret };
    const billingWithIntrospection = createVerifier({ issuer, audience: billing, introspection, fetch: gh.fetch, now: () => gh.t.clock.now() });
    const opaqueError = await billingWithIntrospection.verifyToken(await gh.token('PRODUCTION', opaqueApp)).then(
      () => assert.fail('an opaque token for no API was accepted by the billing API'),
      (e: { code?: string }) => e,
    );
    assert.equal(opaqueError.code, 'invalid_token');
  });

  it('refuses a revoked JWT when it checks revocation, and only then', async () => {
    const app = await gh.client('PRODUCTION');
    const introspection = { url: `${issuer}/introspect`, clientId: rs.id, clientSecret: rs.secret };
    const options = { issuer, audience: issuer, introspection, fetch: gh.fetch, now: () => gh.t.clock.now() };
    const checking = createVerifier({ ...options, checkRevocation: true });
    const local = createVerifier(options);
    const token = await gh.token('PRODUCTION', app);
    assert.equal((await checking.verifyToken(token)).format, 'jwt');
    await gh.revoke('PRODUCTION', app, token);
    gh.t.clock.advance(10_000);
    const error = await checking.verifyToken(token).then(
      () => assert.fail('a revoked JWT was accepted by a verifier that checks revocation'),
      (e: { code?: string }) => e,
    );
    assert.equal(error.code, 'invalid_token');
    // Without the check, a JWT is verified locally only, until it expires (README: Protecting your API).
    assert.equal((await local.verifyToken(token)).format, 'jwt');
    assert.throws(() => createVerifier({ issuer, audience: issuer, checkRevocation: true }), /checkRevocation must be used with introspection/);
  });

  it('honours a revocation once the short introspection cache has passed', async () => {
    const opaqueApp = await gh.client('PRODUCTION', { format: 'opaque' });
    const token = await gh.token('PRODUCTION', opaqueApp);
    assert.equal((await verifier.verifyToken(token)).format, 'opaque');
    await gh.revoke('PRODUCTION', opaqueApp, token);
    gh.t.clock.advance(10_000);
    const error = await verifier.verifyToken(token).then(
      () => assert.fail('a revoked token was accepted after the cache time'),
      (e: { code?: string }) => e,
    );
    assert.equal(error.code, 'invalid_token');
  });
});

describe('forged and unacceptable DPoP proofs (RFC 9449): each refused through the three adapters, correct ones accepted', () => {
  const PUBLIC = 'https://api.example.test';
  const ALGS = DPOP_ALGORITHMS.join(' ');
  let clock = NOW;
  const now = () => clock;
  const key = signingKey('k1');
  const issuer = new FakeIssuer(key);
  const base = { issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now };
  const nonces = createDpopNonces({ secret: 'a shared secret of the API nodes, 32+ bytes', now });
  /** Each API of the table, by the verifier (and route option) protecting it. */
  const setups: Record<string, [Verifier, RouteAuthOptions?]> = {
    // Today's default: Bearer only.
    bearer: [createVerifier(base)],
    // DPoP allowed beside Bearer, behind a proxy: htu is checked against the public origin; one replay store.
    allowed: [createVerifier({ ...base, dpop: { mode: 'allowed', publicOrigin: PUBLIC, replayStore: new MemoryReplayStore(1_000, now) } })],
    // DPoP required with resource-server nonces (§9).
    nonce: [createVerifier({ ...base, dpop: { mode: 'required', publicOrigin: PUBLIC, nonces } })],
    // DPoP allowed, htu built by the adapter from the request itself.
    origin: [createVerifier({ ...base, dpop: 'allowed' })],
    // A bearer-only verifier whose routes require DPoP.
    route: [createVerifier(base), { dpop: 'required' }],
  };
  type Setup = keyof typeof setups;
  let client: DpopClient;
  let stranger: DpopClient;
  let bound: string;
  let plain: string;

  before(async () => {
    client = await DpopClient.create();
    stranger = await DpopClient.create();
    bound = accessToken(key, tokenClaims({ scope: 'read write', cnf: { jkt: client.jkt } }));
    plain = accessToken(key, tokenClaims({ scope: 'read' }));
  });

  const htuOf = (setup: Setup, api: ProtectedApi, path = '/invoices') => `${setup === 'allowed' || setup === 'nonce' ? PUBLIC : api.origin}${path}`;
  const dpopCall = (token: string, proof: string, extra: ApiCall = {}): ApiCall => ({ ...extra, headers: { authorization: `DPoP ${token}`, dpop: proof } });
  /** A correct proof for GET /invoices on `api`, with `changes` applied. */
  const proofFor = (setup: Setup, api: ProtectedApi, changes: { claims?: Record<string, unknown>; header?: Record<string, unknown>; by?: DpopClient } = {}) =>
    (changes.by ?? client).proof({ htm: 'GET', htu: htuOf(setup, api), token: bound, iat: nowSeconds, ...changes });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = (api: ProtectedApi) => ({ htm: 'GET', htu: htuOf('allowed', api), iat: nowSeconds, jti: randomUUID(), ath: ath(bound) });

  interface Row {
    name: string;
    setup: Setup;
    /** The scheme the request used: its challenge carries the error. */
    scheme: 'Bearer' | 'DPoP';
    error: BearerErrorCode;
    request(api: ProtectedApi): Promise<ApiCall>;
  }

  const rows: Row[] = [
    {
      name: 'a DPoP-bound token presented as Bearer to a bearer-only API',
      setup: 'bearer',
      scheme: 'Bearer',
      error: 'invalid_token',
      request: async () => ({ headers: { authorization: `Bearer ${bound}` } }),
    },
    {
      name: 'a DPoP-bound token presented as Bearer, with its proof, to an API allowing DPoP',
      setup: 'allowed',
      scheme: 'Bearer',
      error: 'invalid_token',
      request: async (api) => ({ headers: { authorization: `Bearer ${bound}`, dpop: await proofFor('allowed', api) } }),
    },
    {
      name: 'a bearer token to a route requiring DPoP',
      setup: 'route',
      scheme: 'Bearer',
      error: 'invalid_token',
      request: async () => ({ headers: { authorization: `Bearer ${plain}` } }),
    },
    {
      name: 'a token bound to no key presented as DPoP',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_token',
      request: async (api) => dpopCall(plain, await client.proof({ htm: 'GET', htu: htuOf('allowed', api), token: plain, iat: nowSeconds })),
    },
    {
      name: 'a DPoP token without a proof',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async () => ({ headers: { authorization: `DPoP ${bound}` } }),
    },
    {
      name: 'a proof for another method',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { htm: 'POST' } })),
    },
    {
      name: 'a proof for another path',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { htu: `${PUBLIC}/admin` } })),
    },
    {
      name: 'a proof for another origin',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { htu: 'https://elsewhere.example.test/invoices' } })),
    },
    {
      name: 'a proof for the URL the proxy sees, not the public one',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { htu: `${api.origin}/invoices` } })),
    },
    {
      name: 'a proof signed by another key (thumbprint is not cnf.jkt)',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_token',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { by: stranger })),
    },
    {
      name: 'a proof whose ath is the hash of another token',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { ath: ath(plain) } })),
    },
    {
      name: 'a proof without ath',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { ath: undefined } })),
    },
    {
      name: 'a replayed proof (same jti, accepted once)',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => {
        const call = dpopCall(bound, await proofFor('allowed', api));
        const first = await api.call(call);
        assert.equal(first.status, 200, `${api.name}: the first use was refused: ${first.body}`);
        return call;
      },
    },
    {
      name: 'a proof too old (iat 2 minutes ago)',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { iat: nowSeconds - 120 } })),
    },
    {
      name: 'a proof from the future (iat in 1 minute)',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { claims: { iat: nowSeconds + 60 } })),
    },
    {
      name: 'typ JWT',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { header: { typ: 'JWT' } })),
    },
    {
      name: 'alg none',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: client.publicJwk })}.${b64(payload(api))}.`),
    },
    {
      name: 'HS256 keyed with the public JWK',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) =>
        dpopCall(
          bound,
          await new SignJWT(payload(api))
            .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: client.publicJwk } as never)
            .sign(Buffer.from(JSON.stringify(client.publicJwk))),
        ),
    },
    {
      name: 'private key material in jwk',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, await proofFor('allowed', api, { header: { jwk: client.privateJwk } })),
    },
    {
      name: 'two DPoP headers (joined by the HTTP stack)',
      setup: 'allowed',
      scheme: 'DPoP',
      error: 'invalid_dpop_proof',
      request: async (api) => dpopCall(bound, `${await proofFor('allowed', api)}, ${await proofFor('allowed', api)}`),
    },
    {
      name: 'no nonce where the API requires one',
      setup: 'nonce',
      scheme: 'DPoP',
      error: 'use_dpop_nonce',
      request: async (api) => dpopCall(bound, await proofFor('nonce', api)),
    },
    {
      name: 'a nonce the API did not issue',
      setup: 'nonce',
      scheme: 'DPoP',
      error: 'use_dpop_nonce',
      request: async (api) => dpopCall(bound, await proofFor('nonce', api, { claims: { nonce: '0.forged' } })),
    },
  ];

  /** The exact RFC 9449 §7.1 challenges of `setup`, the error in the one of the scheme used. */
  function challengeOf(row: Row): RegExp {
    const error = `error="${row.error}", error_description="[^"]+"`;
    const bearer = (withError: boolean) => `Bearer realm="${ISSUER}"${withError ? `, ${error}` : ''}`;
    const dpop = (withError: boolean) => `DPoP realm="${ISSUER}"${withError ? `, ${error}` : ''}, algs="${ALGS}"`;
    if (row.setup === 'bearer') return new RegExp(`^${bearer(true)}$`);
    if (row.setup === 'nonce' || row.setup === 'route') return new RegExp(`^${dpop(true)}$`);
    return new RegExp(`^${bearer(row.scheme === 'Bearer')}, ${dpop(row.scheme === 'DPoP')}$`);
  }

  for (const [index, adapter] of ADAPTERS.entries()) {
    const adapterName = ['fastify', 'express', 'fetch'][index];
    describe(`through the ${adapterName} adapter`, () => {
      const apis = new Map<Setup, ProtectedApi>();
      const api = (setup: Setup) => apis.get(setup) as ProtectedApi;
      before(async () => {
        for (const [name, [verifier, route]] of Object.entries(setups)) apis.set(name as Setup, await adapter(verifier, route));
      });
      after(async () => {
        for (const each of apis.values()) await each.close();
      });

      for (const row of rows) {
        it(`refuses ${row.name}: 401 ${row.error}`, async () => {
          const res: ApiAnswer = await api(row.setup).call(await row.request(api(row.setup)));
          assert.equal(res.status, 401, res.body);
          assert.equal((JSON.parse(res.body) as { error: string }).error, row.error);
          assert.match(res.headers['www-authenticate'] ?? '', challengeOf(row));
          assert.equal(res.headers['cache-control'], 'no-store');
          assert.equal(res.headers['dpop-nonce'] !== undefined, row.setup === 'nonce', 'DPoP-Nonce only where nonces are used');
          assert.ok(!res.body.includes(bound) && !res.body.includes(plain), 'the token is echoed');
        });
      }

      it('accepts a correct proof: behind a proxy (public origin), with htu from the request, with a query, and on a route requiring DPoP', async () => {
        const calls: [Setup, () => Promise<ApiCall>][] = [
          ['allowed', async () => dpopCall(bound, await proofFor('allowed', api('allowed')))],
          ['origin', async () => dpopCall(bound, await proofFor('origin', api('origin')))],
          ['allowed', async () => dpopCall(bound, await proofFor('allowed', api('allowed')), { path: '/invoices?page=2#top' })],
          ['route', async () => dpopCall(bound, await proofFor('route', api('route')))],
          // The scheme name is case-insensitive (RFC 7235 §2.1).
          ['allowed', async () => ({ headers: { authorization: `dpop ${bound}`, dpop: await proofFor('allowed', api('allowed')) } })],
        ];
        for (const [setup, call] of calls) {
          const res = await api(setup).call(await call());
          assert.equal(res.status, 200, `${setup}: ${res.headers['www-authenticate']} ${res.body}`);
          assert.deepEqual(JSON.parse(res.body), { sub: 'usr_alice', client_id: 'gh_app', scopes: ['read', 'write'] });
        }
        const post = await api('allowed').call({
          method: 'POST',
          headers: { authorization: `DPoP ${bound}`, dpop: await client.proof({ htm: 'POST', htu: `${PUBLIC}/invoices`, token: bound, iat: nowSeconds }) },
        });
        assert.equal(post.status, 200, post.body);
      });

      it('accepts proofs of EdDSA and PS256 keys (RFC 7638 thumbprints of OKP and RSA keys)', async () => {
        for (const alg of ['EdDSA', 'PS256'] as const) {
          const other = await DpopClient.create(alg);
          const token = accessToken(key, tokenClaims({ scope: 'read', cnf: { jkt: other.jkt } }));
          const res = await api('allowed').call(dpopCall(token, await other.proof({ htm: 'GET', htu: `${PUBLIC}/invoices`, token, iat: nowSeconds })));
          assert.equal(res.status, 200, `${alg}: ${res.body}`);
        }
      });

      it('keeps serving bearer tokens where DPoP is allowed, and offers both schemes when no token is sent', async () => {
        const res = await api('allowed').call({ headers: { authorization: `Bearer ${plain}` } });
        assert.equal(res.status, 200, res.body);
        const none = await api('allowed').call({});
        assert.deepEqual(
          [none.status, none.headers['www-authenticate'], none.body],
          [401, `Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", algs="${ALGS}"`, ''],
        );
        const scope = await api('allowed').call({
          path: '/admin',
          ...dpopCall(bound, await proofFor('allowed', api('allowed'), { claims: { htu: `${PUBLIC}/admin` } })),
        });
        assert.equal(scope.status, 403, scope.body);
        assert.match(
          scope.headers['www-authenticate'] ?? '',
          /^Bearer realm="[^"]+", DPoP realm="[^"]+", error="insufficient_scope", error_description="[^"]+", scope="admin", algs="[^"]+"$/,
        );
      });

      it('hands out a nonce with use_dpop_nonce and accepts the retry that carries it (§9)', async () => {
        const first = await api('nonce').call(dpopCall(bound, await proofFor('nonce', api('nonce'))));
        assert.equal(first.status, 401);
        const nonce = first.headers['dpop-nonce'];
        assert.ok(nonce);
        const retry = await api('nonce').call(dpopCall(bound, await proofFor('nonce', api('nonce'), { claims: { nonce } })));
        assert.equal(retry.status, 200, retry.body);
        // Two rotations later the nonce is no longer accepted.
        clock += 600_000;
        try {
          const stale = await api('nonce').call(
            dpopCall(bound, await client.proof({ htm: 'GET', htu: `${PUBLIC}/invoices`, token: bound, iat: Math.floor(clock / 1000), claims: { nonce } })),
          );
          assert.equal(stale.status, 401);
          assert.equal((JSON.parse(stale.body) as { error: string }).error, 'use_dpop_nonce');
          assert.notEqual(stale.headers['dpop-nonce'], nonce);
        } finally {
          clock = NOW;
        }
      });
    });
  }
});
