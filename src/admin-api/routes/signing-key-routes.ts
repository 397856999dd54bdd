import type { IdTokenAlgorithm } from '../../domain/model.ts';
import type { CreationKey } from '../../domain/storage.ts';
import { pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { type AdminRoute, ENV } from './route.ts';

export const signingKeyRoutes: readonly AdminRoute[] = [
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
