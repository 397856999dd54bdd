/**
 * The normalized import record: what every source reader (Doorkeeper, Hydra, JSON Lines) yields,
 * one object per client, user or token, so the engine imports from every source the same way.
 * It is also the documented JSON Lines format: one record per line.
 */

import type { IdTokenAlgorithm, PostalAddress, SubjectType } from '../domain/model.ts';
import { ADDRESS_FIELDS } from '../domain/user-profile.ts';

/** How a client secret arrives: in clear (hashed at import, never stored as is) or as its source's hash. */
export type SecretFormat = 'plain' | 'sha256-hex' | 'sha256-base64url' | 'bcrypt' | 'pbkdf2-sha256' | 'argon2id';
/** How a password arrives: always hashed; `scrypt-gatehouse` is Gatehouse's own `$scrypt$…` string. */
export type PasswordFormat = 'bcrypt' | 'pbkdf2-sha256' | 'argon2id' | 'scrypt-gatehouse';
/** How a token arrives: in clear or as the hex SHA-256 digest Doorkeeper stores when hashing is on. */
export type TokenFormat = 'plain' | 'sha256-hex';

export const SECRET_FORMATS: readonly SecretFormat[] = ['plain', 'sha256-hex', 'sha256-base64url', 'bcrypt', 'pbkdf2-sha256', 'argon2id'];
export const PASSWORD_FORMATS: readonly PasswordFormat[] = ['bcrypt', 'pbkdf2-sha256', 'argon2id', 'scrypt-gatehouse'];
export const TOKEN_FORMATS: readonly TokenFormat[] = ['plain', 'sha256-hex'];
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ImportAuthMethod = (typeof AUTH_METHODS)[number];

export interface ImportClient {
  kind: 'client';
  /** Kept exactly as the source has it, whatever its format. */
  client_id: string;
  name: string;
  confidential: boolean;
  secret: { format: SecretFormat; value: string } | null;
  redirect_uris: string[];
  scopes: string[];
  grant_types: string[];
  token_endpoint_auth_method?: ImportAuthMethod;
  audience?: string[];
  /** Seconds. */
  access_token_ttl?: number;
  /** Seconds. */
  refresh_token_ttl?: number;
  /** OpenID Connect metadata (Dynamic Registration §2, RP-Initiated Logout §3.1, Back-Channel Logout §2.2); absent: the default. */
  post_logout_redirect_uris?: string[];
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
  logout_revokes_tokens?: boolean;
  id_token_signed_response_alg?: IdTokenAlgorithm;
  subject_type?: SubjectType;
  sector_identifier_uri?: string;
  /** RFC 9449 §5.2: every token request of the client carries a DPoP proof; absent: false. */
  dpop_bound_access_tokens?: boolean;
  /** RFC 9126 §6: the client's authorization requests must be pushed first; absent: false. */
  require_pushed_authorization_requests?: boolean;
  /** Tells a changed row from an unchanged one on a second run (e.g. the row's updated_at). */
  source_version?: string;
}

/**
 * A user's OpenID Connect Core §5.1 attributes under their claim names. A record that carries
 * any replaces the user's attributes; one that carries none leaves them as they are.
 */
export interface ImportProfile {
  email?: string | null;
  email_verified?: boolean;
  name?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  preferred_username?: string | null;
  picture?: string | null;
  locale?: string | null;
  zoneinfo?: string | null;
  phone_number?: string | null;
  phone_number_verified?: boolean;
  address?: PostalAddress | null;
}

export const PROFILE_TEXT_CLAIMS = [
  'email',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'picture',
  'locale',
  'zoneinfo',
  'phone_number',
] as const;
export const PROFILE_FLAG_CLAIMS = ['email_verified', 'phone_number_verified'] as const;

export interface ImportUser extends ImportProfile {
  kind: 'user';
  /** The user's id in the source; tokens name their owner by it. */
  source_id: string;
  username: string;
  enabled: boolean;
  password: { format: PasswordFormat; value: string };
  source_version?: string;
}

export interface ImportTokenValue {
  format: TokenFormat;
  value: string;
}

export interface ImportRefreshToken {
  kind: 'refresh_token';
  token: ImportTokenValue;
  client_id: string;
  user_source_id: string | null;
  scopes: string[];
  /** ISO 8601. */
  issued_at: string;
  /** ISO 8601, or null for a token that never expires in the source. */
  expires_at: string | null;
  revoked: boolean;
  /** The access token issued with it, when the source pairs them (Doorkeeper keeps both on one row). */
  access_token?: ImportTokenValue & { expires_at: string; revoked: boolean };
}

export interface ImportAccessToken {
  kind: 'access_token';
  token: ImportTokenValue;
  client_id: string;
  user_source_id: string | null;
  scopes: string[];
  issued_at: string;
  expires_at: string;
  revoked: boolean;
}

/** What a reader deliberately leaves out, and why (e.g. access grants: codes are short-lived). */
export interface ImportSkipped {
  kind: 'skipped';
  what: string;
  reason: string;
}

export type ImportRecord = ImportClient | ImportUser | ImportRefreshToken | ImportAccessToken | ImportSkipped;
export type ImportKind = ImportRecord['kind'];

/** A source reader: yields records in any order it likes, except that clients and users come before the tokens naming them. */
export type ImportSource = AsyncIterable<ImportRecord>;

/** A line that is not a valid record; the message names the field and the line. */
export class ImportRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportRecordError';
  }
}

type Fields = Record<string, unknown>;

const fail = (message: string): never => {
  throw new ImportRecordError(message);
};

function str(o: Fields, key: string, { empty = false } = {}): string {
  const value = o[key];
  if (typeof value !== 'string') return fail(`"${key}" must be a string`);
  if (!empty && value.length === 0) return fail(`"${key}" must not be empty`);
  return value;
}

function optStr(o: Fields, key: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key);
}

function bool(o: Fields, key: string): boolean {
  const value = o[key];
  return typeof value === 'boolean' ? value : fail(`"${key}" must be true or false`);
}

function strings(o: Fields, key: string): string[] {
  const value = o[key];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.length === 0))
    return fail(`"${key}" must be an array of non-empty strings`);
  return [...(value as string[])];
}

function optStrings(o: Fields, key: string): string[] | undefined {
  return o[key] === undefined ? undefined : strings(o, key);
}

function seconds(o: Fields, key: string): number | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fail(`"${key}" must be a positive whole number of seconds`);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], key: string): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fail(`"${key}" must be one of ${allowed.join(', ')}`);
}

function object(value: unknown, key: string): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : fail(`"${key}" must be an object`);
}

function hashed<T extends string>(o: Fields, key: string, formats: readonly T[]): { format: T; value: string } {
  const inner = object(o[key], key);
  return { format: oneOf(inner.format, formats, `${key}.format`), value: str(inner, 'value') };
}

function instant(o: Fields, key: string): string {
  const value = str(o, key);
  return Number.isNaN(Date.parse(value)) ? fail(`"${key}" must be an ISO 8601 date and time`) : value;
}

function parseClient(o: Fields): ImportClient {
  const secret = o.secret === null || o.secret === undefined ? null : hashed(o, 'secret', SECRET_FORMATS);
  const method = o.token_endpoint_auth_method === undefined ? undefined : oneOf(o.token_endpoint_auth_method, AUTH_METHODS, 'token_endpoint_auth_method');
  const record: ImportClient = {
    kind: 'client',
    client_id: str(o, 'client_id'),
    name: str(o, 'name', { empty: true }),
    confidential: bool(o, 'confidential'),
    secret,
    redirect_uris: strings(o, 'redirect_uris'),
    scopes: strings(o, 'scopes'),
    grant_types: strings(o, 'grant_types'),
  };
  if (method !== undefined) record.token_endpoint_auth_method = method;
  const audience = optStrings(o, 'audience');
  if (audience !== undefined) record.audience = audience;
  const accessTtl = seconds(o, 'access_token_ttl');
  if (accessTtl !== undefined) record.access_token_ttl = accessTtl;
  const refreshTtl = seconds(o, 'refresh_token_ttl');
  if (refreshTtl !== undefined) record.refresh_token_ttl = refreshTtl;
  const version = optStr(o, 'source_version');
  if (version !== undefined) record.source_version = version;
  parseClientOidc(o, record);
  return record;
}

/** The client's OpenID Connect metadata, each field optional; values are checked as the admin services check them. */
function parseClientOidc(o: Fields, record: ImportClient): void {
  const uris = optStrings(o, 'post_logout_redirect_uris');
  if (uris !== undefined) record.post_logout_redirect_uris = uris;
  const backchannel = optStr(o, 'backchannel_logout_uri');
  if (backchannel !== undefined) record.backchannel_logout_uri = backchannel;
  if (o.backchannel_logout_session_required !== undefined) record.backchannel_logout_session_required = bool(o, 'backchannel_logout_session_required');
  if (o.logout_revokes_tokens !== undefined) record.logout_revokes_tokens = bool(o, 'logout_revokes_tokens');
  if (o.id_token_signed_response_alg !== undefined) {
    record.id_token_signed_response_alg = oneOf(o.id_token_signed_response_alg, ['RS256', 'ES256', 'EdDSA'] as const, 'id_token_signed_response_alg');
  }
  if (o.subject_type !== undefined) record.subject_type = oneOf(o.subject_type, ['public', 'pairwise'] as const, 'subject_type');
  const sector = optStr(o, 'sector_identifier_uri');
  if (sector !== undefined) record.sector_identifier_uri = sector;
  if (o.dpop_bound_access_tokens !== undefined) record.dpop_bound_access_tokens = bool(o, 'dpop_bound_access_tokens');
  if (o.require_pushed_authorization_requests !== undefined) {
    record.require_pushed_authorization_requests = bool(o, 'require_pushed_authorization_requests');
  }
}

function parseUser(o: Fields): ImportUser {
  const record: ImportUser = {
    kind: 'user',
    source_id: str(o, 'source_id'),
    username: str(o, 'username'),
    enabled: bool(o, 'enabled'),
    password: hashed(o, 'password', PASSWORD_FORMATS),
  };
  const version = optStr(o, 'source_version');
  if (version !== undefined) record.source_version = version;
  // Profile attributes: their types here; their values when the user is planned (a bad one skips the user, naming it).
  for (const claim of PROFILE_TEXT_CLAIMS) {
    if (o[claim] !== undefined) record[claim] = o[claim] === null ? null : str(o, claim, { empty: true });
  }
  for (const claim of PROFILE_FLAG_CLAIMS) if (o[claim] !== undefined) record[claim] = bool(o, claim);
  if (o.address !== undefined) record.address = o.address === null ? null : parseAddress(object(o.address, 'address'));
  return record;
}

function parseAddress(o: Fields): PostalAddress {
  const address: PostalAddress = {};
  for (const key of Object.keys(o)) {
    if (!(ADDRESS_FIELDS as readonly string[]).includes(key)) fail(`"address.${key}" is not an address member (known: ${ADDRESS_FIELDS.join(', ')})`);
    address[key as keyof PostalAddress] = str(o, key, { empty: true });
  }
  return address;
}

function owner(o: Fields): string | null {
  return o.user_source_id === null || o.user_source_id === undefined ? null : str(o, 'user_source_id');
}

function parseRefreshToken(o: Fields): ImportRefreshToken {
  const record: ImportRefreshToken = {
    kind: 'refresh_token',
    token: hashed(o, 'token', TOKEN_FORMATS),
    client_id: str(o, 'client_id'),
    user_source_id: owner(o),
    scopes: strings(o, 'scopes'),
    issued_at: instant(o, 'issued_at'),
    expires_at: o.expires_at === null || o.expires_at === undefined ? null : instant(o, 'expires_at'),
    revoked: bool(o, 'revoked'),
  };
  if (o.access_token !== undefined && o.access_token !== null) {
    const inner = object(o.access_token, 'access_token');
    record.access_token = {
      ...hashed(o, 'access_token', TOKEN_FORMATS),
      expires_at: instant(inner, 'expires_at'),
      revoked: bool(inner, 'revoked'),
    };
  }
  return record;
}

function parseAccessToken(o: Fields): ImportAccessToken {
  return {
    kind: 'access_token',
    token: hashed(o, 'token', TOKEN_FORMATS),
    client_id: str(o, 'client_id'),
    user_source_id: owner(o),
    scopes: strings(o, 'scopes'),
    issued_at: instant(o, 'issued_at'),
    expires_at: instant(o, 'expires_at'),
    revoked: bool(o, 'revoked'),
  };
}

const PARSERS: Record<ImportKind, (o: Fields) => ImportRecord> = {
  client: parseClient,
  user: parseUser,
  refresh_token: parseRefreshToken,
  access_token: parseAccessToken,
  skipped: (o) => ({ kind: 'skipped', what: str(o, 'what'), reason: str(o, 'reason') }),
};

/** Validates one decoded JSON value as a record; throws ImportRecordError naming the bad field. */
export function parseRecord(value: unknown): ImportRecord {
  const o = object(value, 'record');
  const kind = oneOf(o.kind, Object.keys(PARSERS) as ImportKind[], 'kind');
  return PARSERS[kind](o);
}

/** Parses one JSON Lines line (1-based `lineNumber` for the message); undefined for a blank line. */
export function parseRecordLine(line: string, lineNumber: number): ImportRecord | undefined {
  if (line.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ImportRecordError(`line ${lineNumber}: not valid JSON`);
  }
  try {
    return parseRecord(value);
  } catch (error) {
    if (error instanceof ImportRecordError) throw new ImportRecordError(`line ${lineNumber}: ${error.message}`);
    throw error;
  }
}
