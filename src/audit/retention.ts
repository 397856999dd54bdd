import type { Clock } from '../domain/clock.ts';
import type { AuditStore } from '../domain/storage.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** How often each node deletes audit events past their retention. */
export const AUDIT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;

/** Deletes events older than `retentionDays` and their deliveries, made or not; returns how many events. */
export function deleteExpiredAuditEvents(store: AuditStore, clock: Clock, retentionDays: number): Promise<number> {
  return store.deleteBefore(clock.now() - retentionDays * DAY_MS);
}
