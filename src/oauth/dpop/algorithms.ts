/**
 * RFC 9449 §4.3 step 5: asymmetric algorithms only (never `none`, never HMAC), published as
 * `dpop_signing_alg_values_supported` (§5.1).
 */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
