import { constants, createHash, createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { type DpopAlgorithm, type DpopNonceProvider, type DpopReplayStore, dependency, jwkThumbprint } from './dpop.ts';
import { BearerError } from './errors.ts';

/**
 * RFC 9449 §4.3: the check of one DPoP proof, with node:crypto. Kept apart from the public DPoP
 * types so the library's declarations do not depend on Node's.
 */

/** Members of a JWK that only a private or symmetric key has (RFC 7517 §4, RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** What a proof is checked against: the request and the token it comes with. */
export interface ProofContext {
  /** The `DPoP` header value(s) as received. */
  proof: string | readonly string[] | undefined;
  method: string;
  /** The request URL as this API is reached (scheme, host, path); query and fragment are ignored (§4.3 check 9). */
  url: string;
  accessToken: string;
  /** The token's `cnf.jkt` (§6.1). */
  jkt: string;
}

export interface ProofRules {
  algorithms: readonly DpopAlgorithm[];
  /** Longest accepted age of a proof's `iat`, in seconds. */
  maxAge: number;
  /** Tolerated clock difference, in seconds, both ways. */
  clockSkew: number;
  replay: DpopReplayStore;
  nonces: DpopNonceProvider | undefined;
  now: () => number;
  /** Public keys already imported, by RFC 7638 thumbprint (the members that define the key): importing a JWK costs about a signature check. */
  keys: KeyCache;
}

/** A bounded map of imported proof keys; the oldest goes when it is full. */
export class KeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxEntries = 1_000) {}

  get(thumbprint: string, load: () => KeyObject): KeyObject {
    const cached = this.keys.get(thumbprint);
    if (cached) return cached;
    const key = load();
    if (this.keys.size >= this.maxEntries) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(thumbprint, key);
    return key;
  }
}

const MAX_PROOF_LENGTH = 8 * 1024;
const MAX_JTI_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const invalidProof = (why: string): never => {
  throw new BearerError('invalid_dpop_proof', why);
};

/** RFC 9449 §4.3 and §7.1: checks the proof of one request; throws `invalid_dpop_proof`, `use_dpop_nonce` or `invalid_token`. */
export async function checkDpopProof(context: ProofContext, rules: ProofRules): Promise<void> {
  const proof = singleProof(context.proof);
  const parts = proof.split('.');
  if (proof.length > MAX_PROOF_LENGTH || parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) invalidProof('the DPoP proof is not a compact JWT');
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
  const header = jsonObject(encodedHeader) ?? invalidProof('the DPoP proof header is not a JSON object');
  const payload = jsonObject(encodedPayload) ?? invalidProof('the DPoP proof payload is not a JSON object');
  // §4.3 checks 4-7: typ, an accepted asymmetric alg, a public key, and its signature.
  if (header.typ !== 'dpop+jwt') invalidProof('the DPoP proof typ must be dpop+jwt');
  if ('crit' in header) invalidProof('the DPoP proof names an extension that is not supported');
  const alg = rules.algorithms.find((a) => a === header.alg) ?? invalidProof(`the DPoP proof alg must be one of ${rules.algorithms.join(' ')}`);
  const jwk = header.jwk;
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) return invalidProof('the DPoP proof header carries no jwk');
  const thumbprint = jwkThumbprint(jwk as Record<string, unknown>) ?? invalidProof('the DPoP proof jwk is not an EC, RSA or OKP public key');
  const key = publicKeyOf(jwk as Record<string, unknown>, alg, thumbprint, rules.keys);
  if (!signatureVerifies(`${encodedHeader}.${encodedPayload}`, encodedSignature, key, alg)) invalidProof('the DPoP proof signature does not verify');
  const now = rules.now();
  const { jti, iat } = checkClaims(payload, context, rules, now);
  // §7.1: the proof's key is the one the token is bound to (§6.1 cnf.jkt).
  if (!sameString(thumbprint, context.jkt)) {
    throw new BearerError('invalid_token', 'the token is bound to another key than the DPoP proof');
  }
  // §9: a nonce the API handed out, when it asks for one.
  if (rules.nonces) {
    const nonce = payload.nonce;
    const nonces = rules.nonces;
    if (typeof nonce !== 'string' || !(await dependency(() => nonces.accepts(nonce)))) {
      throw new BearerError('use_dpop_nonce', nonce === undefined ? 'the DPoP proof must carry a nonce' : 'the DPoP proof nonce is not current');
    }
  }
  // §11.1: a jti is accepted once while its proof could be accepted; the key names the target too.
  const expiresAt = (iat + rules.maxAge + rules.clockSkew) * 1000;
  const replayKey = createHash('sha256').update(`${context.jkt}\n${jti}`).digest('base64url');
  if (!(await dependency(() => rules.replay.consume(replayKey, Math.max(expiresAt, now + 1))))) invalidProof('the DPoP proof was already used (jti)');
}

/** §4.3 check 1: exactly one `DPoP` header. A compact JWT holds no comma, so a comma means values were joined. */
function singleProof(value: string | readonly string[] | undefined): string {
  if (value === undefined || (typeof value !== 'string' && value.length === 0)) invalidProof('a DPoP proof is required');
  const values = typeof value === 'string' ? [value] : [...(value as readonly string[])];
  if (values.length > 1 || values.some((v) => v.includes(','))) invalidProof('the DPoP header is given more than once');
  const proof = (values[0] ?? '').trim();
  if (proof === '') invalidProof('a DPoP proof is required');
  return proof;
}

/** §4.3 checks 3, 8, 9, 11 and §7.1 `ath`: the claims of a signed proof. */
function checkClaims(payload: Record<string, unknown>, context: ProofContext, rules: ProofRules, now: number): { jti: string; iat: number } {
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) invalidProof(`the DPoP proof jti must be 1 to ${MAX_JTI_LENGTH} characters`);
  if (typeof htm !== 'string' || htm !== context.method.toUpperCase()) invalidProof('the DPoP proof htm is not the request method');
  if (typeof htu !== 'string' || targetUri(htu) === undefined || targetUri(htu) !== targetUri(context.url))
    invalidProof('the DPoP proof htu is not the request URL');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return invalidProof('the DPoP proof iat must be a NumericDate');
  const skew = rules.clockSkew * 1000;
  if (iat * 1000 > now + skew) invalidProof('the DPoP proof iat is in the future');
  if (iat * 1000 < now - rules.maxAge * 1000 - skew) invalidProof('the DPoP proof is too old (iat)');
  const expected = createHash('sha256').update(context.accessToken, 'ascii').digest('base64url');
  if (typeof ath !== 'string' || !sameString(ath, expected)) invalidProof('the DPoP proof ath is not the hash of the access token');
  return { jti: jti as string, iat };
}

/** §4.3 check 9: scheme, host, port and path, normalised (RFC 3986 §6.2.2-6.2.3), without query and fragment. */
function targetUri(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  return `${parsed.origin}${parsed.pathname}`;
}

/** §4.3 checks 5 and 7: the header's key, public only, of a type its alg fits. */
function publicKeyOf(jwk: Record<string, unknown>, alg: DpopAlgorithm, thumbprint: string, keys: KeyCache): KeyObject {
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) invalidProof('the DPoP proof jwk must not hold private key material');
  const key = keys.get(thumbprint, () => {
    try {
      return createPublicKey({ key: jwk as never, format: 'jwk' });
    } catch {
      return invalidProof('the DPoP proof jwk is not a usable public key');
    }
  });
  if (!keyFits(key, alg)) invalidProof(`the DPoP proof jwk does not fit alg ${alg}`);
  return key;
}

const CURVES: Partial<Record<DpopAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

function keyFits(key: KeyObject, alg: DpopAlgorithm): boolean {
  if (key.type !== 'public') return false;
  const curve = CURVES[alg];
  if (curve) return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve;
  if (alg === 'RS256' || alg === 'PS256') return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  return key.asymmetricKeyType === 'ed25519';
}

function signatureVerifies(input: string, encodedSignature: string, key: KeyObject, alg: DpopAlgorithm): boolean {
  const data = Buffer.from(input, 'ascii');
  const signature = Buffer.from(encodedSignature, 'base64url');
  const hash = alg === 'ES384' ? 'sha384' : alg === 'ES512' ? 'sha512' : 'sha256';
  try {
    if (CURVES[alg]) return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (alg === 'PS256') return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    if (alg === 'RS256') return verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}

function jsonObject(encoded: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
