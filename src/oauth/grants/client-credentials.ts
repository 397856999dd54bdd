import type { AccessTokenService } from '../access-tokens.ts';
import { type ApiDirectory, resolveTokenTarget } from '../apis.ts';
import { type Grant, requireClient } from './grant.ts';

export const CLIENT_CREDENTIALS = 'client_credentials';

/** RFC 6749 §4.4: a confidential client gets a token for itself. No refresh token (§4.4.3). */
export function clientCredentialsGrant(tokens: AccessTokenService, apis: ApiDirectory): Grant {
  return {
    grantType: CLIENT_CREDENTIALS,
    parameters: ['scope', 'resource'],
    allowsPublicClients: false,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl }) {
      const client = requireClient(authenticated);
      // RFC 8707 §2: `resource` names the APIs, which bound the scope and set the audience.
      const target = await resolveTokenTarget(apis, env.id, client, params);
      // RFC 9068 §2.2: with no resource owner, sub identifies the client.
      return tokens.issue({ env, issuer, client, subject: client.clientId, ttl, ...target });
    },
  };
}
