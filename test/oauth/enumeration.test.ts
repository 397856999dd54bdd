import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { LightMyRequestResponse } from 'fastify';
import { UserAuthenticator } from '../../src/accounts/users.ts';
import { decoyLegacyHash, legacyHashProfile, legacyVerificationQueue, VerificationQueue, verifyLegacyHash } from '../../src/crypto/legacy-hashes.ts';
import { hashPassword } from '../../src/crypto/passwords.ts';
import type { Environment } from '../../src/domain/model.ts';
import { LegacyCredentialGuard } from '../../src/oauth/legacy-credentials.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { recordKeys } from '../helpers/legacy-queue.ts';

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
const pbkdf2Hash = (secret: string, iterations: number) => {
  const salt = randomBytes(16);
  return `$pbkdf2-sha256$i=${iterations},l=32$${b64(salt)}$${b64(pbkdf2Sync(secret, salt, iterations, 32, 'sha256'))}`;
};
const CHEAP_SCRYPT = { log2N: 10, r: 8, p: 1 };

describe('legacy hash profiles and decoys', () => {
  it('gives every hash of one scheme and cost the same profile, and a decoy of it that matches nothing', async () => {
    const profiles = [bcrypt.hashSync('a', 4), bcrypt.hashSync('b', 4)].map((h) => legacyHashProfile(h)?.id);
    assert.deepEqual(profiles, ['bcrypt$4', 'bcrypt$4']);
    for (const stored of [
      bcrypt.hashSync('s', 5),
      pbkdf2Hash('s', 1000),
      '$argon2id$v=19$m=8192,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g',
    ]) {
      const profile = legacyHashProfile(stored);
      assert.ok(profile, stored);
      const decoy = decoyLegacyHash(profile.id);
      assert.ok(decoy, profile.id);
      assert.equal(legacyHashProfile(decoy)?.id, profile.id);
      assert.notEqual(decoy, stored);
      assert.equal(await verifyLegacyHash('s', decoy, 'decoy-test'), false);
    }
    assert.equal(legacyHashProfile('$scrypt$ln=10,r=8,p=1$AAAA$BBBB'), undefined);
    assert.equal(decoyLegacyHash('md5$1'), undefined);
  });

  it('ranks profiles by their work: bcrypt cost, PBKDF2 iterations, argon2 memory and passes', () => {
    const ms = (stored: string) => legacyHashProfile(stored)?.estimatedMs ?? 0;
    assert.ok(ms(bcrypt.hashSync('s', 6)) > ms(bcrypt.hashSync('s', 4)));
    assert.ok(ms(pbkdf2Hash('s', 100_000)) > ms(bcrypt.hashSync('s', 4)));
    assert.ok(ms(pbkdf2Hash('s', 1000)) < ms(bcrypt.hashSync('s', 4)));
  });
});

/** Records the profile of every failure held to the deadline (`holdFailure`), each begun before it is held. */
function recordHolds(guard: LegacyCredentialGuard): { holds: string[]; restore(): void } {
  const holds: string[] = [];
  const original = guard.holdFailure.bind(guard);
  guard.holdFailure = (startedAt, profile) => {
    holds.push(profile.id);
    assert.ok(startedAt <= performance.now());
    return original(startedAt, profile);
  };
  return { holds, restore: () => (guard.holdFailure = original) };
}

for (const database of await testDatabases()) {
  describe(`no enumeration through imported credentials on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let env: Environment;
    const ids: Record<string, string> = {};
    const secrets: Record<string, string> = {};

    const token = (envName: string, clientId: string, secret: string): Promise<LightMyRequestResponse> =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${envName}/token`,
        headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'client_credentials' }),
      });

    /** A confidential client whose secret is kept under `legacyHash` (as an import leaves it), or Gatehouse's own when undefined. */
    async function client(envName: string, name: string, legacy?: (secret: string) => string): Promise<void> {
      const created = await t.admin.createClient({ env: envName, name, grantTypes: ['client_credentials'], scopes: ['read'] });
      ids[name] = created.client_id;
      secrets[name] = created.client_secret ?? '';
      if (!legacy) return;
      const e = await t.store.environments.findByName(envName);
      assert.ok(e);
      const [secret] = await t.store.clients.activeSecrets(e.id, created.client_id, t.clock.now());
      assert.ok(secret);
      assert.ok(await t.store.clients.replaceSecretHash(e.id, created.client_id, secret.id, secret.secretHash, legacy(secrets[name] ?? '')));
    }

    before(async () => {
      // Failed authentications are throttled per client and source; these tests count verifications, not throttling.
      t = await suite.build({ authFailureLimit: 1000, authFailureSourceLimit: 1000, authFailureClientLimit: 1000 });
      await t.admin.createEnvironment('IMPORTED');
      await t.admin.createEnvironment('NATIVE');
      const [imported, native] = await Promise.all([t.store.environments.findByName('IMPORTED'), t.store.environments.findByName('NATIVE')]);
      assert.ok(imported && native);
      env = imported;

      await client('IMPORTED', 'bcrypt-app', (s) => bcrypt.hashSync(s, 4));
      await client('IMPORTED', 'pbkdf2-app', (s) => pbkdf2Hash(s, 1000));
      await client('IMPORTED', 'native-app');
      await client('IMPORTED', 'disabled-app', (s) => bcrypt.hashSync(s, 4));
      await t.admin.setClientEnabled('IMPORTED', ids['disabled-app'] ?? '', false);
      await client('NATIVE', 'only-native');
    });

    it("verifies one legacy hash in the same queue under the caller's key for an unknown id, a disabled client, a native and an imported client", async () => {
      const recorded = recordKeys(legacyVerificationQueue());
      // Each failure is held to one deadline measured from the start of its authentication.
      const { holds, restore: restoreHolds } = recordHolds(t.app.core.legacy);
      try {
        const callers: [string, string][] = [
          [`unknown-${randomBytes(4).toString('hex')}`, 'wrong'],
          [ids['disabled-app'] ?? '', secrets['disabled-app'] ?? ''],
          [ids['native-app'] ?? '', 'wrong'],
          [ids['bcrypt-app'] ?? '', 'wrong'],
          [ids['pbkdf2-app'] ?? '', 'wrong'],
        ];
        for (const [clientId, secret] of callers) {
          recorded.keys.length = 0;
          const res = await token('IMPORTED', clientId, secret);
          assert.equal(res.statusCode, 401, `${clientId}: ${res.body}`);
          assert.equal((res.json() as { error: string }).error, 'invalid_client');
          assert.deepEqual(recorded.keys, [`${env.id}\u0000${clientId}\u0000127.0.0.1`], clientId);
        }
        // Without a secret: no hash is verified, but the failure is held all the same.
        for (const clientId of [`unknown-${randomBytes(4).toString('hex')}`, ids['native-app'] ?? '']) {
          const res = await t.app.server.inject({
            method: 'POST',
            url: '/envs/IMPORTED/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: form({ grant_type: 'client_credentials', client_id: clientId }),
          });
          assert.equal(res.statusCode, 401, `${clientId}: ${res.body}`);
        }
        callers.push(['(no secret) unknown', ''], ['(no secret) native', '']);
        // Every failure is held against the slowest profile the environment holds (bcrypt here).
        assert.equal(holds.length, callers.length);
        assert.equal(new Set(holds).size, 1);
        assert.match(holds[0] ?? '', /^bcrypt/);
        // A right secret of a native client never waits for the legacy queue, nor is held.
        recorded.keys.length = 0;
        assert.equal((await token('IMPORTED', ids['native-app'] ?? '', secrets['native-app'] ?? '')).statusCode, 200);
        assert.deepEqual(recorded.keys, []);
        // Nor is a failure in an environment without legacy hashes.
        assert.equal((await token('NATIVE', ids['only-native'] ?? '', 'wrong')).statusCode, 401);
        assert.equal(holds.length, callers.length);
      } finally {
        recorded.restore();
        restoreHolds();
      }
    });

    it("answers 503 alike for an unknown id and an imported client when the caller's share of the queue is full", async () => {
      const { holds, restore: restoreHolds } = recordHolds(t.app.core.legacy);
      try {
        const unknown = `ghost-${randomBytes(4).toString('hex')}`;
        for (const clientId of [unknown, ids['bcrypt-app'] ?? '', ids['native-app'] ?? '']) {
          let release: () => void = () => {};
          const held = new Promise<void>((resolve) => {
            release = resolve;
          });
          const occupying = Array.from({ length: 8 }, () => legacyVerificationQueue().run(`${env.id}\u0000${clientId}\u0000127.0.0.1`, () => held));
          try {
            const before = holds.length;
            const res = await token('IMPORTED', clientId, 'wrong');
            assert.equal(res.statusCode, 503, `${clientId}: ${res.body}`);
            assert.equal(holds.length, before + 1, 'the 503 is held to the same deadline');
            assert.equal((res.json() as { error: string }).error, 'temporarily_unavailable');
            assert.equal(res.headers['retry-after'], '2');
          } finally {
            release();
            await Promise.all(occupying);
          }
          assert.equal((await token('IMPORTED', clientId, 'wrong')).statusCode, 401);
        }
      } finally {
        restoreHolds();
      }
    });

    it('keeps failures off the queue in an environment without imported credentials', async () => {
      const recorded = recordKeys(legacyVerificationQueue());
      try {
        assert.equal((await token('NATIVE', 'nobody', 'wrong')).statusCode, 401);
        assert.equal((await token('NATIVE', ids['only-native'] ?? '', 'wrong')).statusCode, 401);
        assert.deepEqual(recorded.keys, []);
      } finally {
        recorded.restore();
      }
    });

    it('takes failures off the queue once every imported secret was used and re-hashed', async () => {
      for (const name of ['bcrypt-app', 'pbkdf2-app']) assert.equal((await token('IMPORTED', ids[name] ?? '', secrets[name] ?? '')).statusCode, 200);
      // The disabled client's imported secret is still live: failures keep their cost until it goes.
      await t.admin.setClientEnabled('IMPORTED', ids['disabled-app'] ?? '', true);
      assert.equal((await token('IMPORTED', ids['disabled-app'] ?? '', secrets['disabled-app'] ?? '')).statusCode, 200);
      t.clock.advance(61_000);
      const recorded = recordKeys(legacyVerificationQueue());
      try {
        assert.equal((await token('IMPORTED', 'nobody', 'wrong')).statusCode, 401);
        assert.deepEqual(recorded.keys, []);
      } finally {
        recorded.restore();
      }
    });

    it('finds the slowest live profile of an environment across pages', async () => {
      await t.admin.createEnvironment('PROFILES');
      const e = await t.store.environments.findByName('PROFILES');
      assert.ok(e);
      const guard = new LegacyCredentialGuard(t.store, t.clock, { pageSize: 2 });
      assert.equal(await guard.slowest(e.id, 'client_secret'), undefined);
      const made: string[] = [];
      for (const [name, legacy] of [
        ['p1', (s: string) => bcrypt.hashSync(s, 4)],
        ['p2', (s: string) => pbkdf2Hash(s, 1000)],
        ['p3', (s: string) => bcrypt.hashSync(s, 4)],
        ['p4', (s: string) => pbkdf2Hash(s, 200_000)],
        ['p5', (s: string) => bcrypt.hashSync(s, 5)],
      ] as const) {
        await client('PROFILES', name, legacy);
        made.push(ids[name] ?? '');
      }
      const fresh = new LegacyCredentialGuard(t.store, t.clock, { pageSize: 2 });
      assert.equal((await fresh.slowest(e.id, 'client_secret'))?.id, 'pbkdf2-sha256$i=200000,l=32');
      assert.equal(await fresh.slowest(e.id, 'password'), undefined);
    });

    it('makes a login of an unknown, native, disabled or imported username cost one legacy verification under the same key', async () => {
      const now = t.clock.now();
      const user = (username: string, passwordHash: string, enabled = true) =>
        t.store.users.create({
          envId: env.id,
          userId: `usr_${randomBytes(6).toString('hex')}`,
          username,
          passwordHash,
          enabled,
          createdAt: now,
          updatedAt: now,
        });
      await user('imported@example.test', bcrypt.hashSync('imported password', 4));
      await user('native@example.test', await hashPassword('native password', CHEAP_SCRYPT));
      await user('disabled@example.test', bcrypt.hashSync('disabled password', 4), false);
      const queue = new VerificationQueue();
      const recorded = recordKeys(queue);
      const hashKey = (key: string) => createHash('sha256').update(key).digest('base64url');
      const limits = { usernameLimit: 1000, addressLimit: 1000, windowMs: 60_000, passwordCost: CHEAP_SCRYPT };
      const users = new UserAuthenticator(t.store, t.clock, limits, hashKey, new LegacyCredentialGuard(t.store, t.clock, { queue }));
      for (const [username, password] of [
        ['nobody@example.test', 'whatever password'],
        ['native@example.test', 'wrong password'],
        ['imported@example.test', 'wrong password'],
        ['disabled@example.test', 'disabled password'],
      ]) {
        recorded.keys.length = 0;
        const outcome = await users.authenticate(env, username ?? '', password ?? '', '198.51.100.7');
        assert.deepEqual(outcome, { ok: false, throttled: false }, username);
        const expected = `${hashKey(`login:${env.id}:username:${username}`)}\u0000${hashKey(`login:${env.id}:address:198.51.100.7`)}`;
        assert.deepEqual(recorded.keys, [expected], username);
      }
      // A full share refuses an unknown and an imported username alike, as busy.
      for (const username of ['ghost@example.test', 'imported@example.test']) {
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        const key = `${hashKey(`login:${env.id}:username:${username}`)}\u0000${hashKey(`login:${env.id}:address:198.51.100.7`)}`;
        const occupying = Array.from({ length: 8 }, () => queue.run(key, () => held));
        try {
          const outcome = await users.authenticate(env, username, 'wrong password', '198.51.100.7');
          assert.deepEqual(outcome, { ok: false, throttled: false, busy: true, retryAfter: 5 }, username);
        } finally {
          release();
          await Promise.all(occupying);
        }
      }
      const ok = await users.authenticate(env, 'imported@example.test', 'imported password', '198.51.100.7');
      assert.equal(ok.ok, true);
    });
  });
}
