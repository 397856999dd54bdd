import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BearerError, createVerifier } from '../../src/resource-server/index.ts';
import { accessToken, FakeIssuer, ISSUER, NOW, signingKey } from './fake-issuer.ts';

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
