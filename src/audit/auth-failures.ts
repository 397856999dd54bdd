import { type NewAuditEvent, SYSTEM_ACTOR } from '../domain/audit.ts';
import type { CoreEvent } from '../domain/events.ts';

type AuthFailure = Extract<CoreEvent, { type: 'client.authentication_failed' }>;

interface Tally {
  failure: AuthFailure;
  /** Failures after the first in this window (the first was recorded at once). */
  more: number;
  throttled: number;
  last: number;
}

export interface AuthFailureDigestOptions {
  /** Length of a window, in milliseconds. */
  windowMs: number;
  /** Callers (client or unknown id, and source) tallied per window, at most; the rest share one tally per environment. */
  maxKeys: number;
}

/** What stands for every caller past `maxKeys` in one window. */
const OVERFLOW_SOURCE = '(other sources)';

/**
 * Failed client authentications as audit events, bounded: the first failure of a caller (the
 * client, or an unknown id, from one source address) in a window is recorded at once; the
 * rest of that window's failures become one summary event when the window ends. A flood writes at
 * most two events per caller and window, and at most `maxKeys` callers per window. An unknown id
 * is never named: it is made up by the caller and may be anything, a secret pasted by mistake
 * included.
 */
export class AuthFailureDigest {
  private window = -1;
  private tallies = new Map<string, Tally>();

  constructor(private readonly options: AuthFailureDigestOptions) {}

  /** Notes one failure at `now`; returns the events to record now (this one, or ended windows' summaries). */
  note(failure: AuthFailure, now: number): NewAuditEvent[] {
    const out = this.drain(now);
    const overflow = this.tallies.size >= this.options.maxKeys;
    const source = overflow ? OVERFLOW_SOURCE : failure.source;
    const clientId = overflow ? undefined : failure.clientId;
    const key = `${failure.env.id}\u0000${clientId ?? ''}\u0000${source}`;
    const tally = this.tallies.get(key);
    if (tally) {
      tally.more++;
      if (failure.throttled) tally.throttled++;
      tally.last = now;
      return out;
    }
    const first = { ...failure, clientId, source };
    this.tallies.set(key, { failure: first, more: 0, throttled: 0, last: now });
    out.push(authFailureEvent(first, { failures: 1, throttled: failure.throttled ? 1 : 0 }));
    return out;
  }

  /** The summaries of a window that ended before `now` (every window with `force`, at shutdown). */
  drain(now: number, force = false): NewAuditEvent[] {
    const current = Math.floor(now / this.options.windowMs);
    if (current === this.window && !force) return [];
    const ended = this.tallies;
    const start = this.window * this.options.windowMs;
    this.window = current;
    this.tallies = new Map();
    const out: NewAuditEvent[] = [];
    for (const { failure, more, throttled, last } of ended.values()) {
      if (more === 0) continue;
      const window = { window_start: new Date(start).toISOString(), last_at: new Date(last).toISOString(), summary: true };
      out.push(authFailureEvent(failure, { failures: more, throttled, ...window }));
    }
    return out;
  }
}

function authFailureEvent(failure: AuthFailure, counts: Record<string, number | string | boolean>): NewAuditEvent {
  return {
    type: 'client.authentication_failed',
    environment: failure.env,
    actor: SYSTEM_ACTOR,
    subject: failure.clientId === undefined ? { kind: 'unknown_client', id: '' } : { kind: 'client', id: failure.clientId },
    outcome: 'failure',
    details: { source: failure.source, ...counts },
  };
}
