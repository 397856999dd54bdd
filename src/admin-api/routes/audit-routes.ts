import { isAuditEventType } from '../../domain/audit.ts';
import { Problem } from '../problems.ts';
import * as S from '../schemas.ts';
import type { AdminRoute } from './route.ts';

const MAX_AUDIT_EVENTS = 10_000;

/** `?since=`: an ISO 8601 time; `?limit=`: 1..10000 (default 100); `?type=`: a known event type. */
function auditFilter(query: Record<string, string>) {
  const since = query.since === undefined ? undefined : Date.parse(query.since);
  if (since !== undefined && (Number.isNaN(since) || !/^\d{4}-\d{2}-\d{2}/.test(query.since ?? ''))) {
    throw new Problem('invalid-request', 'since must be an ISO 8601 time', { field: 'since' });
  }
  if (query.type !== undefined && !isAuditEventType(query.type))
    throw new Problem('invalid-request', 'type is not a known audit event type', { field: 'type' });
  const limit = query.limit === undefined ? 100 : /^\d{1,5}$/.test(query.limit) ? Number(query.limit) : 0;
  if (limit < 1 || limit > MAX_AUDIT_EVENTS)
    throw new Problem('invalid-request', `limit must be a whole number from 1 to ${MAX_AUDIT_EVENTS}`, { field: 'limit' });
  return { envName: query.env, type: query.type, since, limit };
}

/** The audit log, for `audit list --server`: every environment's events, so only a token with admin:read for all. */
export const auditRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/audit-events',
    operationId: 'listAuditEvents',
    summary: 'List audit events, newest first',
    access: 'read',
    query: {
      env: { description: 'Only events of this environment', schema: { type: 'string' } },
      type: { description: 'Only events of this type', schema: { type: 'string' } },
      since: { description: 'Only events at or after this ISO 8601 time', schema: { type: 'string', format: 'date-time' } },
      limit: { description: `At most this many events, 1..${MAX_AUDIT_EVENTS} (default 100)`, schema: { type: 'string', pattern: '^[0-9]+$' } },
    },
    status: 200,
    response: { type: 'array', items: S.AUDIT_EVENT },
    run: async ({ services, query }) => {
      if (!services.auditEvents) throw new Problem('not-found', 'this node does not serve the audit log');
      return services.auditEvents.list(auditFilter(query));
    },
  },
];
