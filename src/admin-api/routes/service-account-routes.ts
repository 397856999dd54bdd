import { ifMatches, pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { keyRoutes } from './owner-key-routes.ts';
import { type AdminRoute, ENV, LIST_FILTERED } from './route.ts';

const ACCOUNT = `${ENV}/service-accounts/{service_account_id}`;

export const serviceAccountRoutes: readonly AdminRoute[] = [
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
