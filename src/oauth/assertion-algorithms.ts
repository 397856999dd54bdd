/** Algorithms a registered key may use: asymmetric only (RFC 8725 §3.1), never `none` or HMAC. */
export const ASSERTION_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];
