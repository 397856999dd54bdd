import type { Kysely } from 'kysely';

// WebAuthn Level 3 passkeys: each credential's public key (COSE, base64url), signature counter
// and backup flags (§6.1 BE/BS), and the challenges of ceremonies in progress, stored as hashes
// and taken once (deleted with RETURNING). Each environment may name its relying-party id and
// the origins allowed in client data (§7.1 step 9, §13.4.9).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('passkeys')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('backup_eligible', 'integer', (c) => c.notNull())
    .addColumn('backed_up', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addPrimaryKeyConstraint('passkeys_pk', ['env_id', 'credential_id'])
    .execute();
  await db.schema.createIndex('passkeys_by_user').on('passkeys').columns(['env_id', 'user_id']).execute();
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('session_hash', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('sign_in_policies').addColumn('webauthn_rp_id', 'text').execute();
  await db.schema.alterTable('sign_in_policies').addColumn('webauthn_origins', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sign_in_policies').dropColumn('webauthn_origins').execute();
  await db.schema.alterTable('sign_in_policies').dropColumn('webauthn_rp_id').execute();
  await db.schema.dropTable('webauthn_challenges').execute();
  await db.schema.dropIndex('passkeys_by_user').execute();
  await db.schema.dropTable('passkeys').execute();
}
