import {
  decoyLegacyHash,
  type LegacyHashProfile,
  legacyHashProfile,
  legacyVerificationQueue,
  type VerificationQueue,
  verifyLegacyHash,
} from '../crypto/legacy-hashes.ts';
import type { Clock } from '../domain/clock.ts';
import type { LegacyCredentialKind, Store } from '../domain/storage.ts';
import { RefreshingCache } from './refreshing-cache.ts';

/** The slowest legacy profile an environment still holds, for one kind of credential. */
interface Slowest {
  profile: LegacyHashProfile | undefined;
}

export interface LegacyCredentialOptions {
  /** How long an environment's set of legacy profiles is trusted before it is read again. */
  ttlMs: number;
  /** How long past its load the set may still be used while the database is unavailable. */
  staleIfErrorMs: number;
  /** Rows read per query while scanning an environment's legacy hashes. */
  pageSize: number;
  queue: VerificationQueue;
}

/** Timings kept per profile: the hold target is their median. */
const TIMING_SAMPLES = 31;

/**
 * A failed authentication in an environment with legacy hashes is answered no sooner than this
 * many times the slowest profile's median verification, plus `FAILURE_HOLD_SLACK_MS`, after it
 * began. Measured with `npm run bench -- --enumeration --kinds PBKDF2 --samples 500` (PBKDF2 at
 * 25,000 iterations, 5.7 ms): without the hold a known id answered 50–80 µs later than an unknown
 * one (z −3.1 to −4.8); see bench/README.md for the run with it.
 */
const FAILURE_HOLD_FACTOR = 1.25;
const FAILURE_HOLD_SLACK_MS = 2;

/**
 * Keeps imported credentials from telling which ids and usernames exist (docs/migration.md, "No
 * enumeration while imported credentials remain"). While an environment still holds credentials
 * under an old provider's hash, a wrong secret for such a client costs one slow verification in
 * the bounded legacy queue, and so must every other failure there: an unknown id, a disabled
 * client and a native client with a wrong secret each verify a decoy hash of the environment's
 * slowest live legacy profile, under the same queue key (environment, presented id, source), so
 * they take the same time and meet the same 503 when the queue is full. A real legacy hash of a
 * faster profile holds its place in the queue until the slowest profile's median time on this
 * node has passed, and every failure ends at one deadline (`holdFailure`). Once every imported
 * credential has been used (and re-hashed), the environment has no legacy profile and failures
 * are fast again for everyone.
 */
export class LegacyCredentialGuard {
  private readonly slowestByEnv: RefreshingCache<Slowest>;
  private readonly decoys = new Map<string, string>();
  private readonly timings = new Map<string, number[]>();
  private readonly options: LegacyCredentialOptions;

  constructor(
    private readonly store: Pick<Store, 'legacyCredentials' | 'health'>,
    private readonly clock: Clock,
    options: Partial<LegacyCredentialOptions> = {},
  ) {
    this.options = { ttlMs: 60_000, staleIfErrorMs: 0, pageSize: 1000, queue: legacyVerificationQueue(), ...options };
    const { ttlMs, staleIfErrorMs } = this.options;
    this.slowestByEnv = new RefreshingCache(clock, store.health, { ttlMs, staleIfErrorMs, maxEntries: 10_000 });
  }

  /** The slowest legacy profile `envId` holds for `kind`, or undefined when it holds none (cached for `ttlMs`). */
  async slowest(envId: string, kind: LegacyCredentialKind): Promise<LegacyHashProfile | undefined> {
    const { value } = await this.slowestByEnv.get(`${envId}\u0000${kind}`, () => this.scan(envId, kind));
    return value.profile;
  }

  /**
   * Whether `secret` matches the legacy hash `stored`, through the queue under `key`. When
   * `slowest` is a slower profile than the hash's own, the answer waits until a verification of
   * `slowest` would have ended.
   */
  verify(secret: string, stored: string, key: string, slowest: LegacyHashProfile | undefined): Promise<boolean> {
    const own = legacyHashProfile(stored);
    const hold = own && slowest && own.id !== slowest.id ? this.expectedMs(slowest) : 0;
    return verifyLegacyHash(secret, stored, key, this.options.queue, { minMs: hold, onWork: own ? (ms) => this.observe(own, ms) : undefined });
  }

  /**
   * One verification of a decoy hash of `profile` under `key`: the work and queue behaviour of
   * a real one, with no secret that could match. Rejects with `LegacyVerificationBusyError` as a
   * real one would.
   */
  async decoy(secret: string, profile: LegacyHashProfile, key: string): Promise<void> {
    let decoy = this.decoys.get(profile.id);
    if (decoy === undefined) {
      decoy = decoyLegacyHash(profile.id);
      if (decoy === undefined) return;
      this.decoys.set(profile.id, decoy);
    }
    await verifyLegacyHash(secret, decoy, key, this.options.queue, { onWork: (ms) => this.observe(profile, ms) });
  }

  /**
   * Holds a failed authentication's answer until `FAILURE_HOLD_FACTOR` × the median verification
   * time of `profile` (plus `FAILURE_HOLD_SLACK_MS`) has passed since `startedAt`
   * (`performance.now()`), so that a failure's other work (which differs by microseconds between a
   * known id and an unknown one: a cache hit and a confirming read, the audit of a known client)
   * is hidden behind one deadline. A failure that took longer (a full queue, a loaded machine) is
   * answered at once. Only while the environment holds legacy hashes: failures there already cost
   * a slow verification.
   */
  async holdFailure(startedAt: number, profile: LegacyHashProfile): Promise<void> {
    const wait = startedAt + this.expectedMs(profile) * FAILURE_HOLD_FACTOR + FAILURE_HOLD_SLACK_MS - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The median time a verification of `profile` took on this node, or its estimate before any did. */
  private expectedMs(profile: LegacyHashProfile): number {
    const samples = this.timings.get(profile.id);
    if (!samples || samples.length === 0) return profile.estimatedMs;
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? profile.estimatedMs;
  }

  private observe(profile: LegacyHashProfile, ms: number): void {
    let samples = this.timings.get(profile.id);
    if (!samples) {
      samples = [];
      this.timings.set(profile.id, samples);
    }
    samples.push(ms);
    if (samples.length > TIMING_SAMPLES) samples.shift();
  }

  /** Reads every live legacy hash of the environment, a page at a time, keeping only the slowest profile. */
  private async scan(envId: string, kind: LegacyCredentialKind): Promise<Slowest> {
    const now = this.clock.now();
    let slowest: LegacyHashProfile | undefined;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.legacyCredentials.page(envId, kind, now, after, this.options.pageSize);
      for (const row of page) {
        const profile = legacyHashProfile(row.hash);
        if (profile && (!slowest || profile.estimatedMs > slowest.estimatedMs)) slowest = profile;
      }
      if (page.length < this.options.pageSize) return { profile: slowest };
      after = page[page.length - 1]?.id;
    }
  }
}
