import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDeclaration } from '../../src/admin/declarative.ts';
import { applyDeclaration, planDeclaration } from '../../src/admin/declarative-plan.ts';
import { localDeclarativeTarget } from '../../src/admin/declarative-target.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

for (const database of await testDatabases()) {
  describe(`apply: registration policies (RFC 7591) on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));

    before(async () => {
      ({ store, cleanup } = await database.open());
      const audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: false });
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock, undefined, { audit, actor: { kind: 'cli', id: 'operator' } });
    });
    after(async () => cleanup());

    it('plans, applies, then plans nothing more; a change is one update; an unknown field is refused', async () => {
      const target = localDeclarativeTarget(s);
      const declared = (registration: Record<string, unknown>) => parseDeclaration({ version: 1, environments: [{ name: 'AGENTS', registration }] });
      const file = declared({ mode: 'open', allowed_scopes: ['tools:call'], unused_client_days: 30 });
      const first = await planDeclaration(target, file);
      assert.deepEqual(
        first.map((c) => [c.kind, c.action]),
        [
          ['environment', 'create'],
          ['registration', 'create'],
        ],
      );
      await applyDeclaration(target, file);
      const policy = await s.registration.policies.get('AGENTS');
      assert.equal(policy.mode, 'open');
      assert.deepEqual(policy.allowed_scopes, ['tools:call']);
      assert.equal(policy.unused_client_days, 30);
      assert.ok((await planDeclaration(target, file)).every((c) => c.action === 'unchanged'));
      const changed = await planDeclaration(target, declared({ mode: 'initial_access_token', allowed_scopes: ['tools:call'], unused_client_days: 30 }));
      const registration = changed.find((c) => c.kind === 'registration');
      assert.equal(registration?.action, 'update');
      assert.deepEqual(registration?.changes, [{ field: 'registration.mode', from: 'open', to: 'initial_access_token' }]);
      assert.throws(() => declared({ mode: 'open', colour: 'blue' }), /registration\.colour: unknown field/);
      assert.throws(() => declared({ allowed_scopes: [] }), /registration\.mode/);
    });

    it('applies a policy that allows an API the same file creates', async () => {
      const target = localDeclarativeTarget(s);
      const identifier = 'https://mcp.example.test/';
      const file = parseDeclaration({
        version: 1,
        environments: [
          { name: 'AGENTS_API', apis: [{ identifier, name: 'MCP', scopes: ['tools:call'] }], registration: { mode: 'open', allowed_apis: [identifier] } },
        ],
      });
      await applyDeclaration(target, file);
      assert.deepEqual((await s.registration.policies.get('AGENTS_API')).allowed_apis, [identifier]);
      assert.ok((await planDeclaration(target, file)).every((c) => c.action === 'unchanged'));
    });
  });
}
