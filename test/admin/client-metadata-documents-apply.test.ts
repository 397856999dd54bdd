import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeclarationError, parseDeclaration } from '../../src/admin/declarative.ts';
import { applyDeclaration, planDeclaration } from '../../src/admin/declarative-plan.ts';
import { localDeclarativeTarget } from '../../src/admin/declarative-target.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

for (const database of await testDatabases()) {
  describe(`Client ID Metadata Document settings in apply files on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const declaration = (settings: Record<string, unknown>) =>
      parseDeclaration({ version: 1, environments: [{ name: 'CIMD_APPLY', client_metadata_documents: settings }] });

    before(async () => {
      ({ store, cleanup } = await database.open());
      const audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: false });
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock, undefined, { audit, actor: { kind: 'cli', id: 'operator' } });
    });
    after(async () => cleanup());

    it('creates the environment with the settings, plans nothing more, then updates and audits a change', async () => {
      const target = localDeclarativeTarget(s);
      const on = { enabled: true, allowed_hosts: ['claude.ai'], scopes: ['mcp:tools'] };
      await applyDeclaration(target, declaration(on));
      const read = await s.metadataDocuments.get('CIMD_APPLY');
      assert.equal(read.enabled, true);
      assert.deepEqual(read.allowed_hosts, ['claude.ai']);
      const again = await planDeclaration(target, declaration(on));
      assert.ok(
        again.every((c) => c.action === 'unchanged'),
        JSON.stringify(again),
      );
      const off = await planDeclaration(target, declaration({ ...on, enabled: false }));
      assert.equal(off[0]?.action, 'update');
      assert.deepEqual(
        off[0]?.changes.map((c) => c.field),
        ['client_metadata_documents'],
      );
      await applyDeclaration(target, declaration({ ...on, enabled: false }));
      assert.equal((await s.metadataDocuments.get('CIMD_APPLY')).enabled, false);
      const [event] = await store.audit.list({ envName: 'CIMD_APPLY', type: 'environment.client_metadata_documents_changed', limit: 1 });
      assert.equal(event?.details.enabled, false);
    });

    it('refuses invalid settings naming the place in the file', () => {
      assert.throws(
        () => declaration({ enabled: true, blocked_hosts: ['http://x/'] }),
        (error: unknown) => error instanceof DeclarationError && error.path === 'environments[0].client_metadata_documents',
      );
    });
  });
}
