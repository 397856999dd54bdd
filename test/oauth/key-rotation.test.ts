import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import type { SigningKey } from '../../src/domain/model.ts';
import { activationLeadMs, KeyRotation, publishUntilAfter } from '../../src/oauth/key-rotation.ts';
import { keyStateAt, signingKeyAt } from '../../src/oauth/signing-keys.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, KEY_SECRET, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const T = Date.UTC(2026, 5, 1, 12, 0, 0);

const key = (kid: string, fields: Partial<SigningKey> = {}): SigningKey => ({
  kid,
  envId: 'e',
  alg: 'ES256',
  publicJwk: {},
  privateKeySealed: '',
  status: 'active',
  createdAt: T,
  activateAt: T,
  retiredAt: null,
  publishUntil: null,
  ...fields,
});

describe('key states and the signing key, from timestamps', () => {
  const old = key('old', { retiredAt: T + 100, publishUntil: T + 500 });
  const next = key('next', { createdAt: T + 10, activateAt: T + 100, status: 'next' });

  it('derives next, active, retired and removed', () => {
    assert.deepEqual(
      [T + 50, T + 100, T + 500].map((now) => [keyStateAt(old, now), keyStateAt(next, now)]),
      [
        ['active', 'next'],
        ['retired', 'active'],
        ['removed', 'active'],
      ],
    );
  });

  it('signs with the newest key whose activation time has come and that is not retired', () => {
    assert.equal(signingKeyAt([next, old], T + 99)?.kid, 'old');
    assert.equal(signingKeyAt([next, old], T + 100)?.kid, 'next');
    // A next key withdrawn by an immediate rotation never signs, even once its activation time has come.
    const withdrawn = { ...next, retiredAt: T + 50, publishUntil: T + 900 };
    const now = key('now', { createdAt: T + 50, activateAt: T + 50 });
    assert.equal(signingKeyAt([now, withdrawn, { ...old, retiredAt: T + 50 }], T + 200)?.kid, 'now');
    assert.equal(signingKeyAt([old], T + 100), undefined);
  });
});

for (const database of await testDatabases()) {
  describe(`key rotation on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;
    const settings = { cacheTtl: 5, jwksMaxAge: 10 };

    async function setup() {
      const a = await suite.build(settings);
      const env = `kr-${database.name}-${++counter}`;
      const created = await a.admin.createEnvironment(env);
      const client = await a.admin.createClient({ env, name: 'svc', scopes: ['read'] });
      assert.ok(client.client_secret);
      const creds = { id: client.client_id, secret: client.client_secret };
      const token = async (t: TestApp) => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { authorization: basic(creds.id, creds.secret), 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ grant_type: 'client_credentials' }),
        });
        assert.equal(res.statusCode, 200, res.body);
        return String(decodeProtectedHeader((res.json() as { access_token: string }).access_token).kid);
      };
      const jwks = async (t: TestApp) => {
        const res = await t.app.server.inject({ method: 'GET', url: `/envs/${env}/jwks.json` });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['cache-control'], `public, max-age=${settings.jwksMaxAge}`);
        return (res.json() as JSONWebKeySet).keys.map((k) => String(k.kid));
      };
      return { a, env, kid: created.kid, token, jwks };
    }

    it('publishes the next key at once and signs with it only after the lead time', async () => {
      const { a, env, kid, token, jwks } = await setup();
      const lead = activationLeadMs(a.config);
      assert.equal(lead, 16_000);
      const rotatedAt = a.clock.now();
      const keys = await a.admin.rotateKeys(env);
      const next = keys.find((k) => k.status === 'next');
      assert.ok(next);
      assert.deepEqual(
        keys.map((k) => [k.kid, k.status, k.published, k.activate_at, k.retired_at, k.publish_until]),
        [
          [next.kid, 'next', true, new Date(rotatedAt + lead).toISOString(), null, null],
          [
            kid,
            'active',
            true,
            keys[1]?.created_at,
            new Date(rotatedAt + lead).toISOString(),
            new Date(publishUntilAfter(rotatedAt + lead, a.config)).toISOString(),
          ],
        ],
      );
      assert.deepEqual((await jwks(a)).sort(), [kid, next.kid].sort());
      assert.equal(await token(a), kid);
      await assert.rejects(a.admin.rotateKeys(env), /already has a next key/);
      a.clock.advance(lead - 1);
      assert.equal(await token(a), kid);
      a.clock.advance(1);
      assert.equal(await token(a), next.kid);
      assert.deepEqual(
        (await a.admin.listKeys(env)).map((k) => [k.kid, k.status]),
        [
          [next.kid, 'active'],
          [kid, 'retired'],
        ],
      );
      a.clock.advance(publishUntilAfter(0, a.config) - 1);
      assert.deepEqual((await jwks(a)).sort(), [kid, next.kid].sort());
      a.clock.advance(settings.cacheTtl * 1000 + 1);
      assert.deepEqual(await jwks(a), [next.kid]);
      assert.equal((await a.admin.listKeys(env)).find((k) => k.kid === kid)?.status, 'removed');
    });

    it('no node signs with a kid its own JWKS does not list, whenever its cache was read', async () => {
      const { a, env, kid, token, jwks } = await setup();
      const b = await suite.build(settings);
      b.clock.set(a.clock.now());
      assert.equal(await token(b), kid);
      // Node B read the keys before the rotation; node A reads them again a little later.
      a.clock.advance(3000);
      b.clock.advance(3000);
      await a.admin.rotateKeys(env);
      const kids = new Set<string>();
      for (let step = 0; step < 40; step++) {
        for (const node of [a, b]) {
          const signed = await token(node);
          kids.add(signed);
          assert.ok((await jwks(node)).includes(signed), `step ${step}: ${signed} is not in the node's own JWKS`);
          node.clock.advance(500);
        }
      }
      assert.equal(kids.size, 2);
    });

    it('an immediate rotation signs with the new key at once and keeps the old one published', async () => {
      const { a, env, kid, token, jwks } = await setup();
      await a.admin.rotateKeys(env);
      const keys = await a.admin.rotateKeys(env, { now: true });
      const active = keys.find((k) => k.status === 'active');
      assert.ok(active);
      assert.equal(await token(a), active.kid);
      assert.equal(keys.filter((k) => k.status === 'retired').length, 2);
      assert.ok((await jwks(a)).includes(kid));
      a.clock.advance(activationLeadMs(a.config));
      assert.equal(await token(a), active.kid);
    });

    it('a scheduled rotation starts once across nodes when the active key is older than the interval', async () => {
      const { a, env } = await setup();
      await assert.rejects(a.admin.setKeyRotation(env, 60), /at least 3600 s/);
      assert.deepEqual(await a.admin.setKeyRotation(env, 86_400), { environment: env, key_rotation_interval: 86_400, activation_lead: 16 });
      const envId = (await a.store.environments.findByName(env))?.id;
      assert.ok(envId);
      // Three nodes run the background task at the same moment.
      const nodes = [1, 2, 3].map(() => new KeyRotation(a.store, () => KEY_SECRET, a.clock, a.config));
      const ours = async () => (await Promise.all(nodes.map((n) => n.runSchedules()))).flat().filter((started) => started.envId === envId);
      a.clock.advance(86_400_000 - 1);
      assert.deepEqual(await ours(), []);
      a.clock.advance(1);
      assert.equal((await ours()).length, 1);
      assert.deepEqual(
        (await a.admin.listKeys(env)).map((k) => k.status),
        ['next', 'active'],
      );
      assert.deepEqual(await ours(), []);
      a.clock.advance(activationLeadMs(a.config));
      assert.deepEqual(await ours(), []);
      assert.deepEqual(
        (await a.admin.listKeys(env)).map((k) => k.status),
        ['active', 'retired'],
      );
      assert.equal((await a.store.signingKeys.findActive(envId))?.status, 'active');
      assert.deepEqual(await a.admin.setKeyRotation(env, null), { environment: env, key_rotation_interval: null, activation_lead: 16 });
      a.clock.advance(2 * 86_400_000);
      assert.deepEqual(await ours(), []);
    });
  });
}
