import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it, mock } from 'node:test';
import fc from 'fast-check';
import {
  burnPasswordCheck,
  DEFAULT_PASSWORD_COST,
  hashPassword,
  needsRehash,
  type PasswordHashCost,
  passwordProblem,
  verifyPassword,
} from '../../src/crypto/passwords.ts';

// The smallest accepted cost (1 MiB, about a millisecond): the default would make every test take
// a few hundred milliseconds. One test below uses the default to prove maxmem is large enough.
const LOW: PasswordHashCost = { log2N: 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery staple';
const FORMAT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

type Parts = [string, string, string, string, string];
const split = (stored: string): Parts => {
  const parts = stored.split('$');
  assert.equal(parts.length, 5);
  return parts as Parts;
};

/** Re-encodes a base64 field with one bit of its decoded bytes flipped. */
function flipBit(field: string, byteIndex = 0): string {
  const bytes = Buffer.from(field, 'base64');
  bytes[byteIndex] = (bytes[byteIndex] ?? 0) ^ 0x01;
  return bytes.toString('base64').replace(/=+$/, '');
}

describe('hashPassword / verifyPassword', () => {
  it('round-trips, and rejects a wrong password', async () => {
    const stored = await hashPassword(PASSWORD, LOW);
    assert.equal(await verifyPassword(PASSWORD, stored), true);
    assert.equal(await verifyPassword(`${PASSWORD} `, stored), false);
    assert.equal(await verifyPassword('Correct horse battery staple', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('writes a self-describing PHC-style string', async () => {
    const stored = await hashPassword(PASSWORD, { log2N: 11, r: 4, p: 2 });
    const match = FORMAT.exec(stored);
    assert.ok(match, stored);
    assert.deepEqual(match.slice(1, 4), ['11', '4', '2']);
    assert.equal(Buffer.from(match[4] ?? '', 'base64').length, 16);
    assert.equal(Buffer.from(match[5] ?? '', 'base64').length, 32);
    assert.equal(await verifyPassword(PASSWORD, stored), true);
  });

  it('matches a known scrypt output (RFC 7914 parameters: salt and key as stored)', async () => {
    const salt = Buffer.alloc(16, 0xab);
    const key = crypto.scryptSync(Buffer.from(PASSWORD, 'utf8'), salt, 32, { N: 1024, r: 8, p: 1 });
    const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
    const stored = `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(key)}`;
    assert.equal(await verifyPassword(PASSWORD, stored), true);
    assert.equal(needsRehash(stored, LOW), false);
  });

  it('treats NFC and NFD forms of the same text as the same password', async () => {
    const nfc = 'caf\u00e9-p\u00e2tisserie';
    const nfd = 'cafe\u0301-pa\u0302tisserie';
    assert.notEqual(nfc, nfd);
    assert.equal(nfc, nfd.normalize('NFC'));
    assert.equal(await verifyPassword(nfd, await hashPassword(nfc, LOW)), true);
    assert.equal(await verifyPassword(nfc, await hashPassword(nfd, LOW)), true);
    // Compatibility forms stay distinct: NFC, not NFKC.
    assert.equal(await verifyPassword('\ufb01ne-password', await hashPassword('fine-password', LOW)), false);
  });

  it('uses a fresh salt for every hash', async () => {
    const [a, b] = await Promise.all([hashPassword(PASSWORD, LOW), hashPassword(PASSWORD, LOW)]);
    assert.notEqual(split(a)[3], split(b)[3]);
    assert.notEqual(split(a)[4], split(b)[4]);
    assert.equal(await verifyPassword(PASSWORD, a), true);
    assert.equal(await verifyPassword(PASSWORD, b), true);
  });

  it('hashes and verifies at the default cost (scrypt maxmem raised for 128 MiB)', async () => {
    const stored = await hashPassword(PASSWORD);
    assert.match(stored, /^\$scrypt\$ln=17,r=8,p=1\$/);
    assert.equal(await verifyPassword(PASSWORD, stored), true);
    assert.equal(await verifyPassword('wrong password', stored), false);
  });

  it('refuses to hash with a cost outside the accepted bounds', async () => {
    for (const cost of [
      { log2N: 9, r: 8, p: 1 },
      { log2N: 21, r: 8, p: 1 },
      { log2N: 17.5, r: 8, p: 1 },
      { log2N: 10, r: 0, p: 1 },
      { log2N: 10, r: 33, p: 1 },
      { log2N: 10, r: 8, p: 0 },
      { log2N: 10, r: 8, p: 17 },
      { log2N: 16, r: 1, p: 1 }, // OpenSSL: N < 2^(16·r)
      { log2N: 20, r: 16, p: 1 }, // 2 GiB
      { log2N: 18, r: 8, p: 16 }, // 4 GiB of work
    ]) {
      await assert.rejects(hashPassword(PASSWORD, cost), RangeError, JSON.stringify(cost));
      await assert.rejects(burnPasswordCheck(cost), RangeError, JSON.stringify(cost));
    }
  });

  it('returns false for malformed and tampered stored strings', async () => {
    const stored = await hashPassword(PASSWORD, LOW);
    const [, , params, salt, hash] = split(stored);
    const tampered = [
      '',
      '$',
      'not a hash',
      stored.slice(0, -1),
      `${stored}A`,
      `${stored}$`,
      ` ${stored}`,
      stored.replace('$scrypt$', '$argon2id$'),
      stored.replace('$scrypt$', '$SCRYPT$'),
      `$scrypt$${params}$${flipBit(salt)}$${hash}`,
      `$scrypt$${params}$${salt}$${flipBit(hash, 31)}`,
      `$scrypt$${params}$${salt}==$${hash}`,
      `$scrypt$${params}$${salt}$${hash}=`,
      `$scrypt$${params}$${salt.replaceAll('+', '-').replaceAll('/', '_')}x$${hash}`,
      `$scrypt$${params}$${hash}$${salt}`,
      `$scrypt$${params}$${salt}${salt}$${hash}`,
      `$scrypt$${params}$$${hash}`,
      `$scrypt$ln=11,r=8,p=1$${salt}$${hash}`, // other parameters: another key
      `$scrypt$ln=010,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=8$${salt}$${hash}`,
      `$scrypt$r=8,ln=10,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=8,p=1,x=1$${salt}$${hash}`,
      `$scrypt$ln=9,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=21,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=33,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=8,p=17$${salt}$${hash}`,
      `$scrypt$ln=20,r=32,p=16$${salt}$${hash}`,
      `$scrypt$ln=20,r=16,p=1$${salt}$${hash}`,
      // In range, but OpenSSL requires N < 2^(16·r): scrypt itself would throw.
      ...[16, 17, 18, 19, 20].map((ln) => `$scrypt$ln=${ln},r=1,p=1$${salt}$${hash}`),
    ];
    // The last salt character carries 4 unused bits: a non-canonical one decodes to the same bytes.
    const lastSalt = salt.at(-1) ?? 'A';
    const sibling = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.replace(lastSalt, '').at(0) ?? 'A';
    if (Buffer.from(salt.slice(0, -1) + sibling, 'base64').equals(Buffer.from(salt, 'base64'))) {
      tampered.push(`$scrypt$${params}$${salt.slice(0, -1)}${sibling}$${hash}`);
    }
    for (const value of tampered) {
      assert.equal(await verifyPassword(PASSWORD, value), false, value);
    }
    assert.equal(await verifyPassword(PASSWORD, stored), true);
  });

  it('never throws for non-string arguments', async () => {
    const stored = await hashPassword(PASSWORD, LOW);
    for (const value of [undefined, null, 42, {}, [], Buffer.from(stored)]) {
      assert.equal(await verifyPassword(PASSWORD, value as unknown as string), false);
      assert.equal(await verifyPassword(value as unknown as string, stored), false);
      assert.equal(needsRehash(value as unknown as string, LOW), true);
    }
  });

  it('returns false, never throws, for arbitrary stored strings (property)', async () => {
    const stored = await hashPassword(PASSWORD, LOW);
    const [, , params, salt, hash] = split(stored);
    const b64char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_$'.split(''));
    const field = fc.oneof(fc.string({ unit: b64char, maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 50 }));
    // Arbitrary text, and near misses that keep the shape so parsing gets past the first checks.
    const candidates = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.tuple(field, field, field).map(([p, s, h]) => `$scrypt$${p}$${s}$${h}`),
      // Parameters around the accepted bounds; expensive in-range ones (real scrypt work) are left to the explicit cases above.
      fc
        .tuple(fc.nat(24), fc.nat(36), fc.nat(20))
        .filter(([ln, r, p]) => 128 * 2 ** ln * r * p <= 2 ** 23 || ln < 10 || ln > 20 || r > 32 || p > 16)
        .map(([ln, r, p]) => `$scrypt$ln=${ln},r=${r},p=${p}$${salt}$${hash}`),
      fc.tuple(field, field).map(([s, h]) => `$scrypt$${params}$${s}$${h}`),
    );
    await fc.assert(
      fc.asyncProperty(candidates, async (value) => {
        fc.pre(value !== stored);
        assert.equal(await verifyPassword(PASSWORD, value), false);
      }),
      { numRuns: 300 },
    );
  });

  it('never runs more than two scrypt computations at once; the rest queue and all complete', async (t) => {
    let running = 0;
    let peak = 0;
    const original = crypto.scrypt;
    // Delay each completion a little so a burst really overlaps.
    const scrypt = (...args: unknown[]) => {
      running++;
      peak = Math.max(peak, running);
      const callback = args.pop() as (error: Error | null, key: Buffer) => void;
      (original as (...a: unknown[]) => void)(...args, (error: Error | null, key: Buffer) => {
        setTimeout(() => {
          running--;
          callback(error, key);
        }, 5);
      });
    };
    t.after(() => mock.restoreAll());
    mock.method(crypto, 'scrypt', scrypt);
    const stored = await hashPassword(PASSWORD, LOW);
    const results = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => verifyPassword(i % 2 ? PASSWORD : 'wrong', stored)),
      burnPasswordCheck(LOW),
      burnPasswordCheck(LOW),
    ]);
    assert.deepEqual(results, [false, true, false, true, false, true, undefined, undefined]);
    assert.equal(peak, 2);
    assert.equal(running, 0);
  });
});

describe('burnPasswordCheck', () => {
  it('does the scrypt work of one verification at the same cost', async (t) => {
    const cost: PasswordHashCost = { log2N: 12, r: 8, p: 2 };
    const stored = await hashPassword(PASSWORD, cost);
    const calls: unknown[][] = [];
    const scrypt = crypto.scrypt;
    // Record each derivation (length and parameters), then run the real one.
    t.mock.method(crypto, 'scrypt', (...args: unknown[]) => {
      const [, , length, options] = args as [unknown, unknown, number, { N: number; r: number; p: number }];
      calls.push([length, options.N, options.r, options.p]);
      return (scrypt as (...a: unknown[]) => void)(...args);
    });
    assert.equal(await verifyPassword('wrong password', stored), false);
    await burnPasswordCheck(cost);
    assert.equal(calls.length, 2, JSON.stringify(calls));
    assert.deepEqual(calls[1], calls[0]);
    assert.deepEqual(calls[0]?.slice(1), [2 ** 12, 8, 2]);
  });
});

describe('needsRehash', () => {
  it('is true only when a stored parameter is below the wanted cost', async () => {
    const stored = await hashPassword(PASSWORD, { log2N: 12, r: 8, p: 2 });
    assert.equal(needsRehash(stored, { log2N: 12, r: 8, p: 2 }), false);
    assert.equal(needsRehash(stored, { log2N: 10, r: 8, p: 1 }), false, 'stronger than wanted: keep');
    assert.equal(needsRehash(stored, { log2N: 13, r: 8, p: 2 }), true);
    assert.equal(needsRehash(stored, { log2N: 12, r: 16, p: 2 }), true);
    assert.equal(needsRehash(stored, { log2N: 12, r: 8, p: 3 }), true);
    assert.equal(needsRehash(stored, DEFAULT_PASSWORD_COST), true);
  });

  it('is true for a string that cannot be parsed', () => {
    assert.equal(needsRehash('', LOW), true);
    assert.equal(needsRehash('$scrypt$ln=10,r=8,p=1$x$y', LOW), true);
    assert.equal(needsRehash('$2b$12$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234', LOW), true);
  });
});

describe('passwordProblem', () => {
  it('accepts 8 to 1024 characters of printable Unicode, spaces included', () => {
    for (const password of [
      '12345678',
      PASSWORD,
      'pass word',
      '  spaces  ',
      'пароль-надёжный',
      '密码密码密码密码',
      '🔑🔑🔑🔑🔑🔑🔑🔑',
      'x'.repeat(1024),
      '\u200dzwj-ok!',
    ]) {
      assert.equal(passwordProblem(password), undefined, password);
    }
  });

  it('counts code points after NFC, not UTF-16 units', () => {
    // Four emoji are eight UTF-16 units but four characters.
    assert.match(passwordProblem('🔑🔑🔑🔑') ?? '', /at least 8/);
    // Seven precomposed characters written decomposed: 14 code points before NFC, 7 after.
    assert.match(passwordProblem('e\u0301'.repeat(7)) ?? '', /at least 8/);
    assert.equal(passwordProblem('e\u0301'.repeat(8)), undefined);
    assert.equal(passwordProblem('🔑'.repeat(1024)), undefined);
    assert.equal(passwordProblem('e\u0301'.repeat(1024)), undefined);
  });

  it('rejects too short and too long passwords', () => {
    assert.match(passwordProblem('') ?? '', /at least 8 characters/);
    assert.match(passwordProblem('1234567') ?? '', /at least 8 characters/);
    assert.match(passwordProblem('x'.repeat(1025)) ?? '', /at most 1024 characters/);
    assert.match(passwordProblem('🔑'.repeat(1025)) ?? '', /at most 1024 characters/);
  });

  it('rejects NUL and other control characters', () => {
    for (const control of ['\u0000', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009f']) {
      assert.match(passwordProblem(`password${control}password`) ?? '', /control characters/, JSON.stringify(control));
    }
  });

  it('rejects unpaired surrogates', () => {
    assert.match(passwordProblem('password\ud800') ?? '', /surrogate/);
    assert.match(passwordProblem('\udc00password') ?? '', /surrogate/);
  });
});
