import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { Client, Environment, TokenFamily, TokenFormat } from '../domain/model.ts';
import type { FamilyIssue, Store } from '../domain/storage.ts';
import type { AccessTokenService } from './access-tokens.ts';
import type { TokenResult } from './grants/grant.ts';

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
  ) {}

  /** The family a code redemption creates; its id was fixed when the code was issued. */
  newFamily(env: Environment, client: Client, userId: string, scope: string[], familyId: string, resources?: string[]): TokenFamily {
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
      audience,
      tokenFormat,
      resourceTtl,
    });
    const issue: FamilyIssue = { refreshToken: undefined, accessToken: { jti: minted.jti, expiresAt: minted.expiresAt, opaque: minted.opaque } };
    if (!request.withRefreshToken) return { result: minted.issued, issue };
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
    return { result: { ...minted.issued, refreshToken }, issue };
  }
}

/** The user behind a family must still exist and be enabled for it to get new tokens. */
export async function userIsActive(store: Pick<Store, 'users'>, envId: string, userId: string): Promise<boolean> {
  const user = await store.users.find(envId, userId);
  return user?.enabled === true;
}
