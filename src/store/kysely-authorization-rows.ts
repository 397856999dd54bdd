import type { Selectable } from 'kysely';
import type { ActorClaim, AuthorizationCode, CodeOidc, FamilyOidc, OpaqueAccessToken, RefreshToken, TokenFamily } from '../domain/model.ts';
import type { AuthorizationCodeTable, RefreshTokenTable, TokenFamilyTable } from './schema.ts';

/** Rows of the authorization code flow and token families, both ways, shared by every writer of them. */

/** A space-separated list column (scopes) as an array; the empty string is the empty list. */
export const words = (text: string): string[] => (text === '' ? [] : text.split(' '));
/** An optional list (RFC 8707 resources, audiences) as a nullable JSON column: absent is null. */
export const listColumn = (list: readonly string[] | undefined): string | null => (list === undefined ? null : JSON.stringify(list));
/** Reads `listColumn` back: the property is left out when the column is null. */
export const listField = <K extends string>(key: K, text: string | null): { [P in K]?: string[] } =>
  (text === null ? {} : { [key]: JSON.parse(text) as string[] }) as { [P in K]?: string[] };
const nullableNumber = (value: number | null): number | null => (value === null ? null : Number(value));
/** An optional object as a nullable JSON column: absent is null. */
export const jsonColumn = (value: object | undefined): string | null => (value === undefined ? null : JSON.stringify(value));
/** Reads `jsonColumn` back: the property is left out when the column is null. */
export const jsonField = <K extends string, T>(key: K, text: string | null): { [P in K]?: T } =>
  (text === null ? {} : { [key]: JSON.parse(text) as T }) as { [P in K]?: T };

/** The row of a token family (migration 004). */
export const familyRow = (envId: string, family: TokenFamily) => ({
  family_id: family.familyId,
  env_id: envId,
  client_id: family.clientId,
  user_id: family.userId,
  scope: family.scope.join(' '),
  resources: listColumn(family.resources),
  created_at: family.createdAt,
  expires_at: family.expiresAt,
  revoked_at: null,
  sid: family.sid ?? null,
  oidc: jsonColumn(family.oidc),
  dpop_jkt: family.dpopJkt ?? null,
});

/** The row of a new refresh token of `familyId`. */
export const refreshTokenRow = (envId: string, familyId: string, token: RefreshToken) => ({
  token_hash: token.tokenHash,
  env_id: envId,
  family_id: familyId,
  client_id: token.clientId,
  user_id: token.userId,
  issued_at: token.issuedAt,
  expires_at: token.expiresAt,
  rotated_at: null,
  revoked_at: null,
});

/** The row of an opaque access token, of a token family or (null) of none. */
export const opaqueAccessTokenRow = (token: OpaqueAccessToken, familyId: string | null) => ({
  token_hash: token.tokenHash,
  env_id: token.envId,
  client_id: token.clientId,
  subject: token.subject,
  scope: token.scope,
  jti: token.jti,
  issued_at: token.issuedAt,
  expires_at: token.expiresAt,
  revoked_at: token.revokedAt,
  family_id: familyId,
  audience: listColumn(token.audience),
  act: token.act ? JSON.stringify(token.act) : null,
  cnf_jkt: token.cnfJkt ?? null,
  acr: token.authentication?.acr ?? null,
  amr: token.authentication ? JSON.stringify(token.authentication.amr) : null,
});

/** The `act`, `cnf_jkt`, `acr` and `amr` columns of an opaque access token, as its record's optional fields. */
export const bindingFields = (row: {
  act: string | null;
  cnf_jkt: string | null;
  acr: string | null;
  amr: string | null;
}): Pick<OpaqueAccessToken, 'act' | 'cnfJkt' | 'authentication'> => ({
  ...(row.act === null ? {} : { act: JSON.parse(row.act) as ActorClaim }),
  ...(row.cnf_jkt === null ? {} : { cnfJkt: row.cnf_jkt }),
  ...(row.acr === null || row.amr === null ? {} : { authentication: { acr: row.acr, amr: JSON.parse(row.amr) as string[] } }),
});

export const toCode = (row: Selectable<AuthorizationCodeTable>): AuthorizationCode => ({
  codeHash: row.code_hash,
  envId: row.env_id,
  clientId: row.client_id,
  userId: row.user_id,
  redirectUri: row.redirect_uri,
  scope: words(row.scope),
  codeChallenge: row.code_challenge,
  familyId: row.family_id,
  ...listField('resources', row.resources),
  issuedAt: Number(row.issued_at),
  expiresAt: Number(row.expires_at),
  consumedAt: nullableNumber(row.consumed_at),
  ...jsonField<'oidc', CodeOidc>('oidc', row.oidc),
  ...(row.dpop_jkt === null ? {} : { dpopJkt: row.dpop_jkt }),
});

export const toFamily = (row: Selectable<TokenFamilyTable>): TokenFamily => ({
  familyId: row.family_id,
  envId: row.env_id,
  clientId: row.client_id,
  userId: row.user_id,
  scope: words(row.scope),
  ...listField('resources', row.resources),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  revokedAt: nullableNumber(row.revoked_at),
  ...(row.sid === null ? {} : { sid: row.sid }),
  ...jsonField<'oidc', FamilyOidc>('oidc', row.oidc),
  ...(row.dpop_jkt === null ? {} : { dpopJkt: row.dpop_jkt }),
});

export const toRefreshToken = (row: Selectable<RefreshTokenTable>): RefreshToken => ({
  tokenHash: row.token_hash,
  envId: row.env_id,
  familyId: row.family_id,
  clientId: row.client_id,
  userId: row.user_id,
  issuedAt: Number(row.issued_at),
  expiresAt: Number(row.expires_at),
  rotatedAt: nullableNumber(row.rotated_at),
  revokedAt: nullableNumber(row.revoked_at),
});
