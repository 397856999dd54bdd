import type { Kysely, Selectable } from 'kysely';
import type { Client, ClientSecret, IdTokenAlgorithm, SubjectType } from '../domain/model.ts';
import { type ClientStore, ConflictError, type TokenFamilyStore } from '../domain/storage.ts';
import { compiledOnce, placeholder } from './compiled-once.ts';
import { deleteClientRows, expireClientSecret, updateClientRow } from './kysely-admin.ts';
import { isUniqueViolation } from './kysely-errors.ts';
import { atomically } from './kysely-transaction.ts';
import type { ClientTable, Database } from './schema.ts';

export const toClient = (row: Selectable<ClientTable>): Client => ({
  envId: row.env_id,
  clientId: row.client_id,
  name: row.name,
  kind: row.kind,
  grantTypes: JSON.parse(row.grant_types) as string[],
  scopes: JSON.parse(row.scopes) as string[],
  defaultScopes: JSON.parse(row.default_scopes) as string[],
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  tokenFormat: row.token_format,
  accessTokenTtl: row.access_token_ttl === null ? null : Number(row.access_token_ttl),
  introspectAny: Number(row.introspect_any) === 1,
  allowMissingPkce: Number(row.allow_missing_pkce) === 1,
  quota: row.quota === null ? null : Number(row.quota),
  enabled: Number(row.enabled) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  // OpenID Connect metadata (migration 017): a field is present only when it differs from its default.
  ...(row.post_logout_redirect_uris === null ? {} : { postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[] }),
  ...(row.backchannel_logout_uri === null ? {} : { backchannelLogoutUri: row.backchannel_logout_uri }),
  ...(Number(row.backchannel_logout_session_required) === 1 ? { backchannelLogoutSessionRequired: true } : {}),
  ...(Number(row.logout_revokes_tokens) === 1 ? { logoutRevokesTokens: true } : {}),
  ...(row.id_token_signed_response_alg === null ? {} : { idTokenSignedResponseAlg: row.id_token_signed_response_alg as IdTokenAlgorithm }),
  ...(row.subject_type === null ? {} : { subjectType: row.subject_type as SubjectType }),
  ...(row.sector_identifier_uri === null ? {} : { sectorIdentifierUri: row.sector_identifier_uri }),
  // RFC 9449 (migration 022).
  ...(Number(row.dpop_bound_access_tokens) === 1 ? { dpopBoundAccessTokens: true } : {}),
  ...(Number(row.require_pushed_authorization_requests) === 1 ? { requirePushedAuthorizationRequests: true } : {}),
  // RFC 7591 (migration 024).
  ...(row.registration === 'dynamic' ? { registration: 'dynamic' as const } : {}),
});

export function clientStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', families: TokenFamilyStore): ClientStore {
  // Compiled once: every assertion (jwt-bearer, private_key_jwt) reads its key's owner.
  const findClient = compiledOnce<'env' | 'client'>(
    db.selectFrom('clients').selectAll().where('env_id', '=', placeholder('env')).where('client_id', '=', placeholder('client')),
  );
  return {
    create: (client, secret) => createClient(db, dialect, client, secret),
    async find(envId, clientId) {
      const [row] = (await db.executeQuery<Selectable<ClientTable>>(findClient({ env: envId, client: clientId }))).rows;
      return row && toClient(row);
    },
    async list(envId) {
      const rows = await db.selectFrom('clients').selectAll().where('env_id', '=', envId).orderBy('created_at').orderBy('client_id').execute();
      return rows.map(toClient);
    },
    async activeSecrets(envId, clientId, now) {
      const rows = await db
        .selectFrom('client_secrets')
        .selectAll()
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(
        (row): ClientSecret => ({
          id: row.id,
          secretHash: row.secret_hash,
          createdAt: Number(row.created_at),
          expiresAt: row.expires_at === null ? null : Number(row.expires_at),
        }),
      );
    },
    rotateSecret: (envId, clientId, secret, overlapUntil) => rotateClientSecret(db, envId, clientId, secret, overlapUntil),
    setEnabled: (envId, clientId, enabled, now) => updateClient(db, envId, clientId, { enabled: enabled ? 1 : 0, updated_at: now }),
    setQuota: (envId, clientId, quota, now) => updateClient(db, envId, clientId, { quota, updated_at: now }),
    update: (client, expectedUpdatedAt) => updateClientRow(db, clientRow(client), expectedUpdatedAt),
    expireSecret: (envId, clientId, secretId, now) => expireClientSecret(db, envId, clientId, secretId, now),
    delete: (envId, clientId, now) => deleteClientRows(db, families, envId, clientId, now),
    async replaceSecretHash(envId, clientId, secretId, legacyHash, hash) {
      const result = await db
        .updateTable('client_secrets')
        .set({ secret_hash: hash })
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('id', '=', secretId)
        .where('secret_hash', '=', legacyHash)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

/** The row of a client, as `toClient` reads it back. */
export function clientRow(client: Client): ClientTable {
  return {
    env_id: client.envId,
    client_id: client.clientId,
    name: client.name,
    kind: client.kind,
    grant_types: JSON.stringify(client.grantTypes),
    scopes: JSON.stringify(client.scopes),
    default_scopes: JSON.stringify(client.defaultScopes),
    redirect_uris: JSON.stringify(client.redirectUris),
    token_format: client.tokenFormat,
    access_token_ttl: client.accessTokenTtl,
    introspect_any: client.introspectAny ? 1 : 0,
    allow_missing_pkce: client.allowMissingPkce ? 1 : 0,
    quota: client.quota,
    enabled: client.enabled ? 1 : 0,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
    post_logout_redirect_uris: client.postLogoutRedirectUris?.length ? JSON.stringify(client.postLogoutRedirectUris) : null,
    backchannel_logout_uri: client.backchannelLogoutUri ?? null,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired ? 1 : 0,
    logout_revokes_tokens: client.logoutRevokesTokens ? 1 : 0,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg ?? null,
    subject_type: client.subjectType ?? null,
    sector_identifier_uri: client.sectorIdentifierUri ?? null,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens ? 1 : 0,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests ? 1 : 0,
    registration: client.registration ?? 'admin',
  };
}

/** The row of one secret of the client `clientId`. */
export function clientSecretRow(envId: string, clientId: string, secret: ClientSecret) {
  return {
    id: secret.id,
    env_id: envId,
    client_id: clientId,
    secret_hash: secret.secretHash,
    created_at: secret.createdAt,
    expires_at: secret.expiresAt,
  };
}

/** `ClientStore.create`: the client and its first secret in one transaction; a duplicate id is a `ConflictError`. */
async function createClient(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', client: Client, secret: ClientSecret | undefined): Promise<void> {
  try {
    await atomically(db, async (trx) => {
      await trx.insertInto('clients').values(clientRow(client)).execute();
      if (secret) {
        await trx
          .insertInto('client_secrets')
          .values(clientSecretRow(client.envId, client.clientId, secret))
          .execute();
      }
    });
  } catch (error) {
    if (isUniqueViolation(error, dialect)) throw new ConflictError(`client ${client.clientId} already exists`);
    throw error;
  }
}

/** `ClientStore.rotateSecret`: current secrets expire at `overlapUntil` at the latest and `secret` is added, in one transaction. */
async function rotateClientSecret(db: Kysely<Database>, envId: string, clientId: string, secret: ClientSecret, overlapUntil: number): Promise<boolean> {
  return atomically(db, async (trx) => {
    const updated = await trx
      .updateTable('clients')
      .set({ updated_at: secret.createdAt })
      .where('env_id', '=', envId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await trx
      .updateTable('client_secrets')
      .set({ expires_at: overlapUntil })
      .where('env_id', '=', envId)
      .where('client_id', '=', clientId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', overlapUntil)]))
      .execute();
    await trx
      .insertInto('client_secrets')
      .values(clientSecretRow(envId, clientId, secret))
      .execute();
    return true;
  });
}

/** Sets some columns of one client; false if the client does not exist. */
async function updateClient(db: Kysely<Database>, envId: string, clientId: string, changes: Partial<ClientTable>): Promise<boolean> {
  const result = await db.updateTable('clients').set(changes).where('env_id', '=', envId).where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
