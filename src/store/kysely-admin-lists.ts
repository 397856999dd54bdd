import { type Expression, type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import type { Client, Environment } from '../domain/model.ts';
import type { AdminListStore, CreationKey, PageQuery, StoredPage } from '../domain/storage.ts';
import { toApi } from './kysely-apis.ts';
import { toClientKey } from './kysely-assertions.ts';
import { toSigningKey } from './kysely-signing-keys.ts';
import { toUser } from './kysely-users.ts';
import type { ClientTable, Database, EnvironmentTable } from './schema.ts';

/** The row readers of the store's own file, passed in so that the two files do not import each other. */
export interface RowReaders {
  toClient(row: Selectable<ClientTable>): Client;
  toEnvironment(row: Selectable<EnvironmentTable>): Environment;
}

/**
 * `AdminListStore`: each page is one query that starts after the last key seen and reads one row
 * more than it returns, to tell whether another page follows. The keys are unique (primary keys
 * or unique constraints, whose indexes serve the order), so no item is seen twice or skipped.
 */
export function adminListStore(db: Kysely<Database>, rows: RowReaders): AdminListStore {
  return { ...namedLists(db, rows), ...credentialLists(db) };
}

/** Lists keyed by a name or id. */
function namedLists(db: Kysely<Database>, { toClient, toEnvironment }: RowReaders): Pick<AdminListStore, 'environments' | 'clients' | 'users' | 'apis'> {
  return {
    async environments(page) {
      const rows = await db
        .selectFrom('environments')
        .selectAll()
        .where(filtered(page, 'name', ['name']))
        .orderBy('name')
        .limit(page.limit + 1)
        .execute();
      return pageOf(rows.map(toEnvironment), page.limit);
    },
    async clients(envId, kind, page) {
      const rows = await db
        .selectFrom('clients')
        .selectAll()
        .where('env_id', '=', envId)
        .where('kind', kind === 'service_account' ? '=' : '!=', 'service_account')
        .where(filtered(page, 'client_id', ['name', 'client_id'], 'enabled'))
        .orderBy('client_id')
        .limit(page.limit + 1)
        .execute();
      return pageOf(rows.map(toClient), page.limit);
    },
    async users(envId, page) {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where('env_id', '=', envId)
        .where(filtered(page, 'username', ['username'], 'enabled'))
        .orderBy('username')
        .limit(page.limit + 1)
        .execute();
      return pageOf(rows.map(toUser), page.limit);
    },
    async apis(envId, page) {
      const rows = await db
        .selectFrom('apis')
        .selectAll()
        .where('env_id', '=', envId)
        .where(filtered(page, 'identifier', ['name', 'identifier']))
        .orderBy('identifier')
        .limit(page.limit + 1)
        .execute();
      return pageOf(rows.map(toApi), page.limit);
    },
  };
}

/** Secrets by id; client and signing keys by creation. */
function credentialLists(db: Kysely<Database>): Pick<AdminListStore, 'clientSecrets' | 'clientKeys' | 'signingKeys'> {
  return {
    async clientSecrets(envId, clientId, now, page) {
      const rows = await db
        .selectFrom('client_secrets')
        .selectAll()
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .where(filtered(page, 'id', []))
        .orderBy('id')
        .limit(page.limit + 1)
        .execute();
      const secrets = rows.map((row) => ({
        id: row.id,
        secretHash: row.secret_hash,
        createdAt: Number(row.created_at),
        expiresAt: row.expires_at === null ? null : Number(row.expires_at),
      }));
      return pageOf(secrets, page.limit);
    },
    async clientKeys(envId, clientId, page) {
      const rows = await db
        .selectFrom('client_keys')
        .selectAll()
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where(afterCreation(page.after, 'kid'))
        .orderBy('created_at')
        .orderBy('kid')
        .limit(page.limit + 1)
        .execute();
      return pageOf(rows.map(toClientKey), page.limit);
    },
    async signingKeys(envId, page) {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where('env_id', '=', envId)
        .where(afterCreation(page.after, 'kid'))
        .orderBy('created_at')
        .orderBy('kid')
        .limit(page.limit + 1)
        .execute();
      return pageOf(rows.map(toSigningKey), page.limit);
    },
  };
}

function pageOf<T>(rows: T[], limit: number): StoredPage<T> {
  return { items: rows.slice(0, limit), more: rows.length > limit };
}

/** `key > after`, `q` on the name columns and `enabled`, as one condition (always true when none applies). */
function filtered(page: PageQuery<string>, key: string, names: readonly string[], enabledColumn?: string): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  if (page.after !== undefined) parts.push(sql<SqlBool>`${sql.ref(key)} > ${page.after}`);
  if (page.q !== undefined && page.q !== '' && names.length > 0) {
    const pattern = `%${page.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const matches = names.map((name) => sql<SqlBool>`lower(${sql.ref(name)}) like ${pattern} escape '\\'`);
    parts.push(sql<SqlBool>`(${sql.join(matches, sql` or `)})`);
  }
  if (page.enabled !== undefined && enabledColumn) parts.push(sql<SqlBool>`${sql.ref(enabledColumn)} = ${page.enabled ? 1 : 0}`);
  return parts.length === 0 ? sql<SqlBool>`1 = 1` : sql<SqlBool>`${sql.join(parts, sql` and `)}`;
}

/** After a (creation time, id) key: later, or as late with a greater id. */
function afterCreation(after: CreationKey | undefined, id: string): Expression<SqlBool> {
  if (after === undefined) return sql<SqlBool>`1 = 1`;
  return sql<SqlBool>`(created_at > ${after.createdAt} or (created_at = ${after.createdAt} and ${sql.ref(id)} > ${after.id}))`;
}
