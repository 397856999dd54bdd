import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { AdminService } from '../../src/admin/admin-service.ts';
import { AdminAudit } from '../../src/admin/audit-trail.ts';
import type { NewAuditEvent } from '../../src/domain/audit.ts';
import type { SigningKey } from '../../src/domain/model.ts';
import { activationLeadMs, KeyRotation, publicationLeadMs, publishUntilAfter } from '../../src/oauth/key-rotation.ts';
import { keyStateAt, signingKeyAt } from '../../src/oauth/signing-keys.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, KEY_SECRET, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const T = Date.UTC(2026, 5, 1, 12, 0, 0);

/** The access-token lineage of a key list: the RS256 key of ID Tokens rotates on its own. */
const accessKeys = <K extends { alg: string }>(keys: readonly K[]): K[] => keys.filter((k) => k.alg !== 'RS256');

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

  it('a revoked key is revoked whatever its timestamps say, and never signs', () => {
    const revoked = { ...old, retiredAt: T + 50, publishUntil: T + 50, revokedAt: T + 50 };
    assert.deepEqual(
      [T, T + 50, T + 1000].map((now) => keyStateAt(revoked, now)),
      ['revoked', 'revoked', 'revoked'],
    );
    assert.equal(signingKeyAt([{ ...old, revokedAt: T + 50 }], T + 10), undefined);
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

  it('picks within one algorithm: without one, the access-token key, never an RS256 key', () => {
    const rsOld = key('rs-old', { alg: 'RS256', retiredAt: T + 100, publishUntil: T + 500 });
    const rsNext = key('rs-next', { alg: 'RS256', createdAt: T + 10, activateAt: T + 100, status: 'next' });
    const keys = [rsNext, next, rsOld, old];
    assert.deepEqual(
      [T + 50, T + 100].map((now) => [signingKeyAt(keys, now)?.kid, signingKeyAt(keys, now, 'ES256')?.kid, signingKeyAt(keys, now, 'RS256')?.kid]),
      [
        ['old', 'old', 'rs-old'],
        ['next', 'next', 'rs-next'],
      ],
    );
    // A newer RS256 key never becomes the access-token key, and no EdDSA key means none.
    assert.equal(signingKeyAt([key('rs', { alg: 'RS256', activateAt: T + 1 }), old], T + 50)?.kid, 'old');
    assert.equal(signingKeyAt([rsOld], T + 50), undefined);
    assert.equal(signingKeyAt(keys, T + 50, 'EdDSA'), undefined);
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
      // The environment's RS256 key (ID Tokens only) is published beside the access-token keys
      // throughout and never rotates with them: `jwks` checks it is there and returns the others.
      const rsKid = (await a.admin.listKeys(env)).find((k) => k.alg === 'RS256')?.kid;
      assert.ok(rsKid);
      const jwks = async (t: TestApp) => {
        const res = await t.app.server.inject({ method: 'GET', url: `/envs/${env}/jwks.json` });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['cache-control'], `public, max-age=${settings.jwksMaxAge}`);
        const kids = (res.json() as JSONWebKeySet).keys.map((k) => String(k.kid));
        assert.ok(kids.includes(rsKid), 'the RS256 key is published');
        return kids.filter((k) => k !== rsKid);
      };
      return { a, env, kid: created.kid, rsKid, token, jwks };
    }

    it('publishes the next key at once and signs with it only after the lead time', async () => {
      const { a, env, kid, token, jwks } = await setup();
      const lead = activationLeadMs(a.config);
      assert.equal(lead, 16_000);
      const rotatedAt = a.clock.now();
      const keys = accessKeys(await a.admin.rotateKeys(env));
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
        accessKeys(await a.admin.listKeys(env)).map((k) => [k.kid, k.status]),
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

    it('an immediate rotation publishes the new key on every node before any node signs with it', async () => {
      const { a, env, kid, token, jwks } = await setup();
      const b = await suite.build(settings);
      b.clock.set(a.clock.now());
      assert.equal(await token(b), kid);
      await a.admin.rotateKeys(env);
      // Node B read the keys just before the immediate rotation, so it serves them for cacheTtl more.
      b.clock.advance(1);
      assert.equal(await token(b), kid);
      a.clock.advance(1);
      const keys = accessKeys(await a.admin.rotateKeys(env, { now: true }));
      const lead = publicationLeadMs(a.config);
      assert.equal(lead, settings.cacheTtl * 1000 + 1000);
      const fresh = keys[0];
      assert.ok(fresh);
      assert.deepEqual(
        keys.map((k) => [k.kid, k.status]),
        [
          [fresh.kid, 'next'],
          [keys[1]?.kid, 'retired'],
          [kid, 'active'],
        ],
      );
      assert.equal(Date.parse(fresh.activate_at) - Date.parse(fresh.created_at), lead);
      const signedBy = new Set<string>();
      for (let step = 0; step * 250 <= lead + 1000; step++) {
        for (const node of [a, b]) {
          const signed = await token(node);
          signedBy.add(signed);
          // Whatever node signs, every node's JWKS already lists the kid.
          for (const other of [a, b]) assert.ok((await jwks(other)).includes(signed), `step ${step}: ${signed} is not in a JWKS yet`);
          if (step * 250 < lead) assert.equal(signed, kid, `step ${step}: the new key signs before the lead has passed`);
          else assert.equal(signed, fresh.kid);
        }
        a.clock.advance(250);
        b.clock.advance(250);
      }
      assert.deepEqual([...signedBy].sort(), [kid, fresh.kid].sort());
      assert.ok((await jwks(a)).includes(kid), 'the old key stays published for its tokens');
    });

    it('a revoked key leaves the JWKS, its tokens turn inactive on every node at once, and a fresh key signs', async () => {
      const { a, env, kid, token, jwks } = await setup();
      const events: NewAuditEvent[] = [];
      const log = { record: async (event: NewAuditEvent) => void events.push(event) };
      const admin = new AdminService(a.config, KEY_SECRET, a.store, a.app.core, a.clock, new AdminAudit(log, { kind: 'cli', id: 'ops' }));
      const b = await suite.build(settings);
      b.clock.set(a.clock.now());
      const introspector = await admin.createClient({ env, name: 'api', introspectAny: true });
      assert.ok(introspector.client_secret);
      const issue = async (t: TestApp) => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { authorization: basic(introspector.client_id, introspector.client_secret ?? ''), 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ grant_type: 'client_credentials' }),
        });
        return (res.json() as { access_token: string }).access_token;
      };
      const introspect = async (t: TestApp, jwt: string) => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/introspect`,
          headers: { authorization: basic(introspector.client_id, introspector.client_secret ?? ''), 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ token: jwt }),
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as { active: boolean };
      };
      const leaked = await issue(a);
      assert.equal(decodeProtectedHeader(leaked).kid, kid);
      assert.equal((await introspect(b, leaked)).active, true);
      assert.deepEqual(await jwks(b), [kid]);

      a.clock.advance(1);
      b.clock.advance(1);
      const revoked = await admin.revokeKey(env, kid);
      assert.equal(revoked.kid, kid);
      assert.ok(revoked.replaced_by);
      assert.equal(revoked.revoked_at, new Date(a.clock.now()).toISOString());
      assert.deepEqual(
        accessKeys(revoked.keys).map((k) => [k.kid, k.status, k.published]),
        [
          [revoked.replaced_by, 'active', true],
          [kid, 'revoked', false],
        ],
      );
      // The node that revoked: out of its JWKS and signing with the fresh key at once.
      assert.deepEqual(await jwks(a), [revoked.replaced_by]);
      assert.equal(await token(a), revoked.replaced_by);
      // Introspection reads the revocation from storage: inactive on both nodes at once.
      assert.deepEqual(await introspect(a, leaked), { active: false });
      assert.deepEqual(await introspect(b, leaked), { active: false });
      // Node B serves the keys it read 1 ms before the revocation until GATEHOUSE_CACHE_TTL has passed, then drops the key.
      b.clock.advance(settings.cacheTtl * 1000 - 2);
      assert.deepEqual(await jwks(b), [kid]);
      b.clock.advance(1);
      assert.deepEqual(await jwks(b), [revoked.replaced_by]);
      assert.equal(await token(b), revoked.replaced_by);
      assert.equal((await introspect(b, await issue(b))).active, true);

      await assert.rejects(
        admin.revokeKey(env, kid),
        (error: Error) => error.name === 'AdminError' && /already revoked at .*; nothing changed/.test(error.message),
      );
      await assert.rejects(
        admin.revokeKey(env, 'no-such-kid'),
        (error: Error) => error.name === 'AdminError' && /no signing key no-such-kid/.test(error.message),
      );
      assert.deepEqual(
        events.filter((e) => e.type === 'signing_key.revoked').map((e) => [e.subject, e.outcome, e.details, e.actor]),
        [
          [{ kind: 'signing_key', id: kid }, 'success', { replaced_by: revoked.replaced_by }, { kind: 'cli', id: 'ops' }],
          [{ kind: 'signing_key', id: kid }, 'failure', { reason: 'conflict' }, { kind: 'cli', id: 'ops' }],
          [{ kind: 'signing_key', id: 'no-such-kid' }, 'failure', { reason: 'not_found' }, { kind: 'cli', id: 'ops' }],
        ],
      );
    });

    it('revoking a pending next key keeps the active key signing', async () => {
      const { a, env, kid, token, jwks } = await setup();
      const [next] = accessKeys(await a.admin.rotateKeys(env, { now: true }));
      assert.ok(next);
      const revoked = await a.admin.revokeKey(env, next.kid);
      assert.equal(revoked.replaced_by, null);
      assert.deepEqual(await jwks(a), [kid]);
      a.clock.advance(activationLeadMs(a.config) * 2);
      assert.equal(await token(a), kid);
      assert.deepEqual(
        accessKeys(await a.admin.listKeys(env)).map((k) => [k.kid, k.status, k.retired_at]),
        [
          [next.kid, 'revoked', revoked.revoked_at],
          [kid, 'active', null],
        ],
      );
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
      // One next key per lineage: the access-token key's and the RS256 key's.
      assert.deepEqual((await ours()).map((started) => started.alg).sort(), ['ES256', 'RS256']);
      assert.deepEqual((await a.admin.listKeys(env)).map((k) => [k.alg, k.status]).sort(), [
        ['ES256', 'active'],
        ['ES256', 'next'],
        ['RS256', 'active'],
        ['RS256', 'next'],
      ]);
      assert.deepEqual(await ours(), []);
      a.clock.advance(activationLeadMs(a.config));
      assert.deepEqual(await ours(), []);
      assert.deepEqual((await a.admin.listKeys(env)).map((k) => [k.alg, k.status]).sort(), [
        ['ES256', 'active'],
        ['ES256', 'retired'],
        ['RS256', 'active'],
        ['RS256', 'retired'],
      ]);
      assert.equal((await a.store.signingKeys.findActive(envId))?.alg, 'ES256');
      assert.equal((await a.store.signingKeys.findActive(envId, 'RS256'))?.status, 'active');
      assert.deepEqual(await a.admin.setKeyRotation(env, null), { environment: env, key_rotation_interval: null, activation_lead: 16 });
      a.clock.advance(2 * 86_400_000);
      assert.deepEqual(await ours(), []);
    });
  });
}
