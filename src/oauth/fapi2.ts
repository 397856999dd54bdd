import type { Client, Environment } from '../domain/model.ts';

/**
 * What the FAPI 2.0 Security Profile (§5.3) requires of an environment held to it, as facts the
 * rest of Gatehouse reads: the authorization endpoint (PAR), client authentication, code
 * lifetime, metadata, and the sender-constraining of tokens (DPoP, RFC 9449).
 */
export interface Fapi2Requirements {
  /** §5.3.2.2: authorization requests are accepted only when pushed (RFC 9126). */
  readonly pushedAuthorizationRequests: boolean;
  /** §5.3.2.1: only confidential clients; a public client is refused everywhere. */
  readonly confidentialClientsOnly: boolean;
  /** §5.3.2.1: clients authenticate with private_key_jwt (mTLS client authentication is not offered). */
  readonly privateKeyJwtOnly: boolean;
  /** §5.3.2.1: only sender-constrained access tokens; DPoP (RFC 9449) is the mechanism offered. */
  readonly senderConstrainedTokens: boolean;
  /** §5.3.2.2: authorization codes live at most this many seconds; undefined: no bound of the profile. */
  readonly maxAuthorizationCodeTtl: number | undefined;
}

const NONE: Fapi2Requirements = Object.freeze({
  pushedAuthorizationRequests: false,
  confidentialClientsOnly: false,
  privateKeyJwtOnly: false,
  senderConstrainedTokens: false,
  maxAuthorizationCodeTtl: undefined,
});

const FAPI2: Fapi2Requirements = Object.freeze({
  pushedAuthorizationRequests: true,
  confidentialClientsOnly: true,
  privateKeyJwtOnly: true,
  senderConstrainedTokens: true,
  maxAuthorizationCodeTtl: 60,
});

/** FAPI 2.0 Security Profile §5.4.1: the only signature algorithms of client assertions and DPoP proofs. */
export const FAPI2_ALGORITHMS: readonly string[] = ['PS256', 'ES256', 'EdDSA', 'Ed25519'];

/** The algorithms of `offered` that `env` accepts: all of them, or under the profile those of §5.4.1. */
export function fapi2Algorithms<A extends string>(env: Pick<Environment, 'securityProfile'>, offered: readonly A[]): A[] {
  return isFapi2(env) ? offered.filter((alg) => FAPI2_ALGORITHMS.includes(alg)) : [...offered];
}

/** Whether `env` is held to the FAPI 2.0 Security Profile. */
export function isFapi2(env: Pick<Environment, 'securityProfile'>): boolean {
  return env.securityProfile === 'fapi2';
}

/**
 * What the FAPI 2.0 Security Profile requires in `env`: every requirement false when the
 * environment is not held to it. The one place the profile's rules are decided; the DPoP code
 * reads `senderConstrainedTokens` to require proofs of possession.
 */
export function fapi2Requires(env: Pick<Environment, 'securityProfile'>): Fapi2Requirements {
  return isFapi2(env) ? FAPI2 : NONE;
}

/**
 * RFC 9126 §5 and §6: whether an authorization request of `client` in `env` must be pushed:
 * when the client or the environment requires it, or the environment's profile does.
 */
export function requiresPushedRequests(env: Environment, client: Pick<Client, 'requirePushedAuthorizationRequests'>): boolean {
  return (
    client.requirePushedAuthorizationRequests === true || env.requirePushedAuthorizationRequests === true || fapi2Requires(env).pushedAuthorizationRequests
  );
}

/** How long an authorization code lives in `env`: the configured lifetime, bounded by the profile's (ms). */
export function authorizationCodeTtlMs(env: Pick<Environment, 'securityProfile'>, configuredMs: number): number {
  const max = fapi2Requires(env).maxAuthorizationCodeTtl;
  return max === undefined ? configuredMs : Math.min(configuredMs, max * 1000);
}
