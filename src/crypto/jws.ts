import { type KeyObject, sign } from 'node:crypto';

/** Algorithms `signCompactJwt` produces: the access-token algorithms. */
export type JwsAlgorithm = 'ES256' | 'EdDSA';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Signs a JWT in compact serialisation with node:crypto directly (synchronous, no WebCrypto
 * round trip): the token endpoint's hottest step. ES256 signatures use the JOSE (r‖s) encoding
 * (RFC 7518 §3.4); verification stays with `jose`.
 */
export function signCompactJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, alg: JwsAlgorithm): string {
  const input = `${b64({ ...header, alg })}.${b64(payload)}`;
  const data = Buffer.from(input, 'ascii');
  const signature = alg === 'ES256' ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) : sign(null, data, key);
  return `${input}.${signature.toString('base64url')}`;
}
