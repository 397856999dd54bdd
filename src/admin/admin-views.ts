import type { Client, ClientKind, ClientSecret, Environment, RefreshTokenPolicy, SubjectType, TokenFormat } from '../domain/model.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { type ClientDpopChanges, type ClientDpopView, clientDpopView, type EnvironmentDpopView, environmentDpopView } from './client-dpop.ts';
import { type ClientOidcChanges, type ClientOidcView, clientOidcView } from './client-oidc.ts';
import {
  type ClientParChanges,
  type ClientParView,
  clientParView,
  type EnvironmentParChanges,
  type EnvironmentParView,
  environmentParView,
} from './par-settings.ts';
import { type ClientRegistrationView, clientRegistrationView } from './registration-policy.ts';

/* What the admin services take and return for environments and clients: their inputs, changes and views. */

export interface CreateClientInput extends ClientOidcChanges, ClientDpopChanges, ClientParChanges {
  env: string;
  name: string;
  grantTypes?: string[];
  scopes?: string[];
  defaultScopes?: string[];
  redirectUris?: string[];
  kind?: ClientKind;
  tokenFormat?: TokenFormat;
  accessTokenTtl?: number | null;
  introspectAny?: boolean;
  allowMissingPkce?: boolean;
  /** Requests per quota window; null or absent: the environment's default. */
  quota?: number | null;
}

export interface ClientView extends ClientOidcView, ClientDpopView, ClientParView, ClientRegistrationView {
  client_id: string;
  name: string;
  environment: string;
  issuer: string;
  type: ClientKind;
  grant_types: string[];
  scopes: string[];
  default_scopes: string[];
  redirect_uris: string[];
  token_format: TokenFormat;
  access_token_ttl: number | null;
  introspect_any: boolean;
  allow_missing_pkce: boolean;
  /** Requests per quota window; null: the environment's default applies. */
  quota: number | null;
  enabled: boolean;
  created_at: string;
}

/** When it was last used (null: never, as far as the usage records go), written by each node every GATEHOUSE_USAGE_FLUSH_INTERVAL. */
export interface LastUsed {
  last_used_at: string | null;
}

/** What `client show` adds to a client: its secrets' use and the access tokens it got. */
export interface ClientDetails extends ClientView, LastUsed {
  secrets: ({ id: string; created_at: string; expires_at: string | null } & LastUsed)[];
  /** Access tokens issued today (UTC). */
  tokens_today: number;
  /** Access tokens issued over the last 30 UTC days, today included. */
  tokens_last_30_days: number;
}

/** Days of token counts `client show` adds up, today included. */
export const TOKEN_COUNT_DAYS = 30;

export interface EnvironmentView extends EnvironmentDpopView, EnvironmentParView {
  name: string;
  issuer: string;
  /** Requests per quota window for each client that sets no quota of its own; null: unlimited. */
  default_quota: number | null;
  /** Core §8: the subject type of clients that choose none. */
  subject_type: SubjectType;
  /** Core §11: when user flows get refresh tokens (`client`: whenever the client may refresh; `offline_access`: only when granted). */
  refresh_token_policy: RefreshTokenPolicy;
  created_at: string;
}

/** What `updateEnvironment` may change; absent fields keep their value. */
export interface EnvironmentChanges extends EnvironmentParChanges {
  /** RFC 9449 §8: DPoP proofs at the token endpoint must carry a server nonce. */
  dpopNonceRequired?: boolean;
  defaultQuota?: number | null;
  subjectType?: SubjectType;
  refreshTokenPolicy?: RefreshTokenPolicy;
}

export const REFRESH_TOKEN_POLICIES: readonly RefreshTokenPolicy[] = ['client', 'offline_access'];

export interface KeyRotationView {
  environment: string;
  /** Seconds between scheduled rotations; null: none. */
  key_rotation_interval: number | null;
  /** Time from a scheduled rotation to the new key's activation, in seconds. */
  activation_lead: number;
}

/** What `updateClient` may change; absent fields keep their value. */
export interface ClientChanges extends ClientOidcChanges, ClientDpopChanges, ClientParChanges {
  name?: string;
  grantTypes?: string[];
  scopes?: string[];
  defaultScopes?: string[];
  redirectUris?: string[];
  tokenFormat?: TokenFormat;
  accessTokenTtl?: number | null;
  introspectAny?: boolean;
  allowMissingPkce?: boolean;
  quota?: number | null;
  enabled?: boolean;
}

/** One secret of a client, by id: its value is shown only when it is created. */
export interface ClientSecretView {
  id: string;
  created_at: string;
  expires_at: string | null;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
/** A usage time, or null when none was recorded. */
export const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : iso(ms));

export function environmentView(publicUrl: string, env: Environment): EnvironmentView {
  return {
    name: env.name,
    issuer: issuerUrls(publicUrl, env).issuer,
    default_quota: env.defaultQuota,
    subject_type: env.subjectType ?? 'public',
    refresh_token_policy: env.refreshTokenPolicy ?? 'client',
    ...environmentDpopView(env),
    ...environmentParView(env),
    created_at: iso(env.createdAt),
  };
}

export function clientView(publicUrl: string, env: Environment, c: Client): ClientView {
  return {
    client_id: c.clientId,
    name: c.name,
    environment: env.name,
    issuer: issuerUrls(publicUrl, env).issuer,
    type: c.kind,
    grant_types: c.grantTypes,
    scopes: c.scopes,
    default_scopes: c.defaultScopes,
    redirect_uris: c.redirectUris,
    token_format: c.tokenFormat,
    access_token_ttl: c.accessTokenTtl,
    introspect_any: c.introspectAny,
    allow_missing_pkce: c.allowMissingPkce,
    quota: c.quota,
    enabled: c.enabled,
    created_at: iso(c.createdAt),
    ...clientOidcView(c),
    ...clientDpopView(c),
    ...clientParView(c),
    ...clientRegistrationView(c),
  };
}

export const secretView = (s: ClientSecret): ClientSecretView => ({
  id: s.id,
  created_at: iso(s.createdAt),
  expires_at: s.expiresAt === null ? null : iso(s.expiresAt),
});
