import { JwtError, readJwsHeader, type VerifiableAlgorithm, verifyJwt } from '../../crypto/jwt.ts';
import { PublicKeyCache } from '../../crypto/public-keys.ts';
import type { KeyRing } from '../signing-keys.ts';

/** What an `id_token_hint` says, once its signature and issuer are verified. */
export interface IdTokenHint {
  /** The subject as the client was given it (pairwise for a pairwise client). */
  sub: string;
  aud: string[];
  /** The browser session the ID Token was issued in, when it carries one. */
  sid?: string;
}

const HINT_ALGORITHMS: readonly VerifiableAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];
const publicKeys = new PublicKeyCache();

/**
 * Verifies an ID Token this environment issued, given back as `id_token_hint` (Core §3.1.2.1,
 * RP-Initiated Logout §2): signed by a key of the environment's published set with that key's
 * own algorithm, `iss` this issuer. It may have expired: a hint names a user and a session, it
 * grants nothing. Access tokens (`typ: at+jwt`, RFC 9068 §2.1) and logout tokens (`logout+jwt`)
 * are refused, so no other token of this issuer can stand in for an ID Token. Undefined for
 * anything that is not such a token.
 */
export async function verifyIdTokenHint(keys: KeyRing, envId: string, issuer: string, token: string): Promise<IdTokenHint | undefined> {
  const header = readJwsHeader(token);
  if (!header || typeof header.kid !== 'string') return undefined;
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== undefined && typ !== 'jwt') return undefined;
  const key = await keys.publishedKey(envId, header.kid);
  if (!key) return undefined;
  const alg = HINT_ALGORITHMS.find((a) => a === key.alg);
  if (!alg) return undefined;
  try {
    // Checked as of the epoch, so `exp` never counts (a hint may have expired); Gatehouse's ID Tokens carry no `nbf`.
    const { payload } = verifyJwt(token, { key: publicKeys.get(key.publicJwk), alg }, { issuer, required: ['sub', 'aud'] }, 0);
    const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
    return { sub: payload.sub, aud, ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}) };
  } catch (error) {
    if (error instanceof JwtError) return undefined;
    throw error;
  }
}
