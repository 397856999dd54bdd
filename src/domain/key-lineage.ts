import type { IdTokenAlgorithm } from './model.ts';

/**
 * The algorithm of the ID-Token-only lineage. OpenID Connect Core §15.1 requires every OpenID
 * Provider to sign ID Tokens with RS256, but RS256 never signs access tokens (they stay on the
 * environment's ES256 or EdDSA key), so an environment holds two key lineages, each with its own
 * next/active/retired lifecycle: RS256, and the access-token lineage, whose keys are ES256 or
 * EdDSA (GATEHOUSE_SIGNING_ALG when each key is made: a changed setting takes over at that
 * lineage's next rotation).
 */
export const ID_TOKEN_KEY_ALGORITHM = 'RS256' satisfies IdTokenAlgorithm;

/** A lineage of keys: each rotates on its own and has at most one active and one next key. */
export type KeyLineage = 'access' | typeof ID_TOKEN_KEY_ALGORITHM;

/** Every lineage of an environment, the access-token one first. */
export const KEY_LINEAGES: readonly KeyLineage[] = ['access', ID_TOKEN_KEY_ALGORITHM];

/** The lineage a key of algorithm `alg` belongs to. */
export const lineageOf = (alg: string): KeyLineage => (alg === ID_TOKEN_KEY_ALGORITHM ? ID_TOKEN_KEY_ALGORITHM : 'access');
