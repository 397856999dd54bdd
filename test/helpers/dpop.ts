import { createHash, randomUUID } from 'node:crypto';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** A client's DPoP key pair, with its public JWK and RFC 7638 thumbprint. */
export interface DpopKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
  alg: string;
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg };
}

export interface ProofOptions {
  htm?: string;
  htu: string;
  /** Epoch seconds. */
  iat: number;
  jti?: string;
  nonce?: string;
  typ?: string;
  /** Replaces the header's jwk (a private key, another key). */
  jwk?: JWK;
  /** RFC 9449 §7: the access token whose hash goes into `ath` (at a protected resource). */
  accessToken?: string;
}

/** An RFC 9449 §4.2 proof signed with `key`. */
export function dpopProof(key: DpopKey, options: ProofOptions): Promise<string> {
  const payload: Record<string, unknown> = { htm: options.htm ?? 'POST', htu: options.htu, jti: options.jti ?? randomUUID() };
  if (options.nonce !== undefined) payload.nonce = options.nonce;
  if (options.accessToken !== undefined) payload.ath = createHash('sha256').update(options.accessToken).digest('base64url');
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: options.typ ?? 'dpop+jwt', jwk: options.jwk ?? key.publicJwk })
    .setIssuedAt(options.iat)
    .sign(key.privateKey);
}
