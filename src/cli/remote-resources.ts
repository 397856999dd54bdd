import type { ApiChanges, ApiInput, ApiService, ApiView } from '../admin/apis.ts';
import type { AuditEventService, AuditEventView } from '../admin/audit-events.ts';
import type { KeyListing, ServiceAccountService, ServiceAccountView } from '../admin/service-accounts.ts';
import { PROFILE_CLAIMS, type ProfileChanges } from '../admin/user-profile.ts';
import type { UserService, UserView } from '../admin/users.ts';
import { type AdminApiClient, byCreation, clientPath, envPath, seg } from './admin-api-client.ts';

/* The service-account, user, API and audit services the CLI uses, over the admin API. */

const ownerPath = (env: string, id: string, kind: 'service_account' | 'client') =>
  kind === 'client' ? clientPath(env, id) : `${envPath(env)}/service-accounts/${seg(id)}`;

export type CliServiceAccounts = Pick<ServiceAccountService, 'create' | 'list' | 'setEnabled' | 'createKey' | 'listKeys' | 'revokeKey'>;
export type CliUsers = Pick<UserService, 'create' | 'list' | 'get' | 'update' | 'setEnabled' | 'setPassword'>;
export type CliApis = Pick<ApiService, 'create' | 'list' | 'show' | 'update' | 'allowClients' | 'denyClients' | 'delete'>;
export type CliAuditEvents = Pick<AuditEventService, 'list'>;

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
