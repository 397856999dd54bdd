import { createPrivateKey, randomBytes, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import { decryptPrivateKey, encryptPrivateKey } from '../../src/crypto/key-encryption.ts';
import { hashSecret, randomToken } from '../../src/crypto/secrets.ts';
import type { BrowserSession, Client, Environment, SigningKey } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import { generateSigningKey } from '../../src/oauth/signing-keys.ts';
import { KEY_SECRET, PUBLIC_URL } from './fixtures.ts';

/*
 * Fixtures of the logout tests, written through the store: the sign-in (session `sid`) and the
 * token families with that `sid` are set up directly, as the sign-in and token endpoints will
 * write them.
 */

export const RP_LOGOUT_URI = 'https://rp.example.test/signed-out';

/** The issuer of environment `name` under the test public URL. */
export const issuerOf = (name: string): string => `${PUBLIC_URL}/envs/${name}`;

/**
 * A signing key of `alg`, active now. RS256 keys (the ID Token default, Core §15.1) are made
 * here with jose: the key lifecycle of the main code creates the access-token algorithms.
 */
export async function signingKey(envId: string, alg: 'RS256' | 'ES256', now: number): Promise<SigningKey> {
  if (alg === 'ES256') return generateSigningKey(envId, 'ES256', KEY_SECRET, now);
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  const kid = `${(await calculateJwkThumbprint(jwk)).slice(0, 16)}${randomUUID().slice(0, 8)}`;
  return {
    kid,
    envId,
    alg: 'RS256',
    publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
    privateKeySealed: encryptPrivateKey(await exportPKCS8(privateKey), KEY_SECRET, `${envId}/${kid}`),
    status: 'active',
    createdAt: now,
    activateAt: now,
    retiredAt: null,
    publishUntil: null,
  };
}

/** An environment whose one key has `alg`, stored directly. */
export async function createEnvironment(
  store: Store,
  alg: 'RS256' | 'ES256',
  now: number,
  name = `ENV_${randomBytes(4).toString('hex')}`,
): Promise<Environment> {
  const env: Environment = { id: randomUUID(), name, createdAt: now, defaultQuota: null };
  await store.environments.create(env, await signingKey(env.id, alg, now));
  return (await store.environments.findByName(name)) as Environment;
}

/** A confidential client with OpenID logout metadata. */
export async function createLogoutClient(store: Store, env: Environment, now: number, fields: Partial<Client> = {}): Promise<Client> {
  const client: Client = {
    envId: env.id,
    clientId: `gh_${randomToken(9)}`,
    name: 'Relying Party',
    kind: 'confidential',
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: ['openid'],
    defaultScopes: [],
    redirectUris: ['https://rp.example.test/callback'],
    tokenFormat: 'jwt',
    accessTokenTtl: null,
    introspectAny: false,
    allowMissingPkce: false,
    quota: null,
    enabled: true,
    createdAt: now,
    updatedAt: now,
    postLogoutRedirectUris: [RP_LOGOUT_URI, 'https://rp.example.test/bye?lang=en'],
    ...fields,
  };
  await store.clients.create(client, undefined);
  return client;
}

/** A user stored directly (these tests never sign in with a password). */
export async function createUser(store: Store, env: Environment, now: number, username = `alice-${randomBytes(3).toString('hex')}`): Promise<string> {
  const userId = `usr_${randomToken(18)}`;
  await store.users.create({ envId: env.id, userId, username, passwordHash: '$scrypt$unused', enabled: true, createdAt: now, updatedAt: now });
  return userId;
}

/** A signed-in browser session with a `sid`, as the sign-in writes it; `cookie` is the Cookie header of its browser. */
export async function signedInSession(store: Store, env: Environment, userId: string, now: number): Promise<{ cookie: string; session: BrowserSession }> {
  const id = randomToken(32);
  const session: BrowserSession = {
    idHash: hashSecret(id),
    envId: env.id,
    userId,
    authenticatedAt: now,
    createdAt: now,
    expiresAt: now + 3_600_000,
    sid: randomToken(32),
    amr: ['pwd'],
  };
  await store.browserSessions.create(session);
  return { cookie: `gatehouse_session=${id}`, session };
}

/** A token family begun in session `sid` (a code redeemed, with a refresh token), as the token endpoint writes it. */
export async function familyInSession(store: Store, env: Environment, clientId: string, userId: string, sid: string | undefined, now: number): Promise<string> {
  const familyId = randomUUID();
  const codeHash = hashSecret(randomToken(32));
  await store.authorizationCodes.insert({
    codeHash,
    envId: env.id,
    clientId,
    userId,
    redirectUri: 'https://rp.example.test/callback',
    scope: ['openid'],
    codeChallenge: null,
    familyId,
    issuedAt: now,
    expiresAt: now + 60_000,
    consumedAt: null,
  });
  const family = {
    familyId,
    envId: env.id,
    clientId,
    userId,
    scope: ['openid'],
    createdAt: now,
    expiresAt: now + 86_400_000,
    revokedAt: null,
    sid: sid ?? null,
  };
  const refreshToken = {
    tokenHash: hashSecret(randomToken(32)),
    envId: env.id,
    familyId,
    clientId,
    userId,
    issuedAt: now,
    expiresAt: now + 86_400_000,
    rotatedAt: null,
    revokedAt: null,
  };
  await store.authorizationCodes.redeem(env.id, codeHash, now, family, {
    refreshToken,
    accessToken: { jti: randomUUID(), expiresAt: now + 3_600_000, opaque: undefined },
  });
  return familyId;
}

/** An ID Token of the environment as a client holds it (or, with another `typ`, a token that must not pass for one). */
export async function idToken(store: Store, env: Environment, claims: { sub: string; aud: string; sid?: string }, now: number, typ = 'JWT'): Promise<string> {
  const [key] = await store.signingKeys.listPublished(env.id, now);
  if (!key) throw new Error('no key');
  const privateKey = createPrivateKey(decryptPrivateKey(key.privateKeySealed, KEY_SECRET, `${env.id}/${key.kid}`));
  const iat = Math.floor(now / 1000);
  return signCompactJwt({ typ, kid: key.kid }, { iss: issuerOf(env.name), iat, exp: iat + 300, ...claims }, privateKey, key.alg as 'RS256' | 'ES256');
}
