import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CompactSign, SignJWT } from 'jose';
import { signCompactJwt, verifyCompactJws } from '../../src/crypto/jws.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const shortRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const encoder = new TextEncoder();
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const signWith = (header: Record<string, unknown>, key: KeyObject) =>
  new CompactSign(encoder.encode(JSON.stringify({ sub: 'x' }))).setProtectedHeader(header as { alg: string }).sign(key);

describe('verifyCompactJws', () => {
  it('verifies ES256, EdDSA (also named Ed25519) and RS256 with the matching key only', async () => {
    const es = signCompactJwt({ kid: 'k' }, { sub: 'x' }, ec.privateKey, 'ES256');
    assert.equal(verifyCompactJws(es, ec.publicKey, 'ES256')?.header.kid, 'k');
    assert.deepEqual(JSON.parse(String(verifyCompactJws(es, ec.publicKey, 'ES256')?.payload)), { sub: 'x' });
    const edToken = signCompactJwt({}, { sub: 'x' }, ed.privateKey, 'EdDSA');
    assert.ok(verifyCompactJws(edToken, ed.publicKey, 'EdDSA'));
    assert.ok(verifyCompactJws(await signWith({ alg: 'Ed25519' }, ed.privateKey), ed.publicKey, 'Ed25519'));
    assert.ok(verifyCompactJws(await signWith({ alg: 'RS256' }, rsa.privateKey), rsa.publicKey, 'RS256'));

    assert.equal(verifyCompactJws(es, ec.publicKey, 'EdDSA'), undefined, 'the header must name the expected alg');
    assert.equal(verifyCompactJws(es, ed.publicKey, 'ES256'), undefined, 'an Ed25519 key cannot verify ES256');
    assert.equal(verifyCompactJws(es, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'ES256'), undefined);
    assert.equal(verifyCompactJws(await signWith({ alg: 'ES384' }, p384.privateKey), p384.publicKey, 'ES256'), undefined);
    const input = `${b64({ alg: 'RS256' })}.${b64({ sub: 'x' })}`;
    const shortRsaToken = `${input}.${sign('sha256', Buffer.from(input), shortRsa.privateKey).toString('base64url')}`;
    assert.equal(verifyCompactJws(shortRsaToken, shortRsa.publicKey, 'RS256'), undefined, 'RSA below 2048 bits');
    assert.equal(verifyCompactJws(es, createPublicKey(ec.privateKey), 'ES256')?.header.alg, 'ES256');
    assert.equal(verifyCompactJws(es, ec.privateKey, 'ES256'), undefined, 'only public keys');
  });

  it('refuses alg none, HMAC, crit, b64, tampering and malformed input', async () => {
    const es = signCompactJwt({}, { sub: 'x' }, ec.privateKey, 'ES256');
    const [h, p, s] = es.split('.') as [string, string, string];
    assert.equal(verifyCompactJws(`${b64({ alg: 'none' })}.${p}.`, ec.publicKey, 'ES256'), undefined);
    const hmac = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(encoder.encode('a shared secret of enough length!!'));
    assert.equal(verifyCompactJws(hmac, ec.publicKey, 'ES256'), undefined);
    assert.equal(verifyCompactJws(signCompactJwt({ crit: ['exp'], exp: 1 }, { sub: 'x' }, ec.privateKey, 'ES256'), ec.publicKey, 'ES256'), undefined);
    assert.equal(verifyCompactJws(signCompactJwt({ b64: false }, { sub: 'x' }, ec.privateKey, 'ES256'), ec.publicKey, 'ES256'), undefined);
    assert.equal(verifyCompactJws(`${h}.${b64({ sub: 'y' })}.${s}`, ec.publicKey, 'ES256'), undefined, 'payload changed');
    // One character of the signature replaced by another (a fixed suffix such as "AA" is already
    // there in one signature of 256).
    const changed = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    assert.equal(verifyCompactJws(`${h}.${p}.${changed}`, ec.publicKey, 'ES256'), undefined, 'signature changed');
    for (const bad of ['', 'a.b', 'a.b.c.d', `${h}.${p}`, `${h}.${p}.${s}=`, `${h}+.${p}.${s}`, `${b64([1])}.${p}.${s}`, `bm90IGpzb24.${p}.${s}`]) {
      assert.equal(verifyCompactJws(bad, ec.publicKey, 'ES256'), undefined, bad);
    }
  });

  it('never throws and never accepts arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        assert.equal(verifyCompactJws(text, ec.publicKey, 'ES256'), undefined);
      }),
      { numRuns: 300 },
    );
  });
});
