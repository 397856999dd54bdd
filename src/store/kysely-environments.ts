import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { metadataDocumentSettingsJson, parseMetadataDocumentSettings } from '../domain/client-metadata-document-settings.ts';
import type { Environment } from '../domain/model.ts';
import { ConflictError, type EnvironmentPushedRequestSettings, type EnvironmentStore } from '../domain/storage.ts';
import { isUniqueViolation } from './kysely-errors.ts';
import { signingKeyRow } from './kysely-signing-keys.ts';
import { atomically, lockEnvironment } from './kysely-transaction.ts';
import type { Database, EnvironmentTable } from './schema.ts';

export const toEnvironment = (row: Selectable<EnvironmentTable>): Environment => ({
  id: row.id,
  name: row.name,
  createdAt: Number(row.created_at),
  defaultQuota: row.default_quota === null ? null : Number(row.default_quota),
  // Present only when not the default (migration 017).
  ...(row.subject_type === 'pairwise' ? { subjectType: 'pairwise' as const } : {}),
  ...(row.refresh_token_policy === 'offline_access' ? { refreshTokenPolicy: 'offline_access' as const } : {}),
  ...(row.pairwise_salt === null ? {} : { pairwiseSalt: row.pairwise_salt }),
  ...(Number(row.dpop_nonce_required) === 1 ? { dpopNonceRequired: true } : {}),
  // Migration 023 (RFC 9126, FAPI 2.0): present only when not the default.
  ...(Number(row.require_pushed_authorization_requests) === 1 ? { requirePushedAuthorizationRequests: true } : {}),
  ...(row.security_profile === 'fapi2' ? { securityProfile: 'fapi2' as const } : {}),
  // Migration 025: present only when set.
  ...(row.client_metadata_documents ? { clientMetadataDocuments: parseMetadataDocumentSettings(JSON.parse(row.client_metadata_documents)) } : {}),
});

/** The writes of an environment's settings, each conditional on the values read when `expected` is given. */
function environmentSettingWrites(
  db: Kysely<Database>,
): Pick<EnvironmentStore, 'setDefaultQuota' | 'setDpopNonceRequired' | 'setOidcSettings' | 'setPushedRequestSettings' | 'setClientMetadataDocuments'> {
  return {
    async setClientMetadataDocuments(name, settings) {
      const value = settings === null ? null : JSON.stringify(metadataDocumentSettingsJson(settings));
      const result = await db.updateTable('environments').set({ client_metadata_documents: value }).where('name', '=', name).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setDefaultQuota(name, quota, expectedQuota) {
      let query = db.updateTable('environments').set({ default_quota: quota }).where('name', '=', name);
      if (expectedQuota !== undefined) query = query.where('default_quota', expectedQuota === null ? 'is' : '=', expectedQuota);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setDpopNonceRequired(name, required) {
      const result = await db
        .updateTable('environments')
        .set({ dpop_nonce_required: required ? 1 : 0 })
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setOidcSettings(name, settings, expected) {
      let query = db
        .updateTable('environments')
        .set({ subject_type: settings.subjectType, refresh_token_policy: settings.refreshTokenPolicy })
        .where('name', '=', name);
      if (expected) {
        query = query.where('subject_type', '=', expected.subjectType).where('refresh_token_policy', '=', expected.refreshTokenPolicy);
      }
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setPushedRequestSettings(name, settings, expected) {
      const values = (s: EnvironmentPushedRequestSettings) => ({
        require_pushed_authorization_requests: s.requirePushedAuthorizationRequests ? 1 : 0,
        security_profile: s.securityProfile,
      });
      let query = db.updateTable('environments').set(values(settings)).where('name', '=', name);
      if (expected) {
        const was = values(expected);
        query = query
          .where('require_pushed_authorization_requests', '=', was.require_pushed_authorization_requests)
          .where('security_profile', was.security_profile === null ? 'is' : '=', was.security_profile);
      }
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export function environmentStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): EnvironmentStore {
  return {
    async create(environment, firstKey, ...otherKeys) {
      try {
        await atomically(db, async (trx) => {
          await trx
            .insertInto('environments')
            .values({
              id: environment.id,
              name: environment.name,
              created_at: environment.createdAt,
              default_quota: environment.defaultQuota,
              subject_type: environment.subjectType ?? 'public',
              refresh_token_policy: environment.refreshTokenPolicy ?? 'client',
              pairwise_salt: environment.pairwiseSalt ?? randomBytes(32).toString('base64url'),
              dpop_nonce_required: environment.dpopNonceRequired ? 1 : 0,
              require_pushed_authorization_requests: environment.requirePushedAuthorizationRequests ? 1 : 0,
              security_profile: environment.securityProfile ?? null,
              client_metadata_documents: environment.clientMetadataDocuments
                ? JSON.stringify(metadataDocumentSettingsJson(environment.clientMetadataDocuments))
                : null,
            })
            .execute();
          await trx
            .insertInto('signing_keys')
            .values([firstKey, ...otherKeys].map(signingKeyRow))
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error, dialect)) throw new ConflictError(`environment ${environment.name} already exists`);
        throw error;
      }
    },
    async findByName(name) {
      const row = await db.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toEnvironment(row);
    },
    async list() {
      const rows = await db.selectFrom('environments').selectAll().orderBy('name').execute();
      return rows.map(toEnvironment);
    },
    lock: (envId) => lockEnvironment(db, envId, dialect),
    ...environmentSettingWrites(db),
  };
}
