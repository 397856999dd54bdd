import { constants, type KeyObject, sign, verify } from 'node:crypto';

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

/** Header `alg` values `verifyCompactJws` checks; `Ed25519` is RFC 9864's name for EdDSA with that curve. */
export type VerifiableAlgorithm = 'ES256' | 'EdDSA' | 'Ed25519' | 'RS256';

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies a compact JWS (RFC 7515 §5.2) with node:crypto, synchronously: no WebCrypto promise
 * or thread-pool hop on the hottest verification paths. Exactly one algorithm is accepted, the
 * one the key was registered or generated for (RFC 8725 §3.1), and the key's type must fit it.
 * Returns undefined for anything malformed, any `crit` extension (none is understood, RFC 7515
 * §4.1.11) and any signature that does not verify.
 */
export function verifyCompactJws(token: string, key: KeyObject, alg: VerifiableAlgorithm): VerifiedJws | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
  if (!BASE64URL.test(encodedHeader) || !BASE64URL.test(encodedPayload) || !BASE64URL.test(encodedSignature)) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  const fields = header as Record<string, unknown>;
  if (fields.alg !== alg || 'crit' in fields || 'b64' in fields || !keyFits(key, alg)) return undefined;
  const data = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  const signature = Buffer.from(encodedSignature, 'base64url');
  let valid: boolean;
  try {
    if (alg === 'ES256') valid = verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    else if (alg === 'RS256') valid = verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    else valid = verify(null, data, key, signature);
  } catch {
    return undefined;
  }
  return valid ? { header: fields, payload: Buffer.from(encodedPayload, 'base64url') } : undefined;
}

function keyFits(key: KeyObject, alg: VerifiableAlgorithm): boolean {
  if (key.type !== 'public') return false;
  const details = key.asymmetricKeyDetails;
  if (alg === 'ES256') return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  if (alg === 'RS256') return key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048;
  return key.asymmetricKeyType === 'ed25519';
}
