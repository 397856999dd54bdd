import type { Clock } from '../domain/clock.ts';
import type { ConsoleAuditEvent, ConsoleUsageProvider } from './deps.ts';

const DAY_MS = 86_400_000;
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Tokens per UTC day for the chart from stored counts (day → count, days without tokens absent):
 * the last `days` days up to today, oldest first, each day present, zero when nothing was counted.
 */
export function usageFromCounts(
  counts: (environment: string, clientId: string, fromDay: string, toDay: string) => Promise<ReadonlyMap<string, number>>,
  clock: Clock,
): ConsoleUsageProvider {
  return {
    async tokensPerDay(environment, clientId, days) {
      const today = clock.now();
      const series = Array.from({ length: days }, (_, i) => utcDay(today - (days - 1 - i) * DAY_MS));
      const found = await counts(environment, clientId, series[0] ?? utcDay(today), utcDay(today));
      return series.map((day) => ({ day, count: found.get(day) ?? 0 }));
    },
  };
}

/**
 * What the console shows of a recorded audit event: every part as text, nothing of its details.
 * With `operator` (the name of the console operator who acted), the actor is that name and the
 * recorded actor is kept beside it as `actorId`.
 */
export function auditEntry(
  event: {
    time: number;
    type: string;
    environment: { name: string } | null;
    actor: { kind: string; id: string };
    subject: { kind: string; id: string };
    outcome: string;
  },
  operator?: string,
): ConsoleAuditEvent {
  const recorded = `${event.actor.kind} ${event.actor.id}`;
  return {
    at: new Date(event.time).toISOString(),
    type: event.type,
    environment: event.environment?.name,
    actor: operator ?? recorded,
    ...(operator === undefined ? {} : { actorId: recorded }),
    target: `${event.subject.kind} ${event.subject.id}`,
    outcome: event.outcome,
  };
}

/**
 * The user id in an actor the console recorded: `admin_client <console client id>/<user id>`
 * (see `servicesFor`); undefined for any other actor.
 */
export function consoleOperatorOf(actor: { kind: string; id: string }): string | undefined {
  if (actor.kind !== 'admin_client') return undefined;
  const slash = actor.id.indexOf('/');
  return slash > 0 && slash < actor.id.length - 1 ? actor.id.slice(slash + 1) : undefined;
}
