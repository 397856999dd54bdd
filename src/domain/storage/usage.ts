/** What can be marked as used: a client, one client secret (by id), one client key (by kid) or a user. */
export type UsageSubject = 'client' | 'client_secret' | 'key' | 'user';

/** One subject last used at `at` (epoch ms), as a node saw it. */
export interface LastUse {
  subject: UsageSubject;
  envId: string;
  /** The client id, secret id, kid or user id. */
  id: string;
  at: number;
}

/** `count` more access tokens issued to a client on a UTC day (`YYYY-MM-DD`). */
export interface TokenCount {
  envId: string;
  clientId: string;
  day: string;
  count: number;
}

/** What one node saw between two flushes. */
export interface UsageBatch {
  lastUses: readonly LastUse[];
  tokenCounts: readonly TokenCount[];
}

/** Last-use times and daily token counts, written in batches by each node. */
export interface UsageStore {
  /**
   * In one transaction: each last-use time becomes the later of the stored one and the batch's
   * (several nodes flush concurrently and in any order; a time never moves backwards), and each
   * count is added to its day's. A subject that no longer exists is skipped.
   */
  record(batch: UsageBatch): Promise<void>;
  /**
   * Last-use times of the environment's subjects of one kind, by id; with `clientId`, only those
   * of that client (not for users); with `ids`, only those (one page of a list).
   */
  lastUsed(subject: UsageSubject, envId: string, clientId?: string, ids?: readonly string[]): Promise<Map<string, number>>;
  /** The client's token counts by day, for days from `fromDay` to `toDay` inclusive (`YYYY-MM-DD`). */
  tokenCounts(envId: string, clientId: string, fromDay: string, toDay: string): Promise<Map<string, number>>;
}

/** A create request of the admin API remembered under its `Idempotency-Key`, so a retry is answered, not repeated. */
export interface IdempotencyRecord {
  /** Keyed hash of the caller and its key: the key itself is never stored. */
  keyHash: string;
  /** Hash of the method, path and body the key was first used with. */
  requestHash: string;
  /** Null while the first request is still running. */
  status: number | null;
  /** The response body as JSON text, without any secret it held; null while running. */
  response: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface IdempotencyKeyStore {
  /** Inserts the record if no unexpired record holds its key; one atomic statement, so of concurrent callers exactly one gets true. */
  reserve(record: IdempotencyRecord, now: number): Promise<boolean>;
  find(keyHash: string, now: number): Promise<IdempotencyRecord | undefined>;
  /** Records the response of a reserved key. */
  complete(keyHash: string, status: number, response: string): Promise<void>;
  /** Forgets a reservation whose request failed, so the key can be used again. */
  release(keyHash: string): Promise<void>;
  deleteExpired(before: number): Promise<number>;
}
