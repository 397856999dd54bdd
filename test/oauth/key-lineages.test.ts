import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environment } from '../../src/domain/model.ts';
import { KeyRotation } from '../../src/oauth/key-rotation.ts';
import { generateSigningKey, KeyRing } from '../../src/oauth/signing-keys.ts';
import { testDatabases } from '../helpers/databases.ts';
import { KEY_SECRET, suiteStore } from '../helpers/fixtures.ts';

/**
 * Environments created before every environment got an RS256 key for ID Tokens: each node adds
 * the missing key when it starts, once across nodes, without touching the access-token key.
 */
for (const database of await testDatabases()) {
  describe(`RS256 key lineage of older environments on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** An environment as an older version created it: its access-token key only. */
    async function olderEnvironment(t: { clock: { now(): number } }): Promise<Environment> {
      const now = t.clock.now();
      const env: Environment = {
        id: `env-lineage-${database.name}-${++counter}`,
        name: `lineage-${database.name}-${counter}`,
        createdAt: now,
        defaultQuota: null,
      };
      await suite.store.environments.create(env, await generateSigningKey(env.id, 'ES256', KEY_SECRET, now));
      return env;
    }

    it('two nodes adding the missing keys at once create exactly one RS256 key per environment; a later round adds none', async () => {
      const t = await suite.build();
      const envs = [await olderEnvironment(t), await olderEnvironment(t)];
      const esKids = await Promise.all(envs.map(async (env) => (await suite.store.signingKeys.findActive(env.id))?.kid));
      const nodes = [1, 2].map(() => new KeyRotation(suite.store, () => KEY_SECRET, t.clock, t.config));
      const created = (await Promise.all(nodes.map((node) => node.addMissingLineages()))).flat();
      for (const [i, env] of envs.entries()) {
        const keys = await suite.store.signingKeys.list(env.id);
        const rsa = keys.filter((k) => k.alg === 'RS256');
        assert.equal(rsa.length, 1, `${env.name}: exactly one RS256 key`);
        assert.equal(rsa[0]?.status, 'active');
        assert.deepEqual(
          created.filter((c) => c.envId === env.id).map((c) => [c.kid, c.alg]),
          [[rsa[0]?.kid, 'RS256']],
          'reported once, by the node that inserted it',
        );
        assert.deepEqual(
          keys.filter((k) => k.alg !== 'RS256').map((k) => [k.kid, k.status]),
          [[esKids[i], 'active']],
          'the access-token key is untouched',
        );
      }
      assert.deepEqual(
        (await nodes[0]?.addMissingLineages())?.filter((c) => envs.some((e) => e.id === c.envId)),
        [],
      );

      // The key ring signs ID Tokens with it at once; access tokens keep the ES256 key.
      const ring = new KeyRing(suite.store, KEY_SECRET, t.clock, 1000);
      const [env] = envs as [Environment];
      assert.equal((await ring.activeKey(env.id, 'RS256')).alg, 'RS256');
      assert.equal((await ring.activeKey(env.id)).kid, esKids[0]);
      assert.deepEqual(await ring.algorithms(env.id), ['RS256', 'ES256']);
    });

    it('a node adds the missing RS256 keys when it starts, before it listens', async () => {
      const t = await suite.build();
      const env = await olderEnvironment(t);
      assert.deepEqual(await t.app.core.keys.algorithms(env.id), ['ES256']);
      await t.app.start();
      const rsa = (await suite.store.signingKeys.list(env.id)).filter((k) => k.alg === 'RS256');
      assert.equal(rsa.length, 1);
      // This node's cached key set was refreshed: the key is published and signs at once.
      assert.deepEqual(await t.app.core.keys.algorithms(env.id), ['RS256', 'ES256']);
      const jwks = await t.app.server.inject({ method: 'GET', url: `/envs/${env.name}/jwks.json` });
      assert.ok((jwks.json() as { keys: { kid: string }[] }).keys.some((k) => k.kid === rsa[0]?.kid));
      // A second node starting later finds nothing to add.
      const other = await suite.build();
      await other.app.start();
      assert.equal((await suite.store.signingKeys.list(env.id)).filter((k) => k.alg === 'RS256').length, 1);
    });

    it('a new environment has both lineages from the start', async () => {
      const t = await suite.build();
      await t.admin.createEnvironment(`fresh-${database.name}`);
      const keys = await t.admin.listKeys(`fresh-${database.name}`);
      assert.deepEqual(keys.map((k) => [k.alg, k.status]).sort(), [
        ['ES256', 'active'],
        ['RS256', 'active'],
      ]);
      assert.deepEqual(await t.app.core.keys.algorithms((await suite.store.environments.findByName(`fresh-${database.name}`))?.id ?? ''), ['RS256', 'ES256']);
    });
  });
}
