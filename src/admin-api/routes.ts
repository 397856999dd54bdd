import type { AdminService } from '../admin/admin-service.ts';
import type { ApiChanges, ApiService } from '../admin/apis.ts';
import type { AuditEventService } from '../admin/audit-events.ts';
import type { ServiceAccountService } from '../admin/service-accounts.ts';
import type { SignInPolicyService } from '../admin/sign-in-policy.ts';
import { type ProfileView, profileFromView } from '../admin/user-profile.ts';
import type { UserService } from '../admin/users.ts';
import { isAuditEventType } from '../domain/audit.ts';
import type { ApiScope, ClientKind, IdTokenAlgorithm, RefreshTokenPolicy, SecurityProfile, SubjectType, TokenFormat } from '../domain/model.ts';
import type { CreationKey } from '../domain/storage.ts';
import type { Access, AdminCaller } from './auth.ts';
import { checkIfMatch, etagOf, pageOf, pageQuery } from './http-semantics.ts';
import { Problem } from './problems.ts';
import * as S from './schemas.ts';
import { object } from './schemas.ts';
import { signInRoutes } from './sign-in-routes.ts';

/** The application services every admin API route goes through (never the store). */
export interface AdminApiServices {
  readonly admin: AdminService;
  readonly serviceAccounts: ServiceAccountService;
  readonly users: UserService;
  readonly apis: ApiService;
  /** Absent where a node wires no audit reader: the route then answers not-found. */
  readonly auditEvents?: AuditEventService;
  /** Sign-in policies and users' second factors; absent: those routes answer not-found. */
  readonly signIn?: SignInPolicyService;
}

type Json = Record<string, unknown>;

export interface RouteContext {
  services: AdminApiServices;
  caller: AdminCaller;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Json;
  managementEnv: string;
  /** The request's If-Match header, for services that check it on the version they write. */
  ifMatch: string | undefined;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** OpenAPI form (`{env}`); under `/admin/v1`. */
  path: string;
  operationId: string;
  summary: string;
  /** The scope needed; `token`: any valid admin token, whatever its scopes. */
  access: Access | 'token';
  body?: S.Schema;
  /** Query parameters of a list: paging and filters. */
  list?: { filters: readonly ('q' | 'enabled')[] };
  /** Other query parameters, for the OpenAPI document. */
  query?: Record<string, { description: string; schema: S.Schema }>;
  status: number;
  response: S.Schema;
  /** An update: the current representation, whose ETag `If-Match` must name. */
  current?: (ctx: RouteContext) => Promise<unknown>;
  /** A single resource: the response carries its ETag. */
  etag?: boolean;
  /** A create: `Idempotency-Key` is honoured. */
  idempotent?: boolean;
  run(ctx: RouteContext): Promise<unknown>;
}

const ENV = '/environments/{env}';
const LIST_QUERY = { filters: ['q'] } as const;
const LIST_FILTERED = { filters: ['q', 'enabled'] } as const;

const optional = <T>(value: unknown): T | undefined => (value === undefined ? undefined : (value as T));

/**
 * What an update's service calls with the resource as it reads it before writing, and again
 * when a concurrent writer won: a stale If-Match is 412 both times, and the write itself is
 * conditional on the version checked.
 */
const ifMatches =
  (ifMatch: string | undefined) =>
  (current: unknown): void =>
    checkIfMatch(ifMatch, etagOf(current));

const ME = object({
  client_id: { type: 'string' },
  subject: { type: 'string' },
  environment: { type: 'string' },
  scopes: { type: 'array', items: { type: 'string' } },
});

/** Who the token speaks for and what it may do: what a console or CLI shows before anything else. */
const callerRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/me',
    operationId: 'getCaller',
    summary: 'The admin client (and user) the token was issued to, and its scopes',
    access: 'token',
    status: 200,
    response: ME,
    run: async ({ caller, managementEnv }) => ({
      client_id: caller.clientId,
      subject: caller.subject,
      environment: managementEnv,
      scopes: [...caller.scopes].sort(),
    }),
  },
];

const environmentRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/environments',
    operationId: 'listEnvironments',
    summary: 'List environments',
    access: 'read',
    list: LIST_QUERY,
    status: 200,
    response: S.page(S.ENVIRONMENT),
    run: async ({ services, query }) => pageOf(await services.admin.pageEnvironments(pageQuery(query, 'string', LIST_QUERY.filters))),
  },
  {
    method: 'POST',
    path: '/environments',
    operationId: 'createEnvironment',
    summary: 'Create an environment with its first signing key',
    access: 'write',
    body: S.CREATE_ENVIRONMENT,
    status: 201,
    response: S.ENVIRONMENT_CREATED,
    idempotent: true,
    run: ({ services, body }) => services.admin.createEnvironment(String(body.name)),
  },
  {
    method: 'GET',
    path: ENV,
    operationId: 'getEnvironment',
    summary: 'Read an environment',
    access: 'read',
    status: 200,
    response: S.ENVIRONMENT,
    etag: true,
    run: ({ services, params }) => services.admin.getEnvironment(params.env ?? ''),
  },
  {
    method: 'PATCH',
    path: ENV,
    operationId: 'updateEnvironment',
    summary:
      'Change an environment: default client quota, subject type (public or pairwise), refresh-token policy (client or offline_access), pushed authorization requests (RFC 9126) and security profile (fapi2)',
    access: 'write',
    body: S.UPDATE_ENVIRONMENT,
    status: 200,
    response: S.ENVIRONMENT,
    etag: true,
    current: ({ services, params }) => services.admin.getEnvironment(params.env ?? ''),
    // The service checks If-Match again on the version it writes: no window between check and write.
    run: async ({ services, params, body, ifMatch }) => {
      const updated = await services.admin.updateEnvironment(
        params.env ?? '',
        {
          defaultQuota: optional<number | null>(body.default_quota),
          subjectType: optional<SubjectType>(body.subject_type),
          refreshTokenPolicy: optional<RefreshTokenPolicy>(body.refresh_token_policy),
          requirePushedAuthorizationRequests: optional<boolean>(body.require_pushed_authorization_requests),
          securityProfile: optional<SecurityProfile | null>(body.security_profile),
        },
        ifMatches(ifMatch),
      );
      // RFC 9449 §8: the DPoP nonce switch, its own setting (and audit event).
      const nonces = optional<boolean>(body.dpop_nonce_required);
      return nonces === undefined ? updated : services.admin.setDpopNonceRequired(params.env ?? '', nonces);
    },
  },
];

const CLIENT = `${ENV}/clients/{client_id}`;

const clientChanges = (body: Json) => ({
  name: optional<string>(body.name),
  grantTypes: optional<string[]>(body.grant_types),
  scopes: optional<string[]>(body.scopes),
  defaultScopes: optional<string[]>(body.default_scopes),
  redirectUris: optional<string[]>(body.redirect_uris),
  tokenFormat: optional<TokenFormat>(body.token_format),
  accessTokenTtl: optional<number | null>(body.access_token_ttl),
  introspectAny: optional<boolean>(body.introspect_any),
  allowMissingPkce: optional<boolean>(body.allow_missing_pkce),
  quota: optional<number | null>(body.quota),
  enabled: optional<boolean>(body.enabled),
  postLogoutRedirectUris: optional<string[]>(body.post_logout_redirect_uris),
  backchannelLogoutUri: optional<string | null>(body.backchannel_logout_uri),
  backchannelLogoutSessionRequired: optional<boolean>(body.backchannel_logout_session_required),
  logoutRevokesTokens: optional<boolean>(body.logout_revokes_tokens),
  idTokenSignedResponseAlg: optional<IdTokenAlgorithm | null>(body.id_token_signed_response_alg),
  subjectType: optional<SubjectType | null>(body.subject_type),
  sectorIdentifierUri: optional<string | null>(body.sector_identifier_uri),
  dpopBoundAccessTokens: optional<boolean>(body.dpop_bound_access_tokens),
  requirePushedAuthorizationRequests: optional<boolean>(body.require_pushed_authorization_requests),
});

const clientRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/clients`,
    operationId: 'listClients',
    summary: 'List the clients of an environment (service accounts have their own list)',
    access: 'read',
    list: LIST_FILTERED,
    status: 200,
    response: S.page(S.CLIENT),
    run: async ({ services, params, query }) => pageOf(await services.admin.pageClients(params.env ?? '', pageQuery(query, 'string', LIST_FILTERED.filters))),
  },
  {
    method: 'POST',
    path: `${ENV}/clients`,
    operationId: 'createClient',
    summary: 'Create a client; a confidential one gets its secret in this response only',
    access: 'write',
    body: S.CREATE_CLIENT,
    status: 201,
    response: S.CLIENT_CREATED,
    idempotent: true,
    run: ({ services, params, body }) => {
      const { enabled: _enabled, ...changes } = clientChanges(body);
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      return services.admin.createClient({
        env: params.env ?? '',
        name: String(body.name),
        kind: optional<ClientKind>(body.type) ?? 'confidential',
        ...defined,
      });
    },
  },
  {
    method: 'GET',
    path: CLIENT,
    operationId: 'getClient',
    summary: 'Read a client (never its secrets)',
    access: 'read',
    status: 200,
    response: S.CLIENT,
    etag: true,
    run: ({ services, params }) => services.admin.getClient(params.env ?? '', params.client_id ?? ''),
  },
  {
    method: 'PATCH',
    path: CLIENT,
    operationId: 'updateClient',
    summary: 'Change a client: name, scopes, default scopes, redirect URIs, grant types, token format, lifetime, quota, enabled, OpenID Connect metadata',
    access: 'write',
    body: S.UPDATE_CLIENT,
    status: 200,
    response: S.CLIENT,
    etag: true,
    current: ({ services, params }) => services.admin.getClient(params.env ?? '', params.client_id ?? ''),
    // The service checks If-Match again on the version it writes: no window between check and write.
    run: ({ services, params, body, ifMatch }) =>
      services.admin.updateClient(params.env ?? '', params.client_id ?? '', clientChanges(body), ifMatches(ifMatch)),
  },
  {
    method: 'DELETE',
    path: CLIENT,
    operationId: 'deleteClient',
    summary: 'Delete a client; its refresh and opaque tokens stop working, its JWTs expire on their own',
    access: 'write',
    status: 200,
    response: S.CLIENT_DELETED,
    run: ({ services, params }) => services.admin.deleteClient(params.env ?? '', params.client_id ?? ''),
  },
  {
    method: 'GET',
    path: `${CLIENT}/details`,
    operationId: 'getClientDetails',
    summary: 'Read a client with its usage: last use, token counts of today and the last 30 days, and each current secret',
    access: 'read',
    status: 200,
    response: S.CLIENT_DETAILS,
    run: ({ services, params }) => services.admin.showClient(params.env ?? '', params.client_id ?? ''),
  },
  {
    method: 'GET',
    path: `${CLIENT}/secrets`,
    operationId: 'listClientSecrets',
    summary: 'List the secrets of a client that still authenticate, by id',
    access: 'read',
    list: { filters: [] },
    status: 200,
    response: S.page(S.CLIENT_SECRET),
    run: async ({ services, params, query }) =>
      pageOf(await services.admin.pageClientSecrets(params.env ?? '', params.client_id ?? '', pageQuery(query, 'string'))),
  },
  {
    method: 'POST',
    path: `${CLIENT}/secrets`,
    operationId: 'rotateClientSecret',
    summary: 'Issue a new secret; the current ones keep working for the overlap',
    access: 'write',
    body: S.ROTATE_SECRET,
    status: 201,
    response: S.SECRET_ROTATED,
    idempotent: true,
    run: ({ services, params, body }) => services.admin.rotateClientSecret(params.env ?? '', params.client_id ?? '', optional<number>(body.overlap_seconds)),
  },
  {
    method: 'DELETE',
    path: `${CLIENT}/secrets/{secret_id}`,
    operationId: 'revokeClientSecret',
    summary: 'End one secret now; returns the secrets left',
    access: 'write',
    status: 200,
    response: { type: 'array', items: S.CLIENT_SECRET },
    run: ({ services, params }) => services.admin.revokeClientSecret(params.env ?? '', params.client_id ?? '', params.secret_id ?? ''),
  },
  ...keyRoutes(CLIENT, 'client', 'Client'),
];

function keyRoutes(owner: string, kind: 'client' | 'service_account', noun: string): AdminRoute[] {
  const id = (params: Record<string, string>) => params.client_id ?? params.service_account_id ?? '';
  return [
    {
      method: 'GET',
      path: `${owner}/keys`,
      operationId: `list${noun}Keys`,
      summary: `List the keys of a ${kind.replace('_', ' ')}`,
      access: 'read',
      list: { filters: [] },
      status: 200,
      response: S.page(S.CLIENT_KEY),
      run: async ({ services, params, query }) =>
        pageOf(await services.serviceAccounts.pageKeys(params.env ?? '', id(params), pageQuery<CreationKey>(query, 'creation'), kind)),
    },
    {
      method: 'POST',
      path: `${owner}/keys`,
      operationId: `create${noun}Key`,
      summary: 'Generate a key pair; the private key is in this response only',
      access: 'write',
      body: S.CREATE_KEY,
      status: 201,
      response: S.CLIENT_KEY_CREATED,
      idempotent: true,
      run: ({ services, params, body }) => services.serviceAccounts.createKey(params.env ?? '', id(params), optional<string>(body.alg) ?? 'ES256', kind),
    },
    {
      method: 'DELETE',
      path: `${owner}/keys/{kid}`,
      operationId: `revoke${noun}Key`,
      summary: 'Revoke a key: assertions signed with it fail from now on',
      access: 'write',
      status: 200,
      response: S.CLIENT_KEY,
      run: ({ services, params }) => services.serviceAccounts.revokeKey(params.env ?? '', id(params), params.kid ?? '', kind),
    },
  ];
}

const ACCOUNT = `${ENV}/service-accounts/{service_account_id}`;

const serviceAccountRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/service-accounts`,
    operationId: 'listServiceAccounts',
    summary: 'List the service accounts of an environment',
    access: 'read',
    list: LIST_FILTERED,
    status: 200,
    response: S.page(S.SERVICE_ACCOUNT),
    run: async ({ services, params, query }) =>
      pageOf(await services.serviceAccounts.page(params.env ?? '', pageQuery(query, 'string', LIST_FILTERED.filters))),
  },
  {
    method: 'POST',
    path: `${ENV}/service-accounts`,
    operationId: 'createServiceAccount',
    summary: 'Create a service account (with_secret: its secret in this response only)',
    access: 'write',
    body: S.CREATE_SERVICE_ACCOUNT,
    status: 201,
    response: S.SERVICE_ACCOUNT_CREATED,
    idempotent: true,
    run: ({ services, params, body }) =>
      services.serviceAccounts.create({
        env: params.env ?? '',
        name: String(body.name),
        ...(body.scopes ? { scopes: body.scopes as string[] } : {}),
        ...(body.default_scopes ? { defaultScopes: body.default_scopes as string[] } : {}),
        withSecret: body.with_secret === true,
      }),
  },
  {
    method: 'GET',
    path: ACCOUNT,
    operationId: 'getServiceAccount',
    summary: 'Read a service account',
    access: 'read',
    status: 200,
    response: S.SERVICE_ACCOUNT,
    etag: true,
    run: ({ services, params }) => services.serviceAccounts.get(params.env ?? '', params.service_account_id ?? ''),
  },
  {
    method: 'PATCH',
    path: ACCOUNT,
    operationId: 'updateServiceAccount',
    summary: 'Enable or disable a service account',
    access: 'write',
    body: S.UPDATE_ENABLED,
    status: 200,
    response: S.SERVICE_ACCOUNT,
    etag: true,
    current: ({ services, params }) => services.serviceAccounts.get(params.env ?? '', params.service_account_id ?? ''),
    run: ({ services, params, body, ifMatch }) =>
      typeof body.enabled === 'boolean'
        ? services.serviceAccounts.setEnabled(params.env ?? '', params.service_account_id ?? '', body.enabled, ifMatches(ifMatch))
        : services.serviceAccounts.get(params.env ?? '', params.service_account_id ?? ''),
  },
  ...keyRoutes(ACCOUNT, 'service_account', 'ServiceAccount'),
];

const USER = `${ENV}/users/{username}`;

/** The profile attributes a user body gives (the schema checked their types; the service checks their values). */
const profileOf = (body: Json) => profileFromView(body as Partial<ProfileView>);

const userRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/users`,
    operationId: 'listUsers',
    summary: 'List the users of an environment',
    access: 'read',
    list: LIST_FILTERED,
    status: 200,
    response: S.page(S.USER),
    run: async ({ services, params, query }) => pageOf(await services.users.page(params.env ?? '', pageQuery(query, 'string', LIST_FILTERED.filters))),
  },
  {
    method: 'POST',
    path: `${ENV}/users`,
    operationId: 'createUser',
    summary: 'Create a user with a password (never returned or logged) and, optionally, OpenID Connect profile attributes',
    access: 'write',
    body: S.CREATE_USER,
    status: 201,
    response: S.USER,
    idempotent: true,
    run: ({ services, params, body }) =>
      services.users.create({ env: params.env ?? '', username: String(body.username), password: String(body.password), profile: profileOf(body) }),
  },
  {
    method: 'GET',
    path: USER,
    operationId: 'getUser',
    summary: 'Read a user',
    access: 'read',
    status: 200,
    response: S.USER,
    etag: true,
    run: ({ services, params }) => services.users.get(params.env ?? '', params.username ?? ''),
  },
  {
    method: 'PATCH',
    path: USER,
    operationId: 'updateUser',
    summary: 'Change a user: profile attributes (null clears one), enabled (disabling signs them out and revokes their tokens)',
    access: 'write',
    body: S.UPDATE_USER,
    status: 200,
    response: S.USER,
    etag: true,
    current: ({ services, params }) => services.users.get(params.env ?? '', params.username ?? ''),
    run: ({ services, params, body, ifMatch }) =>
      services.users.update(params.env ?? '', params.username ?? '', { ...profileOf(body), enabled: optional<boolean>(body.enabled) }, ifMatches(ifMatch)),
  },
  {
    method: 'PUT',
    path: `${USER}/password`,
    operationId: 'setUserPassword',
    summary: 'Set a new password; signs the user out everywhere and revokes their tokens',
    access: 'write',
    body: S.SET_PASSWORD,
    status: 200,
    response: S.USER,
    run: ({ services, params, body }) => services.users.setPassword(params.env ?? '', params.username ?? '', String(body.password)),
  },
  {
    method: 'POST',
    path: `${USER}/revoke-sessions`,
    operationId: 'revokeUserSessions',
    summary: 'Sign the user out everywhere and revoke every token issued for them',
    access: 'write',
    status: 200,
    response: S.USER,
    run: ({ services, params }) => services.users.revokeSessions(params.env ?? '', params.username ?? ''),
  },
];

const signingKeyRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/signing-keys`,
    operationId: 'listSigningKeys',
    summary: 'List the signing keys of an environment, oldest first, with their state now',
    access: 'read',
    list: { filters: [] },
    status: 200,
    response: S.page(S.SIGNING_KEY),
    run: async ({ services, params, query }) => pageOf(await services.admin.pageKeys(params.env ?? '', pageQuery<CreationKey>(query, 'creation'))),
  },
  {
    method: 'POST',
    path: `${ENV}/signing-keys/rotate`,
    operationId: 'rotateSigningKeys',
    summary:
      'Start a rotation of one lineage (the access-token key, or with alg: RS256 the key of ID Tokens; ES256 or EdDSA name the access-token lineage ' +
      'and must be GATEHOUSE_SIGNING_ALG): a next key activating after the lead time, or with now: true one activating after the node cache bound (GATEHOUSE_CACHE_TTL + 1 s)',
    access: 'write',
    body: S.ROTATE_KEYS,
    status: 200,
    response: { type: 'array', items: S.SIGNING_KEY },
    run: ({ services, params, body }) =>
      services.admin.rotateKeys(params.env ?? '', { now: body.now === true, ...(body.alg === undefined ? {} : { alg: body.alg as IdTokenAlgorithm }) }),
  },
  {
    method: 'POST',
    path: `${ENV}/signing-keys/{kid}/revoke`,
    operationId: 'revokeSigningKey',
    summary:
      'Revoke a leaked signing key: it leaves the JWKS at once (every node within GATEHOUSE_CACHE_TTL) and its tokens stop verifying; ' +
      'if it was signing, a fresh key of its lineage (RS256 for an RS256 key) signs at once. 404 for an unknown kid, 409 if already revoked',
    access: 'write',
    status: 200,
    response: S.KEY_REVOCATION,
    run: ({ services, params }) => services.admin.revokeKey(params.env ?? '', params.kid ?? ''),
  },
  {
    method: 'PUT',
    path: `${ENV}/signing-keys/rotation-schedule`,
    operationId: 'setKeyRotationSchedule',
    summary: 'Set (or with null remove) the interval of scheduled rotations',
    access: 'write',
    body: S.SET_ROTATION,
    status: 200,
    response: S.KEY_ROTATION,
    run: ({ services, params, body }) => services.admin.setKeyRotation(params.env ?? '', body.interval_seconds as number | null),
  },
];

const API = `${ENV}/apis/{identifier}`;

const apiChanges = (body: Json): ApiChanges => {
  const changes: ApiChanges = {};
  if (body.name !== undefined) changes.name = String(body.name);
  if (body.scopes !== undefined) changes.scopes = (body.scopes as ApiScope[]).map((s) => ({ name: s.name, description: s.description ?? '' }));
  if (body.token_format !== undefined) changes.tokenFormat = body.token_format as TokenFormat;
  if (body.access_token_ttl !== undefined) changes.accessTokenTtl = body.access_token_ttl as number | null;
  if (body.clients !== undefined) changes.clientIds = body.clients as string[];
  if (body.default !== undefined) changes.isDefault = body.default === true;
  return changes;
};

const apiRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/apis`,
    operationId: 'listApis',
    summary: 'List the APIs (RFC 8707 resources) of an environment',
    access: 'read',
    list: LIST_QUERY,
    status: 200,
    response: S.page(S.API),
    run: async ({ services, params, query }) => pageOf(await services.apis.page(params.env ?? '', pageQuery(query, 'string', LIST_QUERY.filters))),
  },
  {
    method: 'POST',
    path: `${ENV}/apis`,
    operationId: 'createApi',
    summary: 'Register an API',
    access: 'write',
    body: S.CREATE_API,
    status: 201,
    response: S.API,
    idempotent: true,
    run: ({ services, params, body }) =>
      services.apis.create({ env: params.env ?? '', identifier: String(body.identifier), name: String(body.name), ...apiChanges(body) }),
  },
  {
    method: 'GET',
    path: API,
    operationId: 'getApi',
    summary: 'Read an API (its identifier percent-encoded in the path)',
    access: 'read',
    status: 200,
    response: S.API,
    etag: true,
    run: ({ services, params }) => services.apis.show(params.env ?? '', params.identifier ?? ''),
  },
  {
    method: 'PATCH',
    path: API,
    operationId: 'updateApi',
    summary: 'Change an API: name, scopes, token format, lifetime, clients, default',
    access: 'write',
    body: S.UPDATE_API,
    status: 200,
    response: S.API,
    etag: true,
    current: ({ services, params }) => services.apis.show(params.env ?? '', params.identifier ?? ''),
    run: ({ services, params, body, ifMatch }) => services.apis.update(params.env ?? '', params.identifier ?? '', apiChanges(body), ifMatches(ifMatch)),
  },
  {
    method: 'DELETE',
    path: API,
    operationId: 'deleteApi',
    summary: 'Delete an API; tokens issued for it stay valid until they expire',
    access: 'write',
    status: 200,
    response: S.API_DELETED,
    run: ({ services, params }) => services.apis.delete(params.env ?? '', params.identifier ?? ''),
  },
];

const MAX_AUDIT_EVENTS = 10_000;

/** `?since=`: an ISO 8601 time; `?limit=`: 1..10000 (default 100); `?type=`: a known event type. */
function auditFilter(query: Record<string, string>) {
  const since = query.since === undefined ? undefined : Date.parse(query.since);
  if (since !== undefined && (Number.isNaN(since) || !/^\d{4}-\d{2}-\d{2}/.test(query.since ?? ''))) {
    throw new Problem('invalid-request', 'since must be an ISO 8601 time', { field: 'since' });
  }
  if (query.type !== undefined && !isAuditEventType(query.type))
    throw new Problem('invalid-request', 'type is not a known audit event type', { field: 'type' });
  const limit = query.limit === undefined ? 100 : /^\d{1,5}$/.test(query.limit) ? Number(query.limit) : 0;
  if (limit < 1 || limit > MAX_AUDIT_EVENTS)
    throw new Problem('invalid-request', `limit must be a whole number from 1 to ${MAX_AUDIT_EVENTS}`, { field: 'limit' });
  return { envName: query.env, type: query.type, since, limit };
}

/** The audit log, for `audit list --server`: every environment's events, so only a token with admin:read for all. */
const auditRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/audit-events',
    operationId: 'listAuditEvents',
    summary: 'List audit events, newest first',
    access: 'read',
    query: {
      env: { description: 'Only events of this environment', schema: { type: 'string' } },
      type: { description: 'Only events of this type', schema: { type: 'string' } },
      since: { description: 'Only events at or after this ISO 8601 time', schema: { type: 'string', format: 'date-time' } },
      limit: { description: `At most this many events, 1..${MAX_AUDIT_EVENTS} (default 100)`, schema: { type: 'string', pattern: '^[0-9]+$' } },
    },
    status: 200,
    response: { type: 'array', items: S.AUDIT_EVENT },
    run: async ({ services, query }) => {
      if (!services.auditEvents) throw new Problem('not-found', 'this node does not serve the audit log');
      return services.auditEvents.list(auditFilter(query));
    },
  },
];

/** Every admin API operation; the server, the OpenAPI document and the tests all read this table. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...callerRoutes,
  ...environmentRoutes,
  ...clientRoutes,
  ...serviceAccountRoutes,
  ...userRoutes,
  ...signingKeyRoutes,
  ...apiRoutes,
  ...auditRoutes,
  ...signInRoutes,
];
