import { keyedHasher } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import { type EventSink, NO_EVENTS } from '../domain/events.ts';
import type { Store } from '../domain/storage.ts';
import { PasskeyFactor } from './passkeys.ts';
import { DEFAULT_SECOND_FACTOR_LIMITS, SecondFactorThrottle } from './second-factor-throttle.ts';
import { TotpFactor } from './totp.ts';

/** The factors a sign-in may add to a password, with the storage their pages read. */
export interface SignInFactors {
  readonly store: Pick<Store, 'users' | 'secondFactors' | 'passkeys' | 'browserSessions'>;
  readonly totp: TotpFactor;
  readonly passkeys: PasskeyFactor;
  readonly clock: Clock;
  /** Where each second factor presented at sign-in is reported (`user.second_factor`). */
  readonly events: EventSink;
}

/** Wires the second factors from storage, the clock and the key secret (which seals TOTP secrets and keys the hashes). */
export function createSignInFactors(store: Store, clock: Clock, keySecret: Buffer, publicUrl: string, events: EventSink = NO_EVENTS): SignInFactors {
  const throttle = new SecondFactorThrottle(store.rateCounters, clock, DEFAULT_SECOND_FACTOR_LIMITS, keyedHasher(keySecret, 'rate counters'));
  const totp = new TotpFactor(store.secondFactors, clock, keySecret, keyedHasher(keySecret, 'recovery codes'), throttle);
  return { store, totp, passkeys: new PasskeyFactor(store, clock, publicUrl), clock, events };
}
