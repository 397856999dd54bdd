import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { SourceDb } from './source-databases.ts';

/*
 * A Doorkeeper database as Doorkeeper and Devise create and fill it.
 *
 * Schema: Doorkeeper's generator template lib/generators/doorkeeper/templates/migration.rb.erb
 * (doorkeeper-gem/doorkeeper d0cd44a7, 6.0.0.beta2+) and Devise's users migration
 * (lib/generators/active_record/devise_generator.rb, heartcombo/devise 7ca7ed9c, with Lockable's
 * locked_at uncommented), translated the way Rails' PostgreSQL and MySQL adapters write them
 * (string → varchar(255), datetime → timestamp(6) / datetime(6), boolean → tinyint(1) on MySQL).
 * As the template says to do for public clients, oauth_applications.secret is nullable.
 *
 * Rows: tokens, uids and secrets from Doorkeeper's UniqueToken (SecureRandom.urlsafe_base64(32));
 * hashed application secrets as Doorkeeper's SecretStoring::Sha256Hash (hex digest) and
 * SecretStoring::BCrypt (BCrypt::Password.create, cost 12, `$2a$`); hashed tokens as
 * hash_token_secrets (SHA-256 hex, with `fallback: :plain` leaving older rows in clear); passwords
 * as Devise's Encryptor (bcrypt, stretches 12, `$2a$`); a refresh leaves the old row's refresh token
 * in the new row's previous_refresh_token until the new access token is used.
 */

function ddl(dialect: SourceDb['dialect']): string[] {
  const pg = dialect === 'postgres';
  const id = pg ? 'id bigserial primary key' : 'id bigint not null auto_increment primary key';
  const str = 'varchar(255)';
  const ts = pg ? 'timestamp(6)' : 'datetime(6)';
  const bool = pg ? 'boolean' : 'tinyint(1)';
  const engine = pg ? '' : ' engine=InnoDB default charset=utf8mb4';
  return [
    `create table oauth_applications (${id}, name ${str} not null, uid ${str} not null, secret ${str}, redirect_uri text not null,
      scopes ${str} not null default '', confidential ${bool} not null default ${pg ? 'true' : '1'}, created_at ${ts} not null, updated_at ${ts} not null)${engine}`,
    'create unique index index_oauth_applications_on_uid on oauth_applications (uid)',
    `create table oauth_access_grants (${id}, resource_owner_id bigint not null, application_id bigint not null, token ${str} not null,
      expires_in integer not null, redirect_uri text not null, scopes ${str} not null default '', created_at ${ts} not null, revoked_at ${ts},
      access_token_id bigint)${engine}`,
    'create index index_oauth_access_grants_on_resource_owner_id on oauth_access_grants (resource_owner_id)',
    'create index index_oauth_access_grants_on_application_id on oauth_access_grants (application_id)',
    'create index index_oauth_access_grants_on_access_token_id on oauth_access_grants (access_token_id)',
    'create unique index index_oauth_access_grants_on_token on oauth_access_grants (token)',
    'alter table oauth_access_grants add constraint fk_rails_b4b53e07b8 foreign key (application_id) references oauth_applications (id)',
    `create table oauth_access_tokens (${id}, resource_owner_id bigint, application_id bigint not null, token ${str} not null,
      refresh_token ${str}, expires_in integer, scopes ${str}, created_at ${ts} not null, revoked_at ${ts},
      previous_refresh_token ${str} not null default '')${engine}`,
    'create index index_oauth_access_tokens_on_resource_owner_id on oauth_access_tokens (resource_owner_id)',
    'create index index_oauth_access_tokens_on_application_id on oauth_access_tokens (application_id)',
    'create unique index index_oauth_access_tokens_on_token on oauth_access_tokens (token)',
    'create unique index index_oauth_access_tokens_on_refresh_token on oauth_access_tokens (refresh_token)',
    'alter table oauth_access_tokens add constraint fk_rails_732cb83ab7 foreign key (application_id) references oauth_applications (id)',
    `create table users (${id}, email ${str} not null default '', encrypted_password ${str} not null default '', reset_password_token ${str},
      reset_password_sent_at ${ts}, remember_created_at ${ts}, locked_at ${ts}, created_at ${ts} not null, updated_at ${ts} not null)${engine}`,
    'create unique index index_users_on_email on users (email)',
    'create unique index index_users_on_reset_password_token on users (reset_password_token)',
  ];
}

/** SecureRandom.urlsafe_base64(32), Doorkeeper's default generator for uids, secrets and tokens. */
export const uniqueToken = (): string => randomBytes(32).toString('base64url');
export const sha256hex = (value: string): string => createHash('sha256').update(value).digest('hex');
/** BCrypt::Password.create at cost 12, as bcrypt-ruby writes it (`$2a$`). */
export const rubyBcrypt = (secret: string): string => bcrypt.hashSync(secret, bcrypt.genSaltSync(12).replace(/^\$2b\$/, '$2a$'));
/** Rails writes UTC instants without a zone. */
const at = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export interface DoorkeeperApp {
  id: number;
  uid: string;
  secret: string;
}

export interface DoorkeeperToken {
  id: number;
  token: string;
  refreshToken: string | null;
}

/** The plain values of everything seeded, as the clients and users hold them. */
export interface DoorkeeperSeed {
  apps: Record<'bcrypt' | 'sha256' | 'plain' | 'public' | 'desktop', DoorkeeperApp>;
  password: string;
  users: Record<'alice' | 'locked' | 'omniauth', { id: number; email: string }>;
  tokens: Record<
    'live' | 'revoked' | 'expiredAccess' | 'hashed' | 'machine' | 'machineExpired' | 'rotatedOld' | 'rotatedNew' | 'forever' | 'mobile',
    DoorkeeperToken
  >;
}

const HOUR = 3_600_000;
export const RS_REDIRECT_URI = 'http://127.0.0.1:9/callback';

async function insertApps(db: SourceDb, now: number): Promise<DoorkeeperSeed['apps']> {
  const apps = {
    bcrypt: { id: 1, uid: uniqueToken(), secret: uniqueToken() },
    sha256: { id: 2, uid: uniqueToken(), secret: uniqueToken() },
    plain: { id: 3, uid: 'legacy-reporting', secret: uniqueToken() },
    public: { id: 4, uid: uniqueToken(), secret: '' },
    desktop: { id: 5, uid: uniqueToken(), secret: uniqueToken() },
  };
  const rows: [DoorkeeperApp, string, string | null, string, string, boolean][] = [
    [apps.bcrypt, 'RightSignature integration', rubyBcrypt(apps.bcrypt.secret), `https://app.example.test/callback\n${RS_REDIRECT_URI}`, 'read write', true],
    [apps.sha256, 'Signing portal', sha256hex(apps.sha256.secret), RS_REDIRECT_URI, 'read', true],
    [apps.plain, 'Nightly reporting', apps.plain.secret, '', 'read', true],
    [apps.public, 'Mobile app', null, 'http://127.0.0.1/callback', '', false],
    // Made before the column was made nullable: Doorkeeper gave the public application a secret.
    [apps.desktop, 'Desktop app', apps.desktop.secret, 'http://127.0.0.1/callback', 'read', false],
  ];
  for (const [app, name, secret, redirect, scopes, confidential] of rows)
    await db.exec(
      'insert into oauth_applications (id, name, uid, secret, redirect_uri, scopes, confidential, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [app.id, name, app.uid, secret, redirect, scopes, confidential, at(now - 30 * 24 * HOUR), at(now - 24 * HOUR)],
    );
  return apps;
}

async function insertUsers(db: SourceDb, now: number, password: string): Promise<DoorkeeperSeed['users']> {
  const users = {
    alice: { id: 1, email: 'alice@example.test' },
    locked: { id: 2, email: 'mallory@example.test' },
    omniauth: { id: 3, email: 'oauth-only@example.test' },
  };
  const hash = rubyBcrypt(password);
  for (const [user, encrypted, locked] of [
    [users.alice, hash, null],
    [users.locked, hash, at(now - HOUR)],
    [users.omniauth, '', null],
  ] as const)
    await db.exec('insert into users (id, email, encrypted_password, locked_at, created_at, updated_at) values (?, ?, ?, ?, ?, ?)', [
      user.id,
      user.email,
      encrypted,
      locked,
      at(now - 10 * 24 * HOUR),
      at(now - 2 * HOUR),
    ]);
  return users;
}

interface TokenRow {
  app: number;
  owner: number | null;
  refresh: boolean;
  hashed?: boolean;
  expiresIn: number | null;
  createdAgo: number;
  revokedAgo?: number;
  previous?: string;
  scopes?: string;
}

async function insertToken(db: SourceDb, id: number, now: number, row: TokenRow): Promise<DoorkeeperToken> {
  const token = uniqueToken();
  const refreshToken = row.refresh ? uniqueToken() : null;
  const stored = (value: string | null) => (value === null ? null : row.hashed ? sha256hex(value) : value);
  await db.exec(
    `insert into oauth_access_tokens (id, resource_owner_id, application_id, token, refresh_token, expires_in, scopes, created_at, revoked_at, previous_refresh_token)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      row.owner,
      row.app,
      stored(token),
      stored(refreshToken),
      row.expiresIn,
      row.scopes ?? 'read',
      at(now - row.createdAgo),
      row.revokedAgo === undefined ? null : at(now - row.revokedAgo),
      row.previous ?? '',
    ],
  );
  return { id, token, refreshToken };
}

/** Creates Doorkeeper's and Devise's tables in `db` and fills them; `now` is the importing server's clock. */
export async function seedDoorkeeper(db: SourceDb, now: number): Promise<DoorkeeperSeed> {
  for (const statement of ddl(db.dialect)) await db.exec(statement);
  const password = 'devise password 1';
  const apps = await insertApps(db, now);
  const users = await insertUsers(db, now, password);
  await db.exec(
    'insert into oauth_access_grants (resource_owner_id, application_id, token, expires_in, redirect_uri, scopes, created_at) values (?, ?, ?, ?, ?, ?, ?)',
    [1, 1, uniqueToken(), 600, RS_REDIRECT_URI, 'read', at(now - 60_000)],
  );
  const min = 60_000;
  const live = await insertToken(db, 1, now, { app: 1, owner: 1, refresh: true, expiresIn: 7200, createdAgo: 10 * min });
  const revoked = await insertToken(db, 2, now, { app: 1, owner: 1, refresh: true, expiresIn: 7200, createdAgo: 20 * min, revokedAgo: 5 * min });
  const expiredAccess = await insertToken(db, 3, now, { app: 1, owner: 1, refresh: true, expiresIn: 7200, createdAgo: 3 * HOUR });
  const hashed = await insertToken(db, 4, now, { app: 2, owner: 1, refresh: true, hashed: true, expiresIn: 7200, createdAgo: 30 * min });
  const machine = await insertToken(db, 5, now, { app: 3, owner: null, refresh: false, expiresIn: 7200, createdAgo: 5 * min });
  const machineExpired = await insertToken(db, 6, now, { app: 3, owner: null, refresh: false, expiresIn: 7200, createdAgo: 5 * HOUR });
  const rotatedOld = await insertToken(db, 7, now, { app: 1, owner: 1, refresh: true, expiresIn: 7200, createdAgo: 4 * HOUR });
  const rotatedNew = await insertToken(db, 8, now, {
    app: 1,
    owner: 1,
    refresh: true,
    expiresIn: 7200,
    createdAgo: 2 * min,
    previous: rotatedOld.refreshToken ?? '',
  });
  const forever = await insertToken(db, 9, now, { app: 3, owner: null, refresh: false, expiresIn: null, createdAgo: 5 * min });
  const mobile = await insertToken(db, 10, now, { app: 4, owner: 1, refresh: true, expiresIn: 7200, createdAgo: 15 * min, scopes: 'read profile' });
  return { apps, password, users, tokens: { live, revoked, expiredAccess, hashed, machine, machineExpired, rotatedOld, rotatedNew, forever, mobile } };
}
