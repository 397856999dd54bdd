import type { OAuthCore } from '../oauth/core.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import type { ConsoleDeps } from './deps.ts';

/**
 * The console's two auth functions over this node's OAuth core, without an HTTP round trip:
 * the code is redeemed by the token endpoint's own logic (client authentication, PKCE, one use),
 * a token is read as every resource server of the management environment would read it
 * (signature by a published key, issuer, expiry, revocation), and revoked at sign-out.
 */
export function coreConsoleAuth(
  core: Pick<OAuthCore, 'token' | 'tokens' | 'revocation'>,
  environments: Pick<EnvironmentResolver, 'resolve'>,
  managementEnv: string,
): Pick<ConsoleDeps, 'exchangeCode' | 'authorize' | 'revokeToken'> {
  return {
    async exchangeCode({ code, verifier, redirectUri, clientId, clientSecret }) {
      const { env, urls } = await environments.resolve(managementEnv);
      const result = await core.token.handle({
        env,
        issuer: urls.issuer,
        params: { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
        // The exchange runs on this node: its own loopback address is the source throttling counts.
        credentials: { basic: { clientId, clientSecret }, sourceAddress: '127.0.0.1' },
        audiences: [urls.issuer, urls.token],
      });
      return { accessToken: result.accessToken };
    },
    async revokeToken({ token, clientId, clientSecret }) {
      const { env, urls } = await environments.resolve(managementEnv);
      await core.revocation.handle({
        env,
        issuer: urls.issuer,
        params: { token },
        credentials: { basic: { clientId, clientSecret }, sourceAddress: '127.0.0.1' },
        audiences: [urls.issuer, urls.revocation],
      });
    },
    async authorize(accessToken) {
      const { env, urls } = await environments.resolve(managementEnv);
      const claims = await core.tokens.read(env, urls.issuer, accessToken);
      if (!claims) return undefined;
      return { subject: claims.subject, clientId: claims.clientId, scopes: claims.scope.split(' ').filter(Boolean) };
    },
  };
}
