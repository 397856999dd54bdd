import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptPrivateKey, encryptPrivateKey } from '../../src/crypto/key-encryption.ts';
import { hashesEqual, hashSecret, randomToken } from '../../src/crypto/secrets.ts';

const SECRET = Buffer.alloc(32, 7);
const AD = 'env-1/kid-1';
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

type Parts = [string, string, string, string];
const split = (sealed: string): Parts => {
  const parts = sealed.split('.');
  assert.equal(parts.length, 4);
  return parts as Parts;
};

/** Flips one bit of a base64url segment's decoded bytes. */
function flipBit(segment: string, byteIndex = 0): string {
  const bytes = Buffer.from(segment, 'base64url');
  assert.ok(bytes.length > byteIndex);
  bytes[byteIndex] = (bytes[byteIndex] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}

describe('encryptPrivateKey / decryptPrivateKey', () => {
  it('round-trips a PKCS#8 PEM, JWK JSON and Unicode text', () => {
    for (const plaintext of [PEM, JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d: 'secret' }), 'clé privée ✓', 'x']) {
      assert.equal(decryptPrivateKey(encryptPrivateKey(plaintext, SECRET, AD), SECRET, AD), plaintext);
    }
  });

  it('produces a versioned value that hides the plaintext and differs on every call', () => {
    const a = encryptPrivateKey(PEM, SECRET, AD);
    const b = encryptPrivateKey(PEM, SECRET, AD);
    assert.notEqual(a, b);
    const [version, iv, body, tag] = split(a);
    assert.equal(version, 'v1');
    assert.equal(Buffer.from(iv, 'base64url').length, 12);
    assert.equal(Buffer.from(tag, 'base64url').length, 16);
    assert.equal(Buffer.from(body, 'base64url').length, Buffer.byteLength(PEM));
    assert.ok(!a.includes('PRIVATE KEY'));
    assert.ok(!Buffer.from(body, 'base64url').toString('utf8').includes('PRIVATE KEY'));
    assert.notEqual(split(a)[1], split(b)[1], 'a fresh IV per encryption');
  });

  it('refuses a wrong secret', () => {
    const sealed = encryptPrivateKey(PEM, SECRET, AD);
    const other = Buffer.from(SECRET);
    other[31] = (other[31] ?? 0) ^ 0x80;
    assert.throws(() => decryptPrivateKey(sealed, other, AD));
    assert.throws(() => decryptPrivateKey(sealed, randomBytes(32), AD));
    assert.throws(() => decryptPrivateKey(sealed, Buffer.alloc(0), AD));
  });

  it('refuses wrong associated data, so a sealed key cannot be moved to another env or kid', () => {
    const sealed = encryptPrivateKey(PEM, SECRET, AD);
    for (const ad of ['env-1/kid-2', 'env-2/kid-1', '', `${AD} `, AD.toUpperCase()]) {
      assert.throws(() => decryptPrivateKey(sealed, SECRET, ad), Error, `associated data ${JSON.stringify(ad)}`);
    }
    assert.equal(decryptPrivateKey(sealed, SECRET, AD), PEM);
  });

  it('refuses a tampered IV, ciphertext or tag', () => {
    const [version, iv, body, tag] = split(encryptPrivateKey(PEM, SECRET, AD));
    const variants = [
      [version, flipBit(iv), body, tag],
      [version, iv, flipBit(body), tag],
      [version, iv, flipBit(body, 100), tag],
      [version, iv, body, flipBit(tag, 15)],
      [version, iv, body.slice(0, -4), tag],
      [version, iv, `${body}AAAA`, tag],
      [version, iv, body, flipBit(tag)],
    ];
    for (const parts of variants) assert.throws(() => decryptPrivateKey(parts.join('.'), SECRET, AD));
  });

  it('refuses a truncated authentication tag', () => {
    // AES-GCM accepts tags as short as 4 bytes unless the expected length is fixed;
    // a sealed key must carry the full 16-byte tag it was written with.
    const [version, iv, body, tag] = split(encryptPrivateKey(PEM, SECRET, AD));
    for (const length of [4, 8, 12, 15]) {
      const short = Buffer.from(tag, 'base64url').subarray(0, length).toString('base64url');
      assert.throws(() => decryptPrivateKey([version, iv, body, short].join('.'), SECRET, AD), Error, `${length}-byte tag accepted`);
    }
  });

  it('refuses malformed values with a clear error', () => {
    const [, iv, body, tag] = split(encryptPrivateKey(PEM, SECRET, AD));
    for (const sealed of ['', 'v1', 'v1..', `v2.${iv}.${body}.${tag}`, `v1.${iv}.${body}`, `v1..${body}.${tag}`, `v1.${iv}..${tag}`, PEM]) {
      assert.throws(() => decryptPrivateKey(sealed, SECRET, AD), /unrecognised encrypted key format/, JSON.stringify(sealed.slice(0, 20)));
    }
  });
});

describe('hashSecret', () => {
  it('is SHA-256 in base64url, deterministic', () => {
    assert.equal(hashSecret('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    const secret = randomToken(32);
    assert.equal(hashSecret(secret), hashSecret(secret));
    assert.equal(hashSecret(secret), createHash('sha256').update(secret).digest('base64url'));
    assert.match(hashSecret(secret), /^[A-Za-z0-9_-]{43}$/);
  });

  it('differs for different secrets, including near-identical ones', () => {
    const hashes = new Set(['secret', 'secret ', 'Secret', 'secreT', '', 'é', 'e\u0301'].map(hashSecret));
    assert.equal(hashes.size, 7);
    assert.notEqual(hashSecret('a'), 'a');
  });
});

describe('hashesEqual', () => {
  it('is true for equal hashes and false for different ones', () => {
    const a = hashSecret('one');
    assert.equal(hashesEqual(a, hashSecret('one')), true);
    assert.equal(hashesEqual(a, hashSecret('two')), false);
    const lastByteFlipped = flipBit(a, 31);
    assert.equal(hashesEqual(a, lastByteFlipped), false);
  });

  it('is false for different lengths without throwing', () => {
    const a = hashSecret('one');
    assert.equal(hashesEqual(a, a.slice(0, 20)), false);
    assert.equal(hashesEqual(a, ''), false);
    assert.equal(hashesEqual('', a), false);
  });
});

describe('randomToken', () => {
  it('encodes the requested number of random bytes in base64url', () => {
    for (const bytes of [18, 32, 48]) {
      const token = randomToken(bytes);
      assert.match(token, /^[A-Za-z0-9_-]+$/);
      assert.equal(Buffer.from(token, 'base64url').length, bytes);
      assert.equal(Buffer.from(token, 'base64url').toString('base64url'), token);
    }
    assert.equal(Buffer.from(randomToken(), 'base64url').length, 32);
  });

  it('does not repeat', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken(32)));
    assert.equal(tokens.size, 1000);
  });
});
