import type { AuditEvent } from '../domain/audit.ts';
import type { AuditFilter, Store } from '../domain/storage.ts';

/** One audit event as `audit list` and the admin API show it: the time as ISO 8601. */
export interface AuditEventView extends Omit<AuditEvent, 'time'> {
  time: string;
}

/** Reading the audit log, newest first: `audit list` on this machine and `GET /admin/v1/audit-events`. */
export class AuditEventService {
  constructor(private readonly store: Pick<Store, 'audit'>) {}

  async list(filter: AuditFilter): Promise<AuditEventView[]> {
    const events = await this.store.audit.list(filter);
    return events.map((e) => ({
      id: e.id,
      type: e.type,
      time: new Date(e.time).toISOString(),
      environment: e.environment,
      actor: e.actor,
      subject: e.subject,
      outcome: e.outcome,
      details: e.details,
    }));
  }
}
