/** A create that collides with an existing unique name or id. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * The database cannot serve the operation right now: unreachable, timed out, locked by another
 * process, or out of space. The operation did not complete: nothing was saved, except when the
 * connection was lost during a COMMIT, whose outcome the client cannot know (the server may have
 * committed). The caller answers 503 with `Retry-After` and may
 * retry. `reason` is fit for logs and `/readyz`: it never holds a connection string or a value.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the database is unavailable: ${reason}`, options);
    this.name = 'StorageUnavailableError';
  }
}

/** What a node currently knows about its database, from the operations it ran and its probes. */
export interface StorageHealth {
  /** False from the first failure that says the database is unreachable until an operation succeeds again. */
  readonly available: boolean;
  /** Why it is unavailable (undefined while available). */
  readonly reason: string | undefined;
  /** Calls `listener` on every change between available and unavailable; returns what stops it. */
  onChange(listener: (health: StorageHealth) => void): () => void;
}
