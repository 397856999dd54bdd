import type { Kysely } from 'kysely';

// RFC 9449 (DPoP): a client may require proofs (§5.2 `dpop_bound_access_tokens`), an environment
// may require server nonces (§8), an authorization request and its code may name the key of the
// redemption (§10 `dpop_jkt`), and a public client's token family keeps the key its refresh
// tokens are bound to (§5.8). Proofs' jti are spent in used_assertions.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('dpop_bound_access_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('environments')
    .addColumn('dpop_nonce_required', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('authorization_requests').addColumn('dpop_jkt', 'text').execute();
  await db.schema.alterTable('authorization_codes').addColumn('dpop_jkt', 'text').execute();
  await db.schema.alterTable('token_families').addColumn('dpop_jkt', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('token_families').dropColumn('dpop_jkt').execute();
  await db.schema.alterTable('authorization_codes').dropColumn('dpop_jkt').execute();
  await db.schema.alterTable('authorization_requests').dropColumn('dpop_jkt').execute();
  await db.schema.alterTable('environments').dropColumn('dpop_nonce_required').execute();
  await db.schema.alterTable('clients').dropColumn('dpop_bound_access_tokens').execute();
}
