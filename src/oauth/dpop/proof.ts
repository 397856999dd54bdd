import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import { hashSecret } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Environment } from '../../domain/model.ts';
import type { UsedAssertionStore } from '../../domain/storage.ts';
import { OAuthError } from '../errors.ts';
import { FAPI2_ALGORITHMS, isFapi2 } from '../fapi2.ts';
import { DPOP_ALGORITHMS } from './algorithms.ts';
import type { DpopNonces } from './nonces.ts';

/** JWK members that only a private (or symmetric) key has: §4.3 step 6 wants a public key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
/** Longest proof read at all, and longest `jti` (it only has to be unique, §4.2). */
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
/** The used-jti store's owner column for proofs: no client id can take this form. */
const USED_PROOF_OWNER = '#dpop';

/** What a proof proved: the key tokens are bound to, as its RFC 7638 thumbprint. */
export interface DpopProof {
  readonly jkt: string;
}

/** The request a proof must describe (§4.3 steps 8 and 9). */
export interface DpopTarget {
  readonly method: string;
  /** The endpoint's URL as the public URL says it, without query or fragment. */
  readonly url: string;
  /** At a protected resource (§7): the access token presented with the proof, whose hash `ath` must be. */
  readonly accessToken?: string;
}

export interface DpopPolicy {
  /** Seconds a proof's `iat` may lie from now, before `clockSkew`. */
  readonly proofWindow: number;
  readonly clockSkew: number;
}

const invalidProof = (description: string): OAuthError => new OAuthError('invalid_dpop_proof', description);

/**
 * Checks DPoP proofs (RFC 9449 §4.3) at the authorization server's token endpoint. A proof's
 * `jti` is spent in the shared used-assertions store (hashed, per environment, until the proof's
 * window has passed), so a proof replayed at any node is refused.
 */
export class DpopProofVerifier {
  constructor(
    private readonly usedProofs: UsedAssertionStore,
    private readonly nonces: DpopNonces,
    private readonly clock: Clock,
    private readonly policy: DpopPolicy,
  ) {}

  /** RFC 9449 §8.2: the nonce to send in `DPoP-Nonce` now. */
  currentNonce(env: Environment): string {
    return this.nonces.current(env, this.clock.now());
  }

  /**
   * The proof of `header` (the raw `DPoP` header value) for `target`, its `jti` spent. Refusals
   * are `invalid_dpop_proof`, or `use_dpop_nonce` carrying the nonce to use (§8).
   */
  async verify(env: Environment, header: string, target: DpopTarget): Promise<DpopProof> {
    // §4.3 step 1: exactly one DPoP header. Node joins repeated headers with ", ", which no JWT contains.
    if (header.includes(',')) throw invalidProof('send exactly one DPoP header');
    if (header.length > MAX_PROOF_LENGTH || header.split('.').length !== 3) throw invalidProof('the DPoP proof is not a compact signed JWT');
    const jwk = proofKey(header);
    // FAPI 2.0 Security Profile §5.4.1: PS256, ES256 or EdDSA only.
    const { alg } = decodeProtectedHeader(header);
    if (isFapi2(env) && !FAPI2_ALGORITHMS.includes(String(alg)))
      throw invalidProof(`the DPoP proof must be signed with ${FAPI2_ALGORITHMS.join(', ')} here (FAPI 2.0)`);
    const { payload } = await verifySignature(header, jwk, this.clock.now());
    const now = this.clock.now();
    checkClaims(payload, target, now, this.policy);
    if (env.dpopNonceRequired && !this.nonces.isValid(env, payload.nonce, now)) {
      throw new OAuthError('use_dpop_nonce', 'the DPoP proof must carry the nonce of the DPoP-Nonce header', {
        dpopNonce: this.nonces.current(env, now),
      });
    }
    const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
    // §11.1: a proof is single use. Remembered until no clock could accept its iat any more.
    const windowMs = (this.policy.proofWindow + this.policy.clockSkew) * 1000;
    const jtiHash = hashSecret(`${jkt}.${payload.jti as string}`);
    if (!(await this.usedProofs.consume(env.id, USED_PROOF_OWNER, jtiHash, now + 2 * windowMs, now))) {
      throw invalidProof('the DPoP proof was already used (jti replayed)');
    }
    return { jkt };
  }
}

/** §4.3 steps 2-6: a JWT typed `dpop+jwt`, signed with an asymmetric algorithm, naming a public key. */
function proofKey(proof: string): Record<string, unknown> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    throw invalidProof('the DPoP proof is not a compact signed JWT');
  }
  if (header.typ !== 'dpop+jwt') throw invalidProof('the DPoP proof must have typ dpop+jwt');
  if (typeof header.alg !== 'string' || !(DPOP_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw invalidProof(`the DPoP proof must be signed with one of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalidProof('the DPoP proof header must carry the public key (jwk)');
  const key = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => member in key)) throw invalidProof('the DPoP proof jwk must be a public key; it carries private members');
  return key;
}

async function verifySignature(proof: string, jwk: Record<string, unknown>, now: number): Promise<{ payload: Record<string, unknown> }> {
  const { alg } = decodeProtectedHeader(proof) as { alg: string };
  try {
    const key = await importJWK(jwk as JWK, alg);
    if (key instanceof Uint8Array || key.type !== 'public') throw new Error('not a public key');
    // exp and nbf, when present, are checked by jose; iat below, with the proof window.
    return await jwtVerify(proof, key, { typ: 'dpop+jwt', algorithms: [alg], currentDate: new Date(now) });
  } catch {
    throw invalidProof('the DPoP proof signature does not verify with its jwk');
  }
}

/** §4.3 steps 7-11: jti, htm, htu, iat. */
function checkClaims(payload: Record<string, unknown>, target: DpopTarget, now: number, policy: DpopPolicy): void {
  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH)
    throw invalidProof(`the DPoP proof needs a jti of 1 to ${MAX_JTI_LENGTH} characters`);
  if (htm !== target.method) throw invalidProof(`the DPoP proof htm must be ${target.method}`);
  if (typeof htu !== 'string' || !sameTarget(htu, target.url)) throw invalidProof(`the DPoP proof htu must be ${target.url}`);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('the DPoP proof needs an iat (seconds since the epoch)');
  // §4.3 step 12 and §7: at a protected resource, ath is the base64url SHA-256 of the access token.
  if (target.accessToken !== undefined && payload.ath !== createHash('sha256').update(target.accessToken).digest('base64url')) {
    throw invalidProof('the DPoP proof ath must be the hash of the access token presented with it');
  }
  const window = (policy.proofWindow + policy.clockSkew) * 1000;
  if (Math.abs(iat * 1000 - now) > window) throw invalidProof(`the DPoP proof iat must be within ${policy.proofWindow} seconds of now`);
}

/** §4.3 step 9: `htu` matches the request URI, ignoring query and fragment (URIs compared after RFC 3986 normalisation). */
function sameTarget(htu: string, url: string): boolean {
  try {
    const presented = new URL(htu);
    presented.search = '';
    presented.hash = '';
    return presented.href === new URL(url).href;
  } catch {
    return false;
  }
}

/** RFC 9449 §6.1: the `cnf` of an access token issued with `proof`; undefined (a bearer token) without one. */
export function confirmationOf(proof: DpopProof | undefined): { jkt: string } | undefined {
  return proof && { jkt: proof.jkt };
}
