import type { ApiChanges } from '../../admin/apis.ts';
import type { ApiScope, TokenFormat } from '../../domain/model.ts';
import { ifMatches, pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { type AdminRoute, ENV, type Json, LIST_QUERY } from './route.ts';

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

export const apiRoutes: readonly AdminRoute[] = [
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
