import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { ImportMapping, ImportWrite, Store } from '../domain/storage.ts';
import { heldReason, ownMapping, type SourceMappings, sourceMappings } from './ownership.ts';
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
import type { ImportAccessToken, ImportClient, ImportRecord, ImportRefreshToken, ImportSource, ImportUser } from './records.ts';

export type ReportKind = 'client' | 'user' | 'refresh_token' | 'access_token' | 'source';
export const REPORT_KINDS: readonly ReportKind[] = ['client', 'user', 'refresh_token', 'access_token', 'source'];

export interface KindCounts {
  imported: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

/** A record left out, and why. */
export interface ReportSkip {
  kind: ReportKind;
  what: string;
  reason: string;
}

/**
 * What an import did (or, in a dry run, would do): counts per kind, every skip with its reason,
 * every update. A record refused because its client id or username is already another source's
 * (or was created in Gatehouse) counts as skipped and is listed under `refused`, not `skipped`.
 */
export interface ImportReport {
  dryRun: boolean;
  sourceId: string;
  counts: Record<ReportKind, KindCounts>;
  skipped: ReportSkip[];
  refused: ReportSkip[];
  updated: { kind: ReportKind; what: string }[];
}

export interface ImportOptions {
  env: Environment;
  store: Pick<Store, 'imports' | 'clients' | 'users'>;
  clock: Clock;
  lifetimes: ImportLifetimes;
  /**
   * The source's stable identifier (source-id.ts), recorded with every mapping: each source's keys
   * live in a namespace of their own, so two sources never take each other's records.
   */
  sourceId: string;
  /** Compute the same report without writing anything. */
  dryRun?: boolean;
  /** Records per transaction. */
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 200;

/** What the run has learnt so far: clients and users imported (or, in a dry run, that would be), tokens seen. */
interface RunState {
  clients: Set<string>;
  /** Source id → Gatehouse user id. */
  users: Map<string, string>;
  /** Usernames (NFC) the run's users have, so two of them cannot both claim one. */
  usernames: Set<string>;
  /** Gatehouse user id → the username this run gives it (a rename frees the old one, whether written yet or not). */
  usernameOf: Map<string, string>;
  tokens: Set<string>;
}

/**
 * Imports the records of `source` into one environment. Each batch is planned against what earlier
 * runs of the same source imported (its mappings) and written in one transaction with its
 * mappings, so running the import again imports nothing twice, a changed source record is updated,
 * and a run that stopped half-way resumes: the batches it committed are unchanged the second time.
 * A client id or username that another source imported, or that was created in Gatehouse, is
 * refused, never overwritten; the decision depends only on what earlier runs wrote and on this
 * run's own records, so a dry run reports exactly what the real run does.
 */
export async function runImport(source: ImportSource, options: ImportOptions): Promise<ImportReport> {
  const report = emptyReport(options.dryRun === true, options.sourceId);
  const state: RunState = { clients: new Set(), users: new Map(), usernames: new Set(), usernameOf: new Map(), tokens: new Set() };
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

function emptyReport(dryRun: boolean, sourceId: string): ImportReport {
  const counts = Object.fromEntries(REPORT_KINDS.map((kind) => [kind, { imported: 0, updated: 0, unchanged: 0, skipped: 0 }])) as Record<
    ReportKind,
    KindCounts
  >;
  return { dryRun, sourceId, counts, skipped: [], refused: [], updated: [] };
}

async function importBatch(batch: readonly ImportRecord[], options: ImportOptions, state: RunState, report: ImportReport): Promise<void> {
  if (batch.length === 0) return;
  const { env, store, clock, sourceId } = options;
  const mappings = await batchMappings(batch, options, state);
  const writes: ImportWrite[] = [];
  const now = clock.now();
  for (const record of batch) {
    const kind: ReportKind = record.kind === 'skipped' ? 'source' : record.kind;
    const decision = await decide(record, mappings, options, state, now);
    report.counts[kind][decision.outcome] += 1;
    if (decision.outcome === 'skipped') (decision.refused ? report.refused : report.skipped).push({ kind, what: decision.what, reason: decision.reason });
    if (decision.outcome === 'updated') report.updated.push({ kind, what: decision.what });
    if (decision.outcome !== 'skipped' && decision.adopt) writes.push({ kind: 'adopt', mapping: decision.adopt });
    if (decision.outcome === 'imported' || decision.outcome === 'updated') writes.push(decision.write);
  }
  if (!options.dryRun) await store.imports.apply(env.id, sourceId, writes, now);
}

type BatchMappings = Record<ImportMapping['kind'], SourceMappings>;

/**
 * Every source's mappings of the batch's records, of the clients and users its tokens name, in one
 * read per kind, sorted into this source's own, the legacy ones and the other sources'.
 */
async function batchMappings(batch: readonly ImportRecord[], { env, store, sourceId }: ImportOptions, state: RunState): Promise<BatchMappings> {
  const keys: Record<ImportMapping['kind'], string[]> = { client: [], user: [], refresh_token: [], access_token: [] };
  for (const record of batch) {
    if (record.kind === 'client') keys.client.push(record.client_id);
    else if (record.kind === 'user') keys.user.push(record.source_id);
    else if (record.kind === 'refresh_token' || record.kind === 'access_token') {
      const stored = tokenHashOf(record.token);
      if ('hash' in stored) keys[record.kind].push(stored.hash);
      if (!state.clients.has(record.client_id)) keys.client.push(record.client_id);
      if (record.user_source_id !== null && !state.users.has(record.user_source_id)) keys.user.push(record.user_source_id);
    }
  }
  // PostgreSQL cannot even compare text holding NUL; such ids are skipped by the planners.
  for (const kind of Object.keys(keys) as ImportMapping['kind'][]) keys[kind] = keys[kind].filter((key) => !key.includes('\u0000'));
  const entries = await Promise.all(
    (Object.keys(keys) as ImportMapping['kind'][]).map(async (kind) => {
      const found = await store.imports.findMappings(env.id, kind, [...new Set(keys[kind])]);
      return [kind, sourceMappings(found, sourceId)] as const;
    }),
  );
  return Object.fromEntries(entries) as BatchMappings;
}

const refuse = (what: string, reason: string): Decision => ({ outcome: 'skipped', what, reason, refused: true });

/** The decision, carrying the legacy mapping it was planned against (if any) for adoption when it is not a skip. */
function adopting(decision: Decision, adopt: ImportMapping | undefined): Decision {
  return adopt && decision.outcome !== 'skipped' ? { ...decision, adopt } : decision;
}

async function decide(record: ImportRecord, mappings: BatchMappings, options: ImportOptions, state: RunState, now: number): Promise<Decision> {
  switch (record.kind) {
    case 'skipped':
      return { outcome: 'skipped', what: record.what, reason: record.reason };
    case 'client':
      return decideClient(record, mappings, options, state, now);
    case 'user':
      return decideUser(record, mappings, options, state, now);
    case 'refresh_token':
    case 'access_token':
      return decideToken(record, mappings, options, state, now);
  }
}

/** A client id is what clients send: it stays as it is, so one held by another source or made in Gatehouse is refused. */
async function decideClient(record: ImportClient, mappings: BatchMappings, options: ImportOptions, state: RunState, now: number): Promise<Decision> {
  const { env, store, sourceId } = options;
  const what = `client ${JSON.stringify(record.client_id)}`;
  if (record.client_id.includes('\u0000')) return planClient(env, record, undefined, now);
  if (state.clients.has(record.client_id)) return { outcome: 'skipped', what, reason: 'a duplicate in the source' };
  const { existing, adopt } = ownMapping(mappings.client, record.client_id);
  if (!existing) {
    const holder = mappings.client.others.get(record.client_id);
    if (holder !== undefined || (await store.clients.find(env.id, record.client_id))) return refuse(what, heldReason('client id', holder, sourceId));
  }
  const decision = planClient(env, record, existing, now);
  if (decision.outcome !== 'skipped') state.clients.add(record.client_id);
  return adopting(decision, adopt);
}

/**
 * A user's source id names it within its source only. A legacy mapping is adopted only while its
 * user still has the record's username: otherwise it may be another source's user with the same
 * source id, and the record is planned as new. A username held by another user is refused.
 */
async function decideUser(record: ImportUser, mappings: BatchMappings, options: ImportOptions, state: RunState, now: number): Promise<Decision> {
  const { env, store, sourceId } = options;
  const username = record.username.normalize('NFC');
  const what = `user ${JSON.stringify(record.username)}`;
  if (state.users.has(record.source_id)) return { outcome: 'skipped', what, reason: 'a duplicate in the source' };
  if (record.source_id.includes('\u0000') || record.username.includes('\u0000'))
    return { outcome: 'skipped', what, reason: 'its id or username holds a NUL character' };
  let { existing, adopt } = ownMapping(mappings.user, record.source_id);
  if (adopt && (await store.users.find(env.id, adopt.targetId))?.username !== username) existing = adopt = undefined;
  if (state.usernames.has(username)) return refuse(what, 'another user of this source has this username (not imported)');
  const holder = await store.users.findByUsername(env.id, username);
  // A holder this run renames has let the name go; the real run may have written the rename already, a dry run never has.
  const released = holder !== undefined && state.usernameOf.has(holder.userId) && state.usernameOf.get(holder.userId) !== username;
  if (holder && holder.userId !== existing?.targetId && !released) {
    const holderSource = await store.imports.findSourceOf(env.id, 'user', holder.userId);
    return refuse(what, heldReason('username', holderSource, sourceId));
  }
  const decision = planUser(env, record, existing, now);
  if (decision.outcome !== 'skipped') {
    const userId = existing?.targetId ?? userIdOf(decision);
    state.users.set(record.source_id, userId);
    state.usernames.add(username);
    state.usernameOf.set(userId, username);
  }
  return adopting(decision, adopt);
}

function userIdOf(decision: Decision): string {
  return 'write' in decision && decision.write.kind === 'user' ? decision.write.user.userId : '';
}

/** A token comes in only with a client and user of its own source, and only if no other source imported the same token. */
async function decideToken(
  record: ImportRefreshToken | ImportAccessToken,
  mappings: BatchMappings,
  options: ImportOptions,
  state: RunState,
  now: number,
): Promise<Decision> {
  const { env } = options;
  const stored = tokenHashOf(record.token);
  if ('problem' in stored)
    return { outcome: 'skipped', what: `${record.kind.replace('_', ' ')} of client ${JSON.stringify(record.client_id)}`, reason: stored.problem };
  const label = tokenLabel(record.kind.replace('_', ' '), stored.hash, record.client_id);
  if (state.tokens.has(stored.hash)) return { outcome: 'skipped', what: label, reason: 'a duplicate in the source' };
  state.tokens.add(stored.hash);
  if (record.client_id.includes('\u0000')) return { outcome: 'skipped', what: label, reason: 'its client was not imported' };
  const clientKnown = state.clients.has(record.client_id) || mappings.client.own.has(record.client_id);
  if (!clientKnown) return { outcome: 'skipped', what: label, reason: 'its client was not imported from this source' };
  const { existing, adopt } = ownMapping(mappings[record.kind], stored.hash);
  const holder = mappings[record.kind].others.get(stored.hash);
  if (!existing && holder !== undefined) return refuse(label, `the same token was imported from source ${JSON.stringify(holder)} (not imported)`);
  const owner = record.user_source_id;
  const userId = owner === null ? undefined : (state.users.get(owner) ?? mappings.user.own.get(owner)?.targetId);
  const context: TokenContext = { env, now, hash: stored.hash, existing, userId };
  const decision = record.kind === 'refresh_token' ? planRefreshToken(record, context, options.lifetimes) : planAccessToken(record, context);
  return adopting(decision, adopt);
}

/** The report as text: a table of counts, then every skip with its reason and every update. */
export function formatReport(report: ImportReport, envName: string): string {
  const lines = [`Import into environment ${envName}${report.dryRun ? ' (dry run: nothing was written)' : ''}`, `Source: ${report.sourceId}`, ''];
  lines.push(`${'kind'.padEnd(15)}${'imported'.padStart(10)}${'updated'.padStart(10)}${'unchanged'.padStart(11)}${'skipped'.padStart(9)}`);
  for (const kind of REPORT_KINDS) {
    const c = report.counts[kind];
    lines.push(
      `${kind.padEnd(15)}${String(c.imported).padStart(10)}${String(c.updated).padStart(10)}${String(c.unchanged).padStart(11)}${String(c.skipped).padStart(9)}`,
    );
  }
  if (report.updated.length > 0) lines.push('', 'Updated:', ...report.updated.map((u) => `  ${u.what}`));
  if (report.skipped.length > 0) lines.push('', 'Skipped:', ...report.skipped.map((s) => `  ${s.what}: ${s.reason}`));
  if (report.refused.length > 0)
    lines.push('', 'Refused (held by another source or created in Gatehouse; counted as skipped):', ...report.refused.map((s) => `  ${s.what}: ${s.reason}`));
  return `${lines.join('\n')}\n`;
}

/** The report as JSON, with snake_case keys like the rest of the CLI's output. */
export function reportJson(report: ImportReport, envName: string): Record<string, unknown> {
  return {
    environment: envName,
    source_id: report.sourceId,
    dry_run: report.dryRun,
    counts: report.counts,
    updated: report.updated,
    skipped: report.skipped,
    refused: report.refused,
  };
}
