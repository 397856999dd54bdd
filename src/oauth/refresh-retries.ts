import { createHash } from 'node:crypto';
import { openAsTokenHolder, sealForTokenHolder } from '../crypto/token-sealing.ts';
import type { RotationRetry } from '../domain/storage.ts';
import type { TokenResult } from './grants/grant.ts';

const PURPOSE = 'refresh retry';

/** The request a refresh answered, as far as its answer depends on it. */
export interface RefreshRequestShape {
  clientId: string;
  issuer: string;
  /** The surface's access-token lifetime, if it imposes one. */
  accessTokenTtl: number | undefined;
  /** The grant's own parameters (`scope`, `resource`), raw: a retry must send the same values. */
  params: Readonly<Record<string, string | undefined>>;
}

/** Where a sealed answer belongs: it opens only for the same environment, presented token and request. */
export interface RetryBinding {
  envId: string;
  presentedHash: string;
  requestHash: string;
}

/**
 * RFC 9700 §4.14.2 grace period for refresh-token rotation. A rotation seals its answer under a
 * key derived from the presented refresh token (and the key secret); an exact retry of the same
 * request, by the same client, within `graceSeconds`, while the issued refresh token is still
 * unused, gets that same answer back instead of revoking the family. 0 turns this off.
 */
export class RefreshRetries {
  private readonly graceMs: number;

  constructor(
    private readonly keySecret: Buffer,
    graceSeconds: number,
  ) {
    this.graceMs = graceSeconds * 1000;
  }

  get enabled(): boolean {
    return this.graceMs > 0;
  }

  /** Hash of what makes a retry exact: client, issuer, surface lifetime and the grant's parameters. */
  requestHash(shape: RefreshRequestShape, parameterNames: readonly string[]): string {
    const params = parameterNames.map((name) => [name, shape.params[name] ?? null]);
    const text = JSON.stringify([shape.clientId, shape.issuer, shape.accessTokenTtl ?? null, params]);
    return createHash('sha256').update(text, 'utf8').digest('base64url');
  }

  /** The record a rotation at `now` keeps for its retry; undefined when retries are off. */
  seal(result: TokenResult, presented: string, binding: RetryBinding, now: number): RotationRetry | undefined {
    if (!this.enabled) return undefined;
    const { accessToken, tokenType, expiresIn, scope, issuedAt, clientId, subject, refreshToken, idToken } = result;
    const answer = JSON.stringify({ accessToken, tokenType, expiresIn, scope, issuedAt, clientId, subject, refreshToken, idToken });
    const sealedResponse = sealForTokenHolder(answer, presented, this.keySecret, PURPOSE, associatedData(binding));
    return { requestHash: binding.requestHash, sealedResponse, expiresAt: now + this.graceMs };
  }

  /** The answer sealed by `seal`, marked as a replay; undefined if it does not open for this token and request. */
  open(sealed: string, presented: string, binding: RetryBinding): TokenResult | undefined {
    const text = openAsTokenHolder(sealed, presented, this.keySecret, PURPOSE, associatedData(binding));
    if (text === undefined) return undefined;
    return { ...(JSON.parse(text) as TokenResult), replayed: true };
  }
}

const associatedData = ({ envId, presentedHash, requestHash }: RetryBinding): string => `${envId}/${presentedHash}/${requestHash}`;
