import { type Kysely, type Selectable, sql } from 'kysely';
import type { BrowserSession, PostalAddress, User, UserProfile } from '../domain/model.ts';
import {
  type BrowserSessionStore,
  ConflictError,
  type ConsentStore,
  type LoginAttemptStore,
  type RateCounterStore,
  type UserStore,
} from '../domain/storage.ts';
import { listColumn, listField, words } from './kysely-authorization.ts';
import { atomically } from './kysely-transaction.ts';
import type { BrowserSessionTable, Database, UserTable } from './schema.ts';

export const toUser = (row: Selectable<UserTable>): User => ({
  envId: row.env_id,
  userId: row.user_id,
  username: row.username,
  passwordHash: row.password_hash,
  enabled: Number(row.enabled) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  ...profileField(row),
});

/** `profile` only when the user has at least one attribute set, so a user without is read back as written. */
function profileField(row: Selectable<UserTable>): { profile?: UserProfile } {
  const profile = toProfile(row);
  const empty = Object.values(profile).every((value) => value === null || value === false);
  return empty ? {} : { profile };
}

/** A user's profile attributes (migration 017) from its row. */
function toProfile(row: Selectable<UserTable>): UserProfile {
  return {
    email: row.email,
    emailVerified: Number(row.email_verified) === 1,
    name: row.name,
    givenName: row.given_name,
    familyName: row.family_name,
    preferredUsername: row.preferred_username,
    picture: row.picture,
    locale: row.locale,
    zoneinfo: row.zoneinfo,
    phoneNumber: row.phone_number,
    phoneNumberVerified: Number(row.phone_number_verified) === 1,
    address: row.address === null ? null : (JSON.parse(row.address) as PostalAddress),
  };
}

/** The profile columns of a user's row (migration 017); every one cleared when the user has no profile. */
export function profileColumns(profile: UserProfile | undefined) {
  return {
    email: profile?.email ?? null,
    email_verified: profile?.emailVerified ? 1 : 0,
    name: profile?.name ?? null,
    given_name: profile?.givenName ?? null,
    family_name: profile?.familyName ?? null,
    preferred_username: profile?.preferredUsername ?? null,
    picture: profile?.picture ?? null,
    locale: profile?.locale ?? null,
    zoneinfo: profile?.zoneinfo ?? null,
    phone_number: profile?.phoneNumber ?? null,
    phone_number_verified: profile?.phoneNumberVerified ? 1 : 0,
    address: profile?.address ? JSON.stringify(profile.address) : null,
  };
}

export function userStore(db: Kysely<Database>, isUniqueViolation: (error: unknown) => boolean): UserStore {
  return {
    async create(user) {
      try {
        await db
          .insertInto('users')
          .values({
            env_id: user.envId,
            user_id: user.userId,
            username: user.username,
            password_hash: user.passwordHash,
            enabled: user.enabled ? 1 : 0,
            created_at: user.createdAt,
            updated_at: user.updatedAt,
            ...profileColumns(user.profile),
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`user ${user.username} already exists`);
        throw error;
      }
    },
    async findByUsername(envId, username) {
      const row = await db.selectFrom('users').selectAll().where('env_id', '=', envId).where('username', '=', username).executeTakeFirst();
      return row && toUser(row);
    },
    async find(envId, userId) {
      const row = await db.selectFrom('users').selectAll().where('env_id', '=', envId).where('user_id', '=', userId).executeTakeFirst();
      return row && toUser(row);
    },
    async list(envId) {
      const rows = await db.selectFrom('users').selectAll().where('env_id', '=', envId).orderBy('username').execute();
      return rows.map(toUser);
    },
    async setEnabled(envId, username, enabled, now, expectedUpdatedAt) {
      let query = db
        .updateTable('users')
        .set({ enabled: enabled ? 1 : 0, updated_at: now })
        .where('env_id', '=', envId)
        .where('username', '=', username);
      if (expectedUpdatedAt !== undefined) query = query.where('updated_at', '=', expectedUpdatedAt);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setPasswordHash(envId, username, passwordHash, now) {
      const result = await db
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('env_id', '=', envId)
        .where('username', '=', username)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setProfile(envId, username, profile, now, expectedUpdatedAt) {
      let query = db
        .updateTable('users')
        .set({ ...profileColumns(profile), updated_at: now })
        .where('env_id', '=', envId)
        .where('username', '=', username);
      if (expectedUpdatedAt !== undefined) query = query.where('updated_at', '=', expectedUpdatedAt);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

const toSession = (row: Selectable<BrowserSessionTable>): BrowserSession => ({
  idHash: row.id_hash,
  envId: row.env_id,
  userId: row.user_id,
  authenticatedAt: row.authenticated_at === null ? null : Number(row.authenticated_at),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  ...(row.sid === null ? {} : { sid: row.sid }),
  ...(row.amr === null ? {} : { amr: JSON.parse(row.amr) as string[] }),
});

const sessionRow = (session: BrowserSession): Selectable<BrowserSessionTable> => ({
  id_hash: session.idHash,
  env_id: session.envId,
  user_id: session.userId,
  authenticated_at: session.authenticatedAt,
  created_at: session.createdAt,
  expires_at: session.expiresAt,
  sid: session.sid ?? null,
  amr: session.amr === undefined ? null : JSON.stringify(session.amr),
});

export function browserSessionStore(db: Kysely<Database>): BrowserSessionStore {
  return {
    async create(session) {
      await db.insertInto('browser_sessions').values(sessionRow(session)).execute();
    },
    async find(envId, idHash, now) {
      const row = await db
        .selectFrom('browser_sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('env_id', '=', envId)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toSession(row);
    },
    async replace(previousIdHash, next) {
      await atomically(db, async (trx) => {
        if (previousIdHash !== undefined) {
          await trx.deleteFrom('browser_sessions').where('id_hash', '=', previousIdHash).execute();
          await trx
            .updateTable('authorization_requests')
            .set({ session_id_hash: next.idHash })
            .where('session_id_hash', '=', previousIdHash)
            .where('env_id', '=', next.envId)
            .execute();
        }
        await trx.insertInto('browser_sessions').values(sessionRow(next)).execute();
      });
    },
    async deleteForUser(envId, userId) {
      const result = await db.deleteFrom('browser_sessions').where('env_id', '=', envId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async end(envId, idHash) {
      // One DELETE … RETURNING: of concurrent logouts exactly one gets the session.
      const row = await db.deleteFrom('browser_sessions').where('id_hash', '=', idHash).where('env_id', '=', envId).returningAll().executeTakeFirst();
      return row && toSession(row);
    },
    async endForUser(envId, userId) {
      const rows = await db.deleteFrom('browser_sessions').where('env_id', '=', envId).where('user_id', '=', userId).returningAll().execute();
      return rows.map(toSession);
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('browser_sessions').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export function consentStore(db: Kysely<Database>): ConsentStore {
  return {
    async find(envId, userId, clientId) {
      const row = await db
        .selectFrom('consents')
        .selectAll()
        .where('env_id', '=', envId)
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      if (!row) return undefined;
      return { envId, userId, clientId, scope: words(row.scope), grantedAt: Number(row.granted_at), ...listField('resources', row.resources) };
    },
    async grant(envId, userId, clientId, scope, now, resources = []) {
      await atomically(db, async (trx) => {
        // Write first: the upsert takes the row lock (PostgreSQL) or the write lock (SQLite)
        // before the read, so concurrent grants queue instead of losing a scope or failing
        // with SQLITE_BUSY when a read transaction would have to become a write one.
        await trx
          .insertInto('consents')
          .values({ env_id: envId, user_id: userId, client_id: clientId, scope: '', granted_at: now })
          .onConflict((oc) => oc.columns(['env_id', 'user_id', 'client_id']).doUpdateSet({ granted_at: now }))
          .execute();
        const row = await trx
          .selectFrom('consents')
          .select(['scope', 'resources'])
          .where('env_id', '=', envId)
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .executeTakeFirstOrThrow();
        const union = [...new Set([...words(row.scope), ...scope])].sort();
        // Null while the consent covers no API, as rows written before APIs were recorded.
        const apis = [...new Set([...(listField('resources', row.resources).resources ?? []), ...resources])].sort();
        await trx
          .updateTable('consents')
          .set({ scope: union.join(' '), resources: listColumn(apis.length === 0 ? undefined : apis) })
          .where('env_id', '=', envId)
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .execute();
      });
    },
  };
}

export function loginAttemptStore(db: Kysely<Database>): LoginAttemptStore {
  return {
    async hit(keyHash, now, windowMs) {
      const staleBefore = now - windowMs;
      // One upsert: a new or stale window starts at 1, a current one counts up. SET expressions
      // read the row as it was, on SQLite and PostgreSQL alike.
      const row = await db
        .insertInto('login_attempts')
        .values({ key_hash: keyHash, window_start: now, count: 1 })
        .onConflict((oc) =>
          oc.column('key_hash').doUpdateSet({
            count: sql<number>`CASE WHEN login_attempts.window_start <= ${staleBefore} THEN 1 ELSE login_attempts.count + 1 END`,
            window_start: sql<number>`CASE WHEN login_attempts.window_start <= ${staleBefore} THEN ${now} ELSE login_attempts.window_start END`,
          }),
        )
        .returning(['count', 'window_start'])
        .executeTakeFirstOrThrow();
      return { count: Number(row.count), windowStart: Number(row.window_start) };
    },
    async clear(keyHash) {
      await db.deleteFrom('login_attempts').where('key_hash', '=', keyHash).execute();
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('login_attempts').where('window_start', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export function rateCounterStore(db: Kysely<Database>): RateCounterStore {
  return {
    async add(increments) {
      if (increments.length === 0) return new Map();
      // One multi-row upsert. SET expressions read the stored row as it was: a stored window
      // older than the incoming one restarts at the delta, the same window adds it, a newer
      // stored window (a late flush from the previous window) is left as it is.
      const rows = await db
        .insertInto('rate_counters')
        // Rows in one order on every node: two nodes upserting the same keys cannot deadlock.
        .values(
          [...increments].sort((a, b) => (a.keyHash < b.keyHash ? -1 : 1)).map((i) => ({ key_hash: i.keyHash, window_start: i.windowStart, count: i.delta })),
        )
        .onConflict((oc) =>
          oc.column('key_hash').doUpdateSet({
            count: sql<number>`CASE WHEN rate_counters.window_start < excluded.window_start THEN excluded.count
              WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.count + excluded.count
              ELSE rate_counters.count END`,
            window_start: sql<number>`CASE WHEN rate_counters.window_start < excluded.window_start THEN excluded.window_start ELSE rate_counters.window_start END`,
          }),
        )
        .returning(['key_hash', 'count', 'window_start'])
        .execute();
      const windows = new Map(increments.map((i) => [i.keyHash, i.windowStart]));
      // A key whose stored window is newer than the one asked about has no count in that window yet.
      return new Map(rows.map((row) => [row.key_hash, Number(row.window_start) === windows.get(row.key_hash) ? Number(row.count) : 0]));
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('rate_counters').where('window_start', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
