import { changedProfile, ProfileError } from '../../domain/user-profile.ts';
import type { ImportClient, ImportRecord, ImportTokenValue, ImportUser, SecretFormat } from '../records.ts';
import { checkIdentifier, iso, openSourceDatabase, type SourceDatabase, truthy } from './sql.ts';

/**
 * Doorkeeper (the Rails provider) read straight from its database, PostgreSQL or MySQL/MariaDB,
 * with the tables its generator creates: `oauth_applications`, `oauth_access_grants`,
 * `oauth_access_tokens`, and optionally a Devise users table.
 */
export interface DoorkeeperOptions {
  /** The Devise table holding the resource owners (`users`); none by default. */
  usersTable?: string | undefined;
  /** The column used as the username; Devise's `email` by default. */
  usernameColumn?: string | undefined;
  /**
   * How application secrets are stored (`hash_application_secrets`). `auto` tells by shape, row by
   * row (Doorkeeper's `fallback: :plain` leaves older rows in clear): `$2a$`/`$2b$`/`$2y$` is
   * bcrypt, exactly 64 lowercase hex digits is a SHA-256 digest, anything else is plain.
   */
  secretHashing?: 'auto' | 'plain' | 'sha256' | 'bcrypt' | undefined;
  /** How tokens are stored (`hash_token_secrets`): `auto` reads 64 lowercase hex digits as a SHA-256 digest, else plain. */
  tokenHashing?: 'auto' | 'plain' | 'sha256' | undefined;
  /** Doorkeeper's `default_scopes`: what an application or token with an empty scope list stands for. */
  defaultScopes?: string[] | undefined;
  /** Rows per query. */
  batchSize?: number | undefined;
  /** Milliseconds since the epoch; tells a token revoked in the future (`revoke_in`) from one revoked already. */
  now?: (() => number) | undefined;
}

interface ApplicationRow {
  id: unknown;
  name: string | null;
  uid: string;
  secret: string | null;
  redirect_uri: string | null;
  scopes: string | null;
  confidential: unknown;
  updated_at: unknown;
}

interface TokenRow {
  id: unknown;
  resource_owner_id: unknown;
  application_id: unknown;
  token: string;
  refresh_token: string | null;
  expires_in: unknown;
  scopes: string | null;
  created_at: unknown;
  revoked_at: unknown;
}

const BCRYPT = /^\$2[aby]\$\d\d\$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function secretFormat(stored: string, hashing: DoorkeeperOptions['secretHashing']): SecretFormat {
  if (hashing === 'plain') return 'plain';
  if (hashing === 'sha256') return 'sha256-hex';
  if (hashing === 'bcrypt' || BCRYPT.test(stored)) return 'bcrypt';
  return SHA256_HEX.test(stored) ? 'sha256-hex' : 'plain';
}

export function tokenValue(stored: string, hashing: DoorkeeperOptions['tokenHashing']): ImportTokenValue {
  const hashed = hashing === 'sha256' || (hashing !== 'plain' && SHA256_HEX.test(stored));
  return { format: hashed ? 'sha256-hex' : 'plain', value: stored };
}

const words = (value: string | null, fallback: string[]): string[] => {
  const list = (value ?? '').split(' ').filter((s) => s.length > 0);
  return list.length > 0 ? list : [...fallback];
};

/**
 * An application as a client. Doorkeeper keeps no grant types per application, so they are
 * inferred: one with redirect URIs uses the code flow (and refresh tokens), a confidential one
 * client_credentials. A public application has no secret and authenticates with none.
 */
export function applicationRecord(row: ApplicationRow, options: DoorkeeperOptions): ImportClient {
  const confidential = truthy(row.confidential);
  const redirectUris = (row.redirect_uri ?? '')
    .split(/\r?\n/)
    .map((uri) => uri.trim())
    .filter((uri) => uri.length > 0);
  const grantTypes = redirectUris.length > 0 ? ['authorization_code', 'refresh_token'] : [];
  if (confidential) grantTypes.push('client_credentials');
  const secret = confidential && row.secret ? { format: secretFormat(row.secret, options.secretHashing), value: row.secret } : null;
  const record: ImportClient = {
    kind: 'client',
    client_id: row.uid,
    name: row.name ?? '',
    confidential,
    secret,
    redirect_uris: redirectUris,
    scopes: words(row.scopes, options.defaultScopes ?? []),
    grant_types: grantTypes,
  };
  if (!confidential) record.token_endpoint_auth_method = 'none';
  if (row.updated_at !== null && row.updated_at !== undefined) record.source_version = iso(row.updated_at);
  return record;
}

/** Reads rows `batch` at a time in id order, so a table of millions is never held at once. */
async function* pages<T extends { id: unknown }>(db: SourceDatabase, select: string, table: string, batch: number): AsyncGenerator<T> {
  let after: unknown;
  for (;;) {
    const where = after === undefined ? '' : ' where id > ?';
    const rows = await db.query<T>(`select ${select} from ${table}${where} order by id limit ${batch}`, after === undefined ? [] : [after]);
    yield* rows;
    if (rows.length < batch) return;
    after = rows[rows.length - 1]?.id;
  }
}

/** Sets the user's email attribute, or says why Gatehouse would refuse it (the message never holds the address). */
function addEmail(user: ImportUser, email: string, verified: boolean): string | undefined {
  try {
    changedProfile(undefined, { email });
  } catch (error) {
    if (error instanceof ProfileError) return 'not a valid email address';
    throw error;
  }
  user.email = email;
  user.email_verified = verified;
  return undefined;
}

async function* users(db: SourceDatabase, options: DoorkeeperOptions, batch: number): AsyncGenerator<ImportUser | ImportRecord> {
  if (!options.usersTable) return;
  const table = checkIdentifier(options.usersTable, '--users-table');
  const username = checkIdentifier(options.usernameColumn ?? 'email', '--username-column').toLowerCase();
  const columns = await db.columns(table);
  if (columns.size === 0) throw new Error(`the source has no table ${table}`);
  for (const needed of ['id', username, 'encrypted_password']) if (!columns.has(needed)) throw new Error(`the table ${table} has no column ${needed}`);
  // Devise's email is the user's email attribute too (OpenID Connect Core §5.1); confirmable's confirmed_at verifies it.
  const optional = ['updated_at', 'locked_at', 'email', 'confirmed_at'].filter((c) => columns.has(c) && c !== username);
  const select = ['id', `${username} as username`, 'encrypted_password', ...optional].join(', ');
  for await (const row of pages<Record<string, unknown> & { id: unknown }>(db, select, table, batch)) {
    const hash = typeof row.encrypted_password === 'string' ? row.encrypted_password : '';
    const name = row.username === null || row.username === undefined ? '' : String(row.username);
    if (!BCRYPT.test(hash) || name === '') {
      yield {
        kind: 'skipped',
        what: `user ${String(row.id)} of ${table}`,
        reason: name === '' ? `no ${username}` : 'no bcrypt password (e.g. signs in only through another provider)',
      };
      continue;
    }
    // Devise's lockable sets locked_at; a locked account comes over disabled.
    const user: ImportUser = { kind: 'user', source_id: String(row.id), username: name, enabled: !row.locked_at, password: { format: 'bcrypt', value: hash } };
    if (row.updated_at) user.source_version = iso(row.updated_at);
    const email = columns.has('email') ? (username === 'email' ? name : row.email) : undefined;
    const emailProblem =
      typeof email === 'string' && email !== '' ? addEmail(user, email, columns.has('confirmed_at') && Boolean(row.confirmed_at)) : undefined;
    // A user whose email Gatehouse would refuse still comes over (their username and password work), without it.
    if (emailProblem)
      yield { kind: 'skipped', what: `the email of user ${String(row.id)} of ${table}`, reason: `${emailProblem}; the user comes over without it` };
    yield user;
  }
}

/** Refresh tokens already exchanged for a successor that has not been used yet (Doorkeeper's `previous_refresh_token`). */
async function rotatedRefreshTokens(db: SourceDatabase): Promise<Set<string>> {
  if (!(await db.columns('oauth_access_tokens')).has('previous_refresh_token')) return new Set();
  const rows = await db.query<{ previous: string }>(
    "select previous_refresh_token as previous from oauth_access_tokens where previous_refresh_token is not null and previous_refresh_token <> ''",
  );
  return new Set(rows.map((r) => r.previous));
}

interface TokenContext {
  options: DoorkeeperOptions;
  clients: Map<string, string>;
  rotated: Set<string>;
  now: number;
}

/**
 * One `oauth_access_tokens` row: a refresh token (with its access token) when it has one, else an
 * access token. Doorkeeper's refresh tokens never expire (they live until revoked), so the record
 * says `expires_at: null` and the engine gives them Gatehouse's lifetimes from the import; an access
 * token expires at created_at + expires_in, and one without expires_in never expires there.
 */
export function tokenRecord(row: TokenRow, context: TokenContext): ImportRecord {
  const clientId = context.clients.get(String(row.application_id));
  const label = `token row ${String(row.id)}`;
  if (clientId === undefined)
    return { kind: 'skipped', what: label, reason: 'its application is not in oauth_applications (deleted or password grant without one)' };
  const issuedAt = iso(row.created_at);
  const revoked = row.revoked_at !== null && row.revoked_at !== undefined && Date.parse(iso(row.revoked_at)) <= context.now;
  const expiresIn = row.expires_in === null || row.expires_in === undefined ? undefined : Number(row.expires_in);
  const expiresAt = expiresIn === undefined ? undefined : new Date(Date.parse(issuedAt) + expiresIn * 1000).toISOString();
  const owner = row.resource_owner_id === null || row.resource_owner_id === undefined ? null : String(row.resource_owner_id);
  const scopes = words(row.scopes, context.options.defaultScopes ?? []);
  const access = tokenValue(row.token, context.options.tokenHashing);
  if (row.refresh_token) {
    if (context.rotated.has(row.refresh_token))
      return { kind: 'skipped', what: `refresh ${label}`, reason: 'already rotated: a newer token was issued for it, and the client holds that one' };
    return {
      kind: 'refresh_token',
      token: tokenValue(row.refresh_token, context.options.tokenHashing),
      client_id: clientId,
      user_source_id: owner,
      scopes,
      issued_at: issuedAt,
      expires_at: null,
      revoked,
      ...(expiresAt === undefined ? {} : { access_token: { ...access, expires_at: expiresAt, revoked } }),
    };
  }
  if (expiresAt === undefined)
    return { kind: 'skipped', what: label, reason: 'an access token that never expires: Gatehouse access tokens always do; the client gets a new one' };
  return { kind: 'access_token', token: access, client_id: clientId, user_source_id: owner, scopes, issued_at: issuedAt, expires_at: expiresAt, revoked };
}

/**
 * Doorkeeper gives public applications a secret too (when the column stays NOT NULL) and accepts it
 * if sent; here a public client authenticates with its id alone, and one that sends a secret is refused.
 */
const publicSecretSkipped = (uid: string): ImportRecord => ({
  kind: 'skipped',
  what: `the secret of public application ${JSON.stringify(uid)}`,
  reason:
    'a public client authenticates with its client_id alone here and is refused if it sends a secret; if its clients send one, make the application confidential in Doorkeeper before importing',
});

/**
 * An application without scopes may ask for any of the server's (Doorkeeper's default and optional
 * scopes, which live in its Ruby configuration, not the database): it gets those its tokens hold.
 */
async function scopesInUse(db: SourceDatabase, applicationId: unknown): Promise<string> {
  const rows = await db.query<{ scopes: string | null }>('select distinct scopes from oauth_access_tokens where application_id = ?', [applicationId]);
  return [...new Set(rows.flatMap((r) => (r.scopes ?? '').split(' ')).filter((s) => s.length > 0))].sort().join(' ');
}

async function* grantsSkipped(db: SourceDatabase): AsyncGenerator<ImportRecord> {
  if ((await db.columns('oauth_access_grants')).size === 0) return;
  const [row] = await db.query<{ n: unknown }>('select count(*) as n from oauth_access_grants');
  const n = Number(row?.n ?? 0);
  yield {
    kind: 'skipped',
    what: `oauth_access_grants (${n} ${n === 1 ? 'row' : 'rows'})`,
    reason: 'authorization codes live minutes and are used once; a client in the middle of the code flow starts it again',
  };
}

/** The records of a Doorkeeper database: applications, users, the access grants (skipped), then tokens. */
export async function* doorkeeperRecords(db: SourceDatabase, options: DoorkeeperOptions = {}): AsyncGenerator<ImportRecord> {
  const batch = options.batchSize ?? 1000;
  if ((await db.columns('oauth_applications')).size === 0) throw new Error('the source has no oauth_applications table: is it a Doorkeeper database?');
  const clients = new Map<string, string>();
  const select = 'id, name, uid, secret, redirect_uri, scopes, confidential, updated_at';
  for await (const row of pages<ApplicationRow>(db, select, 'oauth_applications', batch)) {
    clients.set(String(row.id), row.uid);
    const scoped = Boolean(row.scopes?.trim()) || (options.defaultScopes?.length ?? 0) > 0;
    const scopes = scoped ? row.scopes : await scopesInUse(db, row.id);
    yield applicationRecord({ ...row, scopes }, options);
    if (!truthy(row.confidential) && row.secret) yield publicSecretSkipped(row.uid);
  }
  yield* users(db, options, batch);
  yield* grantsSkipped(db);
  const context: TokenContext = { options, clients, rotated: await rotatedRefreshTokens(db), now: (options.now ?? Date.now)() };
  const tokenColumns = 'id, resource_owner_id, application_id, token, refresh_token, expires_in, scopes, created_at, revoked_at';
  for await (const row of pages<TokenRow>(db, tokenColumns, 'oauth_access_tokens', batch)) yield tokenRecord(row, context);
}

/** Opens a Doorkeeper database by URL (`postgres://…` or `mysql://…`). */
export async function openDoorkeeper(url: string, options: DoorkeeperOptions = {}): Promise<{ records: AsyncIterable<ImportRecord>; close(): Promise<void> }> {
  const db = await openSourceDatabase(url);
  return { records: doorkeeperRecords(db, options), close: () => db.close() };
}
