import { AdminError, type ClientChanges, type ClientView, type CreateClientInput, type EnvironmentChanges, type EnvironmentView } from './admin-service.ts';
import type { ApiChanges, ApiInput, ApiView } from './apis.ts';
import type { Declaration, DeclaredApi, DeclaredClient, DeclaredEnvironment, DeclaredServiceAccount, DeclaredUser } from './declarative.ts';
import { applyPageBlocks, type PageBlocksTarget, pageBlockPlans } from './declarative-pages.ts';
import { type RegistrationTarget, registrationDifferences } from './declarative-registration.ts';
import type { ServiceAccountView } from './service-accounts.ts';
import { PROFILE_CLAIMS, profileView } from './user-profile.ts';
import type { UserChanges, UserView } from './users.ts';

/**
 * The operations `plan` and `apply` use: the application services locally, the admin API with
 * `--server`. Every change goes through the same checks either way.
 */
export interface DeclarativeTarget extends PageBlocksTarget {
  listEnvironments(): Promise<EnvironmentView[]>;
  createEnvironment(name: string): Promise<unknown>;
  updateEnvironment(name: string, changes: EnvironmentChanges): Promise<unknown>;
  listClients(env: string): Promise<ClientView[]>;
  createClient(input: CreateClientInput): Promise<ClientView & { client_secret?: string }>;
  updateClient(env: string, clientId: string, changes: ClientChanges): Promise<unknown>;
  listServiceAccounts(env: string): Promise<ServiceAccountView[]>;
  createServiceAccount(input: { env: string; name: string; scopes: string[]; defaultScopes: string[] }): Promise<ServiceAccountView>;
  setServiceAccountEnabled(env: string, id: string, enabled: boolean): Promise<unknown>;
  listApis(env: string): Promise<ApiView[]>;
  createApi(input: ApiInput): Promise<unknown>;
  updateApi(env: string, identifier: string, changes: ApiChanges): Promise<unknown>;
  listUsers(env: string): Promise<UserView[]>;
  updateUser(env: string, username: string, changes: UserChanges): Promise<unknown>;
  /** RFC 7591 registration policies; absent where the target cannot manage them. */
  registration?: RegistrationTarget;
  /** Client ID Metadata Document settings. */
  getClientMetadataDocuments(env: string): Promise<unknown>;
  setClientMetadataDocuments(env: string, settings: Record<string, unknown>): Promise<unknown>;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface PlannedChange {
  action: 'create' | 'update' | 'unchanged';
  kind: 'environment' | 'registration' | 'sign_in' | 'branding' | 'client' | 'service_account' | 'api' | 'user';
  environment: string;
  /** The declared name (or the API's identifier). */
  name: string;
  /** The existing object's id, when there is one. */
  id?: string | undefined;
  changes: FieldChange[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
const normalise = (value: unknown): unknown =>
  Array.isArray(value) ? value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : v)).sort() : value === undefined ? null : value;

function diff(pairs: Array<[string, unknown, unknown]>): FieldChange[] {
  return pairs.filter(([, from, to]) => !same(from, to)).map(([field, from, to]) => ({ field, from, to }));
}

/** The existing client a declared one stands for: its pinned id, or the one client of that name. */
function matchClient(declared: DeclaredClient, existing: ClientView[], env: string): ClientView | undefined {
  if (declared.clientId !== undefined) {
    const pinned = existing.find((c) => c.client_id === declared.clientId);
    if (!pinned) throw new AdminError('not_found', `client ${declared.name} pins client_id ${declared.clientId}, which does not exist in ${env}`);
    return pinned;
  }
  const named = existing.filter((c) => c.name === declared.name);
  if (named.length > 1) {
    throw new AdminError(
      'conflict',
      `${named.length} clients in ${env} are named ${declared.name}: pin the one meant with client_id (${named.map((c) => c.client_id).join(', ')})`,
    );
  }
  return named[0];
}

function clientChanges(declared: DeclaredClient, current: ClientView): FieldChange[] {
  if (declared.type !== current.type) {
    throw new AdminError('invalid_argument', `client ${declared.name} is ${current.type} and cannot become ${declared.type}: create a new client instead`);
  }
  return diff([
    ['grant_types', current.grant_types, declared.grantTypes],
    ['scopes', current.scopes, declared.scopes],
    ['default_scopes', current.default_scopes, declared.defaultScopes],
    ['redirect_uris', current.redirect_uris, declared.redirectUris],
    ['token_format', current.token_format, declared.tokenFormat],
    ['access_token_ttl', current.access_token_ttl, declared.accessTokenTtl],
    ['introspect_any', current.introspect_any, declared.introspectAny],
    ['allow_missing_pkce', current.allow_missing_pkce, declared.allowMissingPkce],
    ['quota', current.quota, declared.quota],
    ['enabled', current.enabled, declared.enabled],
    ['post_logout_redirect_uris', current.post_logout_redirect_uris, declared.postLogoutRedirectUris],
    ['backchannel_logout_uri', current.backchannel_logout_uri, declared.backchannelLogoutUri],
    ['backchannel_logout_session_required', current.backchannel_logout_session_required, declared.backchannelLogoutSessionRequired],
    ['logout_revokes_tokens', current.logout_revokes_tokens, declared.logoutRevokesTokens],
    ['id_token_signed_response_alg', current.id_token_signed_response_alg, declared.idTokenSignedResponseAlg],
    ['subject_type', current.subject_type, declared.subjectType],
    ['sector_identifier_uri', current.sector_identifier_uri, declared.sectorIdentifierUri],
    ['dpop_bound_access_tokens', current.dpop_bound_access_tokens, declared.dpopBoundAccessTokens],
    ['require_pushed_authorization_requests', current.require_pushed_authorization_requests, declared.requirePushedAuthorizationRequests],
  ]);
}

/** A declared user's differences from the user as it is: whether they may sign in, and each attribute. */
function userChanges(declared: DeclaredUser, current: UserView): FieldChange[] {
  const wanted = profileView(declared.profile);
  return diff([
    ['enabled', current.enabled, declared.enabled],
    ...Object.values(PROFILE_CLAIMS).map((claim): [string, unknown, unknown] => [claim, current[claim], wanted[claim]]),
  ]);
}

function serviceAccountChanges(declared: DeclaredServiceAccount, current: ServiceAccountView): FieldChange[] {
  const changes = diff([
    ['scopes', current.scopes, declared.scopes],
    ['default_scopes', current.default_scopes, declared.defaultScopes],
    ['enabled', current.enabled, declared.enabled],
  ]);
  const fixed = changes.filter((c) => c.field !== 'enabled');
  if (fixed.length > 0) {
    throw new AdminError('invalid_argument', `the scopes of service account ${declared.name} cannot change: create a new service account instead`);
  }
  return changes;
}

function apiChanges(declared: DeclaredApi, current: ApiView, clientIds: string[]): FieldChange[] {
  return diff([
    ['name', current.name, declared.name],
    ['scopes', current.scopes, declared.scopes],
    ['token_format', current.token_format, declared.tokenFormat],
    ['access_token_ttl', current.access_token_ttl, declared.accessTokenTtl],
    ['clients', current.clients, clientIds],
    ['default', current.default, declared.isDefault],
  ]);
}

const planned = (kind: PlannedChange['kind'], environment: string, name: string, id: string | undefined, changes: FieldChange[]): PlannedChange => ({
  action: id === undefined ? 'create' : changes.length > 0 ? 'update' : 'unchanged',
  kind,
  environment,
  name,
  id,
  changes,
});

async function planEnvironment(target: DeclarativeTarget, declared: DeclaredEnvironment, existing: EnvironmentView | undefined): Promise<PlannedChange[]> {
  const env = declared.name;
  const result: PlannedChange[] = [
    planned(
      'environment',
      env,
      env,
      existing?.name,
      existing
        ? diff([
            ['default_quota', existing.default_quota, declared.defaultQuota],
            ['subject_type', existing.subject_type, declared.subjectType],
            ['refresh_token_policy', existing.refresh_token_policy, declared.refreshTokenPolicy],
            ['require_pushed_authorization_requests', existing.require_pushed_authorization_requests, declared.requirePushedAuthorizationRequests],
            ['security_profile', existing.security_profile, declared.securityProfile],
            ['dpop_nonce_required', existing.dpop_nonce_required, declared.dpopNonceRequired],
            ...(await metadataDocumentsPair(target, declared)),
          ])
        : [],
    ),
  ];
  result.push(...(await planRegistration(target, declared, existing !== undefined)));
  for (const p of await pageBlockPlans(target, declared, existing !== undefined))
    result.push(planned(p.kind, env, p.kind, p.exists ? env : undefined, diff(p.pairs)));
  const clients = existing ? (await target.listClients(env)).filter((c) => c.type !== 'service_account') : [];
  const accounts = existing ? await target.listServiceAccounts(env) : [];
  const apis = existing ? await target.listApis(env) : [];
  const clientIds = new Map<string, string | undefined>();
  for (const client of declared.clients) {
    const current = matchClient(client, clients, env);
    clientIds.set(client.name, current?.client_id);
    result.push(planned('client', env, client.name, current?.client_id, current ? clientChanges(client, current) : []));
  }
  for (const account of declared.serviceAccounts) {
    const current = accounts.filter((a) => a.name === account.name);
    if (current.length > 1) throw new AdminError('conflict', `${current.length} service accounts in ${env} are named ${account.name}`);
    const [only] = current;
    result.push(planned('service_account', env, account.name, only?.service_account_id, only ? serviceAccountChanges(account, only) : []));
  }
  for (const api of declared.apis) {
    const current = apis.find((a) => a.identifier === api.identifier);
    // A client still to be created has no id yet: the API then changes, whatever it lists now.
    const ids = api.clients.map((name) => clientIds.get(name) ?? `(new client ${name})`);
    result.push(planned('api', env, api.identifier, current?.identifier, current ? apiChanges(api, current, ids) : []));
  }
  result.push(...(await planUsers(target, declared, existing !== undefined)));
  return result;
}

/** The declared Client ID Metadata Document settings beside the current ones, when declared. */
async function metadataDocumentsPair(target: DeclarativeTarget, declared: DeclaredEnvironment): Promise<Array<[string, unknown, unknown]>> {
  if (declared.clientMetadataDocuments === undefined) return [];
  return [['client_metadata_documents', await target.getClientMetadataDocuments(declared.name), declared.clientMetadataDocuments]];
}

/** Declared users must exist: they are created with a password, which never goes in a file. */
async function planUsers(target: DeclarativeTarget, declared: DeclaredEnvironment, exists: boolean): Promise<PlannedChange[]> {
  if (declared.users.length === 0) return [];
  const env = declared.name;
  const users = exists ? await target.listUsers(env) : [];
  return declared.users.map((user) => {
    const current = users.find((u) => u.username === user.username);
    if (!current) {
      throw new AdminError(
        'not_found',
        `user ${user.username} does not exist in ${env}: create it first (gatehouse user create), since passwords never go in the file`,
      );
    }
    return planned('user', env, user.username, current.user_id, userChanges(user, current));
  });
}

/** What applying `declaration` would change, in the order `applyDeclaration` makes the changes. */
export async function planDeclaration(target: DeclarativeTarget, declaration: Declaration): Promise<PlannedChange[]> {
  const environments = await target.listEnvironments();
  const changes: PlannedChange[] = [];
  for (const env of declaration.environments) {
    changes.push(
      ...(await planEnvironment(
        target,
        env,
        environments.find((e) => e.name === env.name),
      )),
    );
  }
  return changes;
}

export interface ApplyResult {
  changes: PlannedChange[];
  /** Secrets of the confidential clients created now: shown once, never stored in clear. */
  secrets: Array<{ environment: string; name: string; client_id: string; client_secret: string }>;
}

const clientInput = (env: string, c: DeclaredClient): CreateClientInput => ({
  env,
  name: c.name,
  kind: c.type,
  grantTypes: c.grantTypes,
  scopes: c.scopes,
  defaultScopes: c.defaultScopes,
  redirectUris: c.redirectUris,
  tokenFormat: c.tokenFormat,
  accessTokenTtl: c.accessTokenTtl,
  introspectAny: c.introspectAny,
  allowMissingPkce: c.allowMissingPkce,
  quota: c.quota,
  postLogoutRedirectUris: c.postLogoutRedirectUris,
  backchannelLogoutUri: c.backchannelLogoutUri,
  backchannelLogoutSessionRequired: c.backchannelLogoutSessionRequired,
  logoutRevokesTokens: c.logoutRevokesTokens,
  idTokenSignedResponseAlg: c.idTokenSignedResponseAlg,
  subjectType: c.subjectType,
  sectorIdentifierUri: c.sectorIdentifierUri,
  dpopBoundAccessTokens: c.dpopBoundAccessTokens,
  requirePushedAuthorizationRequests: c.requirePushedAuthorizationRequests,
});

const CLIENT_CHANGE_FIELDS: Record<string, keyof ClientChanges> = {
  grant_types: 'grantTypes',
  scopes: 'scopes',
  default_scopes: 'defaultScopes',
  redirect_uris: 'redirectUris',
  token_format: 'tokenFormat',
  access_token_ttl: 'accessTokenTtl',
  introspect_any: 'introspectAny',
  allow_missing_pkce: 'allowMissingPkce',
  quota: 'quota',
  enabled: 'enabled',
  post_logout_redirect_uris: 'postLogoutRedirectUris',
  backchannel_logout_uri: 'backchannelLogoutUri',
  backchannel_logout_session_required: 'backchannelLogoutSessionRequired',
  logout_revokes_tokens: 'logoutRevokesTokens',
  id_token_signed_response_alg: 'idTokenSignedResponseAlg',
  subject_type: 'subjectType',
  sector_identifier_uri: 'sectorIdentifierUri',
  dpop_bound_access_tokens: 'dpopBoundAccessTokens',
  require_pushed_authorization_requests: 'requirePushedAuthorizationRequests',
};

async function applyClient(target: DeclarativeTarget, env: string, declared: DeclaredClient, change: PlannedChange, result: ApplyResult): Promise<string> {
  if (change.action === 'create') {
    const created = await target.createClient(clientInput(env, declared));
    if (!declared.enabled) await target.updateClient(env, created.client_id, { enabled: false });
    if (created.client_secret)
      result.secrets.push({ environment: env, name: declared.name, client_id: created.client_id, client_secret: created.client_secret });
    return created.client_id;
  }
  const id = change.id as string;
  if (change.action === 'update') {
    const changes = Object.fromEntries(change.changes.map((c) => [CLIENT_CHANGE_FIELDS[c.field], c.to])) as ClientChanges;
    await target.updateClient(env, id, changes);
  }
  return id;
}

async function applyEnvironment(target: DeclarativeTarget, declared: DeclaredEnvironment, changes: PlannedChange[], result: ApplyResult): Promise<void> {
  const env = declared.name;
  const [envChange, ...rest] = changes;
  if (envChange?.action === 'create') await target.createEnvironment(env);
  const settings: EnvironmentChanges = {
    defaultQuota: declared.defaultQuota,
    subjectType: declared.subjectType,
    refreshTokenPolicy: declared.refreshTokenPolicy,
    requirePushedAuthorizationRequests: declared.requirePushedAuthorizationRequests,
    securityProfile: declared.securityProfile,
    dpopNonceRequired: declared.dpopNonceRequired,
  };
  const notDefault =
    declared.defaultQuota !== null ||
    declared.subjectType !== 'public' ||
    declared.refreshTokenPolicy !== 'client' ||
    declared.requirePushedAuthorizationRequests ||
    declared.securityProfile !== null ||
    declared.dpopNonceRequired;
  if (envChange?.action === 'create' ? notDefault : envChange?.action === 'update') await target.updateEnvironment(env, settings);
  await applyPageBlocks(target, declared, (kind) => rest.some((c) => c.kind === kind && c.action !== 'unchanged'));
  const documents = declared.clientMetadataDocuments;
  const documentsChanged = envChange?.action === 'create' || envChange?.changes.some((c) => c.field === 'client_metadata_documents');
  if (documents !== undefined && documentsChanged) await target.setClientMetadataDocuments(env, documents);
  const ids = new Map<string, string>();
  for (const client of declared.clients) {
    const change = rest.find((c) => c.kind === 'client' && c.name === client.name) as PlannedChange;
    ids.set(client.name, await applyClient(target, env, client, change, result));
  }
  for (const account of declared.serviceAccounts) {
    const change = rest.find((c) => c.kind === 'service_account' && c.name === account.name) as PlannedChange;
    if (change.action === 'create') {
      const created = await target.createServiceAccount({ env, name: account.name, scopes: account.scopes, defaultScopes: account.defaultScopes });
      if (!account.enabled) await target.setServiceAccountEnabled(env, created.service_account_id, false);
    } else if (change.action === 'update') await target.setServiceAccountEnabled(env, change.id as string, account.enabled);
  }
  for (const api of declared.apis) {
    const change = rest.find((c) => c.kind === 'api' && c.name === api.identifier) as PlannedChange;
    const fields = { name: api.name, scopes: api.scopes, tokenFormat: api.tokenFormat, accessTokenTtl: api.accessTokenTtl, isDefault: api.isDefault };
    const clientIds = api.clients.map((name) => ids.get(name) as string);
    if (change.action === 'create') await target.createApi({ env, identifier: api.identifier, ...fields, clientIds });
    else if (change.action === 'update') await target.updateApi(env, api.identifier, { ...fields, clientIds });
  }
  for (const user of declared.users) {
    const change = rest.find((c) => c.kind === 'user' && c.name === user.username) as PlannedChange;
    // Every attribute at once: a new email is then verified or not as declared, not reset by the change.
    if (change.action === 'update') await target.updateUser(env, user.username, { ...user.profile, enabled: user.enabled });
  }
  // Last: the policy may name APIs this file creates (allowed_apis).
  await applyRegistration(target, declared, rest);
}

/**
 * Makes what exists match `declaration`: plans first (so a refusal comes before any change), then
 * creates and updates in order. Applying the same declaration again changes nothing.
 */
export async function applyDeclaration(target: DeclarativeTarget, declaration: Declaration): Promise<ApplyResult> {
  const changes = await planDeclaration(target, declaration);
  const result: ApplyResult = { changes, secrets: [] };
  for (const env of declaration.environments) {
    await applyEnvironment(
      target,
      env,
      changes.filter((c) => c.environment === env.name),
      result,
    );
  }
  return result;
}

/** The declared registration policy against the current one (RFC 7591). */
async function planRegistration(target: DeclarativeTarget, declared: DeclaredEnvironment, exists: boolean): Promise<PlannedChange[]> {
  if (!declared.registration) return [];
  if (!target.registration) throw new AdminError('invalid_argument', 'registration policies cannot be applied here');
  const current = exists ? await target.registration.get(declared.name) : undefined;
  const changes = diff(registrationDifferences(declared.registration, current));
  return [planned('registration', declared.name, 'registration', current ? declared.name : undefined, changes)];
}

async function applyRegistration(target: DeclarativeTarget, declared: DeclaredEnvironment, changes: PlannedChange[]): Promise<void> {
  const change = changes.find((c) => c.kind === 'registration');
  if (!change || change.action === 'unchanged' || !declared.registration) return;
  await target.registration?.set(declared.name, declared.registration);
}
