import type { RefreshTokenPolicy, SecurityProfile, SubjectType } from '../../domain/model.ts';
import { ifMatches, pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { type AdminRoute, ENV, LIST_QUERY, optional } from './route.ts';

export const environmentRoutes: readonly AdminRoute[] = [
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
