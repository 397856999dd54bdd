import type { Kysely } from 'kysely';
import type { Passkey, PasskeyStore, WebAuthnChallenge } from '../domain/second-factors.ts';
import { ConflictError } from '../domain/storage.ts';
import type { SecondFactorDatabase } from './second-factor-schema.ts';

type Db = Kysely<SecondFactorDatabase>;

const toPasskey = (row: SecondFactorDatabase['passkeys']): Passkey => ({
  envId: row.env_id,
  credentialId: row.credential_id,
  userId: row.user_id,
  publicKey: row.public_key,
  counter: Number(row.counter),
  transports: JSON.parse(row.transports) as string[],
  backupEligible: row.backup_eligible === 1,
  backedUp: row.backed_up === 1,
  name: row.name,
  createdAt: Number(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
});

/** Passkeys and WebAuthn challenges over Kysely (SQLite and PostgreSQL). */
export function passkeyStore<D>(database: Kysely<D>, isUniqueViolation: (error: unknown) => boolean): PasskeyStore {
  const db = database as unknown as Db;
  return { ...credentialOperations(db, isUniqueViolation), ...challengeOperations(db) };
}

function credentialOperations(
  db: Db,
  isUniqueViolation: (error: unknown) => boolean,
): Pick<PasskeyStore, 'add' | 'find' | 'listByUser' | 'recordUse' | 'remove'> {
  return {
    async add(p) {
      try {
        await db
          .insertInto('passkeys')
          .values({
            env_id: p.envId,
            credential_id: p.credentialId,
            user_id: p.userId,
            public_key: p.publicKey,
            counter: p.counter,
            transports: JSON.stringify(p.transports),
            backup_eligible: p.backupEligible ? 1 : 0,
            backed_up: p.backedUp ? 1 : 0,
            name: p.name,
            created_at: p.createdAt,
            last_used_at: p.lastUsedAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError('this passkey is registered already');
        throw error;
      }
    },
    async find(envId, credentialId) {
      const row = await db.selectFrom('passkeys').selectAll().where('env_id', '=', envId).where('credential_id', '=', credentialId).executeTakeFirst();
      return row && toPasskey(row);
    },
    async listByUser(envId, userId) {
      const rows = await db.selectFrom('passkeys').selectAll().where('env_id', '=', envId).where('user_id', '=', userId).orderBy('created_at').execute();
      return rows.map(toPasskey);
    },
    async recordUse(envId, credentialId, counter, backedUp, now) {
      let query = db
        .updateTable('passkeys')
        .set({ counter, backed_up: backedUp ? 1 : 0, last_used_at: now })
        .where('env_id', '=', envId)
        .where('credential_id', '=', credentialId);
      // WebAuthn §6.1.1: authenticators that count must count up; both zero means no counter.
      if (counter > 0) query = query.where('counter', '<', counter);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async remove(envId, userId, credentialId) {
      const result = await db
        .deleteFrom('passkeys')
        .where('env_id', '=', envId)
        .where('user_id', '=', userId)
        .where('credential_id', '=', credentialId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

function challengeOperations(db: Db): Pick<PasskeyStore, 'saveChallenge' | 'takeChallenge' | 'deleteExpiredChallenges'> {
  return {
    async saveChallenge(c) {
      await db
        .insertInto('webauthn_challenges')
        .values({
          challenge_hash: c.challengeHash,
          env_id: c.envId,
          session_hash: c.sessionHash,
          purpose: c.purpose,
          user_id: c.userId,
          expires_at: c.expiresAt,
        })
        .execute();
    },
    async takeChallenge(envId, challengeHash, sessionHash, now) {
      // Single use across nodes: the row is deleted as it is read.
      const row = await db
        .deleteFrom('webauthn_challenges')
        .where('challenge_hash', '=', challengeHash)
        .where('env_id', '=', envId)
        .where('session_hash', '=', sessionHash)
        .returningAll()
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= now) return undefined;
      return {
        challengeHash: row.challenge_hash,
        envId: row.env_id,
        sessionHash: row.session_hash,
        purpose: row.purpose as WebAuthnChallenge['purpose'],
        userId: row.user_id,
        expiresAt: Number(row.expires_at),
      };
    },
    async deleteExpiredChallenges(before) {
      const result = await db.deleteFrom('webauthn_challenges').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
