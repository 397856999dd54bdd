import type { ImportAuthMethod, ImportClient, ImportRecord, SecretFormat } from '../records.ts';
import { iso, openSourceDatabase, type SourceDatabase } from './sql.ts';

/** ORY Hydra 2 read straight from its PostgreSQL database (its `hydra_client` and token tables). */
export interface HydraOptions {
  /** The network (`nid`) to read when the database holds several; the only one otherwise. */
  network?: string | undefined;
  /** Milliseconds since the epoch, for counting live tokens. */
  now?: (() => number) | undefined;
}

export interface HydraClientRow {
  id: string;
  client_name: string;
  client_secret: string;
  scope: string;
  redirect_uris: unknown;
  grant_types: unknown;
  audience: unknown;
  token_endpoint_auth_method: string;
  client_credentials_grant_access_token_lifespan: unknown;
  authorization_code_grant_access_token_lifespan: unknown;
  refresh_token_grant_access_token_lifespan: unknown;
  authorization_code_grant_refresh_token_lifespan: unknown;
  refresh_token_grant_refresh_token_lifespan: unknown;
  updated_at: unknown;
  /** OpenID Connect metadata, in Hydra 2's schema (absent from older ones). */
  post_logout_redirect_uris?: unknown;
  backchannel_logout_uri?: unknown;
  backchannel_logout_session_required?: unknown;
  subject_type?: unknown;
  sector_identifier_uri?: unknown;
}

/** Hydra's OpenID Connect client columns, read where the schema has them. */
const OIDC_COLUMNS = ['post_logout_redirect_uris', 'backchannel_logout_uri', 'backchannel_logout_session_required', 'subject_type', 'sector_identifier_uri'];

const CLIENT_COLUMNS = [
  'id',
  'client_name',
  'client_secret',
  'scope',
  'redirect_uris',
  'grant_types',
  'audience',
  'token_endpoint_auth_method',
  'client_credentials_grant_access_token_lifespan',
  'authorization_code_grant_access_token_lifespan',
  'refresh_token_grant_access_token_lifespan',
  'authorization_code_grant_refresh_token_lifespan',
  'refresh_token_grant_refresh_token_lifespan',
  'updated_at',
].join(', ');

/** Hydra hashes client secrets with its configured hasher: PBKDF2-SHA256 (the default) or bcrypt. */
function hydraSecretFormat(stored: string): SecretFormat | undefined {
  if (stored.startsWith('$pbkdf2-sha256$')) return 'pbkdf2-sha256';
  if (/^\$2[aby]\$/.test(stored)) return 'bcrypt';
  return undefined;
}

const list = (value: unknown): string[] => {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string' && v.length > 0) : [];
};

/** Hydra keeps lifespans as Go durations, in nanoseconds; null means the server's default. */
const seconds = (...values: unknown[]): number | undefined => {
  for (const value of values) {
    if (value === null || value === undefined) continue;
    const s = Math.round(Number(value) / 1e9);
    if (Number.isFinite(s) && s > 0) return s;
  }
  return undefined;
};

const AUTH_METHODS: Record<string, ImportAuthMethod> = {
  '': 'client_secret_basic',
  client_secret_basic: 'client_secret_basic',
  client_secret_post: 'client_secret_post',
  none: 'none',
};

/** One `hydra_client` row as a client, or why it cannot come over. */
export function hydraClientRecord(row: HydraClientRow): ImportClient | ImportRecord {
  const what = `client ${JSON.stringify(row.id)}`;
  const method = AUTH_METHODS[row.token_endpoint_auth_method];
  if (method === undefined)
    return {
      kind: 'skipped',
      what,
      reason: `token_endpoint_auth_method ${row.token_endpoint_auth_method} is not supported for import (register its keys anew)`,
    };
  const confidential = method !== 'none';
  let secret: ImportClient['secret'] = null;
  if (confidential) {
    const format = hydraSecretFormat(row.client_secret);
    if (format === undefined) return { kind: 'skipped', what, reason: 'its secret is neither a bcrypt nor a $pbkdf2-sha256$ hash' };
    secret = { format, value: row.client_secret };
  }
  const record: ImportClient = {
    kind: 'client',
    client_id: row.id,
    name: row.client_name,
    confidential,
    secret,
    redirect_uris: list(row.redirect_uris),
    scopes: row.scope.split(' ').filter((s) => s.length > 0),
    grant_types: list(row.grant_types),
    token_endpoint_auth_method: method,
    source_version: iso(row.updated_at),
  };
  const audience = list(row.audience);
  if (audience.length > 0) record.audience = audience;
  const accessTtl = seconds(
    row.client_credentials_grant_access_token_lifespan,
    row.authorization_code_grant_access_token_lifespan,
    row.refresh_token_grant_access_token_lifespan,
  );
  if (accessTtl !== undefined) record.access_token_ttl = accessTtl;
  const refreshTtl = seconds(row.authorization_code_grant_refresh_token_lifespan, row.refresh_token_grant_refresh_token_lifespan);
  if (refreshTtl !== undefined) record.refresh_token_ttl = refreshTtl;
  addOidcMetadata(row, record);
  return record;
}

/**
 * Hydra's logout and subject metadata (its empty strings mean "none"). Hydra signs every ID Token
 * with RS256 and keeps no per-client algorithm, which is Gatehouse's default too.
 */
function addOidcMetadata(row: HydraClientRow, record: ImportClient): void {
  const postLogout = list(row.post_logout_redirect_uris ?? null);
  if (postLogout.length > 0) record.post_logout_redirect_uris = postLogout;
  if (typeof row.backchannel_logout_uri === 'string' && row.backchannel_logout_uri !== '') record.backchannel_logout_uri = row.backchannel_logout_uri;
  if (row.backchannel_logout_session_required === true) record.backchannel_logout_session_required = true;
  if (row.subject_type === 'public' || row.subject_type === 'pairwise') record.subject_type = row.subject_type;
  if (typeof row.sector_identifier_uri === 'string' && row.sector_identifier_uri !== '') record.sector_identifier_uri = row.sector_identifier_uri;
}

/**
 * Why a pairwise client's users get new subject identifiers: Hydra derives them with its own salt,
 * which Gatehouse neither has nor should, so the client sees a different `sub` per user once.
 */
export const HYDRA_PAIRWISE_REASON =
  'Hydra derives pairwise subject identifiers with its own salt: the client comes over as pairwise, but sees new sub values and must link its users again (e.g. by email)';

/**
 * Why Hydra's tokens stay behind: Hydra (fosite's HMAC strategy) stores only the signature part of
 * each `ory_at_…`/`ory_rt_…` token, an HMAC-SHA512/256 of its random part under Hydra's system
 * secret, never the token. Accepting a presented token by its signature alone would let anyone who
 * read Hydra's database forge it; checking the HMAC would need Hydra's system secret inside Gatehouse
 * for as long as old tokens live. So users sign in again once; their clients keep id and secret.
 */
export const HYDRA_TOKENS_REASON =
  'Hydra stores only an HMAC signature of each token under its system secret, not the token: it cannot be verified without that secret, and accepting the signature alone would let anyone who read the database forge the token; users sign in again once';

async function network(db: SourceDatabase, options: HydraOptions): Promise<string> {
  if (options.network) return options.network;
  const rows = await db.query<{ id: string }>('select id from networks order by created_at limit 2');
  if (rows.length !== 1 || !rows[0]) throw new Error(`the Hydra database has ${rows.length} networks: name one (nid)`);
  return rows[0].id;
}

async function* tokensSkipped(db: SourceDatabase, nid: string, now: number): AsyncGenerator<ImportRecord> {
  for (const table of ['hydra_oauth2_refresh', 'hydra_oauth2_access']) {
    if ((await db.columns(table)).size === 0) continue;
    const [row] = await db.query<{ n: unknown }>(`select count(*) as n from ${table} where nid = ? and active and (expires_at is null or expires_at > ?)`, [
      nid,
      new Date(now).toISOString().replace('T', ' ').replace('Z', ''),
    ]);
    const n = Number(row?.n ?? 0);
    yield { kind: 'skipped', what: `${table} (${n} live ${n === 1 ? 'token' : 'tokens'})`, reason: HYDRA_TOKENS_REASON };
  }
}

/** The records of a Hydra 2 database: its clients, then one skip each for its refresh and access tokens. */
export async function* hydraRecords(db: SourceDatabase, options: HydraOptions = {}): AsyncGenerator<ImportRecord> {
  if (db.dialect !== 'postgres') throw new Error('the Hydra source reads PostgreSQL only');
  if ((await db.columns('hydra_client')).size === 0) throw new Error('the source has no hydra_client table: is it a Hydra 2 database?');
  const nid = await network(db, options);
  // Hydra since 2026 keeps rotated secrets that still authenticate; the record carries one secret.
  const columns = await db.columns('hydra_client');
  const rotated = columns.has('rotated_secrets') ? ', rotated_secrets' : '';
  const oidc = OIDC_COLUMNS.filter((c) => columns.has(c))
    .map((c) => `, ${c}`)
    .join('');
  const rows = await db.query<HydraClientRow & { rotated_secrets?: unknown }>(
    `select ${CLIENT_COLUMNS}${rotated}${oidc} from hydra_client where nid = ? order by id`,
    [nid],
  );
  for (const row of rows) {
    const record = hydraClientRecord(row);
    yield record;
    const old = list(row.rotated_secrets ?? null).length;
    if (record.kind === 'client' && old > 0)
      yield {
        kind: 'skipped',
        what: `${old} rotated secret${old === 1 ? '' : 's'} of client ${JSON.stringify(row.id)}`,
        reason: 'only its current secret comes over: a client still sending a rotated one must switch to the current one before cut-over',
      };
    if (record.kind === 'client' && record.subject_type === 'pairwise')
      yield { kind: 'skipped', what: `the pairwise subject identifiers of client ${JSON.stringify(row.id)}`, reason: HYDRA_PAIRWISE_REASON };
  }
  yield* tokensSkipped(db, nid, (options.now ?? Date.now)());
}

/** Opens a Hydra database by URL (`postgres://…`). */
export async function openHydra(url: string, options: HydraOptions = {}): Promise<{ records: AsyncIterable<ImportRecord>; close(): Promise<void> }> {
  const db = await openSourceDatabase(url);
  return { records: hydraRecords(db, options), close: () => db.close() };
}
