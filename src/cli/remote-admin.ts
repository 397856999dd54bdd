/**
 * The CLI as a client of a running node (`--server URL`): the same methods and views as the
 * application services the commands call locally, each one a call to the admin API. A refusal
 * comes back as the AdminError the service would have thrown, so output and exit codes match.
 */

import type { AdminService, ClientChanges, ClientDetails, ClientView, CreateClientInput, EnvironmentView, KeyView, LastUsed } from '../admin/admin-service.ts';
import { CLIENT_DPOP_FIELDS, type ClientDpopChanges } from '../admin/client-dpop.ts';
import { CLIENT_OIDC_FIELDS, type ClientOidcChanges } from '../admin/client-oidc.ts';
import { CLIENT_PAR_FIELDS, type ClientParChanges } from '../admin/par-settings.ts';
import type { ServiceAccountView } from '../admin/service-accounts.ts';
import { AdminApiClient, adminApiBase, byCreation, clientPath, envPath, type RemoteCredentials, seg } from './admin-api-client.ts';
import { remoteBranding } from './remote-branding.ts';
import { remoteMetadataDocuments } from './remote-metadata-documents.ts';
import { remoteApis, remoteAuditEvents, remoteServiceAccounts, remoteUsers } from './remote-resources.ts';
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

export { AdminApiClient, adminApiBase, RemoteAdminError, type RemoteCredentials, remoteCredentials } from './admin-api-client.ts';
export type { CliApis, CliAuditEvents, CliServiceAccounts, CliUsers } from './remote-resources.ts';

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
            dpop_nonce_required: changes.dpopNonceRequired,
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

/** The services of a remote CLI command, sharing one token. */
export function remoteServices(server: string, credentials: RemoteCredentials) {
  const api = new AdminApiClient(adminApiBase(server), credentials);
  return {
    admin: remoteAdmin(api),
    serviceAccounts: remoteServiceAccounts(api),
    users: remoteUsers(api),
    apis: remoteApis(api),
    auditEvents: remoteAuditEvents(api),
    branding: remoteBranding(api),
    signIn: remoteSignIn(api),
    metadataDocuments: remoteMetadataDocuments(api),
  };
}
