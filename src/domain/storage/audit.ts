import type { AuditEvent } from '../audit.ts';

/** Which audit events `AuditStore.list` returns, newest first. */
export interface AuditFilter {
  envName?: string | undefined;
  type?: string | undefined;
  /** Events at or after this time (epoch ms). */
  since?: number | undefined;
  limit: number;
}

/** One webhook delivery claimed by a node: the event and how many attempts (this one included) were made. */
export interface AuditDelivery {
  event: AuditEvent;
  attempts: number;
}

/** Audit events and their webhook outbox. */
export interface AuditStore {
  /** In one transaction: the event and, with `outbox`, a delivery due at once. */
  insert(event: AuditEvent, outbox: boolean): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
  /**
   * Leases up to `limit` deliveries that are due at `now` and not delivered or leased, until
   * `leaseUntil`, and counts an attempt for each. One conditional update per row: of several
   * nodes claiming at once, each delivery goes to one of them until its lease ends.
   */
  claimDeliveries(now: number, leaseUntil: number, limit: number): Promise<AuditDelivery[]>;
  markDelivered(eventId: string, now: number): Promise<void>;
  /** Releases the lease; the next attempt is due at `nextAttemptAt`. `error` is a short reason, never a body. */
  markFailed(eventId: string, nextAttemptAt: number, error: string): Promise<void>;
  /** Deletes events older than `before` with their deliveries, delivered or not; returns how many events. */
  deleteBefore(before: number): Promise<number>;
  /** Deliveries not yet made (for tests and health). */
  pendingDeliveries(): Promise<number>;
}

/**
 * One logout token to deliver to a client (Back-Channel Logout §2.5): what the token is signed
 * from when it is sent, never the signed token itself.
 */
export interface BackchannelLogout {
  /** Unique; also the logout token's `jti`, the same on every attempt so a receiver can drop a duplicate. */
  id: string;
  envId: string;
  clientId: string;
  /** The `sub` this client knows the user by (pairwise for a pairwise client). */
  subject: string;
  /** The ended browser session's `sid`; null when it had none. */
  sid: string | null;
  createdAt: number;
}

/** One logout claimed by a node: the logout and how many attempts (this one included) were made. */
export interface BackchannelLogoutDelivery {
  logout: BackchannelLogout;
  attempts: number;
}

/** The outbox of Back-Channel Logout: logout tokens to deliver, shared by every node through leases. */
export interface BackchannelLogoutStore {
  /** Queues logouts, each due at its `createdAt`. */
  enqueue(logouts: readonly BackchannelLogout[]): Promise<void>;
  /**
   * Leases up to `limit` logouts that are due at `now` and not leased, until `leaseUntil`, and
   * counts an attempt for each. One conditional update: of several nodes claiming at once, each
   * logout goes to one of them until its lease ends.
   */
  claim(now: number, leaseUntil: number, limit: number): Promise<BackchannelLogoutDelivery[]>;
  /** Removes a logout that was delivered or given up. */
  finish(id: string): Promise<void>;
  /**
   * Releases the lease of attempt `attempts`, the next one due at `nextAttemptAt`; `error` is a
   * short reason, never a body. Does nothing if another node has claimed it since (its lease
   * ended): that node's attempt decides.
   */
  retryLater(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  /** Logouts not delivered yet (for tests and health). */
  pending(): Promise<number>;
}
