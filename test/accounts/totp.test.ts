import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { TOTP } from 'otpauth';
import { SecondFactorThrottle } from '../../src/accounts/second-factor-throttle.ts';
import { TotpFactor } from '../../src/accounts/totp.ts';
import { openFactorSecret, sealFactorSecret } from '../../src/crypto/factor-secrets.ts';
import { keyedHasher } from '../../src/crypto/secrets.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { SecondFactorStore, TotpEnrolment } from '../../src/domain/second-factors.ts';
import type { RateCounterStore } from '../../src/domain/storage.ts';

const KEY = randomBytes(32);
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

/** The store's contract in memory (the SQL one is tested on SQLite and PostgreSQL in test/store). */
function memoryStore(): SecondFactorStore {
  const totp = new Map<string, TotpEnrolment>();
  const codes = new Map<string, number | null>();
  return {
    findTotp: async (e, u) => totp.get(`${e}/${u}`),
    beginTotp: async (x) => {
      if (totp.get(`${x.envId}/${x.userId}`)?.confirmedAt != null) return false;
      totp.set(`${x.envId}/${x.userId}`, { ...x });
      return true;
    },
    useTotpStep: async (e, u, step, now, confirm) => {
      const t = totp.get(`${e}/${u}`);
      if (!t || (t.confirmedAt === null) !== confirm || (t.lastUsedStep !== null && t.lastUsedStep >= step)) return false;
      t.lastUsedStep = step;
      if (confirm) t.confirmedAt = now;
      return true;
    },
    replaceRecoveryCodes: async (_e, _u, hashes) => {
      codes.clear();
      for (const h of hashes) codes.set(h, null);
    },
    consumeRecoveryCode: async (_e, _u, hash, now) => {
      if (codes.get(hash) !== null) return false;
      codes.set(hash, now);
      return true;
    },
    unusedRecoveryCodes: async () => [...codes.values()].filter((v) => v === null).length,
    resetFactors: async () => ({ totp: false, recoveryCodes: 0, passkeys: 0 }),
    findPolicy: async () => undefined,
    savePolicy: async () => undefined,
  };
}

function memoryCounters(): RateCounterStore {
  const counts = new Map<string, number>();
  return {
    add: async (increments) => {
      for (const i of increments) counts.set(`${i.keyHash}@${i.windowStart}`, (counts.get(`${i.keyHash}@${i.windowStart}`) ?? 0) + i.delta);
      return new Map(increments.map((i) => [i.keyHash, counts.get(`${i.keyHash}@${i.windowStart}`) ?? 0]));
    },
    deleteExpired: async () => 0,
  };
}

function factor() {
  const clock = new ManualClock(T0);
  const store = memoryStore();
  const throttle = new SecondFactorThrottle(memoryCounters(), clock, { pair: 3, source: 100, user: 6, windowMs: 900_000 }, keyedHasher(KEY, 't'));
  return { clock, store, totp: new TotpFactor(store, clock, KEY, keyedHasher(KEY, 'r'), throttle) };
}

const code = (secret: string, at: number) => new TOTP({ secret }).generate({ timestamp: at });

describe('TOTP second factor', () => {
  it('seals the secret for its owner only', () => {
    const sealed = sealFactorSecret('JBSWY3DPEHPK3PXP', KEY, 'totp/e/u');
    assert.doesNotMatch(sealed, /JBSWY3DPEHPK3PXP/);
    assert.equal(openFactorSecret(sealed, KEY, 'totp/e/u'), 'JBSWY3DPEHPK3PXP');
    assert.equal(openFactorSecret(sealed, KEY, 'totp/e/other'), undefined);
    assert.equal(openFactorSecret(sealed, randomBytes(32), 'totp/e/u'), undefined);
  });

  it('RFC 6238 §5.2: accepts one step of drift either side, not two, and each code once', async () => {
    const { clock, totp } = factor();
    const offer = await totp.offer('e', 'u', 'alice', 'Env');
    assert.ok(offer);
    assert.match(offer.uri, /^otpauth:\/\/totp\//);
    assert.match(offer.qrSvg, /^<svg /);
    const confirmed = await totp.confirm('e', 'u', code(offer.secret, T0), '192.0.2.1');
    assert.ok(confirmed.ok && 'recoveryCodes' in confirmed && confirmed.recoveryCodes.length === 10);
    assert.equal(await totp.offer('e', 'u', 'alice', 'Env'), undefined, 'no new secret once active');
    clock.advance(120_000);
    assert.equal((await totp.verify('e', 'u', code(offer.secret, clock.now() - 60_000), '192.0.2.1')).ok, false, 'two steps late');
    assert.equal((await totp.verify('e', 'u', code(offer.secret, clock.now() - 30_000), '192.0.2.1')).ok, true, 'one step late');
    assert.equal((await totp.verify('e', 'u', code(offer.secret, clock.now() - 30_000), '192.0.2.2')).ok, false, 'the same code again');
    assert.equal((await totp.verify('e', 'u', code(offer.secret, clock.now() + 30_000), '192.0.2.2')).ok, true, 'one step early');
  });

  it('recovery codes work once each, typed with or without the dash, in any case', async () => {
    const { totp } = factor();
    const offer = await totp.offer('e', 'u', 'alice', 'Env');
    const confirmed = await totp.confirm('e', 'u', code(offer?.secret ?? '', T0), '192.0.2.1');
    assert.ok(confirmed.ok && 'recoveryCodes' in confirmed);
    const [first, second] = confirmed.recoveryCodes as [string, string];
    assert.deepEqual(await totp.verify('e', 'u', first, '192.0.2.1'), { ok: true, method: 'recovery_code' });
    assert.equal((await totp.verify('e', 'u', first, '192.0.2.1')).ok, false);
    assert.equal((await totp.verify('e', 'u', second.replace('-', '').toUpperCase(), '192.0.2.1')).ok, true);
  });

  it('throttles per user and source before checking, and a correct code gives its attempt back', async () => {
    const { clock, totp } = factor();
    const offer = await totp.offer('e', 'u', 'alice', 'Env');
    await totp.confirm('e', 'u', code(offer?.secret ?? '', T0), '192.0.2.1');
    for (let i = 0; i < 3; i++) assert.deepEqual(await totp.verify('e', 'u', '000000', '192.0.2.9'), { ok: false, throttled: false });
    const refused = await totp.verify('e', 'u', code(offer?.secret ?? '', T0 + 30_000), '192.0.2.9');
    assert.equal(refused.ok === false && refused.throttled, true, 'over the pair limit even the right code waits');
    clock.advance(30_000);
    assert.equal((await totp.verify('e', 'u', code(offer?.secret ?? '', clock.now()), '192.0.2.1')).ok, true, 'another source is not locked out');
  });
});
