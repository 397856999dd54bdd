import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminError } from '../../src/admin/admin-service.ts';
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
  describe(`pushed-request and security-profile settings on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));

    before(async () => {
      ({ store, cleanup } = await database.open());
      const audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: false });
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock, undefined, { audit, actor: { kind: 'cli', id: 'operator' } });
      await s.admin.createEnvironment('PAR');
    });
    after(async () => cleanup());

    it('sets, reads back and audits the environment settings; an unknown profile is refused', async () => {
      const before = await s.admin.getEnvironment('PAR');
      assert.equal(before.require_pushed_authorization_requests, false);
      assert.equal(before.security_profile, null);
      const updated = await s.admin.updateEnvironment('PAR', { requirePushedAuthorizationRequests: true, securityProfile: 'fapi2' });
      assert.equal(updated.require_pushed_authorization_requests, true);
      assert.equal(updated.security_profile, 'fapi2');
      const read = await s.admin.getEnvironment('PAR');
      assert.equal(read.require_pushed_authorization_requests, true);
      assert.equal(read.security_profile, 'fapi2');
      const [event] = await store.audit.list({ envName: 'PAR', type: 'environment.security_settings_changed', limit: 1 });
      assert.deepEqual(event?.details, { require_pushed_authorization_requests: true, security_profile: 'fapi2' });
      const off = await s.admin.updateEnvironment('PAR', { securityProfile: null });
      assert.equal(off.security_profile, null);
      assert.equal(off.require_pushed_authorization_requests, true);
      await assert.rejects(s.admin.updateEnvironment('PAR', { securityProfile: 'fapi1' as 'fapi2' }), (error: unknown) => {
        assert.ok(error instanceof AdminError);
        assert.equal(error.kind, 'invalid_argument');
        assert.match(error.message, /security_profile must be one of fapi2/);
        return true;
      });
    });

    it("sets and reads back a client's require_pushed_authorization_requests", async () => {
      const created = await s.admin.createClient({
        env: 'PAR',
        name: 'app',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://app.example/cb'],
        requirePushedAuthorizationRequests: true,
      });
      assert.equal(created.require_pushed_authorization_requests, true);
      assert.equal((await s.admin.getClient('PAR', created.client_id)).require_pushed_authorization_requests, true);
      const changed = await s.admin.updateClient('PAR', created.client_id, { requirePushedAuthorizationRequests: false });
      assert.equal(changed.require_pushed_authorization_requests, false);
      assert.equal((await s.admin.getClient('PAR', created.client_id)).require_pushed_authorization_requests, false);
    });

    it('apply plans and applies both settings from a file', async () => {
      const target = localDeclarativeTarget(s);
      const file = parseDeclaration({
        version: 1,
        environments: [
          {
            name: 'PAR_APPLY',
            security_profile: 'fapi2',
            require_pushed_authorization_requests: true,
            clients: [
              { name: 'web', grant_types: ['authorization_code'], redirect_uris: ['https://web.example/cb'], require_pushed_authorization_requests: true },
            ],
          },
        ],
      });
      await applyDeclaration(target, file);
      const env = await s.admin.getEnvironment('PAR_APPLY');
      assert.equal(env.security_profile, 'fapi2');
      assert.equal(env.require_pushed_authorization_requests, true);
      const [client] = await s.admin.listClients('PAR_APPLY');
      assert.equal(client?.require_pushed_authorization_requests, true);
      const plan = await planDeclaration(target, file);
      assert.ok(
        plan.every((c) => c.action === 'unchanged'),
        JSON.stringify(plan),
      );
    });

    it('apply sets the DPoP nonce switch of an environment, and plans nothing more once it is set', async () => {
      const target = localDeclarativeTarget(s);
      const declaration = (required: boolean) => parseDeclaration({ version: 1, environments: [{ name: 'DPOP_APPLY', dpop_nonce_required: required }] });
      await applyDeclaration(target, declaration(true));
      assert.equal((await s.admin.getEnvironment('DPOP_APPLY')).dpop_nonce_required, true);
      const again = await planDeclaration(target, declaration(true));
      assert.ok(
        again.every((c) => c.action === 'unchanged'),
        JSON.stringify(again),
      );
      const off = await planDeclaration(target, declaration(false));
      assert.equal(off[0]?.action, 'update');
      await applyDeclaration(target, declaration(false));
      assert.equal((await s.admin.getEnvironment('DPOP_APPLY')).dpop_nonce_required, false);
    });
  });
}
