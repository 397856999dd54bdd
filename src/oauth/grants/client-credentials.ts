import type { AccessTokenService } from '../access-tokens.ts';
import { type ApiDirectory, resolveTokenTarget } from '../apis.ts';
import { confirmationOf } from '../dpop/proof.ts';
import { type Grant, requireClient } from './grant.ts';
import { type GrantModule, RESOURCE_PARAMETER, SCOPE_PARAMETER } from './module.ts';

export const CLIENT_CREDENTIALS = 'client_credentials';

/** RFC 6749 §4.4: a confidential client gets a token for itself. No refresh token (§4.4.3). */
export function clientCredentialsGrant(tokens: AccessTokenService, apis: ApiDirectory): Grant {
  return {
    grantType: CLIENT_CREDENTIALS,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl, dpop }) {
      const client = requireClient(authenticated);
      // RFC 8707 §2: `resource` names the APIs, which bound the scope and set the audience.
      const target = await resolveTokenTarget(apis, env.id, client, params);
      // RFC 9068 §2.2: with no resource owner, sub identifies the client.
      return tokens.issue({ env, issuer, client, subject: client.clientId, ttl, ...target, cnf: confirmationOf(dpop) });
    },
  };
}

export const clientCredentialsModule: GrantModule = {
  grantType: CLIENT_CREDENTIALS,
  assignable: 'clients',
  label: 'Client credentials (machine to machine)',
  parameters: { scope: SCOPE_PARAMETER, resource: RESOURCE_PARAMETER },
  allowsPublicClients: false,
  create: (s) => clientCredentialsGrant(s.tokens, s.apis),
};
