import type { Kysely } from 'kysely';
import type { LegacyCredentialStore } from '../domain/storage.ts';
import type { Database } from './schema.ts';

/**
 * Legacy hashes by keyset paging on the primary key within the environment. Gatehouse's own
 * hashes are base64url SHA-256 (client secrets, never starting with `$`) and `$scrypt$`
 * (passwords); everything else that starts with `$` is an imported provider's.
 */
export function legacyCredentialStore(db: Kysely<Database>): LegacyCredentialStore {
  return {
    async page(envId, kind, now, after, limit) {
      if (kind === 'client_secret') {
        let query = db
          .selectFrom('client_secrets')
          .select(['id', 'secret_hash as hash'])
          .where('env_id', '=', envId)
          .where('secret_hash', 'like', '$%')
          .where('secret_hash', 'not like', '$scrypt$%')
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
        if (after !== undefined) query = query.where('id', '>', after);
        return query.orderBy('id').limit(limit).execute();
      }
      let query = db
        .selectFrom('users')
        .select(['user_id as id', 'password_hash as hash'])
        .where('env_id', '=', envId)
        .where('password_hash', 'like', '$%')
        .where('password_hash', 'not like', '$scrypt$%');
      if (after !== undefined) query = query.where('user_id', '>', after);
      return query.orderBy('user_id').limit(limit).execute();
    },
  };
}
