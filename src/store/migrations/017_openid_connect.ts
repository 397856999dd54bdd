import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

// OpenID Connect: user profile attributes (Core §5.1), client metadata for ID Tokens and logout
// (Core §2 of Dynamic Registration, RP-Initiated Logout §3.1, Back-Channel Logout §2.2),
// environment settings (subject type, refresh-token policy, the pairwise salt), and what the code
// flow carries from the authentication request to the ID Token (nonce, auth_time, sid, amr).
// Every column is nullable or has a default, so rows written before keep their meaning.
const USER_COLUMNS = [
  'email',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'picture',
  'locale',
  'zoneinfo',
  'phone_number',
  // JSON object of the Core §5.1.1 address members.
  'address',
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of USER_COLUMNS) await db.schema.alterTable('users').addColumn(column, 'text').execute();
  await db.schema
    .alterTable('users')
    .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('phone_number_verified', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // JSON array; null: none registered.
  await db.schema.alterTable('clients').addColumn('post_logout_redirect_uris', 'text').execute();
  await db.schema.alterTable('clients').addColumn('backchannel_logout_uri', 'text').execute();
  await db.schema
    .alterTable('clients')
    .addColumn('backchannel_logout_session_required', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Whether ending a browser session revokes the refresh tokens this client obtained in it.
  await db.schema
    .alterTable('clients')
    .addColumn('logout_revokes_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Null: the default (RS256, Core §15.1 and Registration §2).
  await db.schema.alterTable('clients').addColumn('id_token_signed_response_alg', 'text').execute();
  // Null: the environment's subject type.
  await db.schema.alterTable('clients').addColumn('subject_type', 'text').execute();
  await db.schema.alterTable('clients').addColumn('sector_identifier_uri', 'text').execute();

  await db.schema
    .alterTable('environments')
    .addColumn('subject_type', 'text', (c) => c.notNull().defaultTo('public'))
    .execute();
  await db.schema
    .alterTable('environments')
    .addColumn('refresh_token_policy', 'text', (c) => c.notNull().defaultTo('client'))
    .execute();
  await db.schema.alterTable('environments').addColumn('pairwise_salt', 'text').execute();
  const environments = await sql<{ id: string }>`select id from environments`.execute(db);
  for (const { id } of environments.rows) {
    await sql`update environments set pairwise_salt = ${randomBytes(32).toString('base64url')} where id = ${id}`.execute(db);
  }

  // The OpenID session id (`sid`, Front/Back-Channel Logout) and the authentication methods.
  await db.schema.alterTable('browser_sessions').addColumn('sid', 'text').execute();
  await db.schema.alterTable('browser_sessions').addColumn('amr', 'text').execute();
  await db.schema.createIndex('browser_sessions_by_sid').on('browser_sessions').columns(['env_id', 'sid']).execute();

  // JSON object of the authentication request's OpenID parameters; null: not an OpenID request.
  await db.schema.alterTable('authorization_requests').addColumn('oidc', 'text').execute();
  await db.schema.alterTable('authorization_codes').addColumn('oidc', 'text').execute();

  // A family begun by an OpenID sign-in remembers its session and authentication, for the ID
  // Tokens of its refreshes (Core §12.2) and for logout.
  await db.schema.alterTable('token_families').addColumn('sid', 'text').execute();
  await db.schema.alterTable('token_families').addColumn('oidc', 'text').execute();
  await db.schema.createIndex('token_families_by_sid').on('token_families').columns(['env_id', 'sid']).execute();

  // JSON array of the APIs (RFC 8707) a consent covers; null: granted for no API.
  await db.schema.alterTable('consents').addColumn('resources', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('consents').dropColumn('resources').execute();
  await db.schema.dropIndex('token_families_by_sid').execute();
  for (const column of ['sid', 'oidc']) await db.schema.alterTable('token_families').dropColumn(column).execute();
  await db.schema.alterTable('authorization_codes').dropColumn('oidc').execute();
  await db.schema.alterTable('authorization_requests').dropColumn('oidc').execute();
  await db.schema.dropIndex('browser_sessions_by_sid').execute();
  for (const column of ['sid', 'amr']) await db.schema.alterTable('browser_sessions').dropColumn(column).execute();
  for (const column of ['subject_type', 'refresh_token_policy', 'pairwise_salt']) await db.schema.alterTable('environments').dropColumn(column).execute();
  for (const column of [
    'post_logout_redirect_uris',
    'backchannel_logout_uri',
    'backchannel_logout_session_required',
    'logout_revokes_tokens',
    'id_token_signed_response_alg',
    'subject_type',
    'sector_identifier_uri',
  ])
    await db.schema.alterTable('clients').dropColumn(column).execute();
  for (const column of [...USER_COLUMNS, 'email_verified', 'phone_number_verified']) await db.schema.alterTable('users').dropColumn(column).execute();
}
