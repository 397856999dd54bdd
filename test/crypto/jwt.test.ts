import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CompactSign, SignJWT } from 'jose';
import {
  type ClaimRules,
  JwtError,
  type JwtFailure,
  signCompactJwt,
  type VerificationKey,
  VerifiedSignatures,
  verifyCompactJws,
  verifyJwt,
} from '../../src/crypto/jwt.ts';

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

describe('verifyJwt', () => {
  const NOW = Date.UTC(2026, 0, 1, 12);
  const now = NOW / 1000;
  const es256 = { key: ec.publicKey, alg: 'ES256' } as const;
  const valid = { iss: 'https://as.example', sub: 'svc', aud: 'https://as.example', iat: now, exp: now + 60, jti: 'j1', client_id: 'c' };
  const token = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signCompactJwt({ kid: 'k', ...header }, { ...valid, ...claims }, ec.privateKey, 'ES256');
  const strict: ClaimRules = { issuer: valid.iss, audience: valid.aud, clockSkew: 30, maxLifetime: 300, refuseFutureIat: true, required: ['exp', 'jti'] };

  /** Asserts that verifying `jwt` fails with `reason` (and `claim` when given). */
  function refuses(jwt: string, rules: ClaimRules, reason: JwtFailure, claim?: string, key: VerificationKey = es256): void {
    assert.throws(
      () => verifyJwt(jwt, key, rules, NOW),
      (error: unknown) => {
        assert.ok(error instanceof JwtError, String(error));
        assert.equal(error.reason, reason, error.message);
        if (claim !== undefined) assert.equal(error.claim, claim);
        assert.ok(!error.message.includes(jwt), 'the message never repeats the token');
        return true;
      },
    );
  }

  it('returns the header and the typed claims of a token that keeps every rule', () => {
    const verified = verifyJwt(token({}, { typ: 'at+jwt' }), es256, { ...strict, typ: 'at+jwt', subject: 'svc', required: ['exp', 'jti', 'client_id'] }, NOW);
    assert.equal(verified.header.alg, 'ES256');
    assert.equal(verified.header.kid, 'k');
    assert.deepEqual(verified.payload, valid);
    const exp: number = verified.payload.exp;
    assert.equal(exp, now + 60);
  });

  it('exp: refused once expired by more than the skew, accepted within it', () => {
    refuses(token({ exp: now - 31 }), strict, 'expired');
    assert.ok(verifyJwt(token({ exp: now - 29 }), es256, strict, NOW));
    refuses(token({ exp: now }), { clockSkew: 0 }, 'expired');
    assert.ok(verifyJwt(token({ exp: now + 1 }), es256, { clockSkew: 0 }, NOW));
    assert.ok(verifyJwt(token({ exp: now }), es256, { clockSkew: 0 }, NOW - 1), 'valid until the very millisecond');
  });

  it('exp: refused further ahead than the longest lifetime plus the skew', () => {
    refuses(token({ exp: now + 331 }), strict, 'lifetime');
    assert.ok(verifyJwt(token({ exp: now + 329 }), es256, strict, NOW));
    assert.ok(verifyJwt(token({ exp: now + 10_000 }), es256, { clockSkew: 30 }, NOW), 'no bound without maxLifetime');
  });

  it('nbf: refused while later than now plus the skew', () => {
    refuses(token({ nbf: now + 31 }), strict, 'not_yet_valid');
    assert.ok(verifyJwt(token({ nbf: now + 29 }), es256, strict, NOW));
  });

  it('iat: refused in the future beyond the skew when asked; required when listed', () => {
    refuses(token({ iat: now + 31 }), strict, 'iat');
    assert.ok(verifyJwt(token({ iat: now + 29 }), es256, strict, NOW));
    assert.ok(verifyJwt(token({ iat: now + 3600 }), es256, { ...strict, refuseFutureIat: false }, NOW));
    refuses(token({ iat: undefined }), { required: ['iat'] }, 'missing_claim', 'iat');
  });

  it('NumericDates must be finite numbers', () => {
    refuses(token({ exp: String(now + 60) }), strict, 'invalid_claim', 'exp');
    refuses(token({ nbf: null }), strict, 'invalid_claim', 'nbf');
    refuses(token({ iat: [now] }), strict, 'invalid_claim', 'iat');
    const input = `${b64({ alg: 'ES256' })}.${Buffer.from(`{"exp":1e400}`).toString('base64url')}`;
    const infinite = `${input}.${sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    refuses(infinite, {}, 'invalid_claim', 'exp');
  });

  it('iss and sub: exactly the expected value', () => {
    refuses(token({ iss: 'https://other.example' }), strict, 'iss');
    refuses(token({ iss: undefined }), strict, 'iss');
    refuses(token({ sub: 'someone-else' }), { subject: 'svc' }, 'sub');
    refuses(token({ sub: 7 }), {}, 'invalid_claim', 'sub');
  });

  it('aud: a string or an array naming one accepted audience', () => {
    const rules: ClaimRules = { audience: ['https://as.example', 'https://as.example/token'] };
    assert.ok(verifyJwt(token({ aud: 'https://as.example/token' }), es256, rules, NOW));
    assert.ok(verifyJwt(token({ aud: ['https://rs.example', 'https://as.example'] }), es256, rules, NOW));
    refuses(token({ aud: 'https://rs.example' }), rules, 'aud');
    refuses(token({ aud: [] }), rules, 'aud');
    refuses(token({ aud: undefined }), rules, 'missing_claim', 'aud');
    refuses(token({ aud: ['https://as.example', 5] }), rules, 'invalid_claim', 'aud');
    refuses(token({ aud: 'https://AS.example' }), { audience: 'https://as.example' }, 'aud');
  });

  it('required claims must be present; jti is bounded when asked', () => {
    refuses(token({ jti: undefined }), strict, 'missing_claim', 'jti');
    refuses(token({ exp: undefined }), strict, 'missing_claim', 'exp');
    refuses(token({ client_id: undefined }), { required: ['client_id'] }, 'missing_claim', 'client_id');
    refuses(token(), { required: ['constructor'] }, 'missing_claim', 'constructor');
    refuses(token({ jti: 42 }), strict, 'invalid_claim', 'jti');
    refuses(token({ jti: '' }), { maxJtiLength: 256 }, 'invalid_claim', 'jti');
    refuses(token({ jti: 'x'.repeat(257) }), { maxJtiLength: 256 }, 'invalid_claim', 'jti');
    assert.ok(verifyJwt(token({ jti: 'x'.repeat(256) }), es256, { maxJtiLength: 256 }, NOW));
    assert.ok(verifyJwt(token({ jti: '' }), es256, {}, NOW), 'an empty jti is only refused with a bound');
  });

  it('typ: the expected type or its media type, case-insensitively (RFC 7515 §4.1.9)', () => {
    assert.ok(verifyJwt(token({}, { typ: 'application/AT+JWT' }), es256, { typ: 'at+jwt' }, NOW));
    refuses(token({}, { typ: 'JWT' }), { typ: 'at+jwt' }, 'typ');
    refuses(token(), { typ: 'at+jwt' }, 'typ');
    assert.ok(verifyJwt(token({}, { typ: 'JWT' }), es256, {}, NOW), 'typ is only checked when asked');
  });

  it('refuses crit, another algorithm than the key’s, a key of another type, a bad signature and malformed input', () => {
    refuses(token({}, { crit: ['exp'] }), {}, 'crit');
    refuses(signCompactJwt({}, valid, ed.privateKey, 'EdDSA'), {}, 'alg');
    refuses(token(), {}, 'alg', undefined, { key: ed.publicKey, alg: 'EdDSA' });
    refuses(token(), {}, 'alg', undefined, { key: ed.publicKey, alg: 'ES256' });
    refuses(token(), {}, 'signature', undefined, { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, alg: 'ES256' });
    refuses('a.b', {}, 'malformed');
    refuses(signCompactJwt({}, [1] as unknown as Record<string, unknown>, ec.privateKey, 'ES256'), {}, 'payload');
  });

  it('reports the first rule broken, in the documented order', () => {
    refuses(token({ iss: 'https://other.example', exp: now - 3600 }), strict, 'iss');
    refuses(token({ exp: now - 3600, nbf: 'soon' }), strict, 'expired');
    refuses(token({ exp: now - 3600 }, { typ: 'JWT' }), { ...strict, typ: 'at+jwt' }, 'typ');
  });

  it('throws nothing but JwtError for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        assert.throws(() => verifyJwt(text, es256, strict, NOW), JwtError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('VerifiedSignatures', () => {
  const now = Date.UTC(2026, 11, 7, 12);
  const claims = (exp: number) => ({ iss: 'https://as', sub: 'u', aud: 'api', exp, iat: now / 1000, jti: 'j1' });
  const rules: ClaimRules<'jti'> = { typ: 'at+jwt', issuer: 'https://as', audience: 'api', required: ['jti'] };
  const token = signCompactJwt({ kid: 'k', typ: 'at+jwt' }, claims(now / 1000 + 60), ec.privateKey, 'ES256');

  it('gives the same answer as a fresh verification, and remembers only successes', () => {
    const signatures = new VerifiedSignatures();
    const key: VerificationKey = { key: ec.publicKey, alg: 'ES256', signatures };
    const first = verifyJwt(token, key, rules, now);
    const again = verifyJwt(token, key, rules, now);
    assert.deepEqual(again, first);
    assert.deepEqual(again, verifyJwt(token, { key: ec.publicKey, alg: 'ES256' }, rules, now));
    assert.equal(signatures.size, 1);
    // Changing one character of the signature (or the payload) is a different token: verified, and refused.
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'AB' : 'AA'}`;
    assert.throws(
      () => verifyJwt(tampered, key, rules, now),
      (e) => e instanceof JwtError && e.reason === 'signature',
    );
    const [h, , s] = token.split('.');
    const otherPayload = `${h}.${b64(claims(now / 1000 + 3600))}.${s}`;
    assert.throws(
      () => verifyJwt(otherPayload, key, rules, now),
      (e) => e instanceof JwtError && e.reason === 'signature',
    );
    assert.equal(signatures.size, 1, 'refused tokens are not remembered');
  });

  it('still applies every claim rule at the current time on a remembered token', () => {
    const key: VerificationKey = { key: ec.publicKey, alg: 'ES256', signatures: new VerifiedSignatures() };
    verifyJwt(token, key, rules, now);
    assert.throws(
      () => verifyJwt(token, key, rules, now + 61_000),
      (e) => e instanceof JwtError && e.reason === 'expired',
    );
    assert.throws(
      () => verifyJwt(token, key, { ...rules, audience: 'other' }, now),
      (e) => e instanceof JwtError && e.reason === 'aud',
    );
  });

  it('is only served for the key and algorithm it was verified with', () => {
    const signatures = new VerifiedSignatures();
    verifyJwt(token, { key: ec.publicKey, alg: 'ES256', signatures }, rules, now);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.throws(
      () => verifyJwt(token, { key: otherKey, alg: 'ES256', signatures }, rules, now),
      (e) => e instanceof JwtError && e.reason === 'signature',
    );
    assert.throws(
      () => verifyJwt(token, { key: ed.publicKey, alg: 'EdDSA', signatures }, rules, now),
      (e) => e instanceof JwtError && e.reason === 'alg',
    );
    // The same public key imported again is another object: verified again, and accepted.
    assert.equal(verifyJwt(token, { key: createPublicKey(ec.privateKey), alg: 'ES256', signatures }, rules, now).payload.jti, 'j1');
  });

  it('is bounded: the oldest entries go first', () => {
    const signatures = new VerifiedSignatures(3);
    const key: VerificationKey = { key: ec.publicKey, alg: 'ES256', signatures };
    for (let i = 0; i < 5; i += 1) {
      verifyJwt(signCompactJwt({ typ: 'at+jwt' }, { ...claims(now / 1000 + 60), jti: `j${i}` }, ec.privateKey, 'ES256'), key, rules, now);
    }
    assert.equal(signatures.size, 3);
  });
});
