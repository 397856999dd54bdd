import type { Kysely } from 'kysely';

// Second factors (RFC 6238 TOTP and recovery codes) and each environment's sign-in policy. A TOTP
// secret is stored sealed (AES-256-GCM under the key secret), never in clear; `last_used_step`
// makes each code single-use (a code is accepted only for a step after it, in one conditional
// update). Recovery codes are stored as keyed hashes and consumed by one conditional update.
// An environment without a policy row is "second factor optional".
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_totp')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint')
    .addColumn('last_used_step', 'bigint')
    .addPrimaryKeyConstraint('user_totp_pk', ['env_id', 'user_id'])
    .execute();
  await db.schema
    .createTable('user_recovery_codes')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('user_recovery_codes_pk', ['env_id', 'user_id', 'code_hash'])
    .execute();
  await db.schema
    .createTable('sign_in_policies')
    .addColumn('env_id', 'text', (c) => c.primaryKey())
    .addColumn('second_factor', 'text', (c) => c.notNull())
    .addColumn('required_clients', 'text', (c) => c.notNull())
    .addColumn('required_scopes', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sign_in_policies').execute();
  await db.schema.dropTable('user_recovery_codes').execute();
  await db.schema.dropTable('user_totp').execute();
}
