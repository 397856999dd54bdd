import type { AccessTokenService } from '../access-tokens.ts';
import { type ApiDirectory, resolveTokenTarget } from '../apis.ts';
import { AssertionFailure, type AssertionVerifier, JWT_BEARER_GRANT_TYPE } from '../assertions.ts';
import { confirmationOf } from '../dpop/proof.ts';
import { dpopRequired } from '../dpop/requirement.ts';
import { OAuthError } from '../errors.ts';
import type { QuotaLimiter } from '../quotas.ts';
import type { Grant, TokenResult } from './grant.ts';
import { type GrantModule, RESOURCE_PARAMETER, SCOPE_PARAMETER } from './module.ts';

export const JWT_BEARER = JWT_BEARER_GRANT_TYPE;

/**
 * RFC 7523 §2.1: a service account trades a JWT signed with one of its Gatehouse-generated keys
 * for an access token. The assertion is the credential, so client authentication is optional;
 * when a client does authenticate it must be the service account itself.
 */
export function jwtBearerGrant(tokens: AccessTokenService, assertions: AssertionVerifier, quotas: QuotaLimiter, apis: ApiDirectory): Grant {
  return {
    grantType: JWT_BEARER_GRANT_TYPE,
    clientAuthentication: 'optional',
    async handle({ env, issuer, client, params, audiences, accessTokenTtl: ttl, dpop }) {
      const assertion = params.assertion;
      if (assertion === undefined) throw new OAuthError('invalid_request', 'assertion is required', { parameter: 'assertion' });
      const verified = await asGrantError(() => assertions.verify(env, assertion, audiences));
      const account = verified.client;
      if (account.kind !== 'service_account') {
        throw new OAuthError('invalid_grant', `key ${verified.key.kid} does not belong to a service account`, { parameter: 'assertion' });
      }
      if (client && client.client.clientId !== account.clientId) {
        throw new OAuthError('invalid_grant', 'the assertion names another service account than the authenticated client', { parameter: 'assertion' });
      }
      // RFC 7521 §4.1: a client_id sent without client authentication must name the same account.
      if (!client && params.client_id !== undefined && params.client_id !== account.clientId) {
        throw new OAuthError('invalid_grant', 'client_id does not match the service account of the assertion', { parameter: 'client_id' });
      }
      if (!account.grantTypes.includes(JWT_BEARER_GRANT_TYPE)) {
        throw new OAuthError('unauthorized_client', 'this service account may not use the jwt-bearer grant', { parameter: 'grant_type' });
      }
      // RFC 9449 §5.2, for an account that did not authenticate as a client (the endpoint checked one that did).
      if (!dpop && dpopRequired(env, account)) throw new OAuthError('invalid_dpop_proof', 'this service account must send a DPoP proof (RFC 9449 §5.2)');
      const target = await resolveTokenTarget(apis, env.id, account, params);
      // An account that did not authenticate as a client is admitted by its quota here, before its
      // jti is spent; a replayed assertion is given back, since anyone may hold an old one. (One
      // that authenticated was admitted then, and the token endpoint reports its quota.)
      const rateLimit = client ? undefined : quotas.admit(env, account);
      try {
        await asGrantError(() => assertions.consume(env, verified));
      } catch (error) {
        if (rateLimit) quotas.refund(env, account);
        throw error;
      }
      // The account is both the subject and the client; service-account ids (sa_…) never collide with user ids.
      const issued: TokenResult = await tokens.issue({ env, issuer, client: account, subject: account.clientId, ttl, ...target, cnf: confirmationOf(dpop) });
      if (rateLimit) issued.rateLimit = rateLimit;
      issued.credential = { kind: 'key', id: verified.key.kid };
      return issued;
    },
  };
}

export const jwtBearerModule: GrantModule = {
  grantType: JWT_BEARER,
  assignable: 'service_accounts',
  label: 'JWT bearer assertion (service accounts)',
  parameters: {
    assertion: { description: 'A JWT signed with a service-account key; its header kid names the key (RFC 7523 §2.1)', secret: true },
    scope: SCOPE_PARAMETER,
    resource: RESOURCE_PARAMETER,
  },
  allowsPublicClients: false,
  create: (s) => jwtBearerGrant(s.tokens, s.assertions, s.quotas, s.apis),
};

async function asGrantError<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof AssertionFailure) throw new OAuthError('invalid_grant', error.reason, { parameter: 'assertion', reason: 'assertion_refused' });
    throw error;
  }
}
