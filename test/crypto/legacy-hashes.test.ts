import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import {
  isLegacyHash,
  LegacyVerificationBusyError,
  legacyHashKind,
  storedSecretHash,
  VerificationQueue,
  verifyLegacyHash,
} from '../../src/crypto/legacy-hashes.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';

/** A hash in ORY's PBKDF2 format, made with node:crypto as Hydra's hasher would (unpadded standard base64). */
function hydraPbkdf2(secret: string, iterations = 25_000, salt = crypto.randomBytes(16)): string {
  const key = crypto.pbkdf2Sync(secret, salt, iterations, 32, 'sha256');
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$pbkdf2-sha256$i=${iterations},l=32$${b64(salt)}$${b64(key)}`;
}

const KEY = 'env\u0000client';

describe('legacy hashes', () => {
  it('verifies bcrypt reference vectors: crypt_blowfish ($2a$) and PHP password_hash ($2y$)', async () => {
    // Openwall crypt_blowfish's test vector and the example of PHP's password_verify documentation.
    assert.equal(await verifyLegacyHash('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', KEY), true);
    assert.equal(await verifyLegacyHash('rasmuslerdorf', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a', KEY), true);
    assert.equal(await verifyLegacyHash('rasmuslerdorF', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a', KEY), false);
    assert.equal(await verifyLegacyHash('U*V', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', KEY), false);
  });

  it('verifies a $2b$ hash made by bcryptjs at cost 10 (what Devise and Doorkeeper write)', async () => {
    const stored = bcrypt.hashSync('a doorkeeper secret', 10);
    assert.match(stored, /^\$2b\$10\$/);
    assert.equal(legacyHashKind(stored), 'bcrypt');
    assert.equal(await verifyLegacyHash('a doorkeeper secret', stored, KEY), true);
    assert.equal(await verifyLegacyHash('a doorkeeper secreT', stored, KEY), false);
  });

  it('compares bcrypt on a worker thread: the event loop keeps turning during a cost-12 check', async () => {
    const stored = bcrypt.hashSync('slow secret', 12);
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const ok = await verifyLegacyHash('slow secret', stored, KEY);
    running = false;
    assert.equal(ok, true);
    // On the event loop, bcryptjs would yield only between 100 ms slices: a handful of turns at most.
    assert.ok(turns > 50, `only ${turns} turns of the event loop during the check`);
  });

  it('verifies PBKDF2-SHA256 in ORY format: an RFC 7914-derived vector and hashes made with node:crypto', async () => {
    const vector = '$pbkdf2-sha256$i=4096,l=40$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q';
    assert.equal(await verifyLegacyHash('passwordPASSWORDpassword', vector, KEY), true);
    assert.equal(await verifyLegacyHash('passwordPASSWORDpassworD', vector, KEY), false);
    const stored = hydraPbkdf2('hydra client secret');
    assert.equal(legacyHashKind(stored), 'pbkdf2-sha256');
    assert.equal(await verifyLegacyHash('hydra client secret', stored, KEY), true);
    assert.equal(await verifyLegacyHash('hydra client secreT', stored, KEY), false);
  });

  it('refuses malformed or out-of-bounds hashes without work', async () => {
    for (const stored of [
      '',
      '$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
      '$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
      '$pbkdf2-sha256$i=99999999,l=32$c2FsdHNhbHQ$AAAA',
      '$pbkdf2-sha512$i=1000,l=32$c2FsdHNhbHQ$AAAA',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$AAAA',
      hashSecret('x'),
    ]) {
      assert.equal(legacyHashKind(stored), undefined, stored);
      assert.equal(await verifyLegacyHash('x', stored, KEY), false, stored);
    }
    assert.equal(isLegacyHash(hashSecret('x')), false);
    assert.equal(isLegacyHash('$scrypt$ln=17,r=8,p=1$a$b'), false);
    assert.equal(isLegacyHash('$2b$10$abc'), true);
  });

  it('turns imported secrets into what Gatehouse stores: plain and SHA-256 digests into its own hash, slow hashes kept', () => {
    const secret = 'a plain secret';
    assert.deepEqual(storedSecretHash('plain', secret), { hash: hashSecret(secret) });
    const hex = crypto.createHash('sha256').update(secret).digest('hex');
    assert.deepEqual(storedSecretHash('sha256-hex', hex), { hash: hashSecret(secret) });
    assert.deepEqual(storedSecretHash('sha256-hex', hex.toUpperCase()), { hash: hashSecret(secret) });
    assert.deepEqual(storedSecretHash('sha256-base64url', hashSecret(secret)), { hash: hashSecret(secret) });
    const bcrypted = bcrypt.hashSync(secret, 4);
    assert.deepEqual(storedSecretHash('bcrypt', bcrypted), { hash: bcrypted });
    assert.ok('problem' in storedSecretHash('sha256-hex', 'abc'));
    assert.ok('problem' in storedSecretHash('bcrypt', hex));
    assert.ok('problem' in storedSecretHash('argon2id', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$AAAA'));
    assert.ok('problem' in storedSecretHash('plain', ''));
  });
});

describe('the legacy verification queue', () => {
  const gate = () => {
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { opened, open };
  };

  it('runs at most `limit` at once, queues up to `maxWaiting`, and refuses beyond', async () => {
    const queue = new VerificationQueue(1, 1, 10);
    const first = gate();
    let running = 0;
    let peak = 0;
    const task = (g: { opened: Promise<void> }) => async () => {
      running++;
      peak = Math.max(peak, running);
      await g.opened;
      running--;
      return true;
    };
    const a = queue.run('a', task(first));
    const second = gate();
    const b = queue.run('b', task(second));
    await assert.rejects(
      queue.run('c', async () => true),
      LegacyVerificationBusyError,
    );
    first.open();
    second.open();
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.equal(peak, 1);
    assert.equal(await queue.run('c', async () => 'after'), 'after');
  });

  it("refuses a key past its share while other keys still get in (one client's flood leaves the others alone)", async () => {
    const queue = new VerificationQueue(1, 10, 2);
    const held = gate();
    const flood = [queue.run('flooded', () => held.opened), queue.run('flooded', () => held.opened)];
    await assert.rejects(
      queue.run('flooded', async () => undefined),
      LegacyVerificationBusyError,
    );
    const other = queue.run('other', async () => 'other');
    held.open();
    await Promise.all(flood);
    assert.equal(await other, 'other');
  });
});
