import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Passkey } from '../../src/domain/second-factors.ts';
import { ConflictError, type Store } from '../../src/domain/storage.ts';
import { testDatabases } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const ENV = 'env_mfa';

const passkey = (credentialId: string, userId = 'usr_1'): Passkey => ({
  envId: ENV,
  credentialId,
  userId,
  publicKey: 'pk',
  counter: 0,
  transports: ['internal'],
  backupEligible: true,
  backedUp: false,
  name: 'Laptop',
  createdAt: T0,
  lastUsedAt: null,
});

for (const database of await testDatabases()) {
  describe(`second factors and passkeys storage (${database.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await database.open());
    });
    after(() => cleanup());

    it('a TOTP enrolment is confirmed once; each step is used once, and only later steps after it', async () => {
      const enrolment = { envId: ENV, userId: 'usr_t', secretSealed: 'sealed-1', createdAt: T0, confirmedAt: null, lastUsedStep: null };
      assert.equal(await store.secondFactors.beginTotp(enrolment), true);
      assert.equal(await store.secondFactors.beginTotp({ ...enrolment, secretSealed: 'sealed-2' }), true, 'an unconfirmed enrolment is replaced');
      assert.equal((await store.secondFactors.findTotp(ENV, 'usr_t'))?.secretSealed, 'sealed-2');
      assert.equal(await store.secondFactors.useTotpStep(ENV, 'usr_t', 100, T0, false), false, 'not confirmed yet');
      const confirms = await Promise.all([1, 2, 3].map(() => store.secondFactors.useTotpStep(ENV, 'usr_t', 100, T0, true)));
      assert.deepEqual(confirms.filter(Boolean).length, 1);
      assert.equal(await store.secondFactors.beginTotp({ ...enrolment, secretSealed: 'sealed-3' }), false, 'a confirmed enrolment stays');
      assert.equal(await store.secondFactors.useTotpStep(ENV, 'usr_t', 100, T0, false), false, 'the same step again');
      assert.equal(await store.secondFactors.useTotpStep(ENV, 'usr_t', 99, T0, false), false, 'an earlier step');
      const uses = await Promise.all([1, 2, 3, 4].map(() => store.secondFactors.useTotpStep(ENV, 'usr_t', 101, T0, false)));
      assert.equal(uses.filter(Boolean).length, 1, 'of parallel uses of one code exactly one wins');
      const found = await store.secondFactors.findTotp(ENV, 'usr_t');
      assert.equal(found?.confirmedAt, T0);
      assert.equal(found?.lastUsedStep, 101);
      assert.equal(await store.secondFactors.findTotp('other', 'usr_t'), undefined);
    });

    it('recovery codes are single-use and replaced as a set', async () => {
      await store.secondFactors.replaceRecoveryCodes(ENV, 'usr_r', ['h1', 'h2', 'h3'], T0);
      assert.equal(await store.secondFactors.unusedRecoveryCodes(ENV, 'usr_r'), 3);
      const takes = await Promise.all([1, 2, 3].map(() => store.secondFactors.consumeRecoveryCode(ENV, 'usr_r', 'h2', T0)));
      assert.equal(takes.filter(Boolean).length, 1);
      assert.equal(await store.secondFactors.consumeRecoveryCode(ENV, 'usr_other', 'h1', T0), false);
      assert.equal(await store.secondFactors.unusedRecoveryCodes(ENV, 'usr_r'), 2);
      await store.secondFactors.replaceRecoveryCodes(ENV, 'usr_r', ['h4'], T0);
      assert.equal(await store.secondFactors.consumeRecoveryCode(ENV, 'usr_r', 'h1', T0), false);
      assert.equal(await store.secondFactors.unusedRecoveryCodes(ENV, 'usr_r'), 1);
    });

    it('keeps a sign-in policy per environment', async () => {
      assert.equal(await store.secondFactors.findPolicy(ENV), undefined);
      const policy = {
        secondFactor: 'required' as const,
        requiredClients: ['gh_a'],
        requiredScopes: ['payments'],
        webauthnRpId: 'example.com',
        webauthnOrigins: ['https://login.example.com'],
      };
      await store.secondFactors.savePolicy(ENV, policy, T0);
      assert.deepEqual(await store.secondFactors.findPolicy(ENV), policy);
      await store.secondFactors.savePolicy(ENV, { ...policy, secondFactor: 'password_only', requiredClients: [] }, T0 + 1);
      assert.equal((await store.secondFactors.findPolicy(ENV))?.secondFactor, 'password_only');
    });

    it('passkeys: unique ids, counters that only grow, removal by their owner only', async () => {
      await store.passkeys.add(passkey('cred-1'));
      await assert.rejects(store.passkeys.add(passkey('cred-1', 'usr_2')), ConflictError);
      assert.deepEqual(await store.passkeys.find(ENV, 'cred-1'), passkey('cred-1'));
      assert.equal(await store.passkeys.recordUse(ENV, 'cred-1', 5, true, T0 + 1), true);
      assert.equal(await store.passkeys.recordUse(ENV, 'cred-1', 5, true, T0 + 2), false, 'a counter that did not grow');
      const used = await store.passkeys.find(ENV, 'cred-1');
      assert.equal(used?.counter, 5);
      assert.equal(used?.backedUp, true);
      assert.equal(used?.lastUsedAt, T0 + 1);
      await store.passkeys.add(passkey('cred-2'));
      assert.deepEqual(
        (await store.passkeys.listByUser(ENV, 'usr_1')).map((p) => p.credentialId),
        ['cred-1', 'cred-2'],
      );
      assert.equal(await store.passkeys.remove(ENV, 'usr_2', 'cred-1'), false);
      assert.equal(await store.passkeys.remove(ENV, 'usr_1', 'cred-1'), true);
    });

    it('a WebAuthn challenge is taken once, by its session, before it expires', async () => {
      const challenge = { challengeHash: 'c1', envId: ENV, sessionHash: 's1', purpose: 'authenticate' as const, userId: null, expiresAt: T0 + 1000 };
      await store.passkeys.saveChallenge(challenge);
      assert.equal(await store.passkeys.takeChallenge(ENV, 'c1', 'other-session', T0), undefined);
      const takes = await Promise.all([1, 2, 3].map(() => store.passkeys.takeChallenge(ENV, 'c1', 's1', T0)));
      assert.deepEqual(takes.filter(Boolean), [challenge]);
      await store.passkeys.saveChallenge({ ...challenge, challengeHash: 'c2' });
      assert.equal(await store.passkeys.takeChallenge(ENV, 'c2', 's1', T0 + 1000), undefined, 'expired');
    });

    it('an operator reset removes every factor of the user', async () => {
      await store.secondFactors.beginTotp({ envId: ENV, userId: 'usr_1', secretSealed: 'x', createdAt: T0, confirmedAt: null, lastUsedStep: null });
      await store.secondFactors.replaceRecoveryCodes(ENV, 'usr_1', ['a', 'b'], T0);
      assert.deepEqual(await store.secondFactors.resetFactors(ENV, 'usr_1'), { totp: true, recoveryCodes: 2, passkeys: 1 });
      assert.deepEqual(await store.passkeys.listByUser(ENV, 'usr_1'), []);
    });
  });
}
