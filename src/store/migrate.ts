import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { StorageUnavailableError } from '../domain/storage.ts';
import * as initial from './migrations/001_initial.ts';
import * as serviceAccounts from './migrations/002_service_accounts.ts';
import * as oneActiveKey from './migrations/003_one_active_key.ts';
import * as authorizationCode from './migrations/004_authorization_code.ts';
import * as clientPkceExemption from './migrations/005_client_pkce_exemption.ts';
import * as rateLimits from './migrations/006_rate_limits.ts';
import * as keyLifecycle from './migrations/007_key_lifecycle.ts';
import * as apis from './migrations/008_apis.ts';
import * as audit from './migrations/009_audit.ts';
import * as usage from './migrations/010_usage.ts';
import * as adminIdempotency from './migrations/011_admin_idempotency.ts';
import * as importMappings from './migrations/012_import.ts';
import * as importSources from './migrations/013_import_sources.ts';
import * as keyRevocation from './migrations/015_key_revocation.ts';
import * as refreshRetry from './migrations/016_refresh_retry.ts';
import * as openIdConnect from './migrations/017_openid_connect.ts';
import * as keyAlgorithms from './migrations/018_key_algorithms.ts';
import * as backchannelLogout from './migrations/019_backchannel_logout.ts';
import * as tokenBinding from './migrations/020_token_binding.ts';
import * as deviceAuthorization from './migrations/021_device_authorization.ts';
import * as dpop from './migrations/022_dpop.ts';
import * as pushedAuthorization from './migrations/023_pushed_authorization.ts';
import * as dynamicRegistration from './migrations/024_dynamic_registration.ts';
import * as clientMetadataDocuments from './migrations/025_client_metadata_documents.ts';
import * as secondFactors from './migrations/026_second_factors.ts';
import * as passkeys from './migrations/027_passkeys.ts';
import * as pageSettings from './migrations/028_page_settings.ts';
import * as accessTokenAuthentication from './migrations/029_access_token_authentication.ts';

/** Migrations are bundled in code (no directory scan), so the built CLI carries them. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001_initial': initial,
  '002_service_accounts': serviceAccounts,
  '003_one_active_key': oneActiveKey,
  '004_authorization_code': authorizationCode,
  '005_client_pkce_exemption': clientPkceExemption,
  '006_rate_limits': rateLimits,
  '007_key_lifecycle': keyLifecycle,
  '008_apis': apis,
  '009_audit': audit,
  '010_usage': usage,
  '011_admin_idempotency': adminIdempotency,
  '012_import': importMappings,
  '013_import_sources': importSources,
  '015_key_revocation': keyRevocation,
  '016_refresh_retry': refreshRetry,
  '017_openid_connect': openIdConnect,
  '018_key_algorithms': keyAlgorithms,
  '019_backchannel_logout': backchannelLogout,
  '020_token_binding': tokenBinding,
  '021_device_authorization': deviceAuthorization,
  '022_dpop': dpop,
  '023_pushed_authorization': pushedAuthorization,
  '024_dynamic_registration': dynamicRegistration,
  '025_client_metadata_documents': clientMetadataDocuments,
  '028_page_settings': pageSettings,
  '029_access_token_authentication': accessTokenAuthentication,
  '026_second_factors': secondFactors,
  '027_passkeys': passkeys,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/**
 * Applies every pending migration. Kysely takes a lock, so concurrent nodes do not race.
 * On PostgreSQL the bookkeeping tables live in `schema`, named explicitly: left unqualified,
 * Kysely would mistake a same-named table of another schema for ours.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  let { error, results } = await migrator.migrateToLatest();
  // The migrator lists the tables (and columns) of every schema to find its own; what another
  // session drops meanwhile fails the listing, not a migration: list again.
  for (let attempt = 1; attempt < 20 && isListingRace(error, results, schema); attempt++) ({ error, results } = await migrator.migrateToLatest());
  if (error instanceof StorageUnavailableError) throw error;
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Whether the migrator failed while listing tables, because something of another session vanished
 * under it, rather than in a migration (which would be named in `results` as failed):
 * - PostgreSQL's "schema … does not exist" (3F000) about a schema other than `ours`;
 * - "column … of relation … does not exist" (42703) or "relation … does not exist" (42P01),
 *   raised by the listing's per-column catalogue functions for a table another session is
 *   dropping or altering (its schema is not named, so any such listing error is retried).
 */
export function isListingRace(error: unknown, results: readonly { status: string }[] | undefined, ours: string | undefined): boolean {
  if (!(error instanceof Error) || results?.some((r) => r.status === 'Error')) return false;
  const code = (error as { code?: unknown }).code;
  if (code === '42703' || code === '42P01') return true;
  if (code !== undefined && code !== '3F000') return false;
  const named = /schema "([^"]+)" does not exist/.exec(error.message)?.[1];
  return named !== undefined && named !== ours;
}
