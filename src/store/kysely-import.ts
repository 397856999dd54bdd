import type { Kysely, Transaction } from 'kysely';
import type { Client, ClientSecret, OpaqueAccessToken, User } from '../domain/model.ts';
import {
  IMPORTED_SECRET_PREFIX,
  type ImportMapping,
  type ImportStore,
  type ImportWrite,
  LEGACY_IMPORT_SOURCE,
  type SourcedImportMapping,
} from '../domain/storage.ts';
import { familyRow, opaqueAccessTokenRow, refreshTokenRow, words } from './kysely-authorization.ts';
import { revokeFamilyIn } from './kysely-token-families.ts';
import { profileColumns } from './kysely-users.ts';
import type { ClientSecretTable, ClientTable, Database } from './schema.ts';

/** How the client store writes its rows, handed in so both write clients the same way. */
export interface ClientRows {
  clientRow(client: Client): ClientTable;
  clientSecretRow(envId: string, clientId: string, secret: ClientSecret): ClientSecretTable;
}

/** `ImportStore` over Kysely: each batch of writes is one transaction, mappings included, so a crash loses at most the batch. */
export function importStore(db: Kysely<Database>, rows: ClientRows): ImportStore {
  return {
    async findMappings(envId, kind, sourceKeys) {
      const found: SourcedImportMapping[] = [];
      // Chunked: SQLite allows a bounded number of bound parameters per statement.
      for (let start = 0; start < sourceKeys.length; start += 500) {
        const rows = await db
          .selectFrom('import_mappings')
          .selectAll()
          .where('env_id', '=', envId)
          .where('kind', '=', kind)
          .where('source_key', 'in', sourceKeys.slice(start, start + 500))
          .execute();
        for (const row of rows)
          found.push({
            kind: row.kind,
            sourceId: row.source_id,
            sourceKey: row.source_key,
            targetId: row.target_id,
            sourceVersion: row.source_version,
          });
      }
      return found;
    },
    async findSourceOf(envId, kind, targetId) {
      const row = await db
        .selectFrom('import_mappings')
        .select('source_id')
        .where('env_id', '=', envId)
        .where('kind', '=', kind)
        .where('target_id', '=', targetId)
        .orderBy('imported_at')
        .executeTakeFirst();
      return row?.source_id;
    },
    async apply(envId, sourceId, writes, now) {
      if (writes.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (const write of writes) {
          if (write.kind === 'adopt') {
            await adoptMapping(trx, envId, sourceId, write.mapping, now);
            continue;
          }
          await applyWrite(trx, envId, write, now, rows);
          await recordMapping(trx, envId, sourceId, write.mapping, now);
        }
      });
    },
  };
}

async function applyWrite(trx: Transaction<Database>, envId: string, write: ImportWrite, now: number, rows: ClientRows): Promise<void> {
  switch (write.kind) {
    case 'client':
      return writeClient(trx, rows, write.client, write.secret, write.update);
    case 'user':
      return writeUser(trx, write.user, write.update);
    case 'refresh_token': {
      const { family, refreshToken } = write;
      await trx.insertInto('token_families').values(familyRow(envId, family)).execute();
      await trx
        .insertInto('refresh_tokens')
        .values(refreshTokenRow(envId, family.familyId, refreshToken))
        .execute();
      if (write.accessToken) await insertAccessToken(trx, write.accessToken, family.familyId);
      return grantConsent(trx, envId, family.userId, family.clientId, family.scope, now);
    }
    case 'access_token':
      return insertAccessToken(trx, write.token, null);
    case 'revoke':
      return revokeImported(trx, envId, write.mapping, now);
    case 'adopt':
      return;
  }
}

async function writeClient(
  trx: Transaction<Database>,
  { clientRow, clientSecretRow }: ClientRows,
  client: Client,
  secret: ClientSecret | undefined,
  update: boolean,
): Promise<void> {
  if (!update) await trx.insertInto('clients').values(clientRow(client)).execute();
  else {
    const { env_id, client_id, created_at, quota, enabled, introspect_any, ...changed } = clientRow(client);
    await trx.updateTable('clients').set(changed).where('env_id', '=', env_id).where('client_id', '=', client_id).execute();
    const same =
      secret &&
      (await trx
        .selectFrom('client_secrets')
        .select('id')
        .where('env_id', '=', env_id)
        .where('client_id', '=', client_id)
        .where('id', '=', secret.id)
        .executeTakeFirst());
    // The same source secret is kept as it is (perhaps re-hashed since); a changed one replaces the imported one only.
    if (same) return;
    await trx
      .deleteFrom('client_secrets')
      .where('env_id', '=', env_id)
      .where('client_id', '=', client_id)
      .where('id', 'like', `${IMPORTED_SECRET_PREFIX}%`)
      .execute();
  }
  if (secret)
    await trx
      .insertInto('client_secrets')
      .values(clientSecretRow(client.envId, client.clientId, secret))
      .execute();
}

async function writeUser(trx: Transaction<Database>, user: User, update: boolean): Promise<void> {
  if (update) {
    await trx
      .updateTable('users')
      .set({
        username: user.username,
        password_hash: user.passwordHash,
        enabled: user.enabled ? 1 : 0,
        updated_at: user.updatedAt,
        // A source that carries profile attributes replaces them; one that carries none leaves them.
        ...(user.profile ? profileColumns(user.profile) : {}),
      })
      .where('env_id', '=', user.envId)
      .where('user_id', '=', user.userId)
      .execute();
    return;
  }
  await trx
    .insertInto('users')
    .values({
      env_id: user.envId,
      user_id: user.userId,
      username: user.username,
      password_hash: user.passwordHash,
      enabled: user.enabled ? 1 : 0,
      created_at: user.createdAt,
      updated_at: user.updatedAt,
      ...profileColumns(user.profile),
    })
    .execute();
}

async function insertAccessToken(trx: Transaction<Database>, token: OpaqueAccessToken, familyId: string | null): Promise<void> {
  await trx.insertInto('access_tokens').values(opaqueAccessTokenRow(token, familyId)).execute();
}

/** The union of what the user granted the client before and `scope`, as `ConsentStore.grant` keeps it. */
async function grantConsent(trx: Transaction<Database>, envId: string, userId: string, clientId: string, scope: string[], now: number): Promise<void> {
  const row = await trx
    .selectFrom('consents')
    .select('scope')
    .where('env_id', '=', envId)
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  const union = [...new Set([...words(row?.scope ?? ''), ...scope])].sort().join(' ');
  if (row) {
    await trx
      .updateTable('consents')
      .set({ scope: union })
      .where('env_id', '=', envId)
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .execute();
    return;
  }
  await trx.insertInto('consents').values({ env_id: envId, user_id: userId, client_id: clientId, scope: union, granted_at: now }).execute();
}

async function revokeImported(trx: Transaction<Database>, envId: string, mapping: ImportMapping, now: number): Promise<void> {
  if (mapping.kind === 'access_token') {
    await trx
      .updateTable('access_tokens')
      .set({ revoked_at: now })
      .where('env_id', '=', envId)
      .where('token_hash', '=', mapping.targetId)
      .where('revoked_at', 'is', null)
      .execute();
    return;
  }
  await revokeFamilyIn(trx, envId, mapping.targetId, now);
}

async function recordMapping(trx: Transaction<Database>, envId: string, sourceId: string, mapping: ImportMapping, now: number): Promise<void> {
  await trx
    .insertInto('import_mappings')
    .values({
      env_id: envId,
      source_id: sourceId,
      kind: mapping.kind,
      source_key: mapping.sourceKey,
      target_id: mapping.targetId,
      source_version: mapping.sourceVersion,
      imported_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['env_id', 'source_id', 'kind', 'source_key']).doUpdateSet({ source_version: mapping.sourceVersion, updated_at: now }))
    .execute();
}

/** Moves a mapping written before sources were recorded to `sourceId`; a no-op once another run took it. */
async function adoptMapping(trx: Transaction<Database>, envId: string, sourceId: string, mapping: ImportMapping, now: number): Promise<void> {
  await trx
    .updateTable('import_mappings')
    .set({ source_id: sourceId, updated_at: now })
    .where('env_id', '=', envId)
    .where('source_id', '=', LEGACY_IMPORT_SOURCE)
    .where('kind', '=', mapping.kind)
    .where('source_key', '=', mapping.sourceKey)
    .where('target_id', '=', mapping.targetId)
    .execute();
}
