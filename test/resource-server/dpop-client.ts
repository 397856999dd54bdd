import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** What a DPoP proof (RFC 9449 §4.2) says, each member overridable; undefined removes a claim. */
export interface ProofParts {
  htm: string;
  htu: string;
  /** The access token the proof comes with (its hash becomes `ath`). */
  token?: string;
  /** Epoch seconds. */
  iat: number;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/** A DPoP client: one key pair, proofs signed with jose. */
export class DpopClient {
  private constructor(
    readonly alg: string,
    private readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    readonly publicJwk: JWK,
    /** RFC 7638 thumbprint of the public key, as jose computes it: the token's `cnf.jkt`. */
    readonly jkt: string,
    readonly privateJwk: JWK,
  ) {}

  static async create(alg: 'ES256' | 'EdDSA' | 'PS256' = 'ES256'): Promise<DpopClient> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    return new DpopClient(alg, privateKey, publicJwk, await calculateJwkThumbprint(publicJwk), await exportJWK(privateKey));
  }

  /** A proof for `parts`, by default valid: typ dpop+jwt, this key's public JWK, a fresh jti. */
  async proof(parts: ProofParts): Promise<string> {
    const claims: Record<string, unknown> = { htm: parts.htm, htu: parts.htu, iat: parts.iat, jti: randomUUID() };
    if (parts.token !== undefined) claims.ath = ath(parts.token);
    for (const [name, value] of Object.entries(parts.claims ?? {})) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    const header = { alg: this.alg, typ: 'dpop+jwt', jwk: this.publicJwk, ...parts.header };
    return new SignJWT(claims).setProtectedHeader(header as never).sign(this.privateKey);
  }
}

/** RFC 9449 §4.2: base64url(SHA-256(token)). */
export const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');
