import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Api, ApiScope } from '../domain/model.ts';
import { type ApiStore, ConflictError } from '../domain/storage.ts';
import { atomically } from './kysely-transaction.ts';
import type { ApiTable, Database } from './schema.ts';

export const toApi = (row: Selectable<ApiTable>): Api => ({
  envId: row.env_id,
  identifier: row.identifier,
  name: row.name,
  scopes: JSON.parse(row.scopes) as ApiScope[],
  tokenFormat: row.token_format,
  accessTokenTtl: row.access_token_ttl === null ? null : Number(row.access_token_ttl),
  clientIds: JSON.parse(row.client_ids) as string[],
  isDefault: Number(row.is_default) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

function apiRow(api: Api): ApiTable {
  return {
    env_id: api.envId,
    identifier: api.identifier,
    name: api.name,
    scopes: JSON.stringify(api.scopes),
    token_format: api.tokenFormat,
    access_token_ttl: api.accessTokenTtl,
    client_ids: JSON.stringify(api.clientIds),
    is_default: api.isDefault ? 1 : 0,
    created_at: api.createdAt,
    updated_at: api.updatedAt,
  };
}

/** A new default API takes the place of the environment's previous one. */
async function clearDefault(trx: Transaction<Database>, api: Api): Promise<void> {
  if (!api.isDefault) return;
  await trx.updateTable('apis').set({ is_default: 0 }).where('env_id', '=', api.envId).where('identifier', '!=', api.identifier).execute();
}

export function apiStore(db: Kysely<Database>, isUniqueViolation: (error: unknown) => boolean): ApiStore {
  return {
    async create(api) {
      try {
        await atomically(db, async (trx) => {
          await trx.insertInto('apis').values(apiRow(api)).execute();
          await clearDefault(trx, api);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`API ${api.identifier} already exists`);
        throw error;
      }
    },
    async find(envId, identifier) {
      const row = await db.selectFrom('apis').selectAll().where('env_id', '=', envId).where('identifier', '=', identifier).executeTakeFirst();
      return row && toApi(row);
    },
    async findDefault(envId) {
      const row = await db.selectFrom('apis').selectAll().where('env_id', '=', envId).where('is_default', '=', 1).executeTakeFirst();
      return row && toApi(row);
    },
    async list(envId) {
      const rows = await db.selectFrom('apis').selectAll().where('env_id', '=', envId).orderBy('identifier').execute();
      return rows.map(toApi);
    },
    update: (api, expectedUpdatedAt) =>
      atomically(db, async (trx) => {
        const { env_id, identifier, created_at, ...changes } = apiRow(api);
        let query = trx.updateTable('apis').set(changes).where('env_id', '=', env_id).where('identifier', '=', identifier);
        if (expectedUpdatedAt !== undefined) query = query.where('updated_at', '=', expectedUpdatedAt);
        const result = await query.executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await clearDefault(trx, api);
        return true;
      }),
    async delete(envId, identifier) {
      const result = await db.deleteFrom('apis').where('env_id', '=', envId).where('identifier', '=', identifier).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
