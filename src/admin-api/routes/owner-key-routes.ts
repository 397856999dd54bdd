import type { CreationKey } from '../../domain/storage.ts';
import { pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { type AdminRoute, optional } from './route.ts';

export function keyRoutes(owner: string, kind: 'client' | 'service_account', noun: string): AdminRoute[] {
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
