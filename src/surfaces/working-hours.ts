import { Temporal } from 'temporal-polyfill';
import { ConfigError } from '../domain/config-error.ts';

/** Config keys of the days, Monday first; the index is the weekday used throughout. */
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_LABELS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const KEYS = ['timeZone', 'weekly', 'closed'];
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const NANOS_PER_MS = 1_000_000;
/** How many local days ahead an opening is searched for before giving up. */
const HORIZON_DAYS = 400;
/** Offsets in use span UTC−12 to UTC+14: every instant of a local day lies within these margins of its UTC day. */
const MAX_WEST_MS = 12 * 3_600_000;
const MAX_EAST_MS = 14 * 3_600_000;
/** Day-offset cache bound: a long-running server only ever needs the days near "now". */
const CACHE_LIMIT = 1024;
const INTERVAL = /^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Minutes of the local day, [start, end). */
interface Interval {
  readonly start: number;
  readonly end: number;
}

/**
 * The zone offsets around one local day: `before` until the instant `change`, `after` from it
 * (`change` is Infinity on the usual day without a DST switch nearby).
 */
interface DayOffsets {
  readonly before: number;
  readonly after: number;
  readonly change: number;
}

type Raw = Record<string, unknown>;

/** Day 0 (1970-01-01) was a Thursday. */
const weekdayOf = (day: number): number => (((day + 3) % 7) + 7) % 7;
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);
const pad = (n: number): string => String(n).padStart(2, '0');
const clockText = (minutes: number): string => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

/**
 * When a surface serves requests: a weekly schedule in local wall time of an IANA zone, minus
 * closed dates. Pure and framework-free. The zone's offsets and daylight-saving switches come from
 * Temporal (`getTimeZoneTransition` names the exact instant of a switch); they are looked up once
 * per day and kept, so the per-request cost is a map lookup.
 */
export class WorkingHours {
  private readonly dayOffsets = new Map<number, DayOffsets>();

  private constructor(
    private readonly timeZone: string,
    /** Sorted, non-overlapping intervals by weekday, Monday first. */
    private readonly weekly: readonly (readonly Interval[])[],
    /** Closed local dates as days since 1970-01-01. */
    private readonly closed: ReadonlySet<number>,
  ) {}

  /**
   * Validates `raw` (the JSON value) and builds a schedule. Every problem is a ConfigError whose key
   * is `key` plus the path of the offending value, e.g. `surfaces[2].workingHours.weekly.mon[1]`.
   */
  static parse(raw: unknown, key: string): WorkingHours {
    if (!isObject(raw)) throw new ConfigError(key, 'must be an object with "timeZone", "weekly" and optionally "closed"');
    for (const name of Object.keys(raw)) {
      if (!KEYS.includes(name)) throw new ConfigError(`${key}.${name}`, `unknown setting; expected one of ${KEYS.join(', ')}`);
    }
    const timeZone = parseTimeZone(raw.timeZone, `${key}.timeZone`);
    const weekly = parseWeekly(raw.weekly, `${key}.weekly`);
    const closed = parseClosed(raw.closed, `${key}.closed`);
    return new WorkingHours(timeZone, weekly, closed);
  }

  /** Whether the surface is open at `nowMs` (epoch ms). */
  isOpen(nowMs: number): boolean {
    return this.openAtWall(this.wallClock(nowMs));
  }

  /**
   * Undefined when open at `nowMs`; otherwise whole seconds (>= 1, rounded up) until the next
   * opening instant. When no opening comes within 400 local days (all closed dates), the seconds
   * to the end of that horizon.
   */
  secondsUntilOpen(nowMs: number): number | undefined {
    const wall = this.wallClock(nowMs);
    if (this.openAtWall(wall)) return undefined;
    const today = Math.floor(wall / DAY_MS);
    for (let day = today; day < today + HORIZON_DAYS; day++) {
      const intervals = this.intervalsOn(day);
      if (intervals.length === 0) continue;
      const opening = this.firstInstantOn(day, intervals, nowMs);
      if (opening !== undefined) return Math.ceil((opening - nowMs) / 1000);
    }
    const horizon = this.firstInstantOn(today + HORIZON_DAYS, [{ start: 0, end: 1440 }], nowMs) ?? nowMs;
    return Math.max(1, Math.ceil((horizon - nowMs) / 1000));
  }

  /** A short human description for docs and logs. */
  describe(): string {
    const days = this.weekly.flatMap((intervals, i) =>
      intervals.length === 0 ? [] : [`${DAY_LABELS[i]} ${intervals.map((r) => `${clockText(r.start)}-${clockText(r.end)}`).join(', ')}`],
    );
    const closed = [...this.closed].sort((a, b) => a - b).map((day) => new Date(day * DAY_MS).toISOString().slice(0, 10));
    return `${days.join('; ')} (${this.timeZone})${closed.length > 0 ? `, closed ${closed.join(', ')}` : ''}`;
  }

  private openAtWall(wall: number): boolean {
    const day = Math.floor(wall / DAY_MS);
    const minute = Math.floor((wall - day * DAY_MS) / MINUTE_MS);
    return this.intervalsOn(day).some((r) => r.start <= minute && minute < r.end);
  }

  private intervalsOn(day: number): readonly Interval[] {
    return this.closed.has(day) ? [] : (this.weekly[weekdayOf(day)] ?? []);
  }

  /**
   * The first instant after `after` at which the wall clock shows local date `day` and a time inside
   * one of `intervals`. Around a DST switch each interval maps to up to two instant ranges, one per
   * offset: a start inside a spring-forward gap opens at the switch, a start in the repeated
   * fall-back hour first at its earlier instant, and the interval may open again after the switch.
   */
  private firstInstantOn(day: number, intervals: readonly Interval[], after: number): number | undefined {
    const { before, after: later, change } = this.offsetsOn(day);
    const midnight = day * DAY_MS;
    let best = Number.POSITIVE_INFINITY;
    for (const { start, end } of intervals) {
      const wallStart = midnight + start * MINUTE_MS;
      const wallEnd = midnight + end * MINUTE_MS;
      const early = wallStart - before;
      if (early > after && early < Math.min(wallEnd - before, change)) best = Math.min(best, early);
      const late = Math.max(wallStart - later, change);
      if (late > after && late < wallEnd - later) best = Math.min(best, late);
    }
    return best === Number.POSITIVE_INFINITY ? undefined : best;
  }

  /** The local wall-clock time at `ms`, as if it were a UTC epoch time (so `result - ms` is the offset). */
  private wallClock(ms: number): number {
    // The offsets of day n cover every instant of UTC day n (see offsetsOn).
    const { before, after, change } = this.offsetsOn(Math.floor(ms / DAY_MS));
    return ms + (ms < change ? before : after);
  }

  /**
   * Offsets around day `day`: over the 50 hours that hold every instant whose local date is that
   * day, and every instant of that UTC day. Zones switch at most once within 50 hours (every zone of
   * the time-zone database from 2000 to 2040 does).
   */
  private offsetsOn(day: number): DayOffsets {
    const cached = this.dayOffsets.get(day);
    if (cached) return cached;
    const from = Temporal.Instant.fromEpochMilliseconds(day * DAY_MS - MAX_EAST_MS).toZonedDateTimeISO(this.timeZone);
    const before = from.offsetNanoseconds / NANOS_PER_MS;
    const next = from.getTimeZoneTransition('next');
    const offsets =
      next !== null && next.epochMilliseconds < (day + 1) * DAY_MS + MAX_WEST_MS
        ? { before, after: next.offsetNanoseconds / NANOS_PER_MS, change: next.epochMilliseconds }
        : { before, after: before, change: Number.POSITIVE_INFINITY };
    if (this.dayOffsets.size >= CACHE_LIMIT) this.dayOffsets.clear();
    this.dayOffsets.set(day, offsets);
    return offsets;
  }
}

function parseTimeZone(value: unknown, key: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(key, 'must be an IANA time zone name such as "Europe/Paris"');
  try {
    // Intl takes zone names only; Temporal alone would also read a zone out of a date-time string
    // such as "2026-01-01[Europe/Paris]".
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(value);
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError(key, `unknown time zone "${value}"`);
    throw error;
  }
  return value;
}

function parseWeekly(value: unknown, key: string): Interval[][] {
  if (!isObject(value)) throw new ConfigError(key, 'must be an object of day → intervals, e.g. { "mon": ["09:00-18:00"] }');
  for (const name of Object.keys(value)) {
    if (!(DAYS as readonly string[]).includes(name)) throw new ConfigError(`${key}.${name}`, `unknown day; expected one of ${DAYS.join(', ')}`);
  }
  const weekly = DAYS.map((day) => parseDay(value[day], `${key}.${day}`));
  if (weekly.every((intervals) => intervals.length === 0)) throw new ConfigError(key, 'never opens; give at least one day an interval');
  return weekly;
}

function parseDay(value: unknown, key: string): Interval[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(key, 'must be an array of "HH:MM-HH:MM" intervals');
  const parsed = value.map((text: unknown, i) => ({ ...parseInterval(text, `${key}[${i}]`), i, text: String(text) }));
  parsed.sort((a, b) => a.start - b.start);
  for (let j = 1; j < parsed.length; j++) {
    const previous = parsed[j - 1];
    const current = parsed[j];
    if (previous && current && current.start < previous.end) {
      const [first, second] = previous.i < current.i ? [previous, current] : [current, previous];
      throw new ConfigError(`${key}[${second.i}]`, `${second.text} overlaps ${first.text} (${key}[${first.i}])`);
    }
  }
  return parsed.map(({ start, end }) => ({ start, end }));
}

function parseInterval(value: unknown, key: string): Interval {
  const match = typeof value === 'string' ? INTERVAL.exec(value) : null;
  if (!match) throw new ConfigError(key, 'must be "HH:MM-HH:MM" in 24-hour local time, e.g. "09:00-18:00" (end may be 24:00)');
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = Number(match[3] ?? match[5]) * 60 + Number(match[4] ?? match[6]);
  if (start >= end) throw new ConfigError(key, `${String(value)} must start before it ends; split an interval across midnight in two`);
  return { start, end };
}

function parseClosed(value: unknown, key: string): Set<number> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) throw new ConfigError(key, 'must be an array of "YYYY-MM-DD" dates');
  return new Set(
    value.map((text: unknown, i) => {
      const match = typeof text === 'string' ? DATE.exec(text) : null;
      const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
      // Date.UTC rolls 2026-02-30 over to March: a valid date reads back unchanged.
      if (!match || new Date(ms).toISOString().slice(0, 10) !== text) throw new ConfigError(`${key}[${i}]`, 'must be a valid "YYYY-MM-DD" date');
      return ms / DAY_MS;
    }),
  );
}
