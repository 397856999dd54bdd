import { randomBytes } from 'node:crypto';
import type { AuditEvent, AuditEventSink, AuditLog, NewAuditEvent } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import type { AuditStore } from '../domain/storage.ts';

/** The part of a pino logger the audit log writes through. */
export interface AuditLineLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Writes no lines: for the CLI, whose output is its own; the servers log every event. */
export const NO_AUDIT_LINES: AuditLineLogger = Object.freeze({ info() {}, warn() {} });

export interface AuditRecorderOptions {
  /** Whether a webhook is configured: each stored event then gets an outbox row in the same transaction. */
  outbox: boolean;
  /** Events from the hot path waiting for the database, at most; beyond it the oldest are dropped (and logged). */
  queueLimit?: number;
}

const DEFAULT_QUEUE_LIMIT = 10_000;

/**
 * Records audit events: each is logged as one structured line at once and stored in the
 * database. Admin changes are stored before `record` resolves; events from the request path go
 * through `enqueue` and are stored by `flush`, run in the background, so a request never waits
 * on the database for them. While the database is unavailable they stay queued, in order.
 */
export class AuditRecorder implements AuditLog {
  private queue: AuditEvent[] = [];
  private dropped = 0;

  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
    private readonly logger: AuditLineLogger,
    private readonly options: AuditRecorderOptions,
  ) {}

  /**
   * Stores the event (through `into`, an admin change's transaction, when given), then logs it:
   * an event whose insert failed is not logged as if it had happened.
   */
  async record(input: NewAuditEvent, into: AuditEventSink = this.store): Promise<void> {
    const event = this.event(input);
    await into.insert(event, this.options.outbox);
    this.line(event);
  }

  /** Queues an event for the next `flush`; returns at once and never throws. */
  enqueue(input: NewAuditEvent): void {
    const event = this.event(input);
    this.line(event);
    this.queue.push(event);
    const limit = this.options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    if (this.queue.length > limit) {
      this.dropped += this.queue.length - limit;
      this.queue = this.queue.slice(-limit);
    }
  }

  /** Events queued and not stored yet. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Stores the queued events in order. Stops at the first failure, keeping that event and the
   * rest for the next call, and rethrows; returns how many were stored.
   */
  async flush(): Promise<number> {
    if (this.dropped > 0) {
      this.logger.warn({ dropped: this.dropped }, 'audit events dropped: the queue was full while the database was unavailable');
      this.dropped = 0;
    }
    let stored = 0;
    while (this.queue.length > 0) {
      const [event] = this.queue;
      if (!event) break;
      await this.store.insert(event, this.options.outbox);
      this.queue.shift();
      stored += 1;
    }
    return stored;
  }

  private event(input: NewAuditEvent): AuditEvent {
    const time = this.clock.now();
    const event: AuditEvent = {
      id: timeOrderedId(time),
      type: input.type,
      time,
      environment: input.environment ? { id: input.environment.id, name: input.environment.name } : null,
      actor: input.actor,
      subject: input.subject,
      outcome: input.outcome ?? 'success',
      details: input.details ?? {},
    };
    return event;
  }

  private line(event: AuditEvent): void {
    this.logger.info({ audit: auditView(event) }, 'audit event');
  }
}

let lastMs = -1;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): the time in milliseconds, then a counter within the millisecond, then
 * random bits. Events recorded by one process in the same millisecond list in the order they
 * were recorded (listing sorts by time, then id).
 */
export function timeOrderedId(now: number): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs += 1;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An event as it is shown and sent: times in ISO 8601, the environment by name and id. */
export function auditView(event: AuditEvent) {
  return {
    id: event.id,
    type: event.type,
    time: new Date(event.time).toISOString(),
    environment: event.environment,
    actor: event.actor,
    subject: event.subject,
    outcome: event.outcome,
    details: event.details,
  };
}
