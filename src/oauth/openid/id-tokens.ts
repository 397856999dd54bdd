import { createHash } from 'node:crypto';
import { signCompactJwt } from '../../crypto/jwt.ts';
import { type Clock, seconds } from '../../domain/clock.ts';
import type { Client, Environment, FamilyOidc, IdTokenAlgorithm } from '../../domain/model.ts';
import type { KeyRing } from '../signing-keys.ts';
import { subjectFor } from './subject.ts';

/** The algorithm of a client's ID Tokens: its registered `id_token_signed_response_alg`, else RS256 (Core §15.1, Registration §2). */
export const idTokenAlgorithmOf = (client: Pick<Client, 'idTokenSignedResponseAlg'>): IdTokenAlgorithm => client.idTokenSignedResponseAlg ?? 'RS256';

/**
 * Core §3.1.3.6 `at_hash`: the left half of the hash of the access token's ASCII octets,
 * base64url. The hash is the one of the ID Token's JWS algorithm: SHA-256 for RS256 and ES256;
 * for EdDSA (Ed25519), whose signature names no hash, SHA-512 as the OpenID Foundation's
 * conformance suite and the Core errata take it.
 */
export function accessTokenHash(accessToken: string, alg: IdTokenAlgorithm): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken, 'ascii')
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export interface IdTokenRequest {
  env: Environment;
  issuer: string;
  client: Client;
  userId: string;
  /** The access token issued beside it, for `at_hash`. */
  accessToken: string;
  /** What the authentication said: auth_time, amr, acr. */
  oidc: FamilyOidc;
  /** The browser session's `sid`; null or absent: none. */
  sid?: string | null | undefined;
  /** The authentication request's `nonce`, at the code grant only (Core §12.2: none on refresh). */
  nonce?: string | null | undefined;
}

/**
 * Issues ID Tokens (OpenID Connect Core §2): at the code grant (§3.1.3.3) and at a refresh of a
 * family begun by an OpenID sign-in (§12.2). An access token is always issued beside it, so the
 * claims of the profile, email, address and phone scopes are not in it: they come from UserInfo
 * (§5.4). The header's `typ` is `JWT`, never `at+jwt` (RFC 9068 §2.1): an access-token verifier
 * refuses an ID Token, and an ID Token verifier that checks `typ` refuses an access token.
 */
export class IdTokenIssuer {
  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    /** Lifetime in seconds. */
    private readonly ttl: number,
  ) {}

  async issue(request: IdTokenRequest): Promise<string> {
    const { env, client, oidc } = request;
    const alg = idTokenAlgorithmOf(client);
    const key = await this.keys.activeKey(env.id, alg);
    const iat = seconds(this.clock.now());
    // Core §2. `aud` is the client alone, so no `azp` (it is needed only with several audiences);
    // a refresh gives the same `iss`, `sub`, `aud` and `auth_time` as the first ID Token (§12.2).
    const claims: Record<string, unknown> = {
      iss: request.issuer,
      sub: subjectFor(env, client, request.userId),
      aud: client.clientId,
      exp: iat + this.ttl,
      iat,
      // Core §2: required with max_age or when requested; always given, the client need not ask.
      auth_time: seconds(oidc.authTime),
      ...(request.nonce ? { nonce: request.nonce } : {}),
      at_hash: accessTokenHash(request.accessToken, key.alg),
      ...(oidc.amr.length > 0 ? { amr: [...oidc.amr] } : {}),
      ...(oidc.acr ? { acr: oidc.acr } : {}),
      ...(request.sid ? { sid: request.sid } : {}),
    };
    return signCompactJwt({ kid: key.kid, typ: 'JWT' }, claims, key.privateKey, key.alg);
  }
}
