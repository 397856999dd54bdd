import { constants, createHash, type KeyObject, sign, verify } from 'node:crypto';

/**
 * JSON Web Tokens: signing, signature verification and every claim rule Gatehouse applies, in one
 * place. The signer and verifier call node:crypto directly (synchronous, no WebCrypto promise or
 * thread-pool hop): they sit on the token and introspection hot paths.
 *
 * Measured with an ES256 access token on a 2-core machine shared with other jobs (load 7-9),
 * 2026-11, medians of 20k iterations, runs interleaved ABBA, three trials: signCompactJwt
 * 8,600-9,700/s vs jose SignJWT 3,300-5,100/s (1.7-3.0x); verifyJwt 5,200-8,400/s vs jose
 * jwtVerify 4,200-4,800/s (1.2-1.7x).
 */

/** Algorithms `signCompactJwt` produces: the access-token algorithms, and RS256 for ID Tokens (OpenID Connect Core §15.1). */
export type JwsAlgorithm = 'ES256' | 'EdDSA' | 'RS256';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Signs a JWT in compact serialisation: the token endpoint's hottest step. ES256 signatures use
 * the JOSE (r‖s) encoding (RFC 7518 §3.4).
 */
export function signCompactJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, alg: JwsAlgorithm): string {
  const input = `${b64({ ...header, alg })}.${b64(payload)}`;
  const data = Buffer.from(input, 'ascii');
  // RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), node:crypto's default padding for an RSA key.
  const signature =
    alg === 'ES256' ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) : alg === 'RS256' ? sign('sha256', data, key) : sign(null, data, key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Header `alg` values the verifier checks; `Ed25519` is RFC 9864's name for EdDSA with that curve. */
export type VerifiableAlgorithm = 'ES256' | 'EdDSA' | 'Ed25519' | 'RS256';

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: Buffer;
}

/** Why a JWT was refused; stable, for callers to map to their own errors. */
export type JwtFailure =
  | 'malformed' // not a compact JWS with a JSON object header
  | 'crit' // a header extension (crit, b64) none of which is understood
  | 'alg' // the header names another algorithm than the key's, or the key does not fit it
  | 'signature' // the signature does not verify
  | 'payload' // signed, but the payload is not a JSON object
  | 'typ'
  | 'iss'
  | 'sub'
  | 'aud'
  | 'expired'
  | 'lifetime' // exp further in the future than the longest accepted lifetime
  | 'not_yet_valid'
  | 'iat' // issued in the future
  | 'missing_claim' // `claim` names it
  | 'invalid_claim'; // `claim` names it: wrong type or out of bounds

/** A refused JWT: `reason` is machine-readable, the message is for people and never holds the token. */
export class JwtError extends Error {
  constructor(
    readonly reason: JwtFailure,
    message: string,
    /** The claim concerned, for `missing_claim` and `invalid_claim`. */
    readonly claim?: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

/** A verification key and the one algorithm it is registered or generated for (RFC 8725 §3.1). */
export interface VerificationKey {
  key: KeyObject;
  alg: VerifiableAlgorithm;
  /** Signatures this key already verified, for tokens presented again and again (introspection). */
  signatures?: VerifiedSignatures;
}

/** What a token must satisfy beyond its signature. Times are in seconds, like NumericDate. */
export interface ClaimRules<Required extends string = string> {
  /** The `typ` header, e.g. `at+jwt`; `application/at+jwt` is accepted too, case-insensitively (RFC 7515 §4.1.9). */
  typ?: string;
  /** The exact `iss`. */
  issuer?: string;
  /** The exact `sub`. */
  subject?: string;
  /** Accepted audiences: `aud` (a string or an array of strings) must name at least one. Makes `aud` required. */
  audience?: string | readonly string[];
  /** Tolerated clock difference for `exp`, `nbf` and `iat`. Default 0. */
  clockSkew?: number;
  /** Longest accepted distance from now to `exp`. */
  maxLifetime?: number;
  /** Refuse an `iat` later than now (plus the skew). */
  refuseFutureIat?: boolean;
  /** Longest accepted `jti`; with it, an empty `jti` is refused too (a replay key must name something). */
  maxJtiLength?: number;
  /** Claims that must be present. */
  required?: readonly Required[];
}

/** RFC 7519 §4.1 registered claims, with the types a verified payload guarantees when present. */
export interface RegisteredClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
}

export type JwtClaims = Partial<RegisteredClaims> & { [claim: string]: unknown };

/** A verified token: header (its `alg` the key's) and claims, `Required` ones present. */
export interface VerifiedJwt<Required extends string = never> {
  header: { alg: VerifiableAlgorithm; [parameter: string]: unknown };
  payload: JwtClaims & { [C in Required]: C extends keyof RegisteredClaims ? RegisteredClaims[C] : unknown };
}

/**
 * Verifies a compact JWT: signature with `key` and its algorithm only, then `rules` at time `now`
 * (epoch milliseconds). Throws a `JwtError` naming the first rule the token breaks; claims are
 * checked in the order iss, sub, aud, exp, nbf, iat, jti, then the other required ones.
 */
export function verifyJwt<const Required extends string = never>(
  token: string,
  key: VerificationKey,
  rules: ClaimRules<Required>,
  now: number,
): VerifiedJwt<Required> {
  const jws = key.signatures ? key.signatures.inspect(token, key.key, key.alg) : inspectCompactJws(token, key.key, key.alg);
  if (typeof jws === 'string') throw new JwtError(jws, JWS_FAILURES[jws]);
  const payload = jsonObject(jws.payload);
  if (!payload) throw new JwtError('payload', 'the payload is not a JSON object');
  if (rules.typ !== undefined && !typeMatches(jws.header.typ, rules.typ)) throw new JwtError('typ', `typ must be ${rules.typ}`);
  checkClaims(payload, rules, now);
  return { header: jws.header as VerifiedJwt['header'], payload } as VerifiedJwt<Required>;
}

const JWS_FAILURES = {
  malformed: 'not a compact JWS',
  crit: 'the header names an extension that is not supported',
  alg: 'the header or the key does not fit the expected algorithm',
  signature: 'the signature does not verify',
} as const satisfies Partial<Record<JwtFailure, string>>;

/**
 * Verifies a compact JWS (RFC 7515 §5.2). Exactly one algorithm is accepted, the one the key was
 * registered or generated for (RFC 8725 §3.1), and the key's type must fit it. Returns undefined
 * for anything malformed, any `crit` extension (none is understood, RFC 7515 §4.1.11) and any
 * signature that does not verify; never throws.
 */
export function verifyCompactJws(token: string, key: KeyObject, alg: VerifiableAlgorithm): VerifiedJws | undefined {
  const result = inspectCompactJws(token, key, alg);
  return typeof result === 'string' ? undefined : result;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The JOSE header of a compact JWS, unverified: only to choose the key (`kid`) and check its
 * algorithm before `verifyJwt`. Undefined for anything that is not three base64url parts with a
 * JSON object header.
 */
export function readJwsHeader(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return undefined;
  return jsonObject(Buffer.from(parts[0] ?? '', 'base64url'));
}

function inspectCompactJws(token: string, key: KeyObject, alg: VerifiableAlgorithm): VerifiedJws | keyof typeof JWS_FAILURES {
  const parts = token.split('.');
  if (parts.length !== 3) return 'malformed';
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
  if (!BASE64URL.test(encodedHeader) || !BASE64URL.test(encodedPayload) || !BASE64URL.test(encodedSignature)) return 'malformed';
  const header = jsonObject(Buffer.from(encodedHeader, 'base64url'));
  if (!header) return 'malformed';
  if ('crit' in header || 'b64' in header) return 'crit';
  if (header.alg !== alg || !keyFits(key, alg)) return 'alg';
  const data = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  const signature = Buffer.from(encodedSignature, 'base64url');
  let valid: boolean;
  try {
    if (alg === 'ES256') valid = verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    else if (alg === 'RS256') valid = verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    else valid = verify(null, data, key, signature);
  } catch {
    return 'signature';
  }
  return valid ? { header, payload: Buffer.from(encodedPayload, 'base64url') } : 'signature';
}

/**
 * Signatures that verified, remembered so that a token presented again (a resource server
 * introspects the same access token for each call it serves) is not verified again: an ES256
 * verification is about a third of an introspection's CPU time.
 *
 * Safe to skip the signature check on a hit, because a hit is the same verification again:
 * - the entry is found by the SHA-256 of the whole compact token (header, payload and
 *   signature), so only those exact bytes can match; the token itself is not kept;
 * - it is served only for the same key object and algorithm it was verified with, so a different
 *   key under the same `kid` never hits;
 * - only successes are kept: what an attacker sends that does not verify adds nothing;
 * - nothing else is skipped: the caller still applies every claim rule at the current time
 *   (`exp` included), and checks the key and the token against storage (revoked or withdrawn).
 * Bounded; the oldest entries go first. Measured with `npm run bench` (introspection, JWT): see
 * bench/README.md.
 */
export class VerifiedSignatures {
  private readonly entries = new Map<string, { key: KeyObject; alg: VerifiableAlgorithm; header: Record<string, unknown>; payload: Buffer }>();

  constructor(private readonly maxEntries = 10_000) {}

  inspect(token: string, key: KeyObject, alg: VerifiableAlgorithm): VerifiedJws | keyof typeof JWS_FAILURES {
    const digest = createHash('sha256').update(token).digest('base64url');
    const known = this.entries.get(digest);
    if (known && known.key === key && known.alg === alg) return { header: { ...known.header }, payload: known.payload };
    const result = inspectCompactJws(token, key, alg);
    if (typeof result !== 'string') {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(digest, { key, alg, header: { ...result.header }, payload: result.payload });
    }
    return result;
  }

  /** How many signatures are remembered. */
  get size(): number {
    return this.entries.size;
  }
}

function keyFits(key: KeyObject, alg: VerifiableAlgorithm): boolean {
  if (key.type !== 'public') return false;
  const details = key.asymmetricKeyDetails;
  if (alg === 'ES256') return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  if (alg === 'RS256') return key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048;
  return key.asymmetricKeyType === 'ed25519';
}

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function typeMatches(typ: unknown, expected: string): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  const wanted = expected.toLowerCase();
  return lower === wanted || lower === `application/${wanted}`;
}

/** Applies `rules` to a signed payload at `now` (epoch milliseconds); throws on the first broken rule. */
function checkClaims(payload: Record<string, unknown>, rules: ClaimRules, now: number): void {
  const required = new Set<string>(rules.required ?? []);
  if (rules.audience !== undefined) required.add('aud');
  const claim = <T>(name: string, fits: (value: unknown) => value is T) => claimValue(payload, name, required.has(name), fits);
  if (rules.issuer !== undefined && payload.iss !== rules.issuer) throw new JwtError('iss', `iss must be ${rules.issuer}`);
  claim('iss', isString);
  if (rules.subject !== undefined && payload.sub !== rules.subject) throw new JwtError('sub', `sub must be ${rules.subject}`);
  claim('sub', isString);
  const aud = claim('aud', isAudience);
  if (rules.audience !== undefined && !audienceAccepted(aud ?? [], rules.audience)) throw new JwtError('aud', 'aud names no accepted audience');
  // RFC 7519 §4.1.4-6, each with the tolerated skew.
  const skew = (rules.clockSkew ?? 0) * 1000;
  const exp = claim('exp', isNumericDate);
  if (exp !== undefined && exp * 1000 <= now - skew) throw new JwtError('expired', 'the token has expired (exp)');
  if (exp !== undefined && rules.maxLifetime !== undefined && exp * 1000 > now + rules.maxLifetime * 1000 + skew) {
    throw new JwtError('lifetime', `exp is more than ${rules.maxLifetime} seconds in the future`);
  }
  const nbf = claim('nbf', isNumericDate);
  if (nbf !== undefined && nbf * 1000 > now + skew) throw new JwtError('not_yet_valid', 'the token is not valid yet (nbf)');
  const iat = claim('iat', isNumericDate);
  if (rules.refuseFutureIat && iat !== undefined && iat * 1000 > now + skew) throw new JwtError('iat', 'iat is in the future');
  const jti = claim('jti', isString);
  if (rules.maxJtiLength !== undefined && jti !== undefined && (jti === '' || jti.length > rules.maxJtiLength)) {
    throw new JwtError('invalid_claim', `jti must be 1 to ${rules.maxJtiLength} characters`, 'jti');
  }
  for (const name of required) claimValue(payload, name, true, isPresent);
}

/** A claim's value: undefined when absent and optional; refused when absent and required, or of the wrong type. */
function claimValue<T>(payload: Record<string, unknown>, name: string, required: boolean, fits: (value: unknown) => value is T): T | undefined {
  const value = Object.hasOwn(payload, name) ? payload[name] : undefined;
  if (value === undefined) {
    if (required) throw new JwtError('missing_claim', `${name} is required`, name);
    return undefined;
  }
  if (!fits(value)) throw new JwtError('invalid_claim', `${name} must be ${CLAIM_TYPES[name] ?? 'valid'}`, name);
  return value;
}

const CLAIM_TYPES: Record<string, string> = {
  iss: 'a string',
  sub: 'a string',
  aud: 'a string or an array of strings',
  exp: 'a NumericDate (seconds since the epoch)',
  nbf: 'a NumericDate (seconds since the epoch)',
  iat: 'a NumericDate (seconds since the epoch)',
  jti: 'a string',
};

const isPresent = (value: unknown): value is unknown => value !== undefined;
const isString = (value: unknown): value is string => typeof value === 'string';
const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isAudience = (value: unknown): value is string | string[] => isString(value) || (Array.isArray(value) && value.every(isString));

function audienceAccepted(aud: string | string[], accepted: string | readonly string[]): boolean {
  const names = typeof aud === 'string' ? [aud] : aud;
  return names.some((name) => (typeof accepted === 'string' ? name === accepted : accepted.includes(name)));
}
