import type { Kysely } from 'kysely';
import type { SecondFactorMode, SecondFactorStore, SignInPolicy, TotpEnrolment } from '../domain/second-factors.ts';
import type { SecondFactorDatabase } from './second-factor-schema.ts';

type Db = Kysely<SecondFactorDatabase>;

const toTotp = (row: SecondFactorDatabase['user_totp']): TotpEnrolment => ({
  envId: row.env_id,
  userId: row.user_id,
  secretSealed: row.secret_sealed,
  createdAt: Number(row.created_at),
  confirmedAt: row.confirmed_at === null ? null : Number(row.confirmed_at),
  lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
});

const toPolicy = (row: SecondFactorDatabase['sign_in_policies']): SignInPolicy => ({
  secondFactor: row.second_factor as SecondFactorMode,
  requiredClients: JSON.parse(row.required_clients) as string[],
  requiredScopes: JSON.parse(row.required_scopes) as string[],
  webauthnRpId: row.webauthn_rp_id,
  webauthnOrigins: row.webauthn_origins === null ? [] : (JSON.parse(row.webauthn_origins) as string[]),
});

/** TOTP enrolments, recovery codes and sign-in policies over Kysely (SQLite and PostgreSQL). */
export function secondFactorStore<D>(database: Kysely<D>): SecondFactorStore {
  const db = database as unknown as Db;
  return { ...totpOperations(db), ...recoveryCodeOperations(db), ...policyOperations(db) };
}

function totpOperations(db: Db): Pick<SecondFactorStore, 'findTotp' | 'beginTotp' | 'useTotpStep'> {
  return {
    async findTotp(envId, userId) {
      const row = await db.selectFrom('user_totp').selectAll().where('env_id', '=', envId).where('user_id', '=', userId).executeTakeFirst();
      return row && toTotp(row);
    },
    async beginTotp(e) {
      // An unconfirmed enrolment is replaced; a confirmed one stays (one conditional upsert).
      const result = await db
        .insertInto('user_totp')
        .values({ env_id: e.envId, user_id: e.userId, secret_sealed: e.secretSealed, created_at: e.createdAt, confirmed_at: null, last_used_step: null })
        .onConflict((oc) =>
          oc
            .columns(['env_id', 'user_id'])
            .doUpdateSet({ secret_sealed: e.secretSealed, created_at: e.createdAt, last_used_step: null })
            .where('user_totp.confirmed_at', 'is', null),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async useTotpStep(envId, userId, step, now, confirm) {
      // RFC 6238 §5.2: a verifier must not accept the second attempt of an OTP once the first
      // was validated. Only a step later than the last used one moves it: one statement.
      let query = db
        .updateTable('user_totp')
        .set(confirm ? { last_used_step: step, confirmed_at: now } : { last_used_step: step })
        .where('env_id', '=', envId)
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]));
      query = confirm ? query.where('confirmed_at', 'is', null) : query.where('confirmed_at', 'is not', null);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

function recoveryCodeOperations(db: Db): Pick<SecondFactorStore, 'replaceRecoveryCodes' | 'consumeRecoveryCode' | 'unusedRecoveryCodes' | 'resetFactors'> {
  return {
    async replaceRecoveryCodes(envId, userId, codeHashes, now) {
      await db.deleteFrom('user_recovery_codes').where('env_id', '=', envId).where('user_id', '=', userId).execute();
      if (codeHashes.length === 0) return;
      await db
        .insertInto('user_recovery_codes')
        .values(codeHashes.map((code_hash) => ({ env_id: envId, user_id: userId, code_hash, created_at: now, consumed_at: null })))
        .execute();
    },
    async consumeRecoveryCode(envId, userId, codeHash, now) {
      const result = await db
        .updateTable('user_recovery_codes')
        .set({ consumed_at: now })
        .where('env_id', '=', envId)
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async unusedRecoveryCodes(envId, userId) {
      const row = await db
        .selectFrom('user_recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('env_id', '=', envId)
        .where('user_id', '=', userId)
        .where('consumed_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async resetFactors(envId, userId) {
      const totp = await db.deleteFrom('user_totp').where('env_id', '=', envId).where('user_id', '=', userId).executeTakeFirst();
      const codes = await db.deleteFrom('user_recovery_codes').where('env_id', '=', envId).where('user_id', '=', userId).executeTakeFirst();
      const keys = await db.deleteFrom('passkeys').where('env_id', '=', envId).where('user_id', '=', userId).executeTakeFirst();
      return { totp: Number(totp.numDeletedRows) > 0, recoveryCodes: Number(codes.numDeletedRows), passkeys: Number(keys.numDeletedRows) };
    },
  };
}

function policyOperations(db: Db): Pick<SecondFactorStore, 'findPolicy' | 'savePolicy'> {
  return {
    async findPolicy(envId) {
      const row = await db.selectFrom('sign_in_policies').selectAll().where('env_id', '=', envId).executeTakeFirst();
      return row && toPolicy(row);
    },
    async savePolicy(envId, p, now) {
      const values = {
        second_factor: p.secondFactor,
        required_clients: JSON.stringify(p.requiredClients),
        required_scopes: JSON.stringify(p.requiredScopes),
        webauthn_rp_id: p.webauthnRpId,
        webauthn_origins: JSON.stringify(p.webauthnOrigins),
        updated_at: now,
      };
      await db
        .insertInto('sign_in_policies')
        .values({ env_id: envId, ...values })
        .onConflict((oc) => oc.column('env_id').doUpdateSet(values))
        .execute();
    },
  };
}
