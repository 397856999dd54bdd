import { createHmac, pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { SourceDb } from './source-databases.ts';

/*
 * An ORY Hydra 2 database on PostgreSQL as Hydra creates and fills it.
 *
 * Schema: the networks, hydra_client, hydra_oauth2_access and hydra_oauth2_refresh tables of
 * Hydra's own schema dump after all its migrations (ory/hydra 83127c57,
 * internal/testhelpers/sql_schemas/postgres_dump.sql), with their keys, in the test's schema.
 *
 * Rows: client secrets hashed as Hydra's hasherx does: PBKDF2 (its default hasher) with SHA-256,
 * 25 000 iterations, a 16-byte salt and a 32-byte key, written `$pbkdf2-sha256$i=…,l=…$salt$hash` in
 * unpadded standard base64; or bcrypt at Hydra's default cost 10 (Go writes `$2a$`). Lifespans are
 * Go durations in nanoseconds; list fields are JSON arrays. Tokens as fosite's HMAC strategy makes
 * them: `ory_rt_<key>.<signature>`, where the signature (the only part stored) is the unpadded
 * base64url HMAC-SHA512/256 of the random key under the system secret.
 */
const HYDRA_DDL = [
  `CREATE TABLE networks (
    id uuid NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
)`,
  `CREATE TABLE hydra_client (
    id character varying(255) NOT NULL,
    client_name text NOT NULL,
    client_secret text NOT NULL,
    scope text NOT NULL,
    owner text NOT NULL,
    policy_uri text NOT NULL,
    tos_uri text NOT NULL,
    client_uri text NOT NULL,
    logo_uri text NOT NULL,
    client_secret_expires_at integer DEFAULT 0 NOT NULL,
    sector_identifier_uri text NOT NULL,
    jwks text NOT NULL,
    jwks_uri text NOT NULL,
    token_endpoint_auth_method character varying(25) DEFAULT ''::character varying NOT NULL,
    request_object_signing_alg character varying(10) DEFAULT ''::character varying NOT NULL,
    userinfo_signed_response_alg character varying(10) DEFAULT ''::character varying NOT NULL,
    subject_type character varying(15) DEFAULT ''::character varying NOT NULL,
    pk_deprecated integer NOT NULL,
    created_at timestamp without time zone DEFAULT now() NOT NULL,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    frontchannel_logout_uri text DEFAULT ''::text NOT NULL,
    frontchannel_logout_session_required boolean DEFAULT false NOT NULL,
    backchannel_logout_uri text DEFAULT ''::text NOT NULL,
    backchannel_logout_session_required boolean DEFAULT false NOT NULL,
    metadata text NOT NULL,
    token_endpoint_auth_signing_alg character varying(10) DEFAULT ''::character varying NOT NULL,
    authorization_code_grant_access_token_lifespan bigint,
    authorization_code_grant_id_token_lifespan bigint,
    authorization_code_grant_refresh_token_lifespan bigint,
    client_credentials_grant_access_token_lifespan bigint,
    implicit_grant_access_token_lifespan bigint,
    implicit_grant_id_token_lifespan bigint,
    jwt_bearer_grant_access_token_lifespan bigint,
    password_grant_access_token_lifespan bigint,
    password_grant_refresh_token_lifespan bigint,
    refresh_token_grant_id_token_lifespan bigint,
    refresh_token_grant_access_token_lifespan bigint,
    refresh_token_grant_refresh_token_lifespan bigint,
    pk uuid,
    registration_access_token_signature character varying(128) DEFAULT ''::character varying NOT NULL,
    nid uuid NOT NULL,
    redirect_uris jsonb NOT NULL,
    grant_types jsonb NOT NULL,
    response_types jsonb NOT NULL,
    audience jsonb NOT NULL,
    allowed_cors_origins jsonb NOT NULL,
    contacts jsonb NOT NULL,
    request_uris jsonb NOT NULL,
    post_logout_redirect_uris jsonb DEFAULT '[]'::jsonb NOT NULL,
    access_token_strategy character varying(10) DEFAULT ''::character varying NOT NULL,
    skip_consent boolean DEFAULT false NOT NULL,
    skip_logout_consent boolean,
    device_authorization_grant_id_token_lifespan bigint,
    device_authorization_grant_access_token_lifespan bigint,
    device_authorization_grant_refresh_token_lifespan bigint,
    rotated_secrets jsonb
)`,
  `CREATE TABLE hydra_oauth2_access (
    signature character varying(255) NOT NULL,
    request_id character varying(40) NOT NULL,
    requested_at timestamp without time zone DEFAULT now() NOT NULL,
    client_id character varying(255) NOT NULL,
    scope text NOT NULL,
    granted_scope text NOT NULL,
    form_data text NOT NULL,
    session_data text NOT NULL,
    subject character varying(255) DEFAULT ''::character varying NOT NULL,
    active boolean DEFAULT true NOT NULL,
    requested_audience text DEFAULT ''::text,
    granted_audience text DEFAULT ''::text,
    challenge_id character varying(40),
    nid uuid NOT NULL,
    expires_at timestamp without time zone
)`,
  `CREATE TABLE hydra_oauth2_refresh (
    signature character varying(255) NOT NULL,
    request_id character varying(40) NOT NULL,
    requested_at timestamp without time zone DEFAULT now() NOT NULL,
    client_id character varying(255) NOT NULL,
    scope text NOT NULL,
    granted_scope text NOT NULL,
    form_data text NOT NULL,
    session_data text NOT NULL,
    subject character varying(255) DEFAULT ''::character varying NOT NULL,
    active boolean DEFAULT true NOT NULL,
    requested_audience text DEFAULT ''::text,
    granted_audience text DEFAULT ''::text,
    challenge_id character varying(40),
    nid uuid NOT NULL,
    expires_at timestamp without time zone,
    first_used_at timestamp without time zone,
    access_token_signature character varying(255) DEFAULT NULL::character varying,
    used_times integer
)`,
  'ALTER TABLE ONLY networks ADD CONSTRAINT networks_pkey PRIMARY KEY (id)',
  'ALTER TABLE ONLY hydra_client ADD CONSTRAINT hydra_client_pkey PRIMARY KEY (id, nid)',
  'ALTER TABLE ONLY hydra_oauth2_access ADD CONSTRAINT hydra_oauth2_access_pkey PRIMARY KEY (signature)',
  'ALTER TABLE ONLY hydra_oauth2_refresh ADD CONSTRAINT hydra_oauth2_refresh_pkey PRIMARY KEY (signature)',
  'ALTER TABLE ONLY hydra_oauth2_access ADD CONSTRAINT hydra_oauth2_access_client_id_fk FOREIGN KEY (client_id, nid) REFERENCES hydra_client(id, nid) ON DELETE CASCADE',
  'ALTER TABLE ONLY hydra_oauth2_refresh ADD CONSTRAINT hydra_oauth2_refresh_client_id_fk FOREIGN KEY (client_id, nid) REFERENCES hydra_client(id, nid) ON DELETE CASCADE',
];

/** Hydra's default PBKDF2 hasher. */
export function hydraPbkdf2(secret: string): string {
  const salt = randomBytes(16);
  const key = pbkdf2Sync(secret, salt, 25_000, 32, 'sha256');
  return `$pbkdf2-sha256$i=25000,l=32$${salt.toString('base64').replace(/=+$/, '')}$${key.toString('base64').replace(/=+$/, '')}`;
}

/** Hydra's bcrypt hasher at its default cost, as Go's x/crypto/bcrypt writes it. */
export const hydraBcrypt = (secret: string): string => bcrypt.hashSync(secret, bcrypt.genSaltSync(10).replace(/^\$2b\$/, '$2a$'));

/** A fosite HMAC token and the signature Hydra stores for it. */
export function hydraToken(prefix: 'ory_at_' | 'ory_rt_', systemSecret: Buffer): { token: string; signature: string } {
  const key = randomBytes(32);
  const signature = createHmac('sha512-256', systemSecret).update(key).digest('base64url');
  return { token: `${prefix}${key.toString('base64url')}.${signature}`, signature };
}

export interface HydraSeed {
  nid: string;
  clients: Record<'pbkdf2' | 'bcrypt' | 'public' | 'keys', { id: string; secret: string }>;
  refreshToken: string;
  accessToken: string;
}

const NS = 1_000_000_000;
const at = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

interface ClientSpec {
  id: string;
  name: string;
  secretHash: string;
  scope: string;
  redirectUris: string[];
  grantTypes: string[];
  method: string;
  audience: string[];
  ccAccessLifespan: number | null;
  acRefreshLifespan: number | null;
}

async function insertClient(db: SourceDb, nid: string, pk: number, c: ClientSpec, now: number): Promise<void> {
  await db.exec(
    `insert into hydra_client (id, nid, pk_deprecated, pk, client_name, client_secret, scope, owner, policy_uri, tos_uri, client_uri, logo_uri,
       sector_identifier_uri, jwks, jwks_uri, token_endpoint_auth_method, metadata, redirect_uris, grant_types, response_types, audience,
       allowed_cors_origins, contacts, request_uris, client_credentials_grant_access_token_lifespan, authorization_code_grant_refresh_token_lifespan,
       created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, '', '', '', '', '', '', '{}', '', ?, '{}', ?, ?, ?, ?, '[]', '[]', '[]', ?, ?, ?, ?)`,
    [
      c.id,
      nid,
      pk,
      randomUUID(),
      c.name,
      c.secretHash,
      c.scope,
      c.method,
      JSON.stringify(c.redirectUris),
      JSON.stringify(c.grantTypes),
      JSON.stringify(c.grantTypes.includes('authorization_code') ? ['code'] : ['token']),
      JSON.stringify(c.audience),
      c.ccAccessLifespan,
      c.acRefreshLifespan,
      at(now - 86_400_000),
      at(now - 3_600_000),
    ],
  );
}

async function insertToken(db: SourceDb, table: string, nid: string, clientId: string, signature: string, expiresAt: number): Promise<void> {
  await db.exec(
    `insert into ${table} (signature, request_id, requested_at, client_id, scope, granted_scope, form_data, session_data, subject, active, nid, expires_at)
     values (?, ?, ?, ?, 'offline_access invoices:read', 'offline_access invoices:read', '', '{}', 'user-1', true, ?, ?)`,
    [signature, randomUUID(), at(expiresAt - 3_600_000), clientId, nid, at(expiresAt)],
  );
}

/** Creates Hydra's tables in `db` and fills them with four clients and a live refresh and access token. */
export async function seedHydra(db: SourceDb, now: number, redirectUri: string): Promise<HydraSeed> {
  for (const statement of HYDRA_DDL) await db.exec(statement);
  const nid = randomUUID();
  await db.exec('insert into networks (id, created_at, updated_at) values (?, ?, ?)', [nid, at(now), at(now)]);
  const clients = {
    pbkdf2: { id: randomUUID(), secret: randomBytes(20).toString('base64url') },
    bcrypt: { id: 'web-portal', secret: randomBytes(20).toString('base64url') },
    public: { id: randomUUID(), secret: '' },
    keys: { id: randomUUID(), secret: '' },
  };
  const base = { redirectUris: [] as string[], audience: [] as string[], ccAccessLifespan: null, acRefreshLifespan: null };
  const specs: ClientSpec[] = [
    {
      ...base,
      id: clients.pbkdf2.id,
      name: 'Billing service',
      secretHash: hydraPbkdf2(clients.pbkdf2.secret),
      scope: 'invoices:read invoices:write',
      grantTypes: ['client_credentials'],
      method: 'client_secret_basic',
      audience: ['https://api.example.test'],
      ccAccessLifespan: 1800 * NS,
    },
    {
      ...base,
      id: clients.bcrypt.id,
      name: 'Web portal',
      secretHash: hydraBcrypt(clients.bcrypt.secret),
      scope: 'offline_access invoices:read',
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      method: 'client_secret_post',
      acRefreshLifespan: 720 * 3600 * NS,
    },
    {
      ...base,
      id: clients.public.id,
      name: 'Single-page app',
      secretHash: '',
      scope: 'invoices:read',
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code', 'refresh_token'],
      method: 'none',
    },
    {
      ...base,
      id: clients.keys.id,
      name: 'Signed assertions',
      secretHash: '',
      scope: 'invoices:read',
      grantTypes: ['client_credentials'],
      method: 'private_key_jwt',
    },
  ];
  for (const [i, spec] of specs.entries()) await insertClient(db, nid, i + 1, spec, now);
  // Hydra's secret rotation endpoint keeps the previous hashes (up to five) in rotated_secrets, still authenticating.
  await db.exec('update hydra_client set rotated_secrets = ? where id = ?', [JSON.stringify([hydraPbkdf2('an older secret')]), clients.pbkdf2.id]);
  const systemSecret = randomBytes(32);
  const refresh = hydraToken('ory_rt_', systemSecret);
  const access = hydraToken('ory_at_', systemSecret);
  await insertToken(db, 'hydra_oauth2_refresh', nid, clients.bcrypt.id, refresh.signature, now + 86_400_000);
  await insertToken(db, 'hydra_oauth2_access', nid, clients.bcrypt.id, access.signature, now + 3_600_000);
  return { nid, clients, refreshToken: refresh.token, accessToken: access.token };
}
