import { type CallNode, type Frame, IDLE, walk } from './cpu-profile.ts';

/**
 * Where a server's CPU time goes: self time by function, by package and by category. A
 * category is that of the nearest frame, from the sampled one up its callers, that belongs to
 * one; node core's general-purpose code (events, buffers, streams) and V8 built-ins such as
 * JSON.stringify are charged to their caller, so "Gatehouse src/oauth/x.ts" includes the
 * built-ins that file calls.
 */
const FASTIFY_FAMILY =
  /^(fastify|@fastify\/|find-my-way|avvio|fast-|light-my-request|toad-cache|secure-json-parse|proxy-addr|safe-regex2|ret|rfdc|abstract-logging|process-warning|json-schema-ref-resolver)/;
const DATABASE = /^(kysely|better-sqlite3|pg|pg-.*|postgres-.*|mysql2)$/;
const OBSERVABILITY = /^(pino|pino-.*|@pinojs\/.*|prom-client|@opentelemetry\/.*|sonic-boom|thread-stream)$/;

export const CATEGORY = {
  gc: 'GC',
  program: 'V8 and native code outside JS (program)',
  signature: 'signature (ES256 sign / verify, node:crypto)',
  crypto: 'other crypto (hashes, random, key objects, jose)',
  socketWrite: 'socket write (writev)',
  socketRead: 'socket read',
  http: 'node:http (parsing, headers, response)',
  fastify: 'Fastify (routing, hooks, reply, serialisation)',
  database: 'database (Kysely, the driver and its socket)',
  observability: 'logging, metrics, tracing',
  nodeOther: 'node core, other (event loop, timers, streams)',
} as const;

/** The category a frame belongs to by itself, or undefined for code charged to its caller. */
export function ownCategory(frame: Frame): string | undefined {
  const { name, where, owner } = frame;
  if (owner === '(garbage collector)') return CATEGORY.gc;
  if (owner === '(program)') return CATEGORY.program;
  if (owner === IDLE) return IDLE;
  if (where.startsWith('node:internal/crypto/sig')) return CATEGORY.signature;
  if (where.startsWith('node:internal/crypto/') || owner === 'jose') return CATEGORY.crypto;
  if (where.startsWith('node:internal/stream_base_commons')) return name === 'onStreamRead' ? CATEGORY.socketRead : CATEGORY.socketWrite;
  if (/^node:(_http_|internal\/http)/.test(where)) return CATEGORY.http;
  if (owner === 'gatehouse') return `Gatehouse ${where.replace(/:\d+$/, '')}`;
  if (FASTIFY_FAMILY.test(owner)) return CATEGORY.fastify;
  if (DATABASE.test(owner)) return CATEGORY.database;
  if (OBSERVABILITY.test(owner)) return CATEGORY.observability;
  if (owner === 'node core' || owner === '(native)' || owner === '(root)') return undefined;
  return owner;
}

/** The category of a sample whose stack is `stack` (leaf last). */
export function categoryOf(stack: Frame[]): string {
  for (let i = stack.length - 1; i >= 0; i--) {
    const frame = stack[i] as Frame;
    // A native function's time is that of the JS frame that called it.
    const category = ownCategory(frame);
    if (category === undefined) continue;
    // The database driver's own socket reads and writes are database time.
    if ((category === CATEGORY.socketWrite || category === CATEGORY.socketRead) && stack.some((f) => DATABASE.test(f.owner))) return CATEGORY.database;
    return category;
  }
  return CATEGORY.nodeOther;
}

export interface Breakdown {
  /** Microseconds the process(es) ran code (all but idle). */
  busy: number;
  idle: number;
  byCategory: Map<string, number>;
  byPackage: Map<string, number>;
  byFunction: Map<string, number>;
}

const add = (map: Map<string, number>, key: string, time: number) => map.set(key, (map.get(key) ?? 0) + time);

export function breakdown(root: CallNode): Breakdown {
  const result: Breakdown = { busy: 0, idle: 0, byCategory: new Map(), byPackage: new Map(), byFunction: new Map() };
  walk(root, (node, stack) => {
    if (node.self === 0) return;
    if (node.frame.owner === IDLE) {
      result.idle += node.self;
      return;
    }
    result.busy += node.self;
    add(result.byCategory, categoryOf(stack), node.self);
    add(result.byPackage, node.frame.owner, node.self);
    add(result.byFunction, `${node.frame.name} ${node.frame.where}`.trim(), node.self);
  });
  return result;
}

const top = (map: Map<string, number>, busy: number, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, time]) => `${((100 * time) / busy).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n');

/** The text report: percentages of busy time (idle excluded). */
export function formatBreakdown(b: Breakdown): string {
  const idleShare = (100 * b.idle) / (b.busy + b.idle || 1);
  return [
    `busy ${(b.busy / 1e6).toFixed(1)} s of CPU, idle ${idleShare.toFixed(1)} % of the profile; shares below are of busy time`,
    '',
    `self time by category:\n${top(b.byCategory, b.busy, 25)}`,
    '',
    `self time by package:\n${top(b.byPackage, b.busy, 15)}`,
    '',
    `self time by function:\n${top(b.byFunction, b.busy, 30)}`,
    '',
  ].join('\n');
}
