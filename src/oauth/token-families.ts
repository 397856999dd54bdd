import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { Client, CodeOidc, ConfirmationClaim, Environment, FamilyOidc, TokenAuthentication, TokenFamily, TokenFormat } from '../domain/model.ts';
import type { FamilyIssue, Store } from '../domain/storage.ts';
import type { AccessTokenService } from './access-tokens.ts';
import type { TokenResult } from './grants/grant.ts';
import type { IdTokenIssuer } from './openid/id-tokens.ts';
import { userinfoAudience } from './openid/userinfo.ts';

/** Prefix of refresh tokens, so secret scanners and the revocation endpoint recognise one. */
export const REFRESH_TOKEN_PREFIX = 'grt_';

export interface FamilyLifetimes {
  /** Seconds a refresh token may lie unused. */
  refreshTokenIdleTtl: number;
  /** Seconds from the user's authorization after which no refresh token of the family works. */
  refreshTokenAbsoluteTtl: number;
}

export interface FamilyMintRequest {
  env: Environment;
  issuer: string;
  client: Client;
  userId: string;
  familyId: string;
  /** Scope of the access token (the family's scope or a narrower one). */
  scope: string[];
  familyExpiresAt: number;
  withRefreshToken: boolean;
  /** Access-token lifetime set by the surface, if any. */
  ttl?: number | undefined;
  /** RFC 8707: the APIs this access token is for, and the format and lifetime they ask for. */
  audience?: string[] | undefined;
  tokenFormat?: TokenFormat | undefined;
  resourceTtl?: number | undefined;
  /**
   * Set when an ID Token is issued beside the access token (OpenID Connect Core §3.1.3.3, §12.2):
   * the authentication it speaks of, the session and, at the code grant only, the nonce.
   */
  idToken?: { oidc: FamilyOidc; sid: string | null | undefined; nonce: string | null | undefined } | undefined;
  /** RFC 9449 §6: the DPoP key the access token is bound to; absent: a bearer token. */
  cnf?: ConfirmationClaim | undefined;
  /** The sign-in the tokens come from (`acr`, `amr`), whether or not an ID Token is issued. */
  authentication?: TokenAuthentication | undefined;
}

/**
 * Mints the tokens of one issuance inside a token family (a code redemption or a refresh):
 * nothing is written here, the grant hands `issue` to the store's single transaction.
 */
export class FamilyTokenIssuer {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly clock: Clock,
    private readonly lifetimes: FamilyLifetimes,
    private readonly idTokens?: IdTokenIssuer,
  ) {}

  /**
   * The family a code redemption creates; its id was fixed when the code was issued. A code of
   * an OpenID sign-in (`oidc`) gives the family its session (`sid`) and what its refreshes' ID
   * Tokens say of the authentication (Core §12.2); the nonce stays with the code.
   */
  newFamily(env: Environment, client: Client, userId: string, scope: string[], familyId: string, resources?: string[], oidc?: CodeOidc): TokenFamily {
    const now = this.clock.now();
    return {
      familyId,
      envId: env.id,
      clientId: client.clientId,
      userId,
      scope,
      ...(resources === undefined ? {} : { resources }),
      createdAt: now,
      expiresAt: now + this.lifetimes.refreshTokenAbsoluteTtl * 1000,
      revokedAt: null,
      ...(oidc === undefined ? {} : { sid: oidc.sid, oidc: { authTime: oidc.authTime, amr: oidc.amr, acr: oidc.acr } }),
    };
  }

  async mint(request: FamilyMintRequest): Promise<{ result: TokenResult; issue: FamilyIssue }> {
    const { env, client, userId, familyId } = request;
    const { audience, tokenFormat, resourceTtl } = request;
    const minted = await this.tokens.mint({
      env,
      issuer: request.issuer,
      client,
      subject: userId,
      scope: request.scope,
      ttl: request.ttl,
      // A token for APIs that carries `openid` is for UserInfo too (see `userinfoAudience`).
      audience: request.scope.includes('openid') ? userinfoAudience(audience, request.issuer) : audience,
      tokenFormat,
      resourceTtl,
      cnf: request.cnf,
      authentication: request.authentication,
    });
    const issue: FamilyIssue = { refreshToken: undefined, accessToken: { jti: minted.jti, expiresAt: minted.expiresAt, opaque: minted.opaque } };
    const issued: TokenResult = minted.issued;
    if (request.idToken) {
      if (!this.idTokens) throw new Error('an ID Token was asked for but no ID Token issuer is configured');
      const { oidc, sid, nonce } = request.idToken;
      issued.idToken = await this.idTokens.issue({ env, issuer: request.issuer, client, userId, accessToken: minted.issued.accessToken, oidc, sid, nonce });
    }
    if (!request.withRefreshToken) return { result: issued, issue };
    const now = this.clock.now();
    const refreshToken = `${REFRESH_TOKEN_PREFIX}${randomToken(32)}`;
    issue.refreshToken = {
      tokenHash: hashSecret(refreshToken),
      envId: env.id,
      familyId,
      clientId: client.clientId,
      userId,
      issuedAt: now,
      expiresAt: Math.min(now + this.lifetimes.refreshTokenIdleTtl * 1000, request.familyExpiresAt),
      rotatedAt: null,
      revokedAt: null,
    };
    return { result: { ...issued, refreshToken }, issue };
  }
}

/** The user behind a family must still exist and be enabled for it to get new tokens. */
export async function userIsActive(store: Pick<Store, 'users'>, envId: string, userId: string): Promise<boolean> {
  const user = await store.users.find(envId, userId);
  return user?.enabled === true;
}
