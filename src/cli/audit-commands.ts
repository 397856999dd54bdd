import { type Command, InvalidArgumentError, Option } from 'commander';
import { AUDIT_EVENT_TYPES, isAuditEventType } from '../domain/audit.ts';
import { withAdmin } from './context.ts';
import { printTable } from './output.ts';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_LIMIT = 10_000;

/** `--since`: an ISO 8601 time, or a duration back from now such as `30m`, `1h` or `7d`. */
export function sinceTime(value: string, now = Date.now()): number {
  const duration = /^(\d{1,6})([mhd])$/.exec(value);
  if (duration) return now - Number(duration[1]) * (UNIT_MS[duration[2] ?? 'd'] ?? 0);
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new InvalidArgumentError('give an ISO 8601 time (2026-01-31 or 2026-01-31T12:00:00Z) or a duration such as 30m, 1h or 7d');
  return time;
}

function eventType(value: string): string {
  if (!isAuditEventType(value)) throw new InvalidArgumentError(`unknown event type (known: ${AUDIT_EVENT_TYPES.join(', ')})`);
  return value;
}

function limit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_LIMIT}`);
  return Number(value);
}

const detailsText = (details: object): string =>
  Object.entries(details)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');

/** `audit list`: the stored audit events, newest first. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('audit events: administrative changes and security events');
  audit
    .command('list')
    .description('list audit events, newest first')
    .addOption(new Option('--env <name>', 'only events of this environment'))
    .addOption(new Option('--type <type>', 'only events of this type').argParser(eventType))
    .addOption(new Option('--since <time>', 'only events since an ISO 8601 time or a duration ago (30m, 1h, 7d)').argParser((v) => sinceTime(v)))
    .addOption(new Option('--limit <n>', `at most this many events (default 100, at most ${MAX_LIMIT})`).argParser(limit))
    .addOption(new Option('--json', 'print one JSON array'))
    .action(
      withAdmin(async ({ auditEvents }, options: { env?: string; type?: string; since?: number; limit?: number; json?: boolean }) => {
        const views = await auditEvents.list({ envName: options.env, type: options.type, since: options.since, limit: options.limit ?? 100 });
        if (options.json) {
          console.log(JSON.stringify(views));
          return;
        }
        const rows = views.map((e) => ({
          time: e.time,
          type: e.type,
          environment: e.environment?.name ?? '-',
          actor: `${e.actor.kind}:${e.actor.id}`,
          subject: `${e.subject.kind}:${e.subject.id}`,
          outcome: e.outcome,
          details: detailsText(e.details) || '-',
        }));
        printTable(rows, ['time', 'type', 'environment', 'actor', 'subject', 'outcome', 'details']);
      }),
    );
}
