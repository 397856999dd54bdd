import { hashSecret } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import type { AccessTokenService } from './access-tokens.ts';
import type { ClientAuthenticator } from './client-auth.ts';
import { OAuthError } from './errors.ts';
import type { TokenLookupRequest } from './introspection.ts';
import { REFRESH_TOKEN_PREFIX } from './token-families.ts';

/**
 * RFC 7009 revocation. A client revokes only tokens issued to it; an unknown, invalid or
 * foreign token still gets 200 (§2.2), so the answer reveals nothing.
 */
export class RevocationEndpoint {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly tokens: AccessTokenService,
    private readonly store: Pick<Store, 'tokenFamilies' | 'accessTokens' | 'revokedJwts'>,
    private readonly clock: Clock,
  ) {}

  async handle(request: TokenLookupRequest): Promise<void> {
    const caller = await this.authenticator.authenticate(request.env, request.credentials, request.audiences);
    const token = request.params.token;
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required', { parameter: 'token' });
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) return this.revokeRefreshToken(request.env.id, caller.client.clientId, token);
    const claims = await this.tokens.read(request.env, request.issuer, token);
    // An imported refresh token keeps its old provider's form (no prefix): tried as one when it is no access token.
    if (!claims) return this.revokeRefreshToken(request.env.id, caller.client.clientId, token);
    if (claims.clientId !== caller.client.clientId) return;
    const now = this.clock.now();
    if (claims.format === 'opaque') {
      await this.store.accessTokens.revoke(request.env.id, hashSecret(token), caller.client.clientId, now);
      return;
    }
    // A JWT cannot be recalled; its jti is remembered as revoked until the token expires.
    await this.store.revokedJwts.insert({
      envId: request.env.id,
      jti: claims.jti,
      clientId: claims.clientId,
      expiresAt: claims.expiresAt * 1000,
      revokedAt: now,
    });
  }

  /** RFC 7009 §2.1: revoking a refresh token also revokes the access tokens of its grant. */
  private async revokeRefreshToken(envId: string, clientId: string, token: string): Promise<void> {
    const refresh = await this.store.tokenFamilies.findRefreshToken(envId, hashSecret(token));
    if (refresh && refresh.clientId === clientId) await this.store.tokenFamilies.revoke(envId, refresh.familyId, this.clock.now());
  }
}
