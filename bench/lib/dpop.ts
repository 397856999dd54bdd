import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * `count` DPoP proofs (RFC 9449 §4.2) for POSTs to `htu`, each with its own jti, all signed now
 * with one ES256 key: a client keeps its key, and a proof is single use.
 */
export function presignDpopProofs(htu: string, count: number): string[] {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } });
  const iat = Math.floor(Date.now() / 1000);
  const proofs: string[] = [];
  for (let i = 0; i < count; i++) {
    const input = `${header}.${b64({ jti: randomUUID(), htm: 'POST', htu, iat })}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    proofs.push(`${input}.${signature.toString('base64url')}`);
  }
  return proofs;
}
