import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';

/** How often each node deletes expired records. */
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

// A consumed code is kept this long past its expiry, so a late replay still revokes its tokens.
const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The stores that hold records with an expiry. */
export type SweptStores = Pick<
  Store,
  | 'accessTokens'
  | 'idempotencyKeys'
  | 'revokedJwts'
  | 'usedAssertions'
  | 'browserSessions'
  | 'authorizationRequests'
  | 'pushedRequests'
  | 'passkeys'
  | 'authorizationCodes'
  | 'deviceAuthorizations'
  | 'tokenFamilies'
  | 'loginAttempts'
  | 'rateCounters'
>;

/** Deletes expired records that can no longer matter: tokens, revocations, assertion ids, sessions, codes, families. */
export async function sweepExpired(store: SweptStores, clock: Clock, logger: Logger, loginWindowMs: number, quotaWindowMs: number): Promise<void> {
  try {
    const now = clock.now();
    const counts = {
      tokens: await store.accessTokens.deleteExpired(now),
      revocations: await store.revokedJwts.deleteExpired(now),
      assertions: await store.usedAssertions.deleteExpired(now),
      sessions: await store.browserSessions.deleteExpired(now),
      pending: await store.authorizationRequests.deleteExpired(now),
      pushed: await store.pushedRequests.deleteExpired(now),
      passkeyChallenges: await store.passkeys.deleteExpiredChallenges(now),
      codes: await store.authorizationCodes.deleteExpired(now - CODE_RETENTION_MS),
      deviceAuthorizations: await store.deviceAuthorizations.deleteExpired(now - CODE_RETENTION_MS),
      families: await store.tokenFamilies.deleteExpired(now),
      loginWindows: await store.loginAttempts.deleteExpired(now - loginWindowMs),
      // Failure windows are at most a day long (GATEHOUSE_AUTH_FAILURE_WINDOW).
      rateWindows: await store.rateCounters.deleteExpired(now - Math.max(quotaWindowMs, DAY_MS)),
      idempotencyKeys: await store.idempotencyKeys.deleteExpired(now),
    };
    if (Object.values(counts).some((n) => n > 0)) logger.debug(counts, 'expired records deleted');
  } catch (error) {
    logger.warn({ err: error }, 'could not delete expired records');
  }
}
