import type { ExpressionBuilder, Kysely, Selectable, Transaction } from 'kysely';
import { ID_TOKEN_KEY_ALGORITHM, type KeyLineage, lineageOf } from '../domain/key-lineage.ts';
import type { IdTokenAlgorithm, SigningKey } from '../domain/model.ts';
import { ConflictError, type KeyRevocation, type SigningKeyStore } from '../domain/storage.ts';
import { atomically, lockEnvironment } from './kysely-transaction.ts';
import type { Database, SigningKeyTable } from './schema.ts';

export function signingKeyRow(key: SigningKey): SigningKeyTable {
  return {
    kid: key.kid,
    env_id: key.envId,
    alg: key.alg,
    public_jwk: JSON.stringify(key.publicJwk),
    private_key_sealed: key.privateKeySealed,
    status: key.status,
    created_at: key.createdAt,
    activate_at: key.activateAt,
    retired_at: key.retiredAt,
    publish_until: key.publishUntil,
    revoked_at: key.revokedAt ?? null,
  };
}

export const toSigningKey = (row: Selectable<SigningKeyTable>): SigningKey => ({
  kid: row.kid,
  envId: row.env_id,
  alg: row.alg,
  publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
  privateKeySealed: row.private_key_sealed,
  status: row.status,
  createdAt: Number(row.created_at),
  activateAt: Number(row.activate_at ?? row.created_at),
  retiredAt: row.retired_at === null ? null : Number(row.retired_at),
  publishUntil: row.publish_until === null ? null : Number(row.publish_until),
  revokedAt: row.revoked_at == null ? null : Number(row.revoked_at),
});

/** Thrown inside a scheduling transaction to roll it back when the rotation is not due. */
class NotDue extends Error {}

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The keys of one lineage: RS256 keys, or the access-token keys (ES256 and EdDSA, one lineage so
 * that a changed GATEHOUSE_SIGNING_ALG takes over at the next rotation). The one-active-key and
 * one-next-key indexes are per environment and lineage (migration 018).
 */
const inLineage = (lineage: KeyLineage) => (eb: ExpressionBuilder<Database, 'signing_keys'>) =>
  lineage === ID_TOKEN_KEY_ALGORITHM ? eb('alg', '=', ID_TOKEN_KEY_ALGORITHM) : eb('alg', '!=', ID_TOKEN_KEY_ALGORITHM);

/** With `alg`, that algorithm's keys; without, the access-token keys. */
const ofAlgorithm = (alg: IdTokenAlgorithm | undefined) => (eb: ExpressionBuilder<Database, 'signing_keys'>) =>
  alg === undefined ? eb('alg', '!=', ID_TOKEN_KEY_ALGORITHM) : eb('alg', '=', alg);

/**
 * The recorded switches due at `now`: the active key first gives up its status, then the next
 * key takes it, so the one-active-key index holds at every step. Each update is conditional on
 * the status it changes: of concurrent callers, one changes a row and the others find nothing.
 */
async function settleDue(db: Executor, now: number, envId?: string): Promise<number> {
  let retire = db.updateTable('signing_keys').set({ status: 'retired' }).where('status', '=', 'active').where('retired_at', '<=', now);
  if (envId !== undefined) retire = retire.where('env_id', '=', envId);
  const retired = await retire.executeTakeFirst();
  let activate = db.updateTable('signing_keys').set({ status: 'active' }).where('status', '=', 'next').where('activate_at', '<=', now);
  if (envId !== undefined) activate = activate.where('env_id', '=', envId);
  const activated = await activate.executeTakeFirst();
  return Number(retired.numUpdatedRows) + Number(activated.numUpdatedRows);
}

/** The lineage's active key (or, only while a switch is unrecorded, its next key). */
async function lineageHead(db: Executor, envId: string, lineage: KeyLineage): Promise<SigningKey | undefined> {
  const row = await db
    .selectFrom('signing_keys')
    .selectAll()
    .where('env_id', '=', envId)
    .where('status', 'in', ['active', 'next'])
    .where(inLineage(lineage))
    .orderBy('status')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  return row && toSigningKey(row);
}

export function signingKeyStore(db: Kysely<Database>, isUniqueViolation: (error: unknown) => boolean, dialect: 'sqlite' | 'postgres'): SigningKeyStore {
  const keysOf = (envId: string) => db.selectFrom('signing_keys').selectAll().where('env_id', '=', envId);
  return {
    async findActive(envId, alg) {
      const row = await keysOf(envId).where('status', '=', 'active').where(ofAlgorithm(alg)).orderBy('created_at', 'desc').executeTakeFirst();
      return row && toSigningKey(row);
    },
    async listPublished(envId, now) {
      const rows = await keysOf(envId)
        // A revoked key is out at once, whatever the clock of the node reading says.
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('publish_until', 'is', null), eb('publish_until', '>', now)]))
        .orderBy('created_at', 'desc')
        .orderBy('activate_at', 'desc')
        .orderBy('kid')
        .execute();
      return rows.map(toSigningKey);
    },
    async list(envId) {
      const rows = await keysOf(envId).orderBy('created_at', 'desc').orderBy('activate_at', 'desc').orderBy('kid').execute();
      return rows.map(toSigningKey);
    },
    async rotate(envId, next, now, publishUntil) {
      const lineage = lineageOf(next.alg);
      try {
        await atomically(db, async (trx) => {
          await lockEnvironment(trx, envId, dialect);
          await settleDue(trx, now, envId);
          await withdrawNext(trx, envId, lineage, now, publishUntil);
          // The active key signs until the new one does, and stays published for its tokens.
          await trx
            .updateTable('signing_keys')
            .set({ retired_at: next.activateAt, publish_until: publishUntil, ...(next.activateAt <= now ? { status: 'retired' as const } : {}) })
            .where('env_id', '=', envId)
            .where('status', '=', 'active')
            .where(inLineage(lineage))
            .execute();
          await trx.insertInto('signing_keys').values(signingKeyRow(next)).execute();
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError('another key rotation of this environment ran at the same time; try again');
        throw error;
      }
    },
    revoke: async (envId, kid, now, replacement, publishUntil) => {
      try {
        return await atomically(db, async (trx) => {
          await lockEnvironment(trx, envId, dialect);
          return revokeInTransaction(trx, envId, kid, now, replacement, publishUntil);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError('another change to the signing keys of this environment ran at the same time; try again');
        throw error;
      }
    },
    async scheduleNext(envId, next, now, publishUntil, activeBefore) {
      try {
        await atomically(db, async (trx) => {
          await lockEnvironment(trx, envId, dialect);
          await scheduleInTransaction(trx, envId, next, now, publishUntil, activeBefore);
        });
        return true;
      } catch (error) {
        if (error instanceof NotDue || isUniqueViolation(error)) return false;
        throw error;
      }
    },
    settle: (now, envId) => settleDue(db, now, envId),
    ...lineageStarts(db, isUniqueViolation),
    ...rotationSettings(db),
  };
}

/** The environments' scheduled rotation intervals. */
function rotationSettings(db: Kysely<Database>): Pick<SigningKeyStore, 'setRotationInterval' | 'rotationInterval' | 'rotationSchedules'> {
  return {
    async setRotationInterval(envId, seconds) {
      await db.updateTable('environments').set({ key_rotation_interval: seconds }).where('id', '=', envId).execute();
    },
    async rotationInterval(envId) {
      const row = await db.selectFrom('environments').select('key_rotation_interval').where('id', '=', envId).executeTakeFirst();
      return row?.key_rotation_interval == null ? null : Number(row.key_rotation_interval);
    },
    async rotationSchedules() {
      const rows = await db.selectFrom('environments').select(['id', 'key_rotation_interval']).where('key_rotation_interval', 'is not', null).execute();
      return rows.map((r) => ({ envId: r.id, seconds: Number(r.key_rotation_interval) }));
    },
  };
}

/** Adding a lineage to environments that lack it (those created before it existed). */
function lineageStarts(db: Kysely<Database>, isUniqueViolation: (error: unknown) => boolean): Pick<SigningKeyStore, 'withoutLineage' | 'startLineage'> {
  return {
    async withoutLineage(alg) {
      const rows = await db
        .selectFrom('environments')
        .select('id')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('signing_keys')
                .select('kid')
                .whereRef('signing_keys.env_id', '=', 'environments.id')
                .where('signing_keys.alg', '=', alg)
                .where('signing_keys.status', 'in', ['active', 'next']),
            ),
          ),
        )
        .orderBy('id')
        .execute();
      return rows.map((r) => r.id);
    },
    async startLineage(envId, first, now) {
      const lineage = lineageOf(first.alg);
      try {
        return await atomically(db, async (trx) => {
          await settleDue(trx, now, envId);
          const existing = await lineageHead(trx, envId, lineage);
          if (existing) return { key: existing, created: false };
          // No environment lock: of two nodes starting at once, both may find no key here, and the
          // one-active-key index refuses the second insert, whose caller then reads the winner's key.
          await trx.insertInto('signing_keys').values(signingKeyRow(first)).execute();
          return { key: first, created: true };
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const winner = await lineageHead(db, envId, lineage);
        if (!winner) throw error;
        return { key: winner, created: false };
      }
    },
  };
}

async function scheduleInTransaction(
  trx: Transaction<Database>,
  envId: string,
  next: SigningKey,
  now: number,
  publishUntil: number,
  activeBefore: number | undefined,
): Promise<void> {
  await settleDue(trx, now, envId);
  const lineage = lineageOf(next.alg);
  const current = await trx
    .selectFrom('signing_keys')
    .select(['status', 'activate_at'])
    .where('env_id', '=', envId)
    .where('status', 'in', ['active', 'next'])
    .where(inLineage(lineage))
    .execute();
  if (current.some((k) => k.status === 'next')) throw new NotDue();
  const active = current.find((k) => k.status === 'active');
  if (activeBefore !== undefined && (!active || Number(active.activate_at) >= activeBefore)) throw new NotDue();
  // The one-next-key index refuses a second insert from a concurrent caller: it rolls back here.
  await trx.insertInto('signing_keys').values(signingKeyRow(next)).execute();
  await trx
    .updateTable('signing_keys')
    .set({ retired_at: next.activateAt, publish_until: publishUntil })
    .where('env_id', '=', envId)
    .where('status', '=', 'active')
    .where(inLineage(lineage))
    .execute();
}

/**
 * Withdraws a pending next key: it will not sign, but stays published until `publishUntil`, since
 * a node whose cache still holds it may sign with it if its activation time passes first.
 */
async function withdrawNext(trx: Transaction<Database>, envId: string, lineage: KeyLineage, now: number, publishUntil: number): Promise<void> {
  await trx
    .updateTable('signing_keys')
    .set({ status: 'retired', retired_at: now, publish_until: publishUntil })
    .where('env_id', '=', envId)
    .where('status', '=', 'next')
    .where(inLineage(lineage))
    .execute();
}

async function revokeInTransaction(
  trx: Transaction<Database>,
  envId: string,
  kid: string,
  now: number,
  replacement: SigningKey,
  publishUntil: number,
): Promise<KeyRevocation> {
  await settleDue(trx, now, envId);
  const row = await trx
    .selectFrom('signing_keys')
    .select(['alg', 'status', 'retired_at', 'revoked_at'])
    .where('env_id', '=', envId)
    .where('kid', '=', kid)
    .executeTakeFirst();
  if (!row) return { outcome: 'not_found' };
  if (row.revoked_at != null) return { outcome: 'already_revoked', revokedAt: Number(row.revoked_at) };
  const lineage = lineageOf(row.alg);
  // A revoked key is replaced within its own lineage: an RS256 key by an RS256 key.
  if (lineageOf(replacement.alg) !== lineage) throw new Error(`a ${replacement.alg} key cannot replace the ${row.alg} key ${kid}`);
  const retiredAt = row.retired_at != null && Number(row.retired_at) <= now ? Number(row.retired_at) : now;
  await trx
    .updateTable('signing_keys')
    .set({ status: 'retired', retired_at: retiredAt, publish_until: now, revoked_at: now })
    .where('env_id', '=', envId)
    .where('kid', '=', kid)
    .execute();
  if (row.status === 'next') {
    // The active key had been set to retire when this one activated: it signs on.
    await trx
      .updateTable('signing_keys')
      .set({ retired_at: null, publish_until: null })
      .where('env_id', '=', envId)
      .where('status', '=', 'active')
      .where(inLineage(lineage))
      .execute();
  }
  if (row.status !== 'active') return { outcome: 'revoked', replaced: false, revokedAt: now };
  await withdrawNext(trx, envId, lineage, now, publishUntil);
  await trx.insertInto('signing_keys').values(signingKeyRow(replacement)).execute();
  return { outcome: 'revoked', replaced: true, revokedAt: now };
}
