import type { Kysely } from 'kysely';
import type { Branding, EnvironmentPageSettings, LogoContentType, PageSettingsStore } from '../domain/page-settings.ts';
import type { Database } from './schema.ts';

/** The look and words of each environment's pages (migration 028), one row per environment. */
export function pageSettingsStore(db: Kysely<Database>): PageSettingsStore {
  return {
    async get(envId) {
      const row = await db
        .selectFrom('environment_pages')
        .select(['branding', 'default_language', 'texts', 'logo_type', 'logo_sha256', 'updated_at'])
        .where('env_id', '=', envId)
        .executeTakeFirst();
      if (!row) return undefined;
      const settings: EnvironmentPageSettings = {
        branding: JSON.parse(row.branding) as Branding,
        texts: JSON.parse(row.texts) as EnvironmentPageSettings['texts'],
        ...(row.default_language === null ? {} : { defaultLanguage: row.default_language }),
        ...(row.logo_type === null || row.logo_sha256 === null ? {} : { logo: { contentType: row.logo_type as LogoContentType, sha256: row.logo_sha256 } }),
        updatedAt: Number(row.updated_at),
      };
      return settings;
    },
    async put(envId, settings) {
      const values = {
        branding: JSON.stringify(settings.branding),
        default_language: settings.defaultLanguage ?? null,
        texts: JSON.stringify(settings.texts),
        updated_at: settings.updatedAt,
      };
      await db
        .insertInto('environment_pages')
        .values({ env_id: envId, ...values })
        .onConflict((oc) => oc.column('env_id').doUpdateSet(values))
        .execute();
    },
    async putLogo(envId, logo, now) {
      const values = {
        logo: logo === undefined ? null : Buffer.from(logo.bytes).toString('base64'),
        logo_type: logo?.contentType ?? null,
        logo_sha256: logo?.sha256 ?? null,
        updated_at: now,
      };
      await db
        .insertInto('environment_pages')
        .values({ env_id: envId, branding: '{}', texts: '{}', ...values })
        .onConflict((oc) => oc.column('env_id').doUpdateSet(values))
        .execute();
    },
    async getLogo(envId) {
      const row = await db.selectFrom('environment_pages').select(['logo', 'logo_type', 'logo_sha256']).where('env_id', '=', envId).executeTakeFirst();
      if (!row || row.logo === null || row.logo_type === null || row.logo_sha256 === null) return undefined;
      return { bytes: new Uint8Array(Buffer.from(row.logo, 'base64')), contentType: row.logo_type as LogoContentType, sha256: row.logo_sha256 };
    },
  };
}
