import { createHmac } from 'node:crypto';
import type { Client, Environment } from '../../domain/model.ts';

/**
 * The `sub` a client is given for a user (OpenID Connect Core §8). `public`: the user id, the same
 * for every client. `pairwise` (§8.1): one value per sector, so two clients of different sectors
 * cannot correlate a user: HMAC-SHA256 over the sector and the user id, keyed by the
 * environment's random pairwise salt (never shown), base64url. The sector is the host of
 * `sector_identifier_uri` when the client registered one, else the host of its redirect URIs
 * (§8.1: a client with several hosts must register a sector identifier; `sectorOf` then takes the
 * first one's host, and registration is where that rule is enforced).
 */
export function subjectFor(env: Environment, client: Client, userId: string): string {
  if ((client.subjectType ?? env.subjectType ?? 'public') !== 'pairwise') return userId;
  if (env.pairwiseSalt === undefined) throw new Error(`environment ${env.id} has no pairwise salt`);
  return createHmac('sha256', env.pairwiseSalt)
    .update(`${sectorOf(client)}\u0000${userId}`)
    .digest('base64url');
}

/** Core §8.1: the sector of a client's pairwise identifiers. */
export function sectorOf(client: Client): string {
  const source = client.sectorIdentifierUri ?? client.redirectUris[0] ?? client.clientId;
  try {
    return new URL(source).host || source;
  } catch {
    return source;
  }
}
