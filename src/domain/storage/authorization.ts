import type {
  AuthorizationCode,
  CodeOidc,
  Consent,
  DeviceAuthorization,
  FamilyAccessToken,
  PendingAuthorization,
  PushedAuthorizationRequest,
  RefreshToken,
  TokenFamily,
} from '../model.ts';

export interface PushedAuthorizationRequestStore {
  insert(request: PushedAuthorizationRequest): Promise<void>;
  /**
   * Takes the request pushed by `clientId` whose request_uri hashes to `idHash`, if it has not
   * expired at `now`: one conditional delete, so of any number of concurrent calls exactly one
   * gets it (RFC 9126 §4: a request_uri is used once).
   */
  take(envId: string, idHash: string, clientId: string, now: number): Promise<PushedAuthorizationRequest | undefined>;
  deleteExpired(before: number): Promise<number>;
}

export interface AuthorizationRequestStore {
  insert(request: PendingAuthorization): Promise<void>;
  /** The request if it exists in the environment, belongs to the session and has not expired. */
  find(envId: string, idHash: string, sessionIdHash: string, now: number): Promise<PendingAuthorization | undefined>;
  /** Removes the request; true for exactly one of any number of concurrent calls. */
  take(envId: string, idHash: string, sessionIdHash: string): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

/** What one successful code redemption or refresh creates, written in one transaction. */
export interface FamilyIssue {
  refreshToken: RefreshToken | undefined;
  accessToken: FamilyAccessToken;
}

/**
 * What a refresh rotation keeps for an exact retry of its request (RFC 9700 §4.14.2 grace period):
 * the response, sealed under a key that only the holder of the presented refresh token can derive.
 */
export interface RotationRetry {
  /** Hash of the client and the parameters of the request that rotated; a retry must carry the same. */
  requestHash: string;
  sealedResponse: string;
  /** The retry is answered before this time only (epoch ms). */
  expiresAt: number;
}

/** What a code redemption reads before it mints: the code and whether its user may still get tokens. */
export interface CodeForRedemption {
  code: AuthorizationCode;
  /** The user exists and is enabled. */
  userActive: boolean;
}

/** What a refresh reads before it mints: the presented token, its family and whether its user may still get tokens. */
export interface RefreshForRotation {
  token: RefreshToken;
  /** Undefined only if the family is gone (swept). */
  family: TokenFamily | undefined;
  /** The user exists and is enabled. */
  userActive: boolean;
}

export interface AuthorizationCodeStore {
  insert(code: AuthorizationCode): Promise<void>;
  /** The code, consumed or not, expired or not; undefined if unknown in the environment. */
  find(envId: string, codeHash: string): Promise<AuthorizationCode | undefined>;
  /** `find` and its user's state in one statement: a redemption's only read before `redeem`. */
  findForRedemption(envId: string, codeHash: string): Promise<CodeForRedemption | undefined>;
  /**
   * In one transaction: marks the code consumed with one conditional update and, only if this
   * call consumed it, creates `family` with the tokens of `issue`. False if the code was already
   * consumed (by this or any other node), in which case nothing is written. On PostgreSQL one
   * statement (one round trip, no BEGIN/COMMIT).
   */
  redeem(envId: string, codeHash: string, now: number, family: TokenFamily, issue: FamilyIssue): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

/** What a device-code redemption reads before it mints: the authorization and whether its user may still get tokens. */
export interface DeviceAuthorizationForRedemption {
  authorization: DeviceAuthorization;
  /** The user exists and is enabled (false while nobody approved it). */
  userActive: boolean;
}

/** RFC 8628 device authorizations. */
export interface DeviceAuthorizationStore {
  insert(authorization: DeviceAuthorization): Promise<void>;
  /** The authorization with this device code in the environment and its user's state, in one statement. */
  findForRedemption(envId: string, deviceCodeHash: string): Promise<DeviceAuthorizationForRedemption | undefined>;
  /** The pending, unexpired authorization with this user code, if any. */
  findPendingByUserCode(envId: string, userCodeHash: string, now: number): Promise<DeviceAuthorization | undefined>;
  /** The pending, unexpired authorization with this device code, if any. */
  findPending(envId: string, deviceCodeHash: string, now: number): Promise<DeviceAuthorization | undefined>;
  /**
   * Records one poll (RFC 8628 §3.5): sets `last_polled_at` to `now` and the interval to
   * `interval`, only while the authorization is still pending and was last polled at
   * `previousPoll`; false when another poll or a decision came first.
   */
  recordPoll(envId: string, deviceCodeHash: string, previousPoll: number | null, now: number, interval: number): Promise<boolean>;
  /**
   * The user's decision, by one conditional update: only a pending, unexpired authorization is
   * decided; false otherwise (already decided, expired or gone).
   */
  decide(
    envId: string,
    deviceCodeHash: string,
    decision: { status: 'approved' | 'denied'; userId: string; now: number; oidc?: CodeOidc | undefined },
  ): Promise<boolean>;
  /**
   * In one transaction: marks the approved authorization consumed with one conditional update
   * and, only if this call consumed it, creates `family` with the tokens of `issue`. False if it
   * was already consumed (by this or any other node), in which case nothing is written.
   */
  redeem(envId: string, deviceCodeHash: string, now: number, family: TokenFamily, issue: FamilyIssue): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}
export interface ConsentStore {
  find(envId: string, userId: string, clientId: string): Promise<Consent | undefined>;
  /**
   * Adds `scope` and the APIs `resources` (RFC 8707; absent: none) to what the user granted the
   * client (the union of each is kept).
   */
  grant(envId: string, userId: string, clientId: string, scope: string[], now: number, resources?: readonly string[]): Promise<void>;
}
