import type { Kysely } from 'kysely';
import type { PushedAuthorizationRequest } from '../domain/model.ts';
import type { PushedAuthorizationRequestStore } from '../domain/storage.ts';
import type { Database } from './schema.ts';

/** RFC 9126 pushed authorization requests (migration 023). */
export function pushedAuthorizationRequestStore(db: Kysely<Database>): PushedAuthorizationRequestStore {
  return {
    async insert(request) {
      await db
        .insertInto('pushed_authorization_requests')
        .values({
          id_hash: request.idHash,
          env_id: request.envId,
          client_id: request.clientId,
          params: JSON.stringify(request.params),
          created_at: request.createdAt,
          expires_at: request.expiresAt,
        })
        .execute();
    },
    async take(envId, idHash, clientId, now) {
      // One conditional delete: the request is used once (RFC 9126 §4), never check-then-mark.
      const row = await db
        .deleteFrom('pushed_authorization_requests')
        .where('id_hash', '=', idHash)
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      const request: PushedAuthorizationRequest = {
        idHash: row.id_hash,
        envId: row.env_id,
        clientId: row.client_id,
        params: JSON.parse(row.params) as Record<string, string>,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
      return request;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('pushed_authorization_requests').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
