import { isLegacyHash, LegacyVerificationBusyError } from '../crypto/legacy-hashes.ts';
import { burnPasswordCheck, hashPassword, needsRehash, type PasswordHashCost, PasswordHashingBusyError, verifyPassword } from '../crypto/passwords.ts';
import type { Clock } from '../domain/clock.ts';
import { type EventSink, NO_EVENTS } from '../domain/events.ts';
import type { Environment, User } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { LegacyCredentialGuard } from '../oauth/legacy-credentials.ts';
import { throttleSource } from '../oauth/source-address.ts';

export type LoginOutcome =
  | { ok: true; user: User }
  | { ok: false; throttled: false; busy?: false }
  | { ok: false; throttled: true; retryAfter: number }
  /** Too many password checks are queued on this node: nothing was checked, try again shortly. */
  | { ok: false; throttled: false; busy: true; retryAfter: number };

const BUSY_RETRY_AFTER_S = 5;

export interface LoginLimits {
  usernameLimit: number;
  addressLimit: number;
  windowMs: number;
  passwordCost: PasswordHashCost;
}

/**
 * Checks a username and password. An unknown user, a wrong password and a disabled user get the
 * same answer after the same scrypt work. Every attempt is counted per username and per source
 * address before the password is checked, in storage shared by all nodes, so parallel attempts
 * all count; a successful login clears its username's count (not its address's).
 */
export class UserAuthenticator {
  constructor(
    private readonly store: Pick<Store, 'users' | 'loginAttempts'>,
    private readonly clock: Clock,
    private readonly limits: LoginLimits,
    /** Throttling keys are stored keyed-hashed: usernames and addresses are not readable from the database. */
    private readonly hashKey: (key: string) => string,
    private readonly legacy: LegacyCredentialGuard,
    private readonly events: EventSink = NO_EVENTS,
  ) {}

  /** Checks one login and reports it (`user.login`; `user.locked_out` when a username first goes over its limit in a window). */
  async authenticate(env: Environment, typedUsername: string, password: string, sourceAddress: string): Promise<LoginOutcome> {
    const outcome = await this.check(env, typedUsername, password, sourceAddress);
    if (outcome.ok) this.events.emit({ type: 'user.login', env, outcome: 'success', userId: outcome.user.userId });
    else this.events.emit({ type: 'user.login', env, outcome: outcome.throttled ? 'throttled' : outcome.busy ? 'busy' : 'failure' });
    return outcome;
  }

  private async check(env: Environment, typedUsername: string, password: string, sourceAddress: string): Promise<LoginOutcome> {
    const now = this.clock.now();
    // Usernames are stored NFC-normalised; normalising before the throttle key also keeps the
    // composed and decomposed spellings of one name from counting separately.
    const username = typedUsername.normalize('NFC');
    const usernameKey = this.hashKey(`login:${env.id}:username:${username}`);
    const addressKey = this.hashKey(`login:${env.id}:address:${throttleSource(sourceAddress)}`);
    const [byUsername, byAddress] = await Promise.all([
      this.store.loginAttempts.hit(usernameKey, now, this.limits.windowMs),
      this.store.loginAttempts.hit(addressKey, now, this.limits.windowMs),
    ]);
    const over = [
      byUsername.count > this.limits.usernameLimit ? byUsername.windowStart : undefined,
      byAddress.count > this.limits.addressLimit ? byAddress.windowStart : undefined,
    ].filter((start) => start !== undefined);
    // The attempt that first goes over the username's limit reports the lockout; later ones in the window do not.
    if (byUsername.count === this.limits.usernameLimit + 1) this.events.emit({ type: 'user.locked_out', env, username });
    if (over.length > 0) {
      const opensAt = Math.max(...over) + this.limits.windowMs;
      return { ok: false, throttled: true, retryAfter: Math.max(1, Math.ceil((opensAt - now) / 1000)) };
    }
    const user = await this.store.users.findByUsername(env.id, username);
    let valid: boolean;
    try {
      valid = await this.verify(env, user, password, `${usernameKey}\u0000${addressKey}`);
    } catch (error) {
      if (error instanceof PasswordHashingBusyError || error instanceof LegacyVerificationBusyError)
        return { ok: false, throttled: false, busy: true, retryAfter: BUSY_RETRY_AFTER_S };
      throw error;
    }
    if (!user) return { ok: false, throttled: false };
    if (!valid || !user.enabled) return { ok: false, throttled: false };
    await this.store.loginAttempts.clear(usernameKey);
    if (needsRehash(user.passwordHash, this.limits.passwordCost)) {
      // The cost was raised since this hash was made, or it is an imported one: upgrade it now that the password is known.
      await this.store.users.setPasswordHash(env.id, user.username, await hashPassword(password, this.limits.passwordCost), now);
    }
    return { ok: true, user };
  }

  /**
   * Whether `password` is the user's. An unknown user costs the same scrypt work as a native one.
   * While the environment still holds imported passwords under an old provider's hash, every
   * login also runs one verification of the slowest such profile in the legacy queue (the user's
   * own legacy hash, or a decoy under the same queue key), beside the scrypt work: unknown,
   * native and imported usernames then cost the same time and meet the same 503s. Both start at
   * once, so a full queue refuses them alike.
   */
  private async verify(env: Environment, user: User | undefined, password: string, legacyKey: string): Promise<boolean> {
    const slowest = await this.legacy.slowest(env.id, 'password');
    const legacyUser = user !== undefined && isLegacyHash(user.passwordHash);
    const scrypt = user && !legacyUser ? verifyPassword(password, user.passwordHash) : burnPasswordCheck(this.limits.passwordCost).then(() => false);
    // An imported user's password keeps its old provider's hash (bcrypt…) until this first login re-hashes it.
    const legacy = legacyUser
      ? this.legacy.verify(password, user.passwordHash, legacyKey, slowest)
      : slowest
        ? this.legacy.decoy(password, slowest, legacyKey).then(() => false)
        : Promise.resolve(false);
    const [native, imported] = await Promise.allSettled([scrypt, legacy]);
    if (native.status === 'rejected') throw native.reason;
    if (imported.status === 'rejected') throw imported.reason;
    return legacyUser ? imported.value : native.value;
  }
}
