import { type NewAuditEvent, SYSTEM_ACTOR } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import type { CoreEvent } from '../domain/events.ts';
import type { ActorClaim } from '../domain/model.ts';
import { AuthFailureDigest } from './auth-failures.ts';

/** Where the listener hands the events it maps: `AuditRecorder.enqueue`, which returns at once. */
export interface AuditQueue {
  enqueue(event: NewAuditEvent): void;
}

export interface AuditListenerOptions {
  /** `client.quota_exceeded` is recorded once per client per window of this length. */
  quotaWindowMs: number;
  /** Failed client authentications are summarised per caller over windows of this length (default a minute). */
  authFailureWindowMs?: number;
}

/** Clients remembered as already reported in the current quota window, at most (a flood of ids cannot grow it without bound). */
const MAX_QUOTA_REPORTS = 10_000;
/** Callers whose failed authentications are tallied in one window, at most. */
const MAX_AUTH_FAILURE_CALLERS = 1_000;
const AUTH_FAILURE_WINDOW_MS = 60_000;

/** The audit log's CoreEvent listener, and the summaries it owes when a window ends. */
export interface AuditListener {
  (event: CoreEvent): void;
  /** Queues the summaries of ended windows (every window with `force`, at shutdown). */
  drain(force?: boolean): void;
}

/**
 * The CoreEvent listener for the audit log: security events and scheduled key rotations become
 * audit events with the system as actor; everything else is ignored. Runs on the request path, so it only queues.
 */
export function auditListener(queue: AuditQueue, clock: Clock, options: AuditListenerOptions): AuditListener {
  let window = -1;
  const reported = new Set<string>();
  const firstInWindow = (key: string): boolean => {
    const current = Math.floor(clock.now() / options.quotaWindowMs);
    if (current !== window || reported.size >= MAX_QUOTA_REPORTS) {
      window = current;
      reported.clear();
    }
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };
  const authFailures = new AuthFailureDigest({ windowMs: options.authFailureWindowMs ?? AUTH_FAILURE_WINDOW_MS, maxKeys: MAX_AUTH_FAILURE_CALLERS });
  const enqueueAll = (events: NewAuditEvent[]) => {
    for (const event of events) queue.enqueue(event);
  };
  const listener = (event: CoreEvent) => {
    if (event.type === 'client.authentication_failed') return enqueueAll(authFailures.note(event, clock.now()));
    if (event.type === 'client.quota_exceeded' && !firstInWindow(`${event.env.id} ${event.clientId}`)) return;
    const mapped = auditEventOf(event);
    if (mapped) queue.enqueue(mapped);
  };
  return Object.assign(listener, { drain: (force = false) => enqueueAll(authFailures.drain(clock.now(), force)) });
}

/** The audit event for a core event, or undefined for the ones the audit log does not keep. */
export function auditEventOf(event: CoreEvent): NewAuditEvent | undefined {
  const base = { environment: event.env, actor: SYSTEM_ACTOR } as const;
  switch (event.type) {
    case 'refresh_token.retried':
      // Answered again, as the grace period allows: a success, recorded because whoever holds the
      // presented token inside the window gets the same pair.
      return { ...base, type: event.type, subject: { kind: 'client', id: event.clientId }, outcome: 'success' };
    case 'refresh_token.reused':
    case 'authorization_code.reused':
    case 'client.quota_exceeded':
      return { ...base, type: event.type, subject: { kind: 'client', id: event.clientId }, outcome: 'failure' };
    case 'user.locked_out':
      return { ...base, type: event.type, subject: { kind: 'username', id: event.username }, outcome: 'failure' };
    case 'signing_key.rotated':
      // Manual and immediate rotations go through the admin services, which record them with their actor.
      if (event.trigger !== 'scheduled') return undefined;
      return { ...base, type: event.type, subject: { kind: 'signing_key', id: event.kid }, details: { trigger: event.trigger } };
    case 'session.ended':
      return {
        ...base,
        type: event.type,
        subject: { kind: 'user', id: event.userId },
        details: { client_id: event.clientId ?? null, trigger: event.trigger, backchannel_logouts: event.notified, families_revoked: event.revoked },
      };
    case 'backchannel_logout.delivered':
      return { ...base, type: event.type, subject: { kind: 'client', id: event.clientId }, details: { attempts: event.attempts } };
    case 'device_authorization.approved':
    case 'device_authorization.denied':
      // The user decided on the verification page; neither code is ever recorded.
      return { ...base, type: event.type, subject: { kind: 'user', id: event.userId }, details: { client_id: event.clientId } };
    case 'token.issued':
      // RFC 8693: a token exchange is recorded, with whom it is for and the chain of who acts;
      // every other issuance is only counted (metrics, usage).
      if (!event.act) return undefined;
      return {
        ...base,
        type: 'token.exchanged',
        subject: event.userId === undefined ? { kind: 'client', id: event.clientId } : { kind: 'user', id: event.userId },
        details: { client_id: event.clientId, actors: actorsOf(event.act) },
      };
    case 'backchannel_logout.failed':
      // A failed attempt that will be retried is only logged and counted; giving up is recorded.
      if (event.retry) return undefined;
      return {
        ...base,
        type: event.type,
        subject: { kind: 'client', id: event.clientId },
        outcome: 'failure',
        details: { attempts: event.attempts, reason: event.reason },
      };
    case 'authorization_request.pushed':
      return { ...base, type: event.type, subject: { kind: 'client', id: event.clientId }, outcome: 'success' };
    case 'authorization_request.refused':
      return {
        ...base,
        type: event.type,
        subject: { kind: 'client', id: event.clientId },
        outcome: 'failure',
        details: { error: event.code, pushed: event.pushed },
      };
    case 'client.metadata_document_fetched':
    case 'client.metadata_document_refused':
      return metadataDocumentAudit(event);
    default:
      return undefined;
  }
}

/**
 * Client ID Metadata Documents: an accepted fetch, or a refusal that cost a fetch (each host is
 * retried only after a growing backoff). Host rules and malformed URLs are refused before any
 * work and only counted in the metrics, so made-up URLs cannot flood the log.
 */
function metadataDocumentAudit(
  event: Extract<CoreEvent, { type: 'client.metadata_document_fetched' | 'client.metadata_document_refused' }>,
): NewAuditEvent | undefined {
  const base = { environment: event.env, actor: SYSTEM_ACTOR, subject: { kind: 'client', id: event.clientId } } as const;
  if (event.type === 'client.metadata_document_fetched') return { ...base, type: event.type, outcome: 'success', details: { host: event.host } };
  if (event.durationMs === undefined) return undefined;
  return { ...base, type: event.type, outcome: 'failure', details: { host: event.host, reason: event.reason } };
}

/** RFC 8693 §4.1: the actors of an `act` claim, the current one first. */
function actorsOf(act: ActorClaim): string[] {
  const actors: string[] = [];
  for (let current: ActorClaim | undefined = act; current; current = current.act) actors.push(current.sub);
  return actors;
}
