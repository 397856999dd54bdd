import { metadataDocumentSettingsJson, parseMetadataDocumentSettings } from '../domain/client-metadata-document-settings.ts';
import type { ApiScope, ClientKind, IdTokenAlgorithm, RefreshTokenPolicy, SecurityProfile, SubjectType, TokenFormat, UserProfile } from '../domain/model.ts';
import { changedProfile, EMPTY_PROFILE, type ProfileChanges, ProfileError } from '../domain/user-profile.ts';
import { AdminError } from './admin-service.ts';
import { type DeclaredBranding, type DeclaredSignIn, parseDeclaredBranding, parseDeclaredSignIn } from './declarative-pages.ts';
import { type DeclaredRegistration, parseDeclaredRegistration } from './declarative-registration.ts';
import { PROFILE_CLAIMS, type ProfileView } from './user-profile.ts';

/**
 * Configuration as code: a file declares environments with their settings, clients, service
 * accounts, APIs and users' profile attributes; `plan` compares it with what exists and `apply` makes the difference through the same
 * application services as every other path. Declared objects are matched by name within their
 * environment (a client may pin its `client_id`); nothing that exists but is not declared is
 * touched, and no secret is ever read from or written to the file.
 */

export interface DeclaredClient {
  name: string;
  clientId: string | undefined;
  type: Exclude<ClientKind, 'service_account'>;
  grantTypes: string[];
  scopes: string[];
  defaultScopes: string[];
  redirectUris: string[];
  tokenFormat: TokenFormat;
  accessTokenTtl: number | null;
  introspectAny: boolean;
  allowMissingPkce: boolean;
  quota: number | null;
  enabled: boolean;
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  backchannelLogoutSessionRequired: boolean;
  logoutRevokesTokens: boolean;
  idTokenSignedResponseAlg: IdTokenAlgorithm | null;
  subjectType: SubjectType | null;
  sectorIdentifierUri: string | null;
  /** RFC 9449 §5.2. */
  dpopBoundAccessTokens: boolean;
  /** RFC 9126 §6. */
  requirePushedAuthorizationRequests: boolean;
}

/**
 * A user the file describes: whether they may sign in and their profile attributes (checked and
 * normalised as every other path does). Users are created with a password, which never goes in a
 * file: a declared user must exist.
 */
export interface DeclaredUser {
  username: string;
  enabled: boolean;
  /** Every attribute, undeclared ones empty. */
  profile: UserProfile;
}

export interface DeclaredServiceAccount {
  name: string;
  scopes: string[];
  defaultScopes: string[];
  enabled: boolean;
}

export interface DeclaredApi {
  identifier: string;
  name: string;
  scopes: ApiScope[];
  tokenFormat: TokenFormat;
  accessTokenTtl: number | null;
  /** Names of clients declared in the same environment. */
  clients: string[];
  isDefault: boolean;
}

export interface DeclaredEnvironment {
  name: string;
  defaultQuota: number | null;
  subjectType: SubjectType;
  refreshTokenPolicy: RefreshTokenPolicy;
  /** RFC 9126 §5. */
  requirePushedAuthorizationRequests: boolean;
  /** RFC 9449 §8. */
  dpopNonceRequired: boolean;
  /** `fapi2`, or null for none. */
  securityProfile: SecurityProfile | null;
  /** RFC 7591: the registration policy, when the file declares one. */
  registration?: DeclaredRegistration | undefined;
  /** The second-factor policy and WebAuthn relying party, when declared. */
  signIn?: DeclaredSignIn | undefined;
  /** The brand and languages of the pages (not the logo), when declared. */
  branding?: DeclaredBranding | undefined;
  /** Client ID Metadata Documents, in their wire form; undefined: not declared, left as they are. */
  clientMetadataDocuments?: ReturnType<typeof metadataDocumentSettingsJson> | undefined;
  clients: DeclaredClient[];
  users: DeclaredUser[];
  serviceAccounts: DeclaredServiceAccount[];
  apis: DeclaredApi[];
}

export interface Declaration {
  environments: DeclaredEnvironment[];
}

/** A refusal to read the file, naming where in it the problem is (`environments[0].clients[1].scopes`). */
export class DeclarationError extends AdminError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super('invalid_argument', `${path}: ${problem}`);
  }
}

type Fields = Record<string, unknown>;

function object(value: unknown, path: string, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DeclarationError(path, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new DeclarationError(`${path}.${key}`, `unknown field (known: ${allowed.join(', ')})`);
  }
  return value as Fields;
}

function list<T>(value: unknown, path: string, item: (v: unknown, p: string) => T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new DeclarationError(path, 'must be a list');
  return value.map((v, i) => item(v, `${path}[${i}]`));
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new DeclarationError(path, 'must be a non-empty string');
  return value;
}

const texts = (value: unknown, path: string): string[] => list(value, path, text);

/** Client ID Metadata Document settings, checked as the admin API checks them; undefined when absent. */
function metadataDocuments(value: unknown, path: string): ReturnType<typeof metadataDocumentSettingsJson> | undefined {
  if (value === undefined) return undefined;
  try {
    return metadataDocumentSettingsJson(parseMetadataDocumentSettings(value));
  } catch (error) {
    throw new DeclarationError(path, (error as Error).message);
  }
}

function flag(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new DeclarationError(path, 'must be true or false');
  return value;
}

function count(value: unknown, path: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new DeclarationError(path, 'must be a whole number of at least 1, or null');
  return value;
}

function choice<T extends string>(value: unknown, path: string, options: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !options.includes(value as T)) throw new DeclarationError(path, `must be one of ${options.join(', ')}`);
  return value as T;
}

function unique<T>(items: T[], key: (item: T) => string, path: string, what: string): T[] {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(key(item))) throw new DeclarationError(path, `${what} ${key(item)} is declared twice`);
    seen.add(key(item));
  }
  return items;
}

const CLIENT_FIELDS = [
  'name',
  'client_id',
  'type',
  'grant_types',
  'scopes',
  'default_scopes',
  'redirect_uris',
  'token_format',
  'access_token_ttl',
  'introspect_any',
  'allow_missing_pkce',
  'quota',
  'enabled',
  'post_logout_redirect_uris',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'logout_revokes_tokens',
  'id_token_signed_response_alg',
  'subject_type',
  'sector_identifier_uri',
  'dpop_bound_access_tokens',
  'require_pushed_authorization_requests',
] as const;

function optionalText(value: unknown, path: string): string | null {
  return value === undefined || value === null ? null : text(value, path);
}

function nullableChoice<T extends string>(value: unknown, path: string, options: readonly T[]): T | null {
  return value === undefined || value === null ? null : choice(value, path, options, options[0] as T);
}

function parseClient(value: unknown, path: string): DeclaredClient {
  const f = object(value, path, CLIENT_FIELDS);
  const scopes = texts(f.scopes, `${path}.scopes`);
  return {
    name: text(f.name, `${path}.name`),
    clientId: f.client_id === undefined ? undefined : text(f.client_id, `${path}.client_id`),
    type: choice(f.type, `${path}.type`, ['confidential', 'public'] as const, 'confidential'),
    grantTypes: f.grant_types === undefined ? ['client_credentials'] : texts(f.grant_types, `${path}.grant_types`),
    scopes,
    defaultScopes: f.default_scopes === undefined ? scopes : texts(f.default_scopes, `${path}.default_scopes`),
    redirectUris: texts(f.redirect_uris, `${path}.redirect_uris`),
    tokenFormat: choice(f.token_format, `${path}.token_format`, ['jwt', 'opaque'] as const, 'jwt'),
    accessTokenTtl: count(f.access_token_ttl, `${path}.access_token_ttl`),
    introspectAny: flag(f.introspect_any, `${path}.introspect_any`, false),
    allowMissingPkce: flag(f.allow_missing_pkce, `${path}.allow_missing_pkce`, false),
    quota: count(f.quota, `${path}.quota`),
    enabled: flag(f.enabled, `${path}.enabled`, true),
    postLogoutRedirectUris: texts(f.post_logout_redirect_uris, `${path}.post_logout_redirect_uris`),
    backchannelLogoutUri: optionalText(f.backchannel_logout_uri, `${path}.backchannel_logout_uri`),
    backchannelLogoutSessionRequired: flag(f.backchannel_logout_session_required, `${path}.backchannel_logout_session_required`, false),
    logoutRevokesTokens: flag(f.logout_revokes_tokens, `${path}.logout_revokes_tokens`, false),
    idTokenSignedResponseAlg: nullableChoice(f.id_token_signed_response_alg, `${path}.id_token_signed_response_alg`, ['RS256', 'ES256', 'EdDSA'] as const),
    subjectType: nullableChoice(f.subject_type, `${path}.subject_type`, ['public', 'pairwise'] as const),
    sectorIdentifierUri: optionalText(f.sector_identifier_uri, `${path}.sector_identifier_uri`),
    dpopBoundAccessTokens: flag(f.dpop_bound_access_tokens, `${path}.dpop_bound_access_tokens`, false),
    requirePushedAuthorizationRequests: flag(f.require_pushed_authorization_requests, `${path}.require_pushed_authorization_requests`, false),
  };
}

const USER_FIELDS = ['username', 'enabled', ...Object.values(PROFILE_CLAIMS)] as const;

function parseUser(value: unknown, path: string): DeclaredUser {
  const f = object(value, path, USER_FIELDS);
  const changes: ProfileChanges = {};
  for (const [field, claim] of Object.entries(PROFILE_CLAIMS) as [keyof UserProfile, keyof ProfileView][]) {
    if (f[claim] !== undefined) (changes as Record<string, unknown>)[field] = f[claim];
  }
  let profile: UserProfile;
  try {
    profile = changedProfile(undefined, changes) ?? EMPTY_PROFILE;
  } catch (error) {
    if (error instanceof ProfileError) throw new DeclarationError(path, error.message);
    throw error;
  }
  return { username: text(f.username, `${path}.username`), enabled: flag(f.enabled, `${path}.enabled`, true), profile };
}

function parseServiceAccount(value: unknown, path: string): DeclaredServiceAccount {
  const f = object(value, path, ['name', 'scopes', 'default_scopes', 'enabled']);
  const scopes = texts(f.scopes, `${path}.scopes`);
  return {
    name: text(f.name, `${path}.name`),
    scopes,
    defaultScopes: f.default_scopes === undefined ? scopes : texts(f.default_scopes, `${path}.default_scopes`),
    enabled: flag(f.enabled, `${path}.enabled`, true),
  };
}

function parseApiScopeEntry(value: unknown, path: string): ApiScope {
  if (typeof value === 'string') return { name: text(value, path), description: '' };
  const f = object(value, path, ['name', 'description']);
  return { name: text(f.name, `${path}.name`), description: f.description === undefined ? '' : String(f.description) };
}

function parseApi(value: unknown, path: string): DeclaredApi {
  const f = object(value, path, ['identifier', 'name', 'scopes', 'token_format', 'access_token_ttl', 'clients', 'default']);
  return {
    identifier: text(f.identifier, `${path}.identifier`),
    name: text(f.name, `${path}.name`),
    scopes: list(f.scopes, `${path}.scopes`, parseApiScopeEntry),
    tokenFormat: choice(f.token_format, `${path}.token_format`, ['jwt', 'opaque'] as const, 'jwt'),
    accessTokenTtl: count(f.access_token_ttl, `${path}.access_token_ttl`),
    clients: texts(f.clients, `${path}.clients`),
    isDefault: flag(f.default, `${path}.default`, false),
  };
}

function parseEnvironment(value: unknown, path: string): DeclaredEnvironment {
  const f = object(value, path, [
    'name',
    'default_quota',
    'subject_type',
    'refresh_token_policy',
    'require_pushed_authorization_requests',
    'security_profile',
    'dpop_nonce_required',
    'registration',
    'sign_in',
    'branding',
    'client_metadata_documents',
    'clients',
    'service_accounts',
    'apis',
    'users',
  ]);
  const clients = unique(list(f.clients, `${path}.clients`, parseClient), (c) => c.name, `${path}.clients`, 'client');
  const apis = unique(list(f.apis, `${path}.apis`, parseApi), (a) => a.identifier, `${path}.apis`, 'API');
  apis.forEach((api, i) => {
    for (const name of api.clients) {
      if (!clients.some((c) => c.name === name))
        throw new DeclarationError(`${path}.apis[${i}].clients`, `no client named ${name} is declared in this environment`);
    }
  });
  return {
    name: text(f.name, `${path}.name`),
    defaultQuota: count(f.default_quota, `${path}.default_quota`),
    subjectType: choice(f.subject_type, `${path}.subject_type`, ['public', 'pairwise'] as const, 'public'),
    refreshTokenPolicy: choice(f.refresh_token_policy, `${path}.refresh_token_policy`, ['client', 'offline_access'] as const, 'client'),
    requirePushedAuthorizationRequests: flag(f.require_pushed_authorization_requests, `${path}.require_pushed_authorization_requests`, false),
    securityProfile: nullableChoice(f.security_profile, `${path}.security_profile`, ['fapi2'] as const),
    dpopNonceRequired: flag(f.dpop_nonce_required, `${path}.dpop_nonce_required`, false),
    registration: parseDeclaredRegistration(f.registration, `${path}.registration`),
    signIn: parseDeclaredSignIn(f.sign_in, `${path}.sign_in`),
    branding: parseDeclaredBranding(f.branding, `${path}.branding`),
    clientMetadataDocuments: metadataDocuments(f.client_metadata_documents, `${path}.client_metadata_documents`),
    clients,
    users: unique(list(f.users, `${path}.users`, parseUser), (u) => u.username, `${path}.users`, 'user'),
    serviceAccounts: unique(
      list(f.service_accounts, `${path}.service_accounts`, parseServiceAccount),
      (s) => s.name,
      `${path}.service_accounts`,
      'service account',
    ),
    apis,
  };
}

/** Validates a parsed YAML or JSON document (`version: 1`); every refusal names its place in the file. */
export function parseDeclaration(document: unknown): Declaration {
  const f = object(document, '(file)', ['version', 'environments']);
  if (f.version !== 1) throw new DeclarationError('version', 'must be 1');
  const environments = list(f.environments, 'environments', parseEnvironment);
  return { environments: unique(environments, (e) => e.name, 'environments', 'environment') };
}
