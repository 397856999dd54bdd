import type { Kysely } from 'kysely';

// Keys registered for clients and service accounts (public halves only), and the assertion
// ids (jti) already used, kept until the assertion expires.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('client_keys')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addPrimaryKeyConstraint('client_keys_pk', ['env_id', 'kid'])
    .addForeignKeyConstraint('client_keys_client_fk', ['env_id', 'client_id'], 'clients', ['env_id', 'client_id'])
    .execute();
  await db.schema.createIndex('client_keys_by_client').on('client_keys').columns(['env_id', 'client_id']).execute();

  await db.schema
    .createTable('used_assertions')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('used_assertions_pk', ['env_id', 'client_id', 'jti'])
    .execute();
  await db.schema.createIndex('used_assertions_by_expiry').on('used_assertions').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('used_assertions').execute();
  await db.schema.dropTable('client_keys').execute();
}
