import assert from 'node:assert/strict';
import { createHmac, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { OPAQUE_TOKEN_PREFIX as ISSUED_PREFIX } from '../../src/oauth/access-tokens.ts';
import { BearerError, createVerifier, OPAQUE_TOKEN_PREFIX, renderBearerError, type VerifierOptions } from '../../src/resource-server/index.ts';
import { accessToken, claims, FakeIssuer, ISSUER, NOW, nowSeconds, signingKey } from './fake-issuer.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS with exactly `header`, signed by `signer`: for algorithms the issuer's signer never writes. */
function rawToken(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (data: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

function setup(options: Partial<VerifierOptions> = {}) {
  const key = signingKey('k1');
  const issuer = new FakeIssuer(key);
  let now = NOW;
  const verifier = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => now, ...options });
  return { key, issuer, verifier, advance: (ms: number) => (now += ms) };
}

async function refusal(promise: Promise<unknown>): Promise<BearerError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BearerError, String(error));
  return error;
}

describe('createVerifier: JWT access tokens', () => {
  it('accepts an RFC 9068 token signed with ES256 or EdDSA and returns its claims', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const key = signingKey(`k-${alg}`, alg);
      const issuer = new FakeIssuer(key);
      const verifier = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW });
      const token = await verifier.verifyToken(accessToken(key));
      assert.equal(token.format, 'jwt');
      assert.equal(token.sub, 'usr_alice');
      assert.equal(token.clientId, 'gh_app');
      assert.deepEqual(token.scopes, ['invoices:read', 'invoices:write']);
      assert.equal(token.expiresAt, nowSeconds + 3600);
      assert.equal(token.claims.jti, claims().jti);
    }
  });

  it('refuses each broken claim rule with invalid_token', async () => {
    const { key, verifier } = setup();
    const cases: [string, string][] = [
      ['expired', accessToken(key, claims({ exp: nowSeconds - 31 }))],
      ['not yet valid', accessToken(key, claims({ nbf: nowSeconds + 31 }))],
      ['issued in the future', accessToken(key, claims({ iat: nowSeconds + 31 }))],
      ['wrong iss', accessToken(key, claims({ iss: 'https://auth.example.test/envs/STAGING' }))],
      ['wrong aud', accessToken(key, claims({ aud: 'https://other.example.test' }))],
      ['typ JWT', accessToken(key, claims(), { typ: 'JWT' })],
      ['no typ', accessToken(key, claims(), { typ: undefined })],
      ['scope not a string', accessToken(key, claims({ scope: ['a'] }))],
      ...(['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'].map((name) => [`no ${name}`, accessToken(key, claims({ [name]: undefined }))]) as [
        string,
        string,
      ][]),
    ];
    for (const [name, token] of cases) {
      const error = await refusal(verifier.verifyToken(token));
      assert.equal(error.code, 'invalid_token', name);
      assert.equal(error.status, 401, name);
      assert.ok(!error.message.includes(token), name);
    }
  });

  it('tolerates the configured clock skew and no more', async () => {
    const { key, verifier } = setup({ clockSkew: 60 });
    await verifier.verifyToken(accessToken(key, claims({ exp: nowSeconds - 59, nbf: nowSeconds + 59 })));
    assert.equal((await refusal(verifier.verifyToken(accessToken(key, claims({ exp: nowSeconds - 60 }))))).code, 'invalid_token');
  });

  it('accepts an audience array naming this API', async () => {
    const { key, verifier } = setup({ audience: ['https://api.example.test', ISSUER] });
    const token = await verifier.verifyToken(accessToken(key, claims({ aud: ['https://api.example.test'] })));
    assert.equal(token.sub, 'usr_alice');
  });

  it('binds the algorithm to the key: none, HS256 over the public key and another curve are refused', async () => {
    const { key, verifier } = setup();
    const payload = b64(claims());
    const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid: 'k1' })}.${payload}.`;
    const hsHeader = b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' });
    const secret = JSON.stringify(key.publicJwk);
    const hs = `${hsHeader}.${payload}.${createHmac('sha256', secret).update(`${hsHeader}.${payload}`).digest('base64url')}`;
    const ed = signingKey('k1', 'EdDSA');
    const edAsEs = rawToken({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(), (data) => sign(null, data, ed.privateKey));
    for (const token of [unsigned, hs, accessToken(ed), edAsEs]) assert.equal((await refusal(verifier.verifyToken(token))).code, 'invalid_token');
  });

  it('uses a key only with the algorithm its JWK names, and never a JWK with private members', async () => {
    const ed = signingKey('e1', 'EdDSA');
    ed.publicJwk.alg = 'Ed25519';
    const withPrivate = signingKey('p1');
    withPrivate.publicJwk.d = 'AAAA';
    const issuer = new FakeIssuer(ed, withPrivate);
    const verifier = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW, jwksCooldownMs: 0 });
    assert.equal((await refusal(verifier.verifyToken(accessToken(ed)))).code, 'invalid_token');
    await verifier.verifyToken(rawToken({ alg: 'Ed25519', typ: 'at+jwt', kid: 'e1' }, claims(), (data) => sign(null, data, ed.privateKey)));
    assert.equal((await refusal(verifier.verifyToken(accessToken(withPrivate)))).code, 'invalid_token');
  });
});

describe('createVerifier: the JWKS cache', () => {
  it('refetches on an unknown kid at most once per cooldown', async () => {
    const { key, issuer, verifier, advance } = setup({ jwksCooldownMs: 30_000 });
    await verifier.verifyToken(accessToken(key));
    await verifier.verifyToken(accessToken(key));
    assert.equal(issuer.jwksFetches, 1);
    const next = signingKey('k2');
    issuer.keys.push(next);
    for (let i = 0; i < 3; i += 1) assert.equal((await refusal(verifier.verifyToken(accessToken(next)))).code, 'invalid_token');
    assert.equal(issuer.jwksFetches, 1, 'no fetch within the cooldown');
    advance(30_000);
    await verifier.verifyToken(accessToken(next));
    await verifier.verifyToken(accessToken(key));
    assert.equal(issuer.jwksFetches, 2);
    const forged = signingKey('k3');
    advance(30_000);
    for (let i = 0; i < 5; i += 1) await refusal(verifier.verifyToken(accessToken(forged)));
    assert.equal(issuer.jwksFetches, 3, 'forged kids cost one fetch per cooldown');
  });

  it('refreshes a set older than its max-age, so a key published ahead of its first token is known then', async () => {
    const { key, issuer, verifier, advance } = setup({ jwksCooldownMs: 300_000 });
    issuer.jwksMaxAge = 60;
    await verifier.verifyToken(accessToken(key));
    const next = signingKey('k2');
    issuer.keys.push(next);
    advance(59_000);
    assert.equal((await refusal(verifier.verifyToken(accessToken(next)))).code, 'invalid_token', 'within max-age and the cooldown: not refetched');
    assert.equal(issuer.jwksFetches, 1);
    advance(1_000);
    await verifier.verifyToken(accessToken(next));
    await verifier.verifyToken(accessToken(key));
    assert.equal(issuer.jwksFetches, 2);
  });

  it('drops a kid a fresh JWKS no longer lists: a revoked key is refused after the next refresh, even while cached', async () => {
    const { key, issuer, verifier, advance } = setup({ jwksCooldownMs: 300_000 });
    issuer.jwksMaxAge = 60;
    const leaked = accessToken(key);
    await verifier.verifyToken(leaked);
    // The issuer revokes k1 (keys revoke): its JWKS now lists only the fresh key.
    const fresh = signingKey('k2');
    issuer.keys.splice(0, issuer.keys.length, fresh);
    advance(59_999);
    await verifier.verifyToken(leaked);
    assert.equal(issuer.jwksFetches, 1, 'within the max-age the cached set is used');
    advance(1);
    const refused = await refusal(verifier.verifyToken(leaked));
    assert.deepEqual([refused.code, refused.status, refused.message], ['invalid_token', 401, 'the token is signed by an unknown key']);
    assert.equal(issuer.jwksFetches, 2);
    await verifier.verifyToken(accessToken(fresh));
    advance(300_000);
    await refusal(verifier.verifyToken(leaked));
    assert.equal(issuer.jwksFetches, 3);
  });

  it('drops a revoked kid as soon as a token of the fresh key makes it refetch within the max-age', async () => {
    const { key, issuer, verifier, advance } = setup({ jwksCooldownMs: 1_000 });
    issuer.jwksMaxAge = 600;
    const leaked = accessToken(key);
    await verifier.verifyToken(leaked);
    const fresh = signingKey('k2');
    issuer.keys.splice(0, issuer.keys.length, fresh);
    advance(1_000);
    await verifier.verifyToken(accessToken(fresh));
    assert.equal(issuer.jwksFetches, 2);
    assert.equal((await refusal(verifier.verifyToken(leaked))).code, 'invalid_token');
  });

  it('shares one fetch between concurrent lookups', async () => {
    const { key, issuer, verifier } = setup();
    issuer.hold();
    const pending = Array.from({ length: 10 }, () => verifier.verifyToken(accessToken(key)));
    issuer.open();
    await Promise.all(pending);
    assert.equal(issuer.jwksFetches, 1);
  });

  it('keeps the known keys when a refetch fails, and answers 503 when it has none', async () => {
    const { key, issuer, verifier, advance } = setup();
    issuer.down = true;
    const unavailable = await refusal(verifier.verifyToken(accessToken(key)));
    assert.equal(unavailable.code, 'temporarily_unavailable');
    assert.equal(unavailable.status, 503);
    issuer.down = false;
    advance(30_000);
    await verifier.verifyToken(accessToken(key));
    issuer.down = true;
    advance(11 * 60_000);
    await verifier.verifyToken(accessToken(key));
    assert.equal((await refusal(verifier.verifyToken(accessToken(signingKey('k9'))))).code, 'temporarily_unavailable');
  });
});

describe('createVerifier: opaque tokens by introspection', () => {
  const introspection = { url: `${ISSUER}/introspect`, clientId: 'gh_rs', clientSecret: 's3cret' };
  const opaque = `${OPAQUE_TOKEN_PREFIX}${'a'.repeat(43)}`;
  const active = {
    active: true,
    iss: ISSUER,
    aud: ISSUER,
    sub: 'gh_app',
    client_id: 'gh_app',
    scope: 'invoices:read',
    exp: nowSeconds + 60,
    iat: nowSeconds,
    token_type: 'Bearer',
  };

  it('recognises the prefix Gatehouse gives its opaque tokens', () => {
    assert.equal(OPAQUE_TOKEN_PREFIX, ISSUED_PREFIX);
  });

  it('introspects with the resource server credentials and reuses the answer briefly, never past exp', async () => {
    const { issuer, verifier, advance } = setup({ introspection, introspectionCacheMs: 10_000 });
    issuer.answers.set(opaque, active);
    const token = await verifier.verifyToken(opaque);
    assert.deepEqual([token.format, token.sub, token.clientId, token.scopes], ['opaque', 'gh_app', 'gh_app', ['invoices:read']]);
    assert.equal(issuer.seen[0]?.authorization, `Basic ${Buffer.from('gh_rs:s3cret').toString('base64')}`);
    await verifier.verifyToken(opaque);
    assert.equal(issuer.introspections, 1);
    advance(10_000);
    await verifier.verifyToken(opaque);
    assert.equal(issuer.introspections, 2, 'reused for introspectionCacheMs only');
    const short = `${OPAQUE_TOKEN_PREFIX}${'b'.repeat(43)}`;
    issuer.answers.set(short, { ...active, exp: Math.floor((NOW + 10_000) / 1000) + 5 });
    await verifier.verifyToken(short);
    issuer.answers.delete(short);
    advance(4_999);
    await verifier.verifyToken(short);
    advance(1);
    assert.equal((await refusal(verifier.verifyToken(short))).code, 'invalid_token', 'the cached answer ends at exp');
  });

  it('refuses inactive answers, another issuer and another audience, and does not cache refusals', async () => {
    const { issuer, verifier } = setup({ introspection });
    assert.equal((await refusal(verifier.verifyToken(opaque))).code, 'invalid_token');
    assert.equal((await refusal(verifier.verifyToken(opaque))).code, 'invalid_token');
    assert.equal(issuer.introspections, 2);
    issuer.answers.set(opaque, { ...active, iss: 'https://auth.example.test/envs/STAGING' });
    assert.equal((await refusal(verifier.verifyToken(opaque))).code, 'invalid_token');
    issuer.answers.set(opaque, { ...active, aud: 'https://other.example.test' });
    assert.equal((await refusal(verifier.verifyToken(opaque))).code, 'invalid_token');
  });

  it('answers 503 when the endpoint is down, and refuses opaque tokens when no endpoint is configured', async () => {
    const { issuer, verifier } = setup({ introspection });
    issuer.down = true;
    assert.equal((await refusal(verifier.verifyToken(opaque))).code, 'temporarily_unavailable');
    const { verifier: local } = setup();
    assert.equal((await refusal(local.verifyToken(opaque))).code, 'invalid_token');
  });
});

describe('authenticate: RFC 6750 extraction and scopes', () => {
  const get = (authorization?: string | string[], query?: string) => ({ method: 'GET', authorization, query });

  it('reads the Bearer header with any scheme case and checks the scopes', async () => {
    const { key, verifier } = setup({ requiredScopes: ['invoices:read'] });
    const jwt = accessToken(key);
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) assert.equal((await verifier.authenticate(get(`${scheme} ${jwt}`))).sub, 'usr_alice');
    const error = await refusal(verifier.authenticate(get(`Bearer ${jwt}`), ['invoices:admin']));
    assert.deepEqual([error.status, error.code, error.scope], [403, 'insufficient_scope', ['invoices:read', 'invoices:admin']]);
  });

  it('answers no token without an error code, and malformed requests with invalid_request', async () => {
    const { key, verifier } = setup({ allowQueryToken: true, allowBodyToken: true });
    const jwt = accessToken(key);
    for (const request of [get(), get('Basic Zm9vOmJhcg=='), get(undefined, 'x=1')]) {
      const error = await refusal(verifier.authenticate(request));
      assert.deepEqual([error.status, error.code], [401, undefined]);
    }
    const malformed = [
      get('Bearer'),
      get('Bearer a b'),
      get([`Bearer ${jwt}`, `Bearer ${jwt}`]),
      get(`Bearer ${jwt}`, `access_token=${jwt}`),
      get(undefined, `access_token=${jwt}&access_token=${jwt}`),
      { method: 'GET', authorization: undefined, bodyTokens: [jwt] },
      { method: 'POST', authorization: `Bearer ${jwt}`, bodyTokens: [jwt] },
    ];
    for (const request of malformed) assert.deepEqual((await refusal(verifier.authenticate(request))).code, 'invalid_request', JSON.stringify(request));
    assert.equal((await verifier.authenticate(get(undefined, `access_token=${jwt}`))).sub, 'usr_alice');
    assert.equal((await verifier.authenticate({ method: 'POST', authorization: undefined, bodyTokens: [jwt] })).sub, 'usr_alice');
  });

  it('ignores query and body tokens unless enabled', async () => {
    const { key, verifier } = setup();
    const jwt = accessToken(key);
    assert.equal((await refusal(verifier.authenticate(get(undefined, `access_token=${jwt}`)))).code, undefined);
    assert.equal((await refusal(verifier.authenticate({ method: 'POST', authorization: undefined, bodyTokens: [jwt] }))).code, undefined);
  });
});

describe('renderBearerError', () => {
  it('renders each RFC 6750 answer with its exact challenge', () => {
    const render = (error: BearerError) => renderBearerError(error, 'invoices');
    assert.deepEqual(render(new BearerError(undefined, 'an access token is required')), {
      status: 401,
      headers: { 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="invoices"' },
      body: '',
    });
    const invalid = render(new BearerError('invalid_token', 'the token has expired'));
    assert.equal(invalid.status, 401);
    assert.equal(invalid.headers['www-authenticate'], 'Bearer realm="invoices", error="invalid_token", error_description="the token has expired"');
    assert.deepEqual(JSON.parse(invalid.body), { error: 'invalid_token', error_description: 'the token has expired' });
    const scope = render(new BearerError('insufficient_scope', 'the token lacks a required scope', ['a', 'b']));
    assert.equal(scope.status, 403);
    assert.equal(
      scope.headers['www-authenticate'],
      'Bearer realm="invoices", error="insufficient_scope", error_description="the token lacks a required scope", scope="a b"',
    );
    assert.equal(render(new BearerError('invalid_request', 'x')).status, 400);
    const down = render(new BearerError('temporarily_unavailable', 'down'));
    assert.deepEqual([down.status, down.headers['retry-after'], down.headers['www-authenticate']], [503, '5', undefined]);
  });
});

describe('createVerifier: settings', () => {
  it('fails fast on a bad setting, naming it', () => {
    const bad: [Partial<VerifierOptions>, RegExp][] = [
      [{ issuer: 'not a url' }, /issuer/],
      [{ audience: [] }, /audience/],
      [{ jwksCooldownMs: -1 }, /jwksCooldownMs/],
      [{ introspection: { url: 'x', clientId: 'a', clientSecret: 'b' } }, /introspection/],
      [{ requiredScopes: ['a b'] }, /requiredScopes/],
    ];
    for (const [options, message] of bad) assert.throws(() => createVerifier({ issuer: ISSUER, audience: ISSUER, ...options }), message);
  });
});
