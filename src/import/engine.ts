import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { ImportMapping, ImportWrite, Store } from '../domain/storage.ts';
import {
  type Decision,
  type ImportLifetimes,
  planAccessToken,
  planClient,
  planRefreshToken,
  planUser,
  type TokenContext,
  tokenHashOf,
  tokenLabel,
} from './plan.ts';
import type { ImportAccessToken, ImportRecord, ImportRefreshToken, ImportSource } from './records.ts';

export type ReportKind = 'client' | 'user' | 'refresh_token' | 'access_token' | 'source';
export const REPORT_KINDS: readonly ReportKind[] = ['client', 'user', 'refresh_token', 'access_token', 'source'];

export interface KindCounts {
  imported: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

/** What an import did (or, in a dry run, would do): counts per kind, every skip with its reason, every update. */
export interface ImportReport {
  dryRun: boolean;
  counts: Record<ReportKind, KindCounts>;
  skipped: { kind: ReportKind; what: string; reason: string }[];
  updated: { kind: ReportKind; what: string }[];
}

export interface ImportOptions {
  env: Environment;
  store: Pick<Store, 'imports' | 'clients' | 'users'>;
  clock: Clock;
  lifetimes: ImportLifetimes;
  /** Compute the same report without writing anything. */
  dryRun?: boolean;
  /** Records per transaction. */
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 200;

/** What the run has learnt so far: clients and users imported (or, in a dry run, that would be), tokens seen. */
interface RunState {
  clients: Set<string>;
  users: Map<string, string>;
  tokens: Set<string>;
}

/**
 * Imports the records of `source` into one environment. Each batch is planned against what earlier
 * runs imported (the mappings) and written in one transaction with its mappings, so running the
 * import again imports nothing twice, a changed source record is updated, and a run that stopped
 * half-way resumes: the batches it committed are unchanged the second time.
 */
export async function runImport(source: ImportSource, options: ImportOptions): Promise<ImportReport> {
  const report = emptyReport(options.dryRun === true);
  const state: RunState = { clients: new Set(), users: new Map(), tokens: new Set() };
  const size = options.batchSize ?? DEFAULT_BATCH_SIZE;
  let batch: ImportRecord[] = [];
  for await (const record of source) {
    batch.push(record);
    if (batch.length >= size) {
      await importBatch(batch, options, state, report);
      batch = [];
    }
  }
  await importBatch(batch, options, state, report);
  return report;
}

function emptyReport(dryRun: boolean): ImportReport {
  const counts = Object.fromEntries(REPORT_KINDS.map((kind) => [kind, { imported: 0, updated: 0, unchanged: 0, skipped: 0 }])) as Record<
    ReportKind,
    KindCounts
  >;
  return { dryRun, counts, skipped: [], updated: [] };
}

async function importBatch(batch: readonly ImportRecord[], options: ImportOptions, state: RunState, report: ImportReport): Promise<void> {
  if (batch.length === 0) return;
  const { env, store, clock } = options;
  const mappings = await batchMappings(batch, options, state);
  const writes: ImportWrite[] = [];
  const now = clock.now();
  for (const record of batch) {
    const kind: ReportKind = record.kind === 'skipped' ? 'source' : record.kind;
    const decision = await decide(record, mappings, options, state, now);
    report.counts[kind][decision.outcome] += 1;
    if (decision.outcome === 'skipped') report.skipped.push({ kind, what: decision.what, reason: decision.reason });
    if (decision.outcome === 'updated') report.updated.push({ kind, what: decision.what });
    if (decision.outcome === 'imported' || decision.outcome === 'updated') writes.push(decision.write);
  }
  if (!options.dryRun) await store.imports.apply(env.id, writes, now);
}

type BatchMappings = Record<ImportMapping['kind'], Map<string, ImportMapping>>;

/** The earlier imports' mappings of every record of the batch and of the users its tokens name, in one read per kind. */
async function batchMappings(batch: readonly ImportRecord[], { env, store }: ImportOptions, state: RunState): Promise<BatchMappings> {
  const keys: Record<ImportMapping['kind'], string[]> = { client: [], user: [], refresh_token: [], access_token: [] };
  for (const record of batch) {
    if (record.kind === 'client') keys.client.push(record.client_id);
    else if (record.kind === 'user') keys.user.push(record.source_id);
    else if (record.kind === 'refresh_token' || record.kind === 'access_token') {
      const stored = tokenHashOf(record.token);
      if ('hash' in stored) keys[record.kind].push(stored.hash);
      if (record.user_source_id !== null && !state.users.has(record.user_source_id)) keys.user.push(record.user_source_id);
    }
  }
  // PostgreSQL cannot even compare text holding NUL; such ids are skipped by the planners.
  for (const kind of Object.keys(keys) as ImportMapping['kind'][]) keys[kind] = keys[kind].filter((key) => !key.includes('\u0000'));
  const entries = await Promise.all(
    (Object.keys(keys) as ImportMapping['kind'][]).map(
      async (kind) => [kind, await store.imports.findMappings(env.id, kind, [...new Set(keys[kind])])] as const,
    ),
  );
  return Object.fromEntries(entries) as BatchMappings;
}

async function decide(record: ImportRecord, mappings: BatchMappings, options: ImportOptions, state: RunState, now: number): Promise<Decision> {
  const { env, store } = options;
  switch (record.kind) {
    case 'skipped':
      return { outcome: 'skipped', what: record.what, reason: record.reason };
    case 'client': {
      const existing = mappings.client.get(record.client_id);
      if (record.client_id.includes('\u0000')) return planClient(env, record, undefined, now);
      if (state.clients.has(record.client_id))
        return { outcome: 'skipped', what: `client ${JSON.stringify(record.client_id)}`, reason: 'a duplicate in the source' };
      if (!existing && (await store.clients.find(env.id, record.client_id))) {
        return { outcome: 'skipped', what: `client ${JSON.stringify(record.client_id)}`, reason: 'a client with this id already exists (not imported)' };
      }
      const decision = planClient(env, record, existing, now);
      if (decision.outcome !== 'skipped') state.clients.add(record.client_id);
      return decision;
    }
    case 'user': {
      const existing = mappings.user.get(record.source_id);
      const what = `user ${JSON.stringify(record.username)}`;
      if (state.users.has(record.source_id)) return { outcome: 'skipped', what, reason: 'a duplicate in the source' };
      if (record.source_id.includes('\u0000') || record.username.includes('\u0000'))
        return { outcome: 'skipped', what, reason: 'its id or username holds a NUL character' };
      const holder = await store.users.findByUsername(env.id, record.username.normalize('NFC'));
      if (holder && holder.userId !== existing?.targetId) return { outcome: 'skipped', what, reason: 'another user has this username (not imported)' };
      const decision = planUser(env, record, existing, now);
      if (decision.outcome !== 'skipped') state.users.set(record.source_id, existing?.targetId ?? userIdOf(decision));
      return decision;
    }
    case 'refresh_token':
    case 'access_token':
      return decideToken(record, mappings, options, state, now);
  }
}

function userIdOf(decision: Decision): string {
  return 'write' in decision && decision.write.kind === 'user' ? decision.write.user.userId : '';
}

async function decideToken(
  record: ImportRefreshToken | ImportAccessToken,
  mappings: BatchMappings,
  options: ImportOptions,
  state: RunState,
  now: number,
): Promise<Decision> {
  const { env, store } = options;
  const stored = tokenHashOf(record.token);
  if ('problem' in stored)
    return { outcome: 'skipped', what: `${record.kind.replace('_', ' ')} of client ${JSON.stringify(record.client_id)}`, reason: stored.problem };
  const label = tokenLabel(record.kind.replace('_', ' '), stored.hash, record.client_id);
  if (state.tokens.has(stored.hash)) return { outcome: 'skipped', what: label, reason: 'a duplicate in the source' };
  state.tokens.add(stored.hash);
  if (record.client_id.includes('\u0000')) return { outcome: 'skipped', what: label, reason: 'its client was not imported' };
  const clientKnown = state.clients.has(record.client_id) || (await store.clients.find(env.id, record.client_id)) !== undefined;
  if (!clientKnown) return { outcome: 'skipped', what: label, reason: 'its client was not imported' };
  const owner = record.user_source_id;
  const userId = owner === null ? undefined : (state.users.get(owner) ?? mappings.user.get(owner)?.targetId);
  const context: TokenContext = { env, now, hash: stored.hash, existing: mappings[record.kind].get(stored.hash), userId };
  return record.kind === 'refresh_token' ? planRefreshToken(record, context, options.lifetimes) : planAccessToken(record, context);
}

/** The report as text: a table of counts, then every skip with its reason and every update. */
export function formatReport(report: ImportReport, envName: string): string {
  const lines = [`Import into environment ${envName}${report.dryRun ? ' (dry run: nothing was written)' : ''}`, ''];
  lines.push(`${'kind'.padEnd(15)}${'imported'.padStart(10)}${'updated'.padStart(10)}${'unchanged'.padStart(11)}${'skipped'.padStart(9)}`);
  for (const kind of REPORT_KINDS) {
    const c = report.counts[kind];
    lines.push(
      `${kind.padEnd(15)}${String(c.imported).padStart(10)}${String(c.updated).padStart(10)}${String(c.unchanged).padStart(11)}${String(c.skipped).padStart(9)}`,
    );
  }
  if (report.updated.length > 0) lines.push('', 'Updated:', ...report.updated.map((u) => `  ${u.what}`));
  if (report.skipped.length > 0) lines.push('', 'Skipped:', ...report.skipped.map((s) => `  ${s.what}: ${s.reason}`));
  return `${lines.join('\n')}\n`;
}

/** The report as JSON, with snake_case keys like the rest of the CLI's output. */
export function reportJson(report: ImportReport, envName: string): Record<string, unknown> {
  return { environment: envName, dry_run: report.dryRun, counts: report.counts, updated: report.updated, skipped: report.skipped };
}
