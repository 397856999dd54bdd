import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK } from 'jose';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Client, Environment, User } from '../../src/domain/model.ts';
import { EMPTY_PROFILE } from '../../src/domain/user-profile.ts';
import { refreshTokenAllowed } from '../../src/oauth/grants/authorization-code.ts';
import { userClaims } from '../../src/oauth/openid/claims.ts';
import { verifyIdTokenHint } from '../../src/oauth/openid/id-token-hint.ts';
import { accessTokenHash, IdTokenIssuer, idTokenAlgorithmOf } from '../../src/oauth/openid/id-tokens.ts';
import { isForUserinfo, userinfoAudience } from '../../src/oauth/openid/userinfo.ts';
import type { KeyRing } from '../../src/oauth/signing-keys.ts';
import { createVerifier } from '../../src/resource-server/index.ts';

const ISSUER = 'https://auth.example.test/envs/PRODUCTION';
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

const env: Environment = { id: 'env-1', name: 'PRODUCTION', createdAt: NOW, defaultQuota: null, pairwiseSalt: 'salt' };
const client = { clientId: 'rp', redirectUris: ['https://rp.example.test/cb'], grantTypes: ['authorization_code', 'refresh_token'] } as unknown as Client;

/** A key ring of one ES256 key, published as the JWKS `jwks`. */
async function es256Ring() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = 'es-1';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const published = {
    kid,
    envId: env.id,
    alg: 'ES256',
    publicJwk: jwk,
    privateKeySealed: '',
    status: 'active',
    createdAt: 0,
    activateAt: 0,
    retiredAt: null,
    publishUntil: null,
  };
  const keys = {
    activeKey: async () => ({ kid, alg: 'ES256' as const, privateKey }),
    publishedKey: async (_envId: string, wanted: string) => (wanted === kid ? published : undefined),
  } as unknown as KeyRing;
  return { keys, jwks: { keys: [jwk] } };
}

describe('ID Token building blocks', () => {
  it('computes at_hash as the left half of the hash of the JWS algorithm (Core §3.1.3.6)', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const half = (algorithm: string, bytes: number) => createHash(algorithm).update(token).digest().subarray(0, bytes).toString('base64url');
    assert.equal(accessTokenHash(token, 'RS256'), half('sha256', 16));
    assert.equal(accessTokenHash(token, 'ES256'), half('sha256', 16));
    assert.equal(accessTokenHash(token, 'EdDSA'), half('sha512', 32));
    // The example of Core §A.3 (RS256): access token → at_hash.
    assert.equal(accessTokenHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y', 'RS256'), '77QmUPtjPfzWtF2AnpK9RQ');
  });

  it('signs with the client’s algorithm, RS256 by default', () => {
    assert.equal(idTokenAlgorithmOf({}), 'RS256');
    assert.equal(idTokenAlgorithmOf({ idTokenSignedResponseAlg: null }), 'RS256');
    assert.equal(idTokenAlgorithmOf({ idTokenSignedResponseAlg: 'EdDSA' }), 'EdDSA');
  });

  it('is refused by the resource-server library (typ JWT, not at+jwt), and accepted as an id_token_hint', async () => {
    const { keys, jwks } = await es256Ring();
    const issuer = new IdTokenIssuer(keys, new ManualClock(NOW), 3600);
    const idToken = await issuer.issue({
      env,
      issuer: ISSUER,
      client,
      userId: 'usr_1',
      accessToken: 'access',
      oidc: { authTime: NOW - 1000, amr: ['pwd'], acr: null },
      sid: 'sid-1',
      nonce: 'n-1',
    });
    const verifier = createVerifier({
      issuer: ISSUER,
      // Even an API that names the client as its audience refuses it.
      audience: ['rp', ISSUER],
      now: () => NOW,
      fetch: async () => new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }),
    });
    await assert.rejects(verifier.verifyToken(idToken), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'invalid_token');
      assert.match(error.message, /typ/);
      return true;
    });
    assert.deepEqual(await verifyIdTokenHint(keys, env.id, ISSUER, idToken), { sub: 'usr_1', aud: ['rp'], sid: 'sid-1' });
  });
});

describe('UserInfo audience rule', () => {
  it('adds the UserInfo URL to a token for APIs that carries openid; a token for the issuer needs nothing', () => {
    assert.equal(userinfoAudience(undefined, ISSUER), undefined);
    assert.deepEqual(userinfoAudience(['https://api.example.test'], ISSUER), ['https://api.example.test', `${ISSUER}/userinfo`]);
    assert.ok(isForUserinfo(ISSUER, ISSUER));
    assert.ok(isForUserinfo(['https://api.example.test', `${ISSUER}/userinfo`], ISSUER));
    assert.ok(!isForUserinfo('https://api.example.test', ISSUER));
    assert.ok(!isForUserinfo(['https://api.example.test'], ISSUER));
  });
});

describe('refresh-token policy (Core §11)', () => {
  it('client: whenever the client has the grant; offline_access: only when offline_access was granted', () => {
    const withGrant = { grantTypes: ['authorization_code', 'refresh_token'] };
    const withoutGrant = { grantTypes: ['authorization_code'] };
    assert.equal(refreshTokenAllowed({}, withGrant, ['openid']), true);
    assert.equal(refreshTokenAllowed({ refreshTokenPolicy: 'client' }, withGrant, []), true);
    assert.equal(refreshTokenAllowed({}, withoutGrant, ['offline_access']), false);
    assert.equal(refreshTokenAllowed({ refreshTokenPolicy: 'offline_access' }, withGrant, ['openid']), false);
    assert.equal(refreshTokenAllowed({ refreshTokenPolicy: 'offline_access' }, withGrant, ['openid', 'offline_access']), true);
    assert.equal(refreshTokenAllowed({ refreshTokenPolicy: 'offline_access' }, withoutGrant, ['offline_access']), false);
  });
});

describe('standard claims by scope (Core §5.4)', () => {
  const user: User = {
    envId: env.id,
    userId: 'usr_1',
    username: 'ada',
    passwordHash: '',
    enabled: true,
    createdAt: NOW,
    updatedAt: NOW + 5000,
    profile: { ...EMPTY_PROFILE, email: 'ada@example.test', emailVerified: false, preferredUsername: 'countess', phoneNumberVerified: true },
  };

  it('gives each scope its claims, omitting those without a value', () => {
    assert.deepEqual(userClaims(user, ['openid']), {});
    assert.deepEqual(userClaims(user, ['profile']), { preferred_username: 'countess', updated_at: Math.floor((NOW + 5000) / 1000) });
    assert.deepEqual(userClaims(user, ['email']), { email: 'ada@example.test', email_verified: false });
    // A verification flag never comes without its value.
    assert.deepEqual(userClaims(user, ['phone', 'address']), {});
    assert.deepEqual(userClaims({ ...user, profile: undefined }, ['email', 'profile']), {
      preferred_username: 'ada',
      updated_at: Math.floor((NOW + 5000) / 1000),
    });
  });
});
