import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat } from '../config/config.ts';

/**
 * Paths that could carry a credential if anything ever logged them; pino replaces their values.
 * Request bodies and query strings are never logged at all (see `serializeRequest`).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  '*.code',
  '*.password',
  '*.assertion',
  '*.device_code',
  '*.user_code',
  '*.subject_token',
  '*.actor_token',
  '*.client_assertion',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Where log lines in `format` go to reach `out`: as they are for JSON, through a formatter for people. */
export function logDestination(format: LogFormat, out: NodeJS.WritableStream = process.stdout): DestinationStream {
  return format === 'pretty' ? prettyStream(out) : (out as DestinationStream);
}

/**
 * One line per entry for a person at a terminal: time, level, message and the entry's fields
 * (already redacted: pino redacts before formatting). Colours only on a terminal.
 */
function prettyStream(destination: NodeJS.WritableStream): DestinationStream {
  const tty = (destination as { isTTY?: boolean }).isTTY === true;
  return pinoPretty({
    destination,
    colorize: tty,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    // An audit entry reads as one sentence; its full record stays in the audit log and the JSON format.
    ignore: 'pid,hostname,audit',
    messageFormat: (log, messageKey) => {
      const message = String(log[messageKey] ?? '');
      const audit = log.audit as AuditLine | undefined;
      if (!audit || typeof audit !== 'object') return message;
      const where = audit.environment?.name ? ` in ${audit.environment.name}` : '';
      const subject = audit.subject ? ` ${audit.subject.kind} ${audit.subject.id}` : '';
      const actor = audit.actor ? ` by ${audit.actor.kind} ${audit.actor.id}` : '';
      return `audit ${audit.type}${subject}${where}${actor}: ${audit.outcome}`;
    },
  });
}

/** The fields of an audit log entry the readable format shows. */
interface AuditLine {
  type?: string;
  outcome?: string;
  environment?: { name?: string } | null;
  actor?: { kind?: string; id?: string };
  subject?: { kind?: string; id?: string };
}

/**
 * A destination that, while held, keeps what is written and passes it on in order once released:
 * `serve` holds its log lines from starting the server until its banner is written, so the two
 * never interleave. Waiting for the database is logged before the hold begins; a hold that keeps
 * more than `limit` entries lets them through rather than grow.
 */
export class HeldDestination implements DestinationStream {
  private held: string[] | undefined;

  constructor(
    private readonly target: DestinationStream,
    private readonly limit = 1_000,
  ) {}

  write(chunk: string): void {
    if (!this.held) {
      this.target.write(chunk);
      return;
    }
    this.held.push(chunk);
    if (this.held.length >= this.limit) this.release();
  }

  hold(): void {
    this.held ??= [];
  }

  /** Writes what was held and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const chunk of held) this.target.write(chunk);
  }
}

/** Method, path without its query (it may hold a token) and peer address; no headers, no body. */
export function serializeRequest(req: { method?: string; url?: string; ip?: string; id?: string }) {
  return { id: req.id, method: req.method, path: req.url?.split('?')[0], remoteAddress: req.ip };
}
