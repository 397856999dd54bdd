import type { ClientKind, IdTokenAlgorithm, SubjectType, TokenFormat } from '../../domain/model.ts';
import { ifMatches, pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { keyRoutes } from './owner-key-routes.ts';
import { type AdminRoute, ENV, type Json, LIST_FILTERED, optional } from './route.ts';

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

export const clientRoutes: readonly AdminRoute[] = [
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
