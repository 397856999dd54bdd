import type { Kysely, Selectable } from 'kysely';
import {
  type ClientRegistration,
  DEFAULT_SOURCE_LIMIT_PER_HOUR,
  type InitialAccessToken,
  type RegistrationMode,
  type RegistrationPolicy,
  type RegistrationStore,
  type TrustedStatementIssuer,
} from '../domain/registration.ts';
import type { Database, InitialAccessTokenTable, RegistrationPolicyTable } from './schema.ts';

/** The policy fields kept in the `settings` JSON column. */
type PolicySettings = Omit<RegistrationPolicy, 'envId' | 'mode' | 'updatedAt'>;

const toPolicy = (row: Selectable<RegistrationPolicyTable>): RegistrationPolicy => {
  const settings = JSON.parse(row.settings) as PolicySettings;
  return {
    envId: row.env_id,
    mode: row.mode as RegistrationMode,
    allowedScopes: settings.allowedScopes ?? [],
    allowedApis: settings.allowedApis ?? [],
    allowedGrantTypes: settings.allowedGrantTypes ?? [],
    allowedAuthMethods: settings.allowedAuthMethods ?? [],
    maxAccessTokenTtl: settings.maxAccessTokenTtl ?? null,
    unusedClientDays: settings.unusedClientDays ?? null,
    softwareStatementIssuers: (settings.softwareStatementIssuers ?? []) as TrustedStatementIssuer[],
    requireSoftwareStatement: settings.requireSoftwareStatement === true,
    sourceLimitPerHour: settings.sourceLimitPerHour ?? DEFAULT_SOURCE_LIMIT_PER_HOUR,
    updatedAt: Number(row.updated_at),
  };
};

const toToken = (row: Selectable<InitialAccessTokenTable>): InitialAccessToken => ({
  id: row.id,
  envId: row.env_id,
  tokenHash: row.token_hash,
  description: row.description,
  usesLeft: Number(row.uses_left),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
});

/** RFC 7591 / 7592 records (migration 024). */
export function registrationStore(db: Kysely<Database>): RegistrationStore {
  return {
    async findPolicy(envId) {
      const row = await db.selectFrom('registration_policies').selectAll().where('env_id', '=', envId).executeTakeFirst();
      return row && toPolicy(row);
    },
    async savePolicy(policy) {
      const { envId, mode, updatedAt, ...settings } = policy;
      const values = { mode, settings: JSON.stringify(settings), updated_at: updatedAt };
      await db
        .insertInto('registration_policies')
        .values({ env_id: envId, ...values })
        .onConflict((oc) => oc.column('env_id').doUpdateSet(values))
        .execute();
    },
    async listPolicies() {
      const rows = await db.selectFrom('registration_policies').selectAll().orderBy('env_id').execute();
      return rows.map(toPolicy);
    },
    async insertRegistration(r) {
      await db
        .insertInto('client_registrations')
        .values({
          env_id: r.envId,
          client_id: r.clientId,
          access_token_hash: r.accessTokenHash,
          metadata: JSON.stringify(r.metadata),
          created_at: r.createdAt,
          updated_at: r.updatedAt,
        })
        .execute();
    },
    async findRegistration(envId, clientId) {
      const row = await db.selectFrom('client_registrations').selectAll().where('env_id', '=', envId).where('client_id', '=', clientId).executeTakeFirst();
      if (!row) return undefined;
      const registration: ClientRegistration = {
        envId: row.env_id,
        clientId: row.client_id,
        accessTokenHash: row.access_token_hash,
        metadata: JSON.parse(row.metadata) as Record<string, unknown>,
        createdAt: Number(row.created_at),
        updatedAt: Number(row.updated_at),
      };
      return registration;
    },
    async updateRegistration(r) {
      const result = await db
        .updateTable('client_registrations')
        .set({ access_token_hash: r.accessTokenHash, metadata: JSON.stringify(r.metadata), updated_at: r.updatedAt })
        .where('env_id', '=', r.envId)
        .where('client_id', '=', r.clientId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    ...initialAccessTokenRows(db),
  };
}

/** RFC 7591 §3 initial access tokens, by hash. */
function initialAccessTokenRows(
  db: Kysely<Database>,
): Pick<RegistrationStore, 'insertInitialAccessToken' | 'listInitialAccessTokens' | 'deleteInitialAccessToken' | 'consumeInitialAccessToken'> {
  return {
    async insertInitialAccessToken(t) {
      await db
        .insertInto('initial_access_tokens')
        .values({
          id: t.id,
          env_id: t.envId,
          token_hash: t.tokenHash,
          description: t.description,
          uses_left: t.usesLeft,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
        })
        .execute();
    },
    async listInitialAccessTokens(envId) {
      const rows = await db.selectFrom('initial_access_tokens').selectAll().where('env_id', '=', envId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toToken);
    },
    async deleteInitialAccessToken(envId, id) {
      const result = await db.deleteFrom('initial_access_tokens').where('env_id', '=', envId).where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async consumeInitialAccessToken(envId, tokenHash, now) {
      // One conditional UPDATE: a use is spent only while one is left, never check-then-decrement.
      const row = await db
        .updateTable('initial_access_tokens')
        .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
        .where('env_id', '=', envId)
        .where('token_hash', '=', tokenHash)
        .where('expires_at', '>', now)
        .where('uses_left', '>', 0)
        .returning('id')
        .executeTakeFirst();
      return row?.id;
    },
  };
}
