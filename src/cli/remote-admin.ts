/**
 * The CLI as a client of a running node (`--server URL`): the same methods and views as the
 * application services the commands call locally, each one a call to the admin API. A refusal
 * comes back as the AdminError the service would have thrown, so output and exit codes match.
 */
import { randomUUID } from 'node:crypto';
import {
  AdminError,
  type AdminService,
  type ClientChanges,
  type ClientDetails,
  type ClientView,
  type CreateClientInput,
  type EnvironmentView,
  type KeyView,
  type LastUsed,
} from '../admin/admin-service.ts';
import type { ApiChanges, ApiInput, ApiService, ApiView } from '../admin/apis.ts';
import type { AuditEventService, AuditEventView } from '../admin/audit-events.ts';
import { CLIENT_DPOP_FIELDS, type ClientDpopChanges } from '../admin/client-dpop.ts';
import { CLIENT_OIDC_FIELDS, type ClientOidcChanges } from '../admin/client-oidc.ts';
import { CLIENT_PAR_FIELDS, type ClientParChanges } from '../admin/par-settings.ts';
import type { KeyListing, ServiceAccountService, ServiceAccountView } from '../admin/service-accounts.ts';
import { PROFILE_CLAIMS, type ProfileChanges } from '../admin/user-profile.ts';
import type { UserService, UserView } from '../admin/users.ts';
import { remoteSignIn } from './sign-in-remote.ts';

/** What the CLI commands call on each service: the remote side implements exactly these. */
export type CliAdmin = Pick<
  AdminService,
  | 'createEnvironment'
  | 'listEnvironments'
  | 'setEnvironmentQuota'
  | 'getEnvironment'
  | 'updateEnvironment'
  | 'setDpopNonceRequired'
  | 'createClient'
  | 'listClients'
  | 'showClient'
  | 'rotateClientSecret'
  | 'setClientEnabled'
  | 'setClientQuota'
  | 'updateClient'
  | 'listKeys'
  | 'rotateKeys'
  | 'revokeKey'
  | 'setKeyRotation'
>;
export type CliServiceAccounts = Pick<ServiceAccountService, 'create' | 'list' | 'setEnabled' | 'createKey' | 'listKeys' | 'revokeKey'>;
export type CliUsers = Pick<UserService, 'create' | 'list' | 'get' | 'update' | 'setEnabled' | 'setPassword'>;
export type CliApis = Pick<ApiService, 'create' | 'list' | 'show' | 'update' | 'allowClients' | 'denyClients' | 'delete'>;
export type CliAuditEvents = Pick<AuditEventService, 'list'>;

/** A failure that is not a refused operation: no credentials, no access, an unreachable or unexpected server. */
export class RemoteAdminError extends Error {
  override name = 'RemoteAdminError';
}

/** How the CLI gets its admin token: a bearer token as is, or client credentials at the management environment's token endpoint. */
export type RemoteCredentials = { token: string } | { clientId: string; clientSecret: string; tokenUrl: string };

/**
 * Reads the credentials from the environment, never the command line: GATEHOUSE_ADMIN_TOKEN, or
 * GATEHOUSE_ADMIN_CLIENT_ID and GATEHOUSE_ADMIN_CLIENT_SECRET with the token endpoint at
 * GATEHOUSE_ADMIN_TOKEN_URL (default: GATEHOUSE_PUBLIC_URL/envs/GATEHOUSE_ADMIN_ENV/token).
 */
export function remoteCredentials(env: NodeJS.ProcessEnv, defaults: { publicUrl: string | undefined; adminEnvironment: string }): RemoteCredentials {
  const token = env.GATEHOUSE_ADMIN_TOKEN?.trim();
  if (token) return { token };
  const clientId = env.GATEHOUSE_ADMIN_CLIENT_ID?.trim();
  const clientSecret = env.GATEHOUSE_ADMIN_CLIENT_SECRET?.trim();
  if (!clientId || !clientSecret) {
    throw new RemoteAdminError('--server needs GATEHOUSE_ADMIN_TOKEN, or GATEHOUSE_ADMIN_CLIENT_ID and GATEHOUSE_ADMIN_CLIENT_SECRET, in the environment');
  }
  const base = defaults.publicUrl?.replace(/\/+$/, '');
  const tokenUrl = env.GATEHOUSE_ADMIN_TOKEN_URL?.trim() || (base ? `${base}/envs/${defaults.adminEnvironment}/token` : undefined);
  if (!tokenUrl)
    throw new RemoteAdminError('--server with client credentials needs GATEHOUSE_ADMIN_TOKEN_URL (or GATEHOUSE_PUBLIC_URL) to find the token endpoint');
  return { clientId, clientSecret, tokenUrl: httpUrl(tokenUrl, 'GATEHOUSE_ADMIN_TOKEN_URL') };
}

/** The admin API base of `--server URL` (a node's admin listener, with or without `/admin/v1`). */
export function adminApiBase(server: string): string {
  return `${httpUrl(server, '--server')
    .replace(/\/+$/, '')
    .replace(/\/admin\/v1$/, '')}/admin/v1`;
}

function httpUrl(text: string, name: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RemoteAdminError(`${name} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteAdminError(`${name} must be an http(s) URL`);
  return url.href;
}

interface Call {
  body?: unknown;
  ifMatch?: string;
  /** A create: an Idempotency-Key, so a retry of this call cannot create twice. */
  idempotent?: boolean;
}

const TIMEOUT_MS = 30_000;

/** HTTP to the admin API with a bearer token (fetched once per command), problems turned into errors. */
export class AdminApiClient {
  private token: Promise<string> | undefined;

  constructor(
    private readonly base: string,
    private readonly credentials: RemoteCredentials,
  ) {}

  async call<T>(method: string, path: string, call: Call = {}): Promise<{ body: T; etag: string | undefined }> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}`, accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.ifMatch !== undefined) headers['if-match'] = call.ifMatch;
    if (call.idempotent) headers['idempotency-key'] = randomUUID();
    const init = { method, headers, ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}) };
    // Reads and keyed creates are safe to send twice: one retry after a lost connection or a 503.
    const retry = method === 'GET' || call.idempotent === true;
    const response = await send(`${this.base}${path}`, init).then(
      (first) => (retry && first.status === 503 ? send(`${this.base}${path}`, init) : first),
      (error: unknown) => (retry ? send(`${this.base}${path}`, init) : Promise.reject(error)),
    );
    const text = await response.text();
    if (!response.ok) throw failure(response.status, text);
    return { body: (text ? JSON.parse(text) : undefined) as T, etag: response.headers.get('etag') ?? undefined };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).body;
  }

  /** Every item of a paged list, following `next_cursor`. */
  async list<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page: { items: T[]; next_cursor: string | null } = await this.get(`${path}${query}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return items;
  }

  /** An update as RFC 9110 wants it: read the current ETag, then write only if nothing changed meanwhile. */
  async update<T>(method: 'PATCH' | 'PUT', path: string, body: (current: T) => unknown): Promise<T> {
    const current = await this.call<T>('GET', path);
    return (await this.call<T>(method, path, { body: body(current.body), ...(current.etag ? { ifMatch: current.etag } : {}) })).body;
  }

  private accessToken(): Promise<string> {
    const credentials = this.credentials;
    if ('token' in credentials) return Promise.resolve(credentials.token);
    this.token ??= clientCredentialsToken(credentials);
    return this.token;
  }
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new RemoteAdminError(`cannot reach ${new URL(url).origin}: ${cause}`);
  }
}

async function clientCredentialsToken(credentials: { clientId: string; clientSecret: string; tokenUrl: string }): Promise<string> {
  const basic = Buffer.from(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`).toString('base64');
  const response = await send(credentials.tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: 'grant_type=client_credentials',
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
  if (!response.ok || typeof body.access_token !== 'string') {
    const error = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    throw new RemoteAdminError(
      `the token endpoint refused GATEHOUSE_ADMIN_CLIENT_ID (${error}); check the admin client's id, secret and GATEHOUSE_ADMIN_TOKEN_URL`,
    );
  }
  return body.access_token;
}

/** A problem+json answer as the error the local service throws for the same refusal. */
function failure(status: number, text: string): Error {
  let problem: { type?: string; detail?: string } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {}
  const detail = problem.detail ?? `HTTP ${status}`;
  if (status === 401) return new RemoteAdminError(`the admin API refused the token (${detail}); check GATEHOUSE_ADMIN_TOKEN or the admin client credentials`);
  if (status === 403) return new RemoteAdminError(`not allowed: the admin token lacks a scope (${detail})`);
  if (status === 412) return new AdminError('conflict', 'the resource changed meanwhile: run the command again');
  if (status === 404) return new AdminError('not_found', detail);
  if (status === 409) return new AdminError('conflict', detail);
  if (status === 400 || status === 422) return new AdminError('invalid_argument', detail);
  return new RemoteAdminError(`the admin API answered ${status}: ${detail}`);
}

const seg = encodeURIComponent;
const envPath = (env: string) => `/environments/${seg(env)}`;
const clientPath = (env: string, id: string) => `${envPath(env)}/clients/${seg(id)}`;
const byCreation =
  <T extends { created_at: string }>(id: (item: T) => string) =>
  (a: T, b: T) =>
    a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0;

/** Admin API body fields of a client create or change; absent fields are left out. */
function clientBody(changes: ClientChanges & { kind?: CreateClientInput['kind'] }): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: changes.name,
    type: changes.kind,
    grant_types: changes.grantTypes,
    scopes: changes.scopes,
    default_scopes: changes.defaultScopes,
    redirect_uris: changes.redirectUris,
    token_format: changes.tokenFormat,
    access_token_ttl: changes.accessTokenTtl,
    introspect_any: changes.introspectAny,
    allow_missing_pkce: changes.allowMissingPkce,
    quota: changes.quota,
    enabled: changes.enabled,
    ...Object.fromEntries(Object.entries(CLIENT_OIDC_FIELDS).map(([field, wire]) => [wire, changes[field as keyof ClientOidcChanges]])),
    ...Object.fromEntries(Object.entries(CLIENT_DPOP_FIELDS).map(([field, wire]) => [wire, changes[field as keyof ClientDpopChanges]])),
    ...Object.fromEntries(Object.entries(CLIENT_PAR_FIELDS).map(([field, wire]) => [wire, changes[field as keyof ClientParChanges]])),
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

/** The AdminService methods the CLI uses, over the admin API. */
export function remoteAdmin(api: AdminApiClient): CliAdmin {
  return {
    createEnvironment: async (name) =>
      (await api.call<Awaited<ReturnType<AdminService['createEnvironment']>>>('POST', '/environments', { body: { name }, idempotent: true })).body,
    listEnvironments: () => api.list<EnvironmentView>('/environments'),
    setEnvironmentQuota: (name, quota) => api.update<EnvironmentView>('PATCH', envPath(name), () => ({ default_quota: quota })),
    getEnvironment: (name) => api.get<EnvironmentView>(envPath(name)),
    updateEnvironment: (name, changes) =>
      api.update<EnvironmentView>('PATCH', envPath(name), () =>
        Object.fromEntries(
          Object.entries({
            default_quota: changes.defaultQuota,
            subject_type: changes.subjectType,
            refresh_token_policy: changes.refreshTokenPolicy,
            require_pushed_authorization_requests: changes.requirePushedAuthorizationRequests,
            security_profile: changes.securityProfile,
          }).filter(([, value]) => value !== undefined),
        ),
      ),
    setDpopNonceRequired: (name, required) => api.update<EnvironmentView>('PATCH', envPath(name), () => ({ dpop_nonce_required: required })),
    createClient: async ({ env, ...input }) => {
      const { kind, name, ...rest } = input;
      const body = clientBody({ ...rest, name, kind: kind ?? 'confidential' });
      return (await api.call<ClientView & { client_secret?: string }>('POST', `${envPath(env)}/clients`, { body, idempotent: true })).body;
    },
    listClients: (env) => listAllClients(api, env),
    showClient: (env, id) => api.get<ClientDetails>(`${clientPath(env, id)}/details`),
    rotateClientSecret: async (env, id, overlap) =>
      (
        await api.call<{ client_id: string; client_secret: string; previous_secrets_expire_at: string }>('POST', `${clientPath(env, id)}/secrets`, {
          body: overlap === undefined ? {} : { overlap_seconds: overlap },
          idempotent: true,
        })
      ).body,
    setClientEnabled: (env, id, enabled) => api.update<ClientView>('PATCH', clientPath(env, id), () => ({ enabled })),
    setClientQuota: (env, id, quota) => api.update<ClientView>('PATCH', clientPath(env, id), () => ({ quota })),
    updateClient: (env, id, changes) => api.update<ClientView>('PATCH', clientPath(env, id), () => clientBody(changes)),
    listKeys: async (env) => (await api.list<KeyView>(`${envPath(env)}/signing-keys`)).sort(newestKeyFirst),
    rotateKeys: async (env, options = {}) =>
      (
        await api.call<KeyView[]>('POST', `${envPath(env)}/signing-keys/rotate`, {
          body: { now: options.now === true, ...(options.alg === undefined ? {} : { alg: options.alg }) },
        })
      ).body,
    revokeKey: async (env, kid) =>
      (await api.call<Awaited<ReturnType<AdminService['revokeKey']>>>('POST', `${envPath(env)}/signing-keys/${seg(kid)}/revoke`)).body,
    setKeyRotation: async (env, seconds) =>
      (
        await api.call<Awaited<ReturnType<AdminService['setKeyRotation']>>>('PUT', `${envPath(env)}/signing-keys/rotation-schedule`, {
          body: { interval_seconds: seconds },
        })
      ).body,
  };
}

/** Like the store's list: newest created first, then latest activation, then kid. */
const newestKeyFirst = (a: KeyView, b: KeyView): number =>
  a.created_at !== b.created_at
    ? a.created_at < b.created_at
      ? 1
      : -1
    : a.activate_at !== b.activate_at
      ? a.activate_at < b.activate_at
        ? 1
        : -1
      : a.kid < b.kid
        ? -1
        : 1;

/** Clients and service accounts, oldest first, as the local list shows them (the admin API lists them apart). */
async function listAllClients(api: AdminApiClient, env: string): Promise<(ClientView & LastUsed)[]> {
  const [clients, accounts] = await Promise.all([
    api.list<ClientView & LastUsed>(`${envPath(env)}/clients`),
    api.list<ServiceAccountView>(`${envPath(env)}/service-accounts`),
  ]);
  const accountViews = await Promise.all(
    accounts.map(async (a) => ({ ...(await api.get<ClientView>(clientPath(env, a.service_account_id))), last_used_at: null as string | null })),
  );
  return [...clients, ...accountViews].sort(byCreation((c) => c.client_id));
}

const ownerPath = (env: string, id: string, kind: 'service_account' | 'client') =>
  kind === 'client' ? clientPath(env, id) : `${envPath(env)}/service-accounts/${seg(id)}`;

/** The ServiceAccountService methods the CLI uses, over the admin API. */
export function remoteServiceAccounts(api: AdminApiClient): CliServiceAccounts {
  return {
    create: async ({ env, name, scopes, defaultScopes, withSecret }) =>
      (
        await api.call<ServiceAccountView & { client_secret?: string }>('POST', `${envPath(env)}/service-accounts`, {
          body: { name, ...(scopes ? { scopes } : {}), ...(defaultScopes ? { default_scopes: defaultScopes } : {}), with_secret: withSecret === true },
          idempotent: true,
        })
      ).body,
    list: async (env) => (await api.list<ServiceAccountView>(`${envPath(env)}/service-accounts`)).sort(byCreation((a) => a.service_account_id)),
    setEnabled: (env, id, enabled) => api.update<ServiceAccountView>('PATCH', ownerPath(env, id, 'service_account'), () => ({ enabled })),
    createKey: async (env, id, alg = 'ES256', kind = 'service_account') =>
      (await api.call<Awaited<ReturnType<ServiceAccountService['createKey']>>>('POST', `${ownerPath(env, id, kind)}/keys`, { body: { alg }, idempotent: true }))
        .body,
    // The admin API pages keys oldest first; the local list shows the newest first.
    listKeys: async (env, id, kind = 'service_account') =>
      (await api.list<KeyListing>(`${ownerPath(env, id, kind)}/keys`)).sort(
        (a, b) => b.created_at.localeCompare(a.created_at) || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0),
      ),
    revokeKey: async (env, id, kid, kind = 'service_account') =>
      (await api.call<Awaited<ReturnType<ServiceAccountService['revokeKey']>>>('DELETE', `${ownerPath(env, id, kind)}/keys/${seg(kid)}`)).body,
  };
}

/** The UserService methods the CLI uses, over the admin API; the password travels only in the request body. */
export function remoteUsers(api: AdminApiClient): CliUsers {
  const userPath = (env: string, username: string) => `${envPath(env)}/users/${seg(username)}`;
  return {
    create: async ({ env, username, password, profile }) =>
      (await api.call<UserView>('POST', `${envPath(env)}/users`, { body: { username, password, ...profileBody(profile ?? {}) }, idempotent: true })).body,
    list: (env) => api.list<UserView & { last_login_at: string | null }>(`${envPath(env)}/users`),
    get: (env, username) => api.get<UserView>(userPath(env, username)),
    update: (env, username, { enabled, ...profile }) =>
      api.update<UserView>('PATCH', userPath(env, username), () => ({ ...profileBody(profile), ...(enabled === undefined ? {} : { enabled }) })),
    setEnabled: (env, username, enabled) => api.update<UserView>('PATCH', userPath(env, username), () => ({ enabled })),
    setPassword: async (env, username, password) => (await api.call<UserView>('PUT', `${userPath(env, username)}/password`, { body: { password } })).body,
  };
}

/** Admin API body fields of profile changes, under their claim names; absent fields are left out. */
function profileBody(changes: ProfileChanges): Record<string, unknown> {
  return Object.fromEntries(
    (Object.entries(PROFILE_CLAIMS) as [keyof ProfileChanges, string][])
      .filter(([field]) => changes[field] !== undefined)
      .map(([field, claim]) => [claim, changes[field]]),
  );
}

function apiBody(changes: ApiChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: changes.name,
    scopes: changes.scopes,
    token_format: changes.tokenFormat,
    access_token_ttl: changes.accessTokenTtl,
    clients: changes.clientIds,
    default: changes.isDefault,
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

/** The ApiService methods the CLI uses, over the admin API; allow and deny change the list as read, under its ETag. */
export function remoteApis(api: AdminApiClient): CliApis {
  const apiPath = (env: string, identifier: string) => `${envPath(env)}/apis/${seg(identifier)}`;
  return {
    create: async ({ env, identifier, ...input }: ApiInput) =>
      (await api.call<ApiView>('POST', `${envPath(env)}/apis`, { body: { identifier, ...apiBody(input) }, idempotent: true })).body,
    list: (env) => api.list<ApiView>(`${envPath(env)}/apis`),
    show: (env, identifier) => api.get<ApiView>(apiPath(env, identifier)),
    update: (env, identifier, changes) => api.update<ApiView>('PATCH', apiPath(env, identifier), () => apiBody(changes)),
    allowClients: (env, identifier, ids) => api.update<ApiView>('PATCH', apiPath(env, identifier), (current) => ({ clients: [...current.clients, ...ids] })),
    denyClients: (env, identifier, ids) =>
      api.update<ApiView>('PATCH', apiPath(env, identifier), (current) => ({ clients: current.clients.filter((id) => !ids.includes(id)) })),
    delete: async (env, identifier) => (await api.call<Awaited<ReturnType<ApiService['delete']>>>('DELETE', apiPath(env, identifier))).body,
  };
}

/** `audit list` over the admin API: the same filter as query parameters. */
export function remoteAuditEvents(api: AdminApiClient): CliAuditEvents {
  return {
    list: (filter) => {
      const query = new URLSearchParams({ limit: String(filter.limit) });
      if (filter.envName !== undefined) query.set('env', filter.envName);
      if (filter.type !== undefined) query.set('type', filter.type);
      if (filter.since !== undefined) query.set('since', new Date(filter.since).toISOString());
      return api.get<AuditEventView[]>(`/audit-events?${query}`);
    },
  };
}

/** The services of a remote CLI command, sharing one token. */
export function remoteServices(server: string, credentials: RemoteCredentials) {
  const api = new AdminApiClient(adminApiBase(server), credentials);
  return {
    admin: remoteAdmin(api),
    serviceAccounts: remoteServiceAccounts(api),
    users: remoteUsers(api),
    apis: remoteApis(api),
    auditEvents: remoteAuditEvents(api),
    signIn: remoteSignIn(api),
  };
}
