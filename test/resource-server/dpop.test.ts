import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import {
  BearerError,
  type BearerRequest,
  createDpopNonces,
  createVerifier,
  type DpopReplayStore,
  jwkThumbprint,
  MemoryReplayStore,
  renderBearerError,
  type VerifierOptions,
} from '../../src/resource-server/index.ts';
import { DpopClient } from './dpop-client.ts';
import { accessToken, claims, FakeIssuer, ISSUER, NOW, nowSeconds, signingKey } from './fake-issuer.ts';

const URL_ = 'https://api.example.test/invoices';

const key = signingKey('k1');
const issuer = new FakeIssuer(key);

async function setup(dpop: VerifierOptions['dpop']) {
  const client = await DpopClient.create();
  const token = accessToken(key, claims({ cnf: { jkt: client.jkt } }));
  const verifier = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW, dpop });
  const request = async (changes: Partial<BearerRequest> = {}): Promise<BearerRequest> => ({
    method: 'GET',
    url: URL_,
    authorization: `DPoP ${token}`,
    dpop: await client.proof({ htm: 'GET', htu: URL_, token, iat: nowSeconds }),
    ...changes,
  });
  return { verifier, request, client, token };
}

async function refusal(promise: Promise<unknown>): Promise<BearerError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BearerError, String(error));
  return error;
}

describe('DPoP in the resource-server library (RFC 9449)', () => {
  it('computes RFC 7638 thumbprints as jose does, and none for a symmetric key', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256'] as const) {
      const client = await DpopClient.create(alg);
      assert.equal(jwkThumbprint(client.publicJwk as Record<string, unknown>), await calculateJwkThumbprint(client.publicJwk));
    }
    assert.equal(jwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' }), undefined);
  });

  it('refuses two DPoP header values given as a list (§4.3 check 1)', async () => {
    const { verifier, request } = await setup('allowed');
    const two = await request();
    const error = await refusal(verifier.authenticate({ ...two, dpop: [String(two.dpop), String(two.dpop)] }));
    assert.equal(error.code, 'invalid_dpop_proof');
    assert.match(error.message, /more than once/);
  });

  it('a failing replay store answers 503 temporarily_unavailable, never an acceptance', async () => {
    const failing: DpopReplayStore = {
      consume: async () => {
        throw new Error('ECONNREFUSED');
      },
    };
    const { verifier, request } = await setup({ mode: 'required', replayStore: failing });
    const error = await refusal(verifier.authenticate(await request()));
    assert.equal(error.code, 'temporarily_unavailable');
    const answer = renderBearerError(error, 'api');
    assert.deepEqual([answer.status, answer.headers['retry-after'], answer.headers['www-authenticate']], [503, '5', undefined]);
  });

  it('a shared replay store refuses on one node the proof another node accepted (§11.1)', async () => {
    const shared = new MemoryReplayStore(10, () => NOW);
    const a = await setup({ mode: 'allowed', replayStore: shared });
    const b = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW, dpop: { replayStore: shared } });
    const request = await a.request();
    assert.equal((await a.verifier.authenticate(request)).jkt, a.client.jkt);
    assert.equal(shared.size, 1);
    const replayed = await refusal(b.authenticate(request));
    assert.deepEqual([replayed.code, replayed.message], ['invalid_dpop_proof', 'the DPoP proof was already used (jti)']);
  });

  it('the in-memory replay store is bounded in entries and forgets entries once expired', () => {
    let now = 0;
    const store = new MemoryReplayStore(3, () => now);
    assert.equal(store.consume('a', 1000), true);
    assert.equal(store.consume('a', 1000), false);
    assert.equal(store.consume('b', 2000), true);
    assert.equal(store.consume('c', 3000), true);
    assert.equal(store.consume('d', 4000), true);
    assert.equal(store.size, 3);
    now = 2500;
    assert.equal(store.consume('e', 5000), true);
    assert.equal(store.size, 3, 'the expired entries went first');
    assert.equal(store.consume('c', 6000), false, 'a live entry is still a replay');
    assert.throws(() => new MemoryReplayStore(0), /maxEntries/);
  });

  it('nonces: the current and the previous window are accepted, nothing else; the secret is required', () => {
    let now = NOW;
    const nonces = createDpopNonces({ secret: 's'.repeat(32), rotateMs: 60_000, now: () => now });
    const first = nonces.current();
    assert.equal(nonces.accepts(first), true);
    now += 60_000;
    assert.notEqual(nonces.current(), first);
    assert.equal(nonces.accepts(first), true);
    now += 60_000;
    assert.equal(nonces.accepts(first), false);
    const other = createDpopNonces({ secret: 'o'.repeat(32), rotateMs: 60_000, now: () => now });
    assert.equal(nonces.accepts(other.current()), false);
    assert.equal(nonces.accepts('not a nonce'), false);
    assert.throws(() => createDpopNonces({ secret: 'short' }), /at least 32 bytes/);
  });

  it('bad DPoP options fail at once, naming the key', () => {
    const base = { issuer: ISSUER, audience: ISSUER };
    assert.throws(() => createVerifier({ ...base, dpop: 'sometimes' as never }), /dpop\.mode/);
    assert.throws(() => createVerifier({ ...base, dpop: { algorithms: ['HS256' as never] } }), /dpop\.algorithms/);
    assert.throws(() => createVerifier({ ...base, dpop: { maxProofAge: 0 } }), /dpop\.maxProofAge/);
    assert.throws(() => createVerifier({ ...base, dpop: { publicOrigin: 'ftp://x' } }), /dpop\.publicOrigin/);
  });

  it('a DPoP-bound token is refused as a bearer token even by a bearer-only verifier, and the DPoP scheme is not a token there', async () => {
    const { verifier, token, request } = await setup(undefined);
    const error = await refusal(verifier.authenticate({ method: 'GET', authorization: `Bearer ${token}` }));
    assert.equal(error.code, 'invalid_token');
    assert.match(renderBearerError(error, 'api').headers['www-authenticate'] ?? '', /^Bearer realm="api", error="invalid_token"/);
    const dpop = await refusal(verifier.authenticate(await request()));
    assert.equal(dpop.code, undefined);
    assert.equal(renderBearerError(dpop, 'api').headers['www-authenticate'], 'Bearer realm="api"');
  });
});
