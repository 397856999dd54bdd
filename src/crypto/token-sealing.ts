import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const TAG_LENGTH = 16;

/**
 * The key of a value sealed for the holder of `token`: HKDF-SHA-256 of the token, salted with the
 * server's key secret. The database holds only the token's SHA-256 hash, from which this key
 * cannot be derived; a reader of the database needs the token itself (and the key secret).
 */
function holderKey(token: string, keySecret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), keySecret, `gatehouse sealed for token holder: ${purpose}`, 32));
}

/** Encrypts `plaintext` (AES-256-GCM) so that only someone presenting `token` again can read it. */
export function sealForTokenHolder(plaintext: string, token: string, keySecret: Buffer, purpose: string, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', holderKey(token, keySecret, purpose), iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** Reverses `sealForTokenHolder`; undefined when the token, key secret, purpose or associated data differ. */
export function openAsTokenHolder(sealed: string, token: string, keySecret: Buffer, purpose: string, associatedData: string): string | undefined {
  const parts = sealed.split('.');
  const [version, iv, body, tag] = parts;
  if (parts.length !== 4 || version !== VERSION || !iv || !body || !tag) return undefined;
  try {
    // The full 16-byte tag only: GCM would otherwise accept a truncated, far weaker one.
    const decipher = createDecipheriv('aes-256-gcm', holderKey(token, keySecret, purpose), Buffer.from(iv, 'base64url'), { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
