import { randomToken } from '../../crypto/secrets.ts';
import type { BrowserSession, Client, Environment, TokenFamily } from '../../domain/model.ts';
import type { BackchannelLogout, TransactionStore } from '../../domain/storage.ts';
import { subjectFor } from './subject.ts';

/** What ending browser sessions set in motion. */
export interface SessionsEnded {
  /** Back-channel logouts queued: one per client with a `backchannel_logout_uri` that obtained tokens in a session. */
  notified: number;
  /** Token families revoked because their client asks for it (`logoutRevokesTokens`). */
  revoked: number;
}

/** The stores the consequences of a logout are written through, inside the transaction that ended the sessions. */
export type LogoutWrites = Pick<TransactionStore, 'clients' | 'tokenFamilies' | 'backchannelLogouts'>;

/**
 * What follows the end of browser sessions that were already deleted, written through `tx` so it
 * commits with the deletion: for each client that obtained tokens in one of the sessions (token
 * families with the session's `sid`), a logout token queued for its `backchannel_logout_uri`
 * (Back-Channel Logout §2.5, delivered later by `BackchannelLogoutDeliverer`), and, when the
 * client asks for it, the revocation of those families. Sessions without a `sid` or a user
 * reached no client and have no consequence.
 */
export async function afterSessionsEnded(tx: LogoutWrites, env: Environment, sessions: readonly BrowserSession[], now: number): Promise<SessionsEnded> {
  const result: SessionsEnded = { notified: 0, revoked: 0 };
  const clients = new Map<string, Client | undefined>();
  const logouts: BackchannelLogout[] = [];
  for (const session of sessions) {
    if (session.sid === undefined || session.userId === null) continue;
    for (const [clientId, families] of byClient(await tx.tokenFamilies.listBySid(env.id, session.sid))) {
      if (!clients.has(clientId)) clients.set(clientId, await tx.clients.find(env.id, clientId));
      const client = clients.get(clientId);
      if (!client) continue;
      if (client.backchannelLogoutUri) {
        logouts.push({
          id: randomToken(16),
          envId: env.id,
          clientId,
          subject: subjectFor(env, client, session.userId),
          sid: session.sid,
          createdAt: now,
        });
      }
      if (client.logoutRevokesTokens) {
        for (const family of families) {
          if (family.revokedAt !== null) continue;
          await tx.tokenFamilies.revoke(env.id, family.familyId, now);
          result.revoked += 1;
        }
      }
    }
  }
  await tx.backchannelLogouts.enqueue(logouts);
  result.notified = logouts.length;
  return result;
}

function byClient(families: readonly TokenFamily[]): Map<string, TokenFamily[]> {
  const grouped = new Map<string, TokenFamily[]>();
  for (const family of families) grouped.set(family.clientId, [...(grouped.get(family.clientId) ?? []), family]);
  return grouped;
}
