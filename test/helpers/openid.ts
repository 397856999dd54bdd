import { randomBytes, randomUUID } from 'node:crypto';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type {
  Client,
  CodeOidc,
  Environment,
  RefreshTokenPolicy,
  SigningAlgorithm,
  SigningKey,
  SubjectType,
  User,
  UserProfile,
} from '../../src/domain/model.ts';
import { EMPTY_PROFILE } from '../../src/domain/user-profile.ts';
import { s256Challenge } from '../../src/oauth/pkce.ts';
import { generateSigningKey } from '../../src/oauth/signing-keys.ts';
import type { TestApp } from './fixtures.ts';

export const OIDC_REDIRECT_URI = 'https://rp.example.test/callback';

/**
 * Adds an RS256 key to the environment's published set when it has none. Until every
 * environment has its RS256 lineage from creation, a test writes one itself. The database allows
 * one key recorded as `active` per environment, so this one is recorded `retired` with no
 * retirement time: by its timestamps (what signing reads, `keyStateAt`) it is active.
 */
export async function ensureRs256Key(t: TestApp, envId: string): Promise<SigningKey> {
  const existing = (await t.store.signingKeys.listPublished(envId, t.clock.now())).find((k) => k.alg === 'RS256');
  if (existing) return existing;
  const first = await generateSigningKey(envId, 'RS256', t.config.keySecret, t.clock.now() - 1000);
  const { key } = await t.store.signingKeys.startLineage(envId, first, t.clock.now());
  t.app.core.keys.invalidate(envId);
  return key;
}

export interface OidcEnvOptions {
  alg?: SigningAlgorithm;
  subjectType?: SubjectType;
  refreshTokenPolicy?: RefreshTokenPolicy;
  rs256?: boolean;
}

/** An environment created through the store, with OpenID settings and (unless told not to) an RS256 key. */
export async function createOidcEnv(t: TestApp, name: string, options: OidcEnvOptions = {}): Promise<Environment> {
  const env: Environment = {
    id: randomUUID(),
    name,
    createdAt: t.clock.now(),
    defaultQuota: null,
    ...(options.subjectType ? { subjectType: options.subjectType } : {}),
    ...(options.refreshTokenPolicy ? { refreshTokenPolicy: options.refreshTokenPolicy } : {}),
  };
  await t.store.environments.create(env, await generateSigningKey(env.id, options.alg ?? 'ES256', t.config.keySecret, t.clock.now() - 1000));
  if (options.rs256 !== false) await ensureRs256Key(t, env.id);
  const stored = await t.store.environments.findByName(name);
  if (!stored) throw new Error(`environment ${name} was not stored`);
  return stored;
}

export interface OidcClient {
  clientId: string;
  secret: string;
  client: Client;
}

/** A confidential code-flow client allowed the OpenID scopes, with its OpenID metadata set through the store. */
export async function createOidcClient(
  t: TestApp,
  envName: string,
  options: {
    scopes?: string[];
    grantTypes?: string[];
    redirectUris?: string[];
    oidc?: Partial<Pick<Client, 'idTokenSignedResponseAlg' | 'subjectType' | 'sectorIdentifierUri'>>;
  } = {},
): Promise<OidcClient> {
  const created = await t.admin.createClient({
    env: envName,
    name: 'Relying Party',
    grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
    scopes: options.scopes ?? ['openid', 'profile', 'email', 'phone', 'address', 'offline_access', 'invoices:read'],
    redirectUris: options.redirectUris ?? [OIDC_REDIRECT_URI],
  });
  const env = await t.store.environments.findByName(envName);
  const stored = env && (await t.store.clients.find(env.id, created.client_id));
  if (!env || !stored) throw new Error('the client was not stored');
  const client: Client = { ...stored, ...options.oidc };
  if (options.oidc) {
    await t.store.clients.update(client);
    t.app.core.clients.invalidate(env.id, client.clientId);
  }
  return { clientId: created.client_id, secret: created.client_secret as string, client };
}

/** A user with OpenID attributes, written through the store. */
export async function createProfileUser(t: TestApp, envId: string, profile?: Partial<UserProfile>): Promise<User> {
  const now = t.clock.now();
  const user: User = {
    envId,
    userId: `usr_${randomBytes(8).toString('hex')}`,
    username: `user-${randomBytes(4).toString('hex')}`,
    passwordHash: '$scrypt$unused',
    enabled: true,
    createdAt: now,
    updatedAt: now,
    ...(profile ? { profile: { ...EMPTY_PROFILE, ...profile } } : {}),
  };
  await t.store.users.create(user);
  return user;
}

export interface InsertedCode {
  code: string;
  verifier: string;
  familyId: string;
}

/**
 * An authorization code as /authorize writes it after an OpenID sign-in (`oidc`), inserted
 * through the store; without `oidc`, a plain OAuth code.
 */
export async function insertCode(
  t: TestApp,
  options: { envId: string; clientId: string; userId: string; scope: string[]; oidc?: CodeOidc; resources?: string[]; redirectUri?: string },
): Promise<InsertedCode> {
  const code = `gac_${randomBytes(32).toString('base64url')}`;
  const verifier = randomBytes(32).toString('base64url');
  const familyId = randomUUID();
  const now = t.clock.now();
  await t.store.authorizationCodes.insert({
    codeHash: hashSecret(code),
    envId: options.envId,
    clientId: options.clientId,
    userId: options.userId,
    redirectUri: options.redirectUri ?? OIDC_REDIRECT_URI,
    scope: options.scope,
    codeChallenge: s256Challenge(verifier),
    familyId,
    ...(options.resources ? { resources: options.resources } : {}),
    issuedAt: now,
    expiresAt: now + 60_000,
    consumedAt: null,
    ...(options.oidc ? { oidc: options.oidc } : {}),
  });
  return { code, verifier, familyId };
}

/** What /authorize records of a password sign-in `ago` milliseconds before now. */
export function signInOidc(t: TestApp, overrides: Partial<CodeOidc> = {}, ago = 120_000): CodeOidc {
  return {
    authTime: t.clock.now() - ago,
    amr: ['pwd'],
    acr: null,
    nonce: `n-${randomBytes(6).toString('hex')}`,
    sid: randomBytes(32).toString('base64url'),
    ...overrides,
  };
}
