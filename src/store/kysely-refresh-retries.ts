import type { Kysely, Transaction } from 'kysely';
import type { RotationRetry } from '../domain/storage.ts';
import { familyStatements } from './family-statements.ts';
import type { Database } from './schema.ts';

/**
 * The retry records of refresh rotations (migration 016): at most one per family, the latest
 * rotation's, written and deleted inside the transactions that rotate and revoke the family.
 */

/** Inside the rotation's transaction: the family's earlier record gives way to this rotation's. */
export async function replaceRotationRetry(
  trx: Transaction<Database>,
  envId: string,
  familyId: string,
  presentedHash: string,
  successorHash: string,
  retry: RotationRetry,
): Promise<void> {
  const statements = familyStatements(trx);
  await trx.executeQuery(statements.deleteRetries({ env: envId, family: familyId }));
  await trx.executeQuery(
    statements.insertRetry({
      env_id: envId,
      token_hash: presentedHash,
      family_id: familyId,
      successor_hash: successorHash,
      request_hash: retry.requestHash,
      sealed_response: retry.sealedResponse,
      expires_at: retry.expiresAt,
    }),
  );
}

/** Inside the caller's transaction: the family's record, if any, is gone (a rotation without retry, a revocation). */
export async function deleteFamilyRetries(trx: Transaction<Database>, envId: string, familyId: string): Promise<void> {
  await trx.executeQuery(familyStatements(trx).deleteRetries({ env: envId, family: familyId }));
}

/** `TokenFamilyStore.findRetry`: one statement, so the record, the family and the successor are read at one instant. */
export async function findRotationRetry(
  db: Kysely<Database>,
  envId: string,
  presentedHash: string,
  requestHash: string,
  now: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('refresh_token_retries as r')
    .innerJoin('token_families as f', (join) => join.onRef('f.family_id', '=', 'r.family_id').onRef('f.env_id', '=', 'r.env_id'))
    .innerJoin('refresh_tokens as s', (join) => join.onRef('s.token_hash', '=', 'r.successor_hash').onRef('s.env_id', '=', 'r.env_id'))
    .select('r.sealed_response')
    .where('r.env_id', '=', envId)
    .where('r.token_hash', '=', presentedHash)
    .where('r.request_hash', '=', requestHash)
    .where('r.expires_at', '>', now)
    .where('f.revoked_at', 'is', null)
    .where('f.expires_at', '>', now)
    .where('s.rotated_at', 'is', null)
    .where('s.revoked_at', 'is', null)
    .executeTakeFirst();
  return row?.sealed_response;
}

/** Inside the sweeper's transaction: records past their grace period. */
export async function deleteExpiredRetries(trx: Transaction<Database>, before: number): Promise<void> {
  await trx.deleteFrom('refresh_token_retries').where('expires_at', '<', before).execute();
}
