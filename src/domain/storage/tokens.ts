import type { OpaqueAccessToken, RefreshToken, RevokedJwt, TokenFamily } from '../model.ts';
import type { FamilyIssue, RefreshForRotation, RotationRetry } from './authorization.ts';

export interface AccessTokenStore {
  insert(token: OpaqueAccessToken): Promise<void>;
  findByHash(envId: string, tokenHash: string): Promise<OpaqueAccessToken | undefined>;
  /** Marks the token revoked if it belongs to `clientId`; true if this call changed it. */
  revoke(envId: string, tokenHash: string, clientId: string, now: number): Promise<boolean>;
  /** Deletes tokens that expired before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
}

export interface RevokedJwtStore {
  /** Records a revoked JWT access token; revoking twice is not an error. */
  insert(entry: RevokedJwt): Promise<void>;
  /**
   * Whether a JWT may no longer be honoured: its `jti` revoked, or its signing key `kid` revoked
   * (withdrawn). One statement, so a JWT's introspection costs one round trip.
   */
  isWithdrawn(envId: string, jti: string, kid: string): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}
export interface TokenFamilyStore {
  find(envId: string, familyId: string): Promise<TokenFamily | undefined>;
  findRefreshToken(envId: string, tokenHash: string): Promise<RefreshToken | undefined>;
  /** The token, its family and its user's state in one statement: a refresh's only read before `rotate`. */
  findForRotation(envId: string, tokenHash: string): Promise<RefreshForRotation | undefined>;
  /**
   * In one transaction: locks the family (which must not be revoked), marks `presentedHash`
   * rotated with one conditional update (only if it is neither rotated nor revoked) and records
   * `issue` in the family. False, with no token written, if the family or the token was not current.
   * The family is locked first, in the same order as `revoke`, so the two cannot deadlock.
   * With `retry`, the same transaction replaces the family's earlier retry record by this one
   * (so only the latest rotation of a family can be retried). On PostgreSQL one statement.
   */
  rotate(envId: string, familyId: string, presentedHash: string, now: number, issue: FamilyIssue, retry?: RotationRetry): Promise<boolean>;
  /**
   * The sealed response of the rotation of `presentedHash`, read in one statement and only if, at
   * `now`, its retry record has not expired, `requestHash` is the rotating request's, the family
   * is not revoked and the refresh token that rotation issued is still current (neither rotated
   * nor revoked). A record is visible only once its rotation has committed.
   */
  findRetry(envId: string, presentedHash: string, requestHash: string, now: number): Promise<string | undefined>;
  /**
   * In one transaction: the family, its refresh tokens and its opaque access tokens are marked
   * revoked, its JWT access tokens are remembered as revoked until they expire, and its retry
   * record is deleted.
   */
  revoke(envId: string, familyId: string, now: number): Promise<void>;
  /** Revokes (as `revoke` does) every family of `userId` that is not revoked yet; returns how many. */
  revokeForUser(envId: string, userId: string, now: number): Promise<number>;
  /** Every family begun in the browser session `sid` (revoked ones too), oldest first. */
  listBySid(envId: string, sid: string): Promise<TokenFamily[]>;
  /** Deletes families (and their tokens) whose absolute lifetime ended before `before`, and retry records expired by then. */
  deleteExpired(before: number): Promise<number>;
}
