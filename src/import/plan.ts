import { createHash, randomUUID } from 'node:crypto';
import { legacyHashKind, storedSecretHash } from '../crypto/legacy-hashes.ts';
import { randomToken } from '../crypto/secrets.ts';
import type { Client, Environment, OpaqueAccessToken, User, UserProfile } from '../domain/model.ts';
import { IMPORTED_SECRET_PREFIX, type ImportMapping, type ImportWrite } from '../domain/storage.ts';
import { changedProfile, EMPTY_PROFILE, type ProfileChanges, ProfileError } from '../domain/user-profile.ts';
import { honourableGrantTypes } from '../oauth/grants/index.ts';
import type { ImportAccessToken, ImportClient, ImportProfile, ImportRefreshToken, ImportUser } from './records.ts';

/**
 * What the engine decided for one record: a write (new or update), nothing to do, or a skip with
 * its reason. `adopt` is a mapping from before sources were recorded that the record takes over;
 * `refused` marks a skip because its client id or username is another source's or Gatehouse's own.
 */
export type Decision =
  | { outcome: 'imported' | 'updated'; write: ImportWrite; what: string; adopt?: ImportMapping }
  | { outcome: 'unchanged'; what: string; adopt?: ImportMapping }
  | { outcome: 'skipped'; what: string; reason: string; refused?: true };

/** Lifetimes given to imported refresh tokens the source let live for ever (seconds, from the import). */
export interface ImportLifetimes {
  refreshTokenIdleTtl: number;
  refreshTokenAbsoluteTtl: number;
}

const skip = (what: string, reason: string): Decision => ({ outcome: 'skipped', what, reason });

/** A printable identifier of reasonable length: client ids are kept as they are, but not control characters or megabytes. */
const IDENTIFIER = /^[^\p{Cc}\s][^\p{Cc}]{0,254}$/u;

/**
 * The version of a record for telling a changed one on a later run: the source's own when it has
 * one, else a digest of the record with its secret already in stored form (never in clear).
 */
export function versionOf(record: object, storedSecret: string | undefined, sourceVersion: string | undefined): string {
  if (sourceVersion !== undefined) return sourceVersion;
  const withoutSecret = {
    ...record,
    ...('secret' in record ? { secret: storedSecret ?? null } : {}),
    ...('password' in record ? { password: storedSecret } : {}),
  };
  return `sha256:${createHash('sha256').update(JSON.stringify(withoutSecret)).digest('base64url')}`;
}

/** Grant types Gatehouse can give this client; the source's others (implicit, password) are dropped. */
function grantTypesOf(record: ImportClient): string[] {
  // A public client cannot keep a secret (no client_credentials, as for clients made here); without
  // a redirect URI there is no code flow (Doorkeeper lists no grant types per application).
  return honourableGrantTypes(record.confidential ? 'confidential' : 'public', record.grant_types, record.redirect_uris);
}

/**
 * The id of an imported secret, derived from the source's stored hash: a later import of the same
 * secret finds it (and keeps it, re-hashed since or not), and tells it from secrets rotated in
 * Gatehouse after the cut-over, which an import never touches.
 */
export const importedSecretId = (envId: string, clientId: string, storedHash: string): string =>
  `${IMPORTED_SECRET_PREFIX}${createHash('sha256').update(`${envId}\u0000${clientId}\u0000${storedHash}`).digest('base64url').slice(0, 27)}`;

/** A client record as a Gatehouse client, secret and mapping; `existing` is the earlier import's mapping. */
export function planClient(env: Environment, record: ImportClient, existing: ImportMapping | undefined, now: number): Decision {
  const what = `client ${JSON.stringify(record.client_id)}`;
  if (!IDENTIFIER.test(record.client_id)) return skip(what, 'the client id is empty, too long or holds control characters');
  let secretHash: string | undefined;
  if (record.confidential) {
    if (!record.secret) return skip(what, 'a confidential client without a secret');
    const stored = storedSecretHash(record.secret.format, record.secret.value);
    if ('problem' in stored) return skip(what, `its secret cannot be imported: ${stored.problem}`);
    secretHash = stored.hash;
  }
  const grantTypes = grantTypesOf(record);
  if (grantTypes.length === 0) {
    return skip(
      what,
      `none of its grant types (${record.grant_types.join(', ') || 'none'}) is usable by a ${record.confidential ? 'confidential' : 'public'} client with ${record.redirect_uris.length} redirect URIs`,
    );
  }
  const sourceVersion = versionOf(record, secretHash, record.source_version);
  if (existing?.sourceVersion === sourceVersion) return { outcome: 'unchanged', what };
  const client: Client = {
    envId: env.id,
    clientId: record.client_id,
    name: record.name || record.client_id,
    kind: record.confidential ? 'confidential' : 'public',
    grantTypes,
    scopes: [...new Set(record.scopes)],
    defaultScopes: [...new Set(record.scopes)],
    redirectUris: record.redirect_uris,
    // The source's clients know opaque tokens; introspection answers for them as it did.
    tokenFormat: 'opaque',
    accessTokenTtl: record.access_token_ttl ?? null,
    introspectAny: false,
    // They never sent PKCE at the source: a confidential client keeps working unchanged.
    allowMissingPkce: record.confidential && grantTypes.includes('authorization_code'),
    quota: null,
    enabled: true,
    createdAt: now,
    updatedAt: now,
    ...clientOidcOf(record),
  };
  const secret =
    secretHash === undefined ? undefined : { id: importedSecretId(env.id, record.client_id, secretHash), secretHash, createdAt: now, expiresAt: null };
  const mapping: ImportMapping = { kind: 'client', sourceKey: record.client_id, targetId: record.client_id, sourceVersion };
  const update = existing !== undefined;
  return { outcome: update ? 'updated' : 'imported', what, write: { kind: 'client', mapping, client, secret, update } };
}

/** The OpenID Connect metadata a client record carries, each field only when not its default (as storage reads it back). */
function clientOidcOf(record: ImportClient): Partial<Client> {
  const oidc: Partial<Client> = {};
  if (record.post_logout_redirect_uris?.length) oidc.postLogoutRedirectUris = record.post_logout_redirect_uris;
  if (record.backchannel_logout_uri) oidc.backchannelLogoutUri = record.backchannel_logout_uri;
  if (record.backchannel_logout_session_required) oidc.backchannelLogoutSessionRequired = true;
  if (record.logout_revokes_tokens) oidc.logoutRevokesTokens = true;
  if (record.id_token_signed_response_alg) oidc.idTokenSignedResponseAlg = record.id_token_signed_response_alg;
  if (record.subject_type) oidc.subjectType = record.subject_type;
  if (record.sector_identifier_uri) oidc.sectorIdentifierUri = record.sector_identifier_uri;
  if (record.dpop_bound_access_tokens) oidc.dpopBoundAccessTokens = true;
  if (record.require_pushed_authorization_requests) oidc.requirePushedAuthorizationRequests = true;
  return oidc;
}

/** The stored form of an imported password: its hash as it is (verified and replaced at first login), or why not. */
function passwordHashOf(record: ImportUser): { hash: string } | { problem: string } {
  const { format, value } = record.password;
  if (format === 'scrypt-gatehouse') return value.startsWith('$scrypt$') ? { hash: value } : { problem: 'not a Gatehouse $scrypt$ hash' };
  const kind = legacyHashKind(value);
  return kind === format ? { hash: value } : { problem: `not a ${format} hash` };
}

/**
 * The profile a user record carries, checked by the rules every other path applies; undefined when
 * it carries no attribute. One that carries only empty ones clears them (the empty profile).
 */
function profileOf(record: ImportUser): { profile: UserProfile | undefined } | { problem: string } {
  const changes: ProfileChanges = {};
  for (const [claim, field] of Object.entries(CLAIM_FIELDS) as [keyof ImportProfile, keyof UserProfile][]) {
    if (record[claim] !== undefined) (changes as Record<string, unknown>)[field] = record[claim];
  }
  if (Object.keys(changes).length === 0) return { profile: undefined };
  try {
    return { profile: changedProfile(undefined, changes) ?? EMPTY_PROFILE };
  } catch (error) {
    if (error instanceof ProfileError) return { problem: error.message };
    throw error;
  }
}

const CLAIM_FIELDS: Record<keyof ImportProfile, keyof UserProfile> = {
  email: 'email',
  email_verified: 'emailVerified',
  name: 'name',
  given_name: 'givenName',
  family_name: 'familyName',
  preferred_username: 'preferredUsername',
  picture: 'picture',
  locale: 'locale',
  zoneinfo: 'zoneinfo',
  phone_number: 'phoneNumber',
  phone_number_verified: 'phoneNumberVerified',
  address: 'address',
};

/** A user record as a Gatehouse user; `userId` is the earlier import's, or undefined for a new user. */
export function planUser(env: Environment, record: ImportUser, existing: ImportMapping | undefined, now: number): Decision {
  const username = record.username.normalize('NFC');
  const what = `user ${JSON.stringify(username)}`;
  if (!IDENTIFIER.test(username)) return skip(what, 'the username is empty, too long or holds control characters');
  const stored = passwordHashOf(record);
  if ('problem' in stored) return skip(what, `its password cannot be imported: ${stored.problem}`);
  const sourceVersion = versionOf(record, stored.hash, record.source_version);
  if (existing?.sourceVersion === sourceVersion) return { outcome: 'unchanged', what };
  const profile = profileOf(record);
  if ('problem' in profile) return skip(what, `its profile cannot be imported: ${profile.problem}`);
  const userId = existing?.targetId ?? `usr_${randomToken(18)}`;
  const user: User = { envId: env.id, userId, username, passwordHash: stored.hash, enabled: record.enabled, createdAt: now, updatedAt: now };
  // A record without attributes leaves the user's as they are (storage writes none).
  if (profile.profile) user.profile = profile.profile;
  const mapping: ImportMapping = { kind: 'user', sourceKey: record.source_id, targetId: userId, sourceVersion };
  const update = existing !== undefined;
  return { outcome: update ? 'updated' : 'imported', what, write: { kind: 'user', mapping, user, update } };
}

/** Gatehouse's hash of an imported token, or why it has none. */
export function tokenHashOf(token: { format: string; value: string }): { hash: string } | { problem: string } {
  return storedSecretHash(token.format, token.value);
}

/** How the engine names a token in reports: a prefix of its stored hash and its client, never the token. */
export const tokenLabel = (kind: string, hash: string, clientId: string): string => `${kind} ${hash.slice(0, 8)}… of client ${JSON.stringify(clientId)}`;

export interface TokenContext {
  env: Environment;
  now: number;
  /** Gatehouse's hash of the token. */
  hash: string;
  existing: ImportMapping | undefined;
  /** The Gatehouse user id of the token's owner, if the record names one and it is known. */
  userId: string | undefined;
}

/** A token's state in the source that keeps it out, or a revocation of one imported before. */
function deadToken(record: ImportRefreshToken | ImportAccessToken, context: TokenContext, what: string): Decision | undefined {
  const expiresAt = record.expires_at === null ? undefined : Date.parse(record.expires_at);
  const dead = record.revoked ? 'revoked in the source' : expiresAt !== undefined && expiresAt <= context.now ? 'expired' : undefined;
  if (dead === undefined) return context.existing ? { outcome: 'unchanged', what } : undefined;
  if (context.existing && context.existing.sourceVersion !== 'revoked') {
    const mapping: ImportMapping = { ...context.existing, sourceVersion: 'revoked' };
    return { outcome: 'updated', what: `${what} (${dead} since the last import: revoked)`, write: { kind: 'revoke', mapping } };
  }
  return context.existing ? { outcome: 'unchanged', what } : skip(what, dead);
}

function opaqueToken(
  env: Environment,
  hash: string,
  clientId: string,
  subject: string,
  scopes: string[],
  issuedAt: number,
  expiresAt: number,
): OpaqueAccessToken {
  return { tokenHash: hash, envId: env.id, clientId, subject, scope: scopes.join(' '), jti: randomUUID(), issuedAt, expiresAt, revokedAt: null };
}

/**
 * A live refresh token as a family of its own (so rotation and reuse detection work from its first
 * use), with the live access token paired with it, if any. The family lives until the source's
 * expiry or, for a token that never expired there, the configured absolute lifetime from now.
 */
export function planRefreshToken(record: ImportRefreshToken, context: TokenContext, lifetimes: ImportLifetimes): Decision {
  const { env, now, hash } = context;
  const what = tokenLabel('refresh token', hash, record.client_id);
  const dead = deadToken(record, context, what);
  if (dead) return dead;
  if (record.user_source_id === null) return skip(what, 'it has no resource owner (a Gatehouse refresh token belongs to a user)');
  if (context.userId === undefined) return skip(what, `its user ${JSON.stringify(record.user_source_id)} was not imported`);
  const sourceExpiry = record.expires_at === null ? undefined : Date.parse(record.expires_at);
  const familyExpiresAt = sourceExpiry ?? now + lifetimes.refreshTokenAbsoluteTtl * 1000;
  const familyId = randomUUID();
  const scope = [...new Set(record.scopes)];
  const family = {
    familyId,
    envId: env.id,
    clientId: record.client_id,
    userId: context.userId,
    scope,
    createdAt: Date.parse(record.issued_at),
    expiresAt: familyExpiresAt,
    revokedAt: null,
  };
  const refreshToken = {
    tokenHash: hash,
    envId: env.id,
    familyId,
    clientId: record.client_id,
    userId: context.userId,
    issuedAt: Date.parse(record.issued_at),
    expiresAt: Math.min(sourceExpiry ?? now + lifetimes.refreshTokenIdleTtl * 1000, familyExpiresAt),
    rotatedAt: null,
    revokedAt: null,
  };
  const paired = record.access_token;
  let accessToken: OpaqueAccessToken | undefined;
  if (paired && !paired.revoked && Date.parse(paired.expires_at) > now) {
    const stored = tokenHashOf(paired);
    if ('hash' in stored)
      accessToken = opaqueToken(env, stored.hash, record.client_id, context.userId, scope, Date.parse(record.issued_at), Date.parse(paired.expires_at));
  }
  const mapping: ImportMapping = { kind: 'refresh_token', sourceKey: hash, targetId: familyId, sourceVersion: 'live' };
  return { outcome: 'imported', what, write: { kind: 'refresh_token', mapping, family, refreshToken, accessToken } };
}

/** A live opaque access token, stored under Gatehouse's hash: introspection and revocation then work on it as on ours. */
export function planAccessToken(record: ImportAccessToken, context: TokenContext): Decision {
  const { env, hash } = context;
  const what = tokenLabel('access token', hash, record.client_id);
  const dead = deadToken(record, context, what);
  if (dead) return dead;
  if (record.user_source_id !== null && context.userId === undefined) return skip(what, `its user ${JSON.stringify(record.user_source_id)} was not imported`);
  // Like client_credentials tokens here, a token without a user has the client as its subject.
  const subject = context.userId ?? record.client_id;
  const token = opaqueToken(env, hash, record.client_id, subject, [...new Set(record.scopes)], Date.parse(record.issued_at), Date.parse(record.expires_at));
  const mapping: ImportMapping = { kind: 'access_token', sourceKey: hash, targetId: hash, sourceVersion: 'live' };
  return { outcome: 'imported', what, write: { kind: 'access_token', mapping, token } };
}
