import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BearerError, createVerifier, OPAQUE_TOKEN_PREFIX, type VerifierOptions } from '../../src/resource-server/index.ts';
import { accessToken, claims, FakeIssuer, ISSUER, NOW, nowSeconds, signingKey } from './fake-issuer.ts';

const key = signingKey('k1');
const CHAIN = { sub: 'svc_b', act: { sub: 'svc_a' } };

function verifier(options: Partial<VerifierOptions> = {}) {
  const issuer = new FakeIssuer(key);
  return { issuer, verifier: createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW, ...options }) };
}

async function refusal(promise: Promise<unknown>): Promise<BearerError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BearerError, String(error));
  return error;
}

describe('createVerifier: allowedActorChains (RFC 8693 §4.1)', () => {
  it('accepts any chain by default and exposes it, current actor first', async () => {
    const token = await verifier().verifier.verifyToken(accessToken(key, claims({ act: CHAIN })));
    assert.deepEqual(token.actors, ['svc_b', 'svc_a']);
  });

  it('accepts exactly the listed chains and refuses the others with 401 invalid_token', async () => {
    const { verifier: v } = verifier({ allowedActorChains: [['svc_b', 'svc_a']] });
    assert.deepEqual((await v.verifyToken(accessToken(key, claims({ act: CHAIN })))).actors, ['svc_b', 'svc_a']);
    for (const act of [{ sub: 'svc_a', act: { sub: 'svc_b' } }, { sub: 'svc_b' }, { sub: 'svc_b', act: { sub: 'svc_a', act: { sub: 'svc_x' } } }, undefined]) {
      const error = await refusal(v.verifyToken(accessToken(key, claims({ act }))));
      assert.deepEqual([error.status, error.code], [401, 'invalid_token'], JSON.stringify(act));
      assert.match(error.message, /delegation chain .* is not accepted here/);
    }
  });

  it('accepts tokens without actors only when [] is listed', async () => {
    const { verifier: v } = verifier({ allowedActorChains: [[], ['svc_b', 'svc_a']] });
    assert.deepEqual((await v.verifyToken(accessToken(key))).actors, []);
    assert.equal((await refusal(v.verifyToken(accessToken(key, claims({ act: { sub: 'svc_a' } }))))).code, 'invalid_token');
  });

  it('takes a predicate, and applies the policy in authenticate and to opaque tokens alike', async () => {
    const introspection = { url: `${ISSUER}/introspect`, clientId: 'gh_rs', clientSecret: 's3cret' };
    const { issuer, verifier: v } = verifier({ introspection, allowedActorChains: (actors) => actors[0] === 'svc_b' });
    const opaque = `${OPAQUE_TOKEN_PREFIX}${'a'.repeat(43)}`;
    const answer = { active: true, iss: ISSUER, aud: ISSUER, sub: 'usr_alice', client_id: 'svc_b', exp: nowSeconds + 60 };
    issuer.answers.set(opaque, { ...answer, act: CHAIN });
    assert.deepEqual((await v.verifyToken(opaque)).actors, ['svc_b', 'svc_a']);
    const other = `${OPAQUE_TOKEN_PREFIX}${'b'.repeat(43)}`;
    issuer.answers.set(other, { ...answer, act: { sub: 'svc_a' } });
    assert.equal((await refusal(v.verifyToken(other))).code, 'invalid_token');
    const request = { method: 'GET', authorization: `Bearer ${accessToken(key, claims({ act: { sub: 'svc_c' } }))}` };
    assert.equal((await refusal(v.authenticate(request))).code, 'invalid_token');
  });

  it('refuses a malformed option at once, naming it', () => {
    for (const bad of [['svc_a'], [[1]], [['']], 'svc_a']) {
      assert.throws(
        () => createVerifier({ issuer: ISSUER, audience: ISSUER, allowedActorChains: bad as never }),
        /createVerifier: allowedActorChains must be an array of arrays of actor ids, or a function/,
      );
    }
  });
});
