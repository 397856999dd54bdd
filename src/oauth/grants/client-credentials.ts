import type { AccessTokenService } from '../access-tokens.ts';
import { resolveScope } from '../scope.ts';
import { type Grant, requireClient } from './grant.ts';

export const CLIENT_CREDENTIALS = 'client_credentials';

/** RFC 6749 §4.4: a confidential client gets a token for itself. No refresh token (§4.4.3). */
export function clientCredentialsGrant(tokens: AccessTokenService): Grant {
  return {
    grantType: CLIENT_CREDENTIALS,
    parameters: ['scope'],
    allowsPublicClients: false,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl }) {
      const client = requireClient(authenticated);
      const scope = resolveScope(params.scope, client.scopes, client.defaultScopes);
      // RFC 9068 §2.2: with no resource owner, sub identifies the client.
      return tokens.issue({ env, issuer, client, subject: client.clientId, scope, ttl });
    },
  };
}
