import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BearerError, createVerifier } from '../../src/resource-server/index.ts';
import { DpopClient } from './dpop-client.ts';
import { accessToken, claims, FakeIssuer, ISSUER, NOW, nowSeconds, signingKey } from './fake-issuer.ts';

const key = signingKey('k1');
const issuer = new FakeIssuer(key);
const verifier = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW, allowQueryToken: true, allowBodyToken: true });
const valid = accessToken(key);

/** Settles to the refusal's status, or 200; anything but a BearerError fails the property. */
async function outcome(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    assert.ok(error instanceof BearerError, `unexpected ${String(error)}`);
    assert.ok([400, 401, 403].includes(error.status), `status ${error.status}`);
    return error.status;
  }
}

const pieces = fc.oneof(fc.string(), fc.constantFrom('Bearer', 'bearer', ' ', '.', '=', 'eyJ', 'gat_', valid, valid.split('.')[0] ?? ''));
const text = fc.array(pieces, { maxLength: 6 }).map((parts) => parts.join(''));

describe('the verifier on untrusted input', () => {
  it('answers any Authorization header, query and body with a 4xx refusal or the valid token, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(text),
        fc.option(text),
        fc.option(fc.array(text, { maxLength: 2 })),
        fc.constantFrom('GET', 'POST'),
        async (authorization, query, body, method) => {
          const status = await outcome(
            verifier.authenticate({ method, authorization: authorization ?? undefined, query: query ?? undefined, bodyTokens: body ?? undefined }),
          );
          if (status === 200) assert.ok([authorization, query, ...(body ?? [])].some((value) => value?.includes(valid)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses any token other than the issued one with invalid_token or invalid_request', async () => {
    await fc.assert(
      fc.asyncProperty(text, async (token) => {
        fc.pre(token !== valid);
        const status = await outcome(verifier.verifyToken(token));
        assert.equal(status, 401);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the verifier on untrusted DPoP proofs', () => {
  it('answers any DPoP header, proof header and claims with a 4xx refusal, never a crash', async () => {
    const client = await DpopClient.create();
    const bound = accessToken(key, claims({ cnf: { jkt: client.jkt } }));
    const dpop = createVerifier({ issuer: ISSUER, audience: ISSUER, fetch: issuer.fetch, now: () => NOW, dpop: 'required' });
    const url = 'https://api.example.test/invoices';
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const json = fc.jsonValue({ maxDepth: 2 });
    const header = fc.record(
      {
        alg: fc.oneof(json, fc.constantFrom('ES256', 'none', 'HS256')),
        typ: fc.oneof(json, fc.constant('dpop+jwt')),
        jwk: fc.oneof(json, fc.constant(client.publicJwk)),
      },
      { requiredKeys: [] },
    );
    const payload = fc.record(
      {
        htm: fc.oneof(json, fc.constant('GET')),
        htu: fc.oneof(json, fc.constant(url)),
        iat: fc.oneof(json, fc.constant(nowSeconds)),
        jti: json,
        ath: json,
        nonce: json,
      },
      { requiredKeys: [] },
    );
    const proof = fc.oneof(
      text,
      fc.tuple(header, payload, text).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(proof, fc.array(proof, { maxLength: 3 })), async (value) => {
        const status = await outcome(dpop.authenticate({ method: 'GET', url, authorization: `DPoP ${bound}`, dpop: value }));
        assert.equal(status, 401);
      }),
      { numRuns: 300 },
    );
  });
});
