import type { AssertionAlgorithm } from '../assertion-algorithms.ts';

/** A public signing key a client's document publishes (by value in `jwks`, or at `jwks_uri`). */
export interface DocumentKey {
  kid: string;
  alg: AssertionAlgorithm;
  /** The public members only, with `kid` and `alg`. */
  publicJwk: Record<string, unknown>;
}

/** Members that only a private or symmetric key has: a set holding one is refused whole. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** RFC 7518 §6.3.1: 2048 bits, as base64url of the modulus (342 characters). */
const MIN_RSA_MODULUS_CHARS = 342;
const MAX_KEYS = 10;

/** The algorithm a JWK signs with, as Gatehouse verifies client assertions; undefined for any other key. */
function algorithmOf(jwk: Record<string, unknown>): AssertionAlgorithm | undefined {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string') return 'EdDSA';
  if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && typeof jwk.e === 'string' && jwk.n.length >= MIN_RSA_MODULUS_CHARS) return 'RS256';
  return undefined;
}

/** A key's own `alg`, when it names one, must be the one its type signs with (RFC 7517 §4.4). */
const NAMED: Record<AssertionAlgorithm, readonly string[]> = { ES256: ['ES256'], EdDSA: ['EdDSA', 'Ed25519'], RS256: ['RS256'] };

/**
 * A client's JWK Set (RFC 7517 §5) as Gatehouse uses it for private_key_jwt (RFC 7523 §2.2): a
 * set with a private or symmetric key is refused, as is one where two keys share a `kid`; keys
 * without a `kid`, for encryption, naming an algorithm Gatehouse does not verify them with, or of
 * a type it does not verify (EC P-256, Ed25519, RSA of 2048 bits or more) are left out, and a set
 * left without any key is refused. Reasons name no value.
 */
export function parseKeySet(raw: unknown): { keys: DocumentKey[] } | { refused: string } {
  const keys = (raw as { keys?: unknown } | null)?.keys;
  if (typeof raw !== 'object' || raw === null || !Array.isArray(keys)) return { refused: 'not a JWK Set' };
  if (keys.length > MAX_KEYS) return { refused: `more than ${MAX_KEYS} keys` };
  const kept: DocumentKey[] = [];
  const kids = new Set<string>();
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) return { refused: 'a key is not a JSON object' };
    const jwk = key as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) return { refused: 'holds a private or symmetric key' };
    if (typeof jwk.kid !== 'string' || jwk.kid === '' || jwk.kid.length > 200) continue;
    if (kids.has(jwk.kid)) return { refused: 'two keys share a kid' };
    kids.add(jwk.kid);
    const alg = algorithmOf(jwk);
    if (alg === undefined || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    if (jwk.alg !== undefined && !NAMED[alg].includes(String(jwk.alg))) continue;
    const { kty, crv, x, y, n, e } = jwk;
    const publicJwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid: jwk.kid, alg }).filter(([, v]) => v !== undefined));
    kept.push({ kid: jwk.kid, alg, publicJwk });
  }
  if (kept.length === 0) return { refused: 'no EC P-256, Ed25519 or RSA signing key with a kid' };
  return { keys: kept };
}

/** `parseKeySet` for a JWK Set fetched from a client's `jwks_uri`, as the document cache keeps it. */
export function validateKeySet(_url: string, raw: unknown): { document: DocumentKey[] } | { refused: string } {
  const parsed = parseKeySet(raw);
  return 'refused' in parsed ? { refused: `jwks_uri: ${parsed.refused}` } : { document: parsed.keys };
}
