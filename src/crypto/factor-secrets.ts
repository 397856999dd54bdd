import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const TAG_LENGTH = 16;

// A key of its own for second-factor secrets, derived from the key secret: a signing-key
// ciphertext can never be opened as a TOTP secret or the other way round.
function factorKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'gatehouse second-factor secrets', 32));
}

/** Encrypts a second-factor secret (AES-256-GCM) under the key secret, bound to `associatedData` (its owner). */
export function sealFactorSecret(plaintext: string, keySecret: Buffer, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', factorKey(keySecret), iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** Reverses `sealFactorSecret`; undefined when the key secret or the associated data differ. */
export function openFactorSecret(sealed: string, keySecret: Buffer, associatedData: string): string | undefined {
  const parts = sealed.split('.');
  const [version, iv, body, tag] = parts;
  if (parts.length !== 4 || version !== VERSION || !iv || !body || !tag) return undefined;
  try {
    // The full 16-byte tag only: GCM would otherwise accept a truncated, far weaker one.
    const decipher = createDecipheriv('aes-256-gcm', factorKey(keySecret), Buffer.from(iv, 'base64url'), { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
