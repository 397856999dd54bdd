import type { Kysely, Selectable } from 'kysely';
import type { CodeOidc, DeviceAuthorization, DeviceAuthorizationStatus, TokenFamily } from '../domain/model.ts';
import type { DeviceAuthorizationStore, FamilyIssue } from '../domain/storage.ts';
import { type Dialect, recordIssue } from './kysely-authorization.ts';
import { familyRow, jsonColumn, jsonField, listColumn, listField, words } from './kysely-authorization-rows.ts';
import { atomically } from './kysely-transaction.ts';
import { redeemInOneStatement } from './postgres-family-writes.ts';
import type { Database, DeviceAuthorizationTable } from './schema.ts';

const toDeviceAuthorization = (row: Selectable<DeviceAuthorizationTable>): DeviceAuthorization => ({
  deviceCodeHash: row.device_code_hash,
  envId: row.env_id,
  userCodeHash: row.user_code_hash,
  clientId: row.client_id,
  scope: words(row.scope),
  ...listField('resources', row.resources),
  familyId: row.family_id,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  interval: Number(row.interval_seconds),
  lastPolledAt: row.last_polled_at === null ? null : Number(row.last_polled_at),
  status: row.status as DeviceAuthorizationStatus,
  userId: row.user_id,
  decidedAt: row.decided_at === null ? null : Number(row.decided_at),
  ...jsonField<'oidc', CodeOidc>('oidc', row.oidc),
  consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
});

const COLUMNS = [
  'device_code_hash',
  'env_id',
  'user_code_hash',
  'client_id',
  'scope',
  'resources',
  'family_id',
  'created_at',
  'expires_at',
  'interval_seconds',
  'last_polled_at',
  'status',
  'user_id',
  'decided_at',
  'oidc',
  'consumed_at',
] as const satisfies readonly (keyof DeviceAuthorizationTable)[];

const deviceRow = (a: DeviceAuthorization) => ({
  device_code_hash: a.deviceCodeHash,
  env_id: a.envId,
  user_code_hash: a.userCodeHash,
  client_id: a.clientId,
  scope: a.scope.join(' '),
  resources: listColumn(a.resources),
  family_id: a.familyId,
  created_at: a.createdAt,
  expires_at: a.expiresAt,
  interval_seconds: a.interval,
  last_polled_at: a.lastPolledAt,
  status: a.status,
  user_id: a.userId,
  decided_at: a.decidedAt,
  oidc: jsonColumn(a.oidc),
  consumed_at: a.consumedAt,
});

/** RFC 8628 device authorizations; every change is one conditional statement, so nodes cannot race. */
export function deviceAuthorizationStore(db: Kysely<Database>, dialect: Dialect): DeviceAuthorizationStore {
  return {
    async insert(authorization) {
      await db.insertInto('device_authorizations').values(deviceRow(authorization)).execute();
    },
    async findForRedemption(envId, deviceCodeHash) {
      const row = await db
        .selectFrom('device_authorizations as d')
        .leftJoin('users as u', (join) => join.onRef('u.env_id', '=', 'd.env_id').onRef('u.user_id', '=', 'd.user_id'))
        .select(COLUMNS.map((column) => `d.${column}` as const))
        .select('u.enabled as user_enabled')
        .where('d.device_code_hash', '=', deviceCodeHash)
        .where('d.env_id', '=', envId)
        .executeTakeFirst();
      return row && { authorization: toDeviceAuthorization(row), userActive: Number(row.user_enabled) === 1 };
    },
    async findPendingByUserCode(envId, userCodeHash, now) {
      const row = await db
        .selectFrom('device_authorizations')
        .select(COLUMNS)
        .where('env_id', '=', envId)
        .where('user_code_hash', '=', userCodeHash)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toDeviceAuthorization(row);
    },
    async findPending(envId, deviceCodeHash, now) {
      const row = await db
        .selectFrom('device_authorizations')
        .select(COLUMNS)
        .where('env_id', '=', envId)
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toDeviceAuthorization(row);
    },
    async recordPoll(envId, deviceCodeHash, previousPoll, now, interval) {
      const result = await db
        .updateTable('device_authorizations')
        .set({ last_polled_at: now, interval_seconds: interval })
        .where('env_id', '=', envId)
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'pending')
        .where('last_polled_at', previousPoll === null ? 'is' : '=', previousPoll)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async decide(envId, deviceCodeHash, { status, userId, now, oidc }) {
      const result = await db
        .updateTable('device_authorizations')
        .set({ status, user_id: userId, decided_at: now, oidc: jsonColumn(oidc) })
        .where('env_id', '=', envId)
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    redeem: (envId, deviceCodeHash, now, family, issue) => redeemDeviceCode(db, dialect, envId, deviceCodeHash, now, family, issue),
    async deleteExpired(before) {
      const result = await db.deleteFrom('device_authorizations').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** `DeviceAuthorizationStore.redeem`: one conditional update, then the family, in one transaction (one statement on PostgreSQL). */
async function redeemDeviceCode(
  db: Kysely<Database>,
  dialect: Dialect,
  envId: string,
  deviceCodeHash: string,
  now: number,
  family: TokenFamily,
  issue: FamilyIssue,
): Promise<boolean> {
  // PostgreSQL: one round trip, as for an authorization code. SQLite is in-process, where a transaction costs nothing extra.
  if (dialect === 'postgres') return redeemInOneStatement(db, 'device_code', envId, deviceCodeHash, now, family, issue);
  return atomically(db, async (trx) => {
    // The conditional update comes first: concurrent redemptions, on any node, queue on the
    // row lock (PostgreSQL) or the write lock (SQLite), and only one finds it unconsumed.
    const consumed = await trx
      .updateTable('device_authorizations')
      .set({ consumed_at: now })
      .where('device_code_hash', '=', deviceCodeHash)
      .where('env_id', '=', envId)
      .where('status', '=', 'approved')
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    if (Number(consumed.numUpdatedRows) !== 1) return false;
    await trx.insertInto('token_families').values(familyRow(envId, family)).execute();
    await recordIssue(trx, envId, family.familyId, issue);
    return true;
  });
}
