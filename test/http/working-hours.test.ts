import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/domain/config-error.ts';
import { WorkingHours } from '../../src/surfaces/working-hours.ts';

const KEY = 'surfaces[2].workingHours';
const HOUR = 3600;

/** Epoch ms of a UTC wall time; every instant in these tests is built this way. */
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number => Date.UTC(y, mo - 1, d, h, mi, s, ms);

const OFFICE = {
  timeZone: 'Europe/Paris',
  weekly: { mon: ['09:00-12:30', '13:30-18:00'], tue: ['09:00-18:00'], wed: ['09:00-18:00'], thu: ['09:00-18:00'], fri: ['09:00-17:00'] },
  closed: ['2026-12-25', '2027-01-01'],
};
const office = WorkingHours.parse(OFFICE, KEY);
const newYorkOffice = WorkingHours.parse({ ...OFFICE, timeZone: 'America/New_York', closed: [] }, KEY);

/** Asserts `raw` is rejected with a ConfigError naming `path` (relative to KEY). */
function assertRejected(raw: unknown, path: string, pattern?: RegExp): void {
  assert.throws(
    () => WorkingHours.parse(raw, KEY),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.key, `${KEY}${path}`);
      assert.ok(error.message.startsWith(`${KEY}${path}: `), error.message);
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('WorkingHours: open and closed (Europe/Paris, summer = UTC+2)', () => {
  // Monday 2026-06-08.
  it('opens at the interval start (inclusive) and closes at its end (exclusive)', () => {
    assert.equal(office.isOpen(utc(2026, 6, 8, 7)), true); // 09:00
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 8, 7)), undefined);
    assert.equal(office.isOpen(utc(2026, 6, 8, 6, 59, 59, 999)), false);
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 8, 6, 59, 59, 999)), 1);
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 8, 6, 59, 58, 999)), 2);
    assert.equal(office.isOpen(utc(2026, 6, 8, 15, 59, 59, 999)), true); // 17:59:59.999
    assert.equal(office.isOpen(utc(2026, 6, 8, 16)), false); // 18:00
  });

  it('is closed over the lunch gap and reopens at 13:30', () => {
    assert.equal(office.isOpen(utc(2026, 6, 8, 10, 29, 59, 999)), true); // 12:29:59.999
    assert.equal(office.isOpen(utc(2026, 6, 8, 10, 30)), false); // 12:30
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 8, 10, 30)), HOUR);
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 8, 11, 0, 0, 1)), 30 * 60); // 13:00:00.001: 29:59.999 rounded up
    assert.equal(office.isOpen(utc(2026, 6, 8, 11, 30)), true);
  });

  it('after closing waits until the next morning', () => {
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 8, 16)), 15 * HOUR); // Mon 18:00 → Tue 09:00
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 9, 1)), 6 * HOUR); // Tue 03:00 → 09:00 the same day
  });

  it('over the weekend waits until Monday 09:00', () => {
    assert.equal(office.isOpen(utc(2026, 6, 13, 8)), false); // Sat 10:00
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 13, 8)), 47 * HOUR); // → Mon 2026-06-15 07:00Z
  });

  it('closes Friday at 17:00 until Monday', () => {
    assert.equal(office.isOpen(utc(2026, 6, 12, 14, 59, 59)), true);
    assert.equal(office.isOpen(utc(2026, 6, 12, 15)), false); // Fri 17:00
    assert.equal(office.secondsUntilOpen(utc(2026, 6, 12, 15)), 64 * HOUR); // → Mon 2026-06-15 07:00Z
  });

  it('skips closed dates to the next working day', () => {
    const hours = WorkingHours.parse({ ...OFFICE, closed: ['2026-06-10'] }, KEY); // a Wednesday
    assert.equal(hours.isOpen(utc(2026, 6, 10, 10)), false);
    assert.equal(hours.secondsUntilOpen(utc(2026, 6, 9, 16)), 39 * HOUR); // Tue 18:00 → Thu 09:00
    // Winter (UTC+1): Thursday 2026-12-31 18:00 → Friday 2027-01-01 is closed → Monday 2027-01-04 09:00 = 08:00Z.
    assert.equal(office.isOpen(utc(2027, 1, 1, 10)), false);
    assert.equal(office.secondsUntilOpen(utc(2026, 12, 31, 17)), utc(2027, 1, 4, 8) / 1000 - utc(2026, 12, 31, 17) / 1000);
  });

  it('accepts 24:00 as an end and joins intervals across midnight', () => {
    const night = WorkingHours.parse({ timeZone: 'UTC', weekly: { sat: ['20:00-24:00'], sun: ['00:00-06:00'] } }, KEY);
    assert.equal(night.isOpen(utc(2026, 6, 13, 23, 59, 59, 999)), true); // Sat
    assert.equal(night.isOpen(utc(2026, 6, 14)), true); // Sun 00:00
    assert.equal(night.isOpen(utc(2026, 6, 14, 6)), false);
    assert.equal(night.secondsUntilOpen(utc(2026, 6, 14, 6)), (6 * 24 + 14) * HOUR); // → Sat 2026-06-20 20:00
    const lateOnly = WorkingHours.parse({ timeZone: 'UTC', weekly: { sat: ['20:00-24:00'] } }, KEY);
    assert.equal(lateOnly.isOpen(utc(2026, 6, 14)), false);
  });

  it('gives up after 400 local days when every opening day is a closed date', () => {
    const mondays = Array.from({ length: 60 }, (_, i) => new Date(utc(2026, 1, 5) + i * 7 * 86_400_000).toISOString().slice(0, 10));
    const hours = WorkingHours.parse({ timeZone: 'UTC', weekly: { mon: ['09:00-10:00'] }, closed: mondays }, KEY);
    assert.equal(hours.secondsUntilOpen(utc(2026, 1, 1)), 400 * 24 * HOUR);
    assert.equal(hours.secondsUntilOpen(utc(2026, 1, 1, 12)), 400 * 24 * HOUR - 12 * HOUR);
  });

  it('describes itself', () => {
    assert.equal(
      office.describe(),
      'Mon 09:00-12:30, 13:30-18:00; Tue 09:00-18:00; Wed 09:00-18:00; Thu 09:00-18:00; Fri 09:00-17:00 (Europe/Paris), closed 2026-12-25, 2027-01-01',
    );
    assert.equal(
      WorkingHours.parse({ timeZone: 'UTC', weekly: { sun: ['13:00-14:00', '08:00-09:00'] } }, KEY).describe(),
      'Sun 08:00-09:00, 13:00-14:00 (UTC)',
    );
  });
});

describe('WorkingHours: daylight saving time', () => {
  it('Europe/Paris spring forward (2027-03-28): Saturday noon → Monday 09:00 CEST is 44 hours', () => {
    // Sat 12:00 CET = 11:00Z; Mon 09:00 CEST = 07:00Z: 45 hours of wall time, one of them skipped.
    assert.equal(office.secondsUntilOpen(utc(2027, 3, 27, 11)), 44 * HOUR);
    assert.equal(office.isOpen(utc(2027, 3, 29, 7)), true);
    assert.equal(office.isOpen(utc(2027, 3, 29, 6, 59, 59)), false);
  });

  it('Europe/Paris fall back (2026-10-25): Saturday noon → Monday 09:00 CET is 46 hours', () => {
    // Sat 12:00 CEST = 10:00Z; Mon 09:00 CET = 08:00Z.
    assert.equal(office.secondsUntilOpen(utc(2026, 10, 24, 10)), 46 * HOUR);
  });

  it('America/New_York fall back (2026-11-01): Friday 17:00 EDT → Monday 09:00 EST is 65 hours', () => {
    // Fri 17:00 EDT = 21:00Z; Mon 09:00 EST = 14:00Z.
    assert.equal(newYorkOffice.isOpen(utc(2026, 10, 30, 21)), false);
    assert.equal(newYorkOffice.secondsUntilOpen(utc(2026, 10, 30, 21)), 65 * HOUR);
  });

  it('America/New_York spring forward (2027-03-14): Friday 17:00 EST → Monday 09:00 EDT is 63 hours', () => {
    // Fri 17:00 EST = 22:00Z; Mon 09:00 EDT = 13:00Z.
    assert.equal(newYorkOffice.secondsUntilOpen(utc(2027, 3, 12, 22)), 63 * HOUR);
    assert.equal(newYorkOffice.isOpen(utc(2027, 3, 15, 13)), true);
  });

  it('an interval starting inside the spring-forward gap opens when the clocks reach 03:00', () => {
    const hours = WorkingHours.parse({ timeZone: 'Europe/Paris', weekly: { sun: ['02:30-04:00'] } }, KEY);
    // Sat 23:00 CET = 22:00Z; the clocks jump from 02:00 CET to 03:00 CEST at 01:00Z.
    assert.equal(hours.secondsUntilOpen(utc(2027, 3, 27, 22)), 3 * HOUR);
    assert.equal(hours.isOpen(utc(2027, 3, 28, 0, 59, 59, 999)), false); // 01:59:59.999 CET
    assert.equal(hours.isOpen(utc(2027, 3, 28, 1)), true); // 03:00 CEST
    assert.equal(hours.isOpen(utc(2027, 3, 28, 1, 59, 59)), true); // 03:59:59 CEST
    assert.equal(hours.isOpen(utc(2027, 3, 28, 2)), false); // 04:00 CEST
  });

  it('an interval wholly inside the spring-forward gap never opens that night', () => {
    const hours = WorkingHours.parse({ timeZone: 'Europe/Paris', weekly: { sun: ['02:00-02:45'], mon: ['09:00-10:00'] } }, KEY);
    // Sat 23:00 CET → Mon 2027-03-29 09:00 CEST = 07:00Z.
    assert.equal(hours.secondsUntilOpen(utc(2027, 3, 27, 22)), 33 * HOUR);
    // A week later the same interval exists: Sun 2027-04-04 02:00 CEST = 00:00Z.
    assert.equal(hours.secondsUntilOpen(utc(2027, 4, 3, 22)), 2 * HOUR);
  });

  it('is open in both passes of the repeated fall-back hour (Europe/Paris)', () => {
    const hours = WorkingHours.parse({ timeZone: 'Europe/Paris', weekly: { sun: ['02:00-02:30'] } }, KEY);
    // 02:00 CEST = 00:00Z, 03:00 CEST → 02:00 CET at 01:00Z.
    assert.equal(hours.secondsUntilOpen(utc(2026, 10, 24, 22)), 2 * HOUR); // Sun 00:00 CEST → the earlier 02:00
    assert.equal(hours.isOpen(utc(2026, 10, 25, 0, 15)), true); // 02:15 CEST
    assert.equal(hours.isOpen(utc(2026, 10, 25, 0, 45)), false); // 02:45 CEST
    assert.equal(hours.secondsUntilOpen(utc(2026, 10, 25, 0, 45)), 15 * 60); // → 02:00 CET
    assert.equal(hours.isOpen(utc(2026, 10, 25, 1, 15)), true); // 02:15 CET
    assert.equal(hours.isOpen(utc(2026, 10, 25, 1, 30)), false); // 02:30 CET
  });

  it('reopens at the fall-back switch when the repeated time lies inside an interval', () => {
    const hours = WorkingHours.parse({ timeZone: 'Europe/Paris', weekly: { sun: ['01:00-02:30'] } }, KEY);
    assert.equal(hours.isOpen(utc(2026, 10, 25, 0, 40)), false); // 02:40 CEST
    assert.equal(hours.secondsUntilOpen(utc(2026, 10, 25, 0, 40)), 20 * 60); // → 02:00 CET at 01:00Z
    assert.equal(hours.isOpen(utc(2026, 10, 25, 1)), true);
  });

  it('is open in both passes of the repeated fall-back hour (America/New_York)', () => {
    const hours = WorkingHours.parse({ timeZone: 'America/New_York', weekly: { sun: ['01:00-01:30'] } }, KEY);
    // 01:00 EDT = 05:00Z; 02:00 EDT → 01:00 EST at 06:00Z.
    assert.equal(hours.isOpen(utc(2026, 11, 1, 5, 15)), true); // 01:15 EDT
    assert.equal(hours.isOpen(utc(2026, 11, 1, 5, 45)), false); // 01:45 EDT
    assert.equal(hours.secondsUntilOpen(utc(2026, 11, 1, 5, 45)), 15 * 60);
    assert.equal(hours.isOpen(utc(2026, 11, 1, 6, 15)), true); // 01:15 EST
    assert.equal(hours.isOpen(utc(2026, 11, 1, 6, 30)), false);
  });
});

describe('WorkingHours.parse: configuration errors name the path', () => {
  const base = { timeZone: 'UTC', weekly: { mon: ['09:00-18:00'] } };

  it('rejects a value that is not an object', () => assertRejected(['09:00-18:00'], ''));
  it('rejects an unknown time zone', () => assertRejected({ ...base, timeZone: 'Europe/Pariss' }, '.timeZone', /Europe\/Pariss/));
  it('rejects a missing time zone', () => assertRejected({ weekly: base.weekly }, '.timeZone'));
  it('rejects a badly written interval', () => {
    assertRejected({ ...base, weekly: { mon: ['09:00-12:30', '1:30-18:00'] } }, '.weekly.mon[1]', /HH:MM-HH:MM/);
    assertRejected({ ...base, weekly: { tue: ['09:00-24:01'] } }, '.weekly.tue[0]');
    assertRejected({ ...base, weekly: { tue: ['24:00-24:00'] } }, '.weekly.tue[0]');
    assertRejected({ ...base, weekly: { tue: [900] } }, '.weekly.tue[0]');
    assertRejected({ ...base, weekly: { tue: '09:00-18:00' } }, '.weekly.tue');
  });
  it('rejects an interval that does not start before it ends', () => {
    assertRejected({ ...base, weekly: { wed: ['18:00-09:00'] } }, '.weekly.wed[0]', /start before it ends/);
    assertRejected({ ...base, weekly: { wed: ['09:00-09:00'] } }, '.weekly.wed[0]');
  });
  it('rejects overlapping intervals, naming the later-listed one', () => {
    assertRejected({ ...base, weekly: { mon: ['13:00-18:00', '09:00-13:01'] } }, '.weekly.mon[1]', /overlaps 13:00-18:00/);
    assertRejected({ ...base, weekly: { mon: ['09:00-18:00', '08:00-08:30', '10:00-11:00'] } }, '.weekly.mon[2]');
    assert.ok(WorkingHours.parse({ ...base, weekly: { mon: ['13:00-18:00', '09:00-13:00'] } }, KEY).isOpen(utc(2026, 6, 8, 13)));
  });
  it('rejects an unknown day', () => assertRejected({ ...base, weekly: { mon: ['09:00-18:00'], monday: ['09:00-18:00'] } }, '.weekly.monday', /mon, tue/));
  it('rejects an unknown top-level key', () => assertRejected({ ...base, timezone: 'UTC' }, '.timezone', /timeZone, weekly, closed/));
  it('rejects a bad closed date', () => {
    assertRejected({ ...base, closed: ['2026-12-25', '2026-02-30'] }, '.closed[1]', /YYYY-MM-DD/);
    assertRejected({ ...base, closed: ['2026-1-05'] }, '.closed[0]');
    assertRejected({ ...base, closed: '2026-12-25' }, '.closed');
  });
  it('rejects a schedule that never opens', () => {
    assertRejected({ timeZone: 'UTC', weekly: { mon: [], sat: [] } }, '.weekly', /never opens/);
    assertRejected({ timeZone: 'UTC', weekly: {} }, '.weekly');
    assertRejected({ timeZone: 'UTC' }, '.weekly');
  });
});

/** A random valid day: sorted, disjoint intervals on 5-minute boundaries, possibly ending at 24:00. */
const dayArbitrary = fc.uniqueArray(fc.integer({ min: 0, max: 288 }), { maxLength: 6 }).map((cuts) => {
  const sorted = [...cuts].sort((a, b) => a - b);
  const clock = (n: number): string => `${String(Math.floor(n / 12)).padStart(2, '0')}:${String((n % 12) * 5).padStart(2, '0')}`;
  const intervals: string[] = [];
  for (let i = 0; i + 1 < sorted.length; i += 2) intervals.push(`${clock(sorted[i] ?? 0)}-${clock(sorted[i + 1] ?? 0)}`);
  return intervals;
});
const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const FROM = utc(2026, 1, 1);
const TO = utc(2028, 1, 1);
const scheduleArbitrary = fc.record({
  timeZone: fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'),
  weekly: fc
    .tuple(...DAY_NAMES.map(() => dayArbitrary))
    .filter((days) => days.some((d) => d.length > 0))
    .map((days) => Object.fromEntries(days.map((d, i) => [DAY_NAMES[i], d]))),
  closed: fc.uniqueArray(
    fc.integer({ min: FROM, max: TO }).map((ms) => new Date(ms).toISOString().slice(0, 10)),
    { maxLength: 4 },
  ),
});

/** DST switches of the zones above in 2026–2027 (Europe, the US, then Australia). */
const SWITCHES = [
  utc(2026, 3, 29, 1),
  utc(2026, 10, 25, 1),
  utc(2027, 3, 28, 1),
  utc(2027, 10, 31, 1),
  utc(2026, 3, 8, 7),
  utc(2026, 11, 1, 6),
  utc(2027, 3, 14, 7),
  utc(2027, 11, 7, 6),
  utc(2026, 4, 4, 16),
  utc(2026, 10, 3, 16),
  utc(2027, 4, 3, 16),
  utc(2027, 10, 2, 16),
];
const nearSwitch = fc.tuple(fc.constantFrom(...SWITCHES), fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 })).map(([at, delta]) => at + delta);

/** Either open at t, or open again exactly `secondsUntilOpen(t)` seconds later (rounded up) and closed until then. */
function checkOpening(raw: unknown, t: number, fraction: number): void {
  const hours = WorkingHours.parse(raw, KEY);
  const wait = hours.secondsUntilOpen(t);
  if (hours.isOpen(t)) {
    assert.equal(wait, undefined);
    return;
  }
  assert.ok(wait !== undefined && Number.isInteger(wait) && wait >= 1, String(wait));
  // The opening instant lies in (t + (wait - 1) s, t + wait s]; intervals last whole minutes, so it is still open at t + wait s.
  assert.equal(hours.isOpen(t + wait * 1000), true);
  if (wait >= 2) {
    assert.equal(hours.isOpen(t + (wait - 1) * 1000), false);
    assert.equal(hours.isOpen(t + Math.floor(fraction * (wait - 1)) * 1000), false);
  }
}

describe('WorkingHours: property', () => {
  const fraction = fc.double({ min: 0, max: 1, noNaN: true });

  it('secondsUntilOpen leads to the first open second, at any instant of two years', () => {
    fc.assert(fc.property(scheduleArbitrary, fc.integer({ min: FROM, max: TO }), fraction, checkOpening), { numRuns: 200 });
  });

  it('secondsUntilOpen leads to the first open second, within two days of a DST switch', () => {
    fc.assert(fc.property(scheduleArbitrary, nearSwitch, fraction, checkOpening), { numRuns: 200 });
  });
});
