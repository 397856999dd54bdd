import type { BrowserSession, User, UserProfile } from '../model.ts';

export interface UserStore {
  /** Throws `ConflictError` if the username is taken in the environment. */
  create(user: User): Promise<void>;
  findByUsername(envId: string, username: string): Promise<User | undefined>;
  find(envId: string, userId: string): Promise<User | undefined>;
  list(envId: string): Promise<User[]>;
  /**
   * False if there is no such user or, with `expectedUpdatedAt`, it was changed since (its
   * `updatedAt` differs): one conditional update, so of two writers of one version only one succeeds.
   */
  setEnabled(envId: string, username: string, enabled: boolean, now: number, expectedUpdatedAt?: number): Promise<boolean>;
  /** False if there is no such user. */
  setPasswordHash(envId: string, username: string, passwordHash: string, now: number): Promise<boolean>;
  /**
   * Replaces every profile attribute (undefined: clears them all); false if there is no such user
   * or, with `expectedUpdatedAt`, it was changed since (one conditional update, as `setEnabled`).
   */
  setProfile(envId: string, username: string, profile: UserProfile | undefined, now: number, expectedUpdatedAt?: number): Promise<boolean>;
}

export interface BrowserSessionStore {
  create(session: BrowserSession): Promise<void>;
  /** The session if it exists in the environment and has not expired at `now`. */
  find(envId: string, idHash: string, now: number): Promise<BrowserSession | undefined>;
  /**
   * In one transaction: `next` replaces the session `previousIdHash` (when given), and the
   * pending authorization requests of the old session move to the new one. Used at login, where
   * the session id must change (session fixation).
   */
  replace(previousIdHash: string | undefined, next: BrowserSession): Promise<void>;
  /** Signs a user out everywhere: deletes every session of `userId`; returns how many. */
  deleteForUser(envId: string, userId: string): Promise<number>;
  /**
   * Ends one session: deletes it and returns it as it was (expired or not), or undefined if it
   * was gone. One statement: of concurrent calls, exactly one gets the session.
   */
  end(envId: string, idHash: string): Promise<BrowserSession | undefined>;
  /** `deleteForUser`, returning the sessions it deleted (so their `sid`s can be told to clients). */
  endForUser(envId: string, userId: string): Promise<BrowserSession[]>;
  deleteExpired(before: number): Promise<number>;
}
export interface LoginAttemptStore {
  /**
   * Counts one attempt for `keyHash` in the fixed window of `windowMs` containing `now` and
   * returns the count including this one. One atomic statement: parallel attempts all count.
   */
  hit(keyHash: string, now: number, windowMs: number): Promise<{ count: number; windowStart: number }>;
  /** Forgets the attempts of `keyHash` (after a successful login). */
  clear(keyHash: string): Promise<void>;
  deleteExpired(before: number): Promise<number>;
}

/** One fixed-window counter increment: `delta` more for `keyHash` in the window starting at `windowStart`. */
export interface RateCounterIncrement {
  keyHash: string;
  windowStart: number;
  delta: number;
}

export interface RateCounterStore {
  /**
   * Adds each `delta` to its key's count in the window starting at `windowStart` (a key's older
   * window is replaced; a delta for a window older than the stored one is ignored) and returns
   * each key's count in its window after the addition, keyed by `keyHash`. One statement: the
   * counts of every node add up. A `delta` of 0 only reads. Keys must be distinct.
   */
  add(increments: readonly RateCounterIncrement[]): Promise<Map<string, number>>;
  /** Deletes windows that started before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
}
