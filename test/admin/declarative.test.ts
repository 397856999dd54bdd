import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AdminError } from '../../src/admin/admin-service.ts';
import { type Declaration, parseDeclaration } from '../../src/admin/declarative.ts';
import { applyDeclaration, planDeclaration } from '../../src/admin/declarative-plan.ts';
import { localDeclarativeTarget } from '../../src/admin/declarative-target.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore } from '../helpers/fixtures.ts';

const BILLING = 'https://api.example.test/billing';

function declaration(env: string, overrides: { webScopes?: string[]; workerEnabled?: boolean; quota?: number } = {}): Declaration {
  return parseDeclaration({
    version: 1,
    environments: [
      {
        name: env,
        default_quota: overrides.quota,
        clients: [
          { name: 'billing-worker', scopes: ['invoices:read'], enabled: overrides.workerEnabled ?? true },
          {
            name: 'web',
            grant_types: ['authorization_code', 'refresh_token'],
            scopes: overrides.webScopes ?? ['invoices:read'],
            redirect_uris: ['https://app.example.test/callback'],
          },
          { name: 'mobile', type: 'public', grant_types: ['authorization_code'], redirect_uris: ['https://app.example.test/mobile'] },
        ],
        service_accounts: [{ name: 'reporter', scopes: ['reports:read'] }],
        apis: [{ identifier: BILLING, name: 'Billing', scopes: [{ name: 'invoices:read', description: 'Read invoices' }], clients: ['billing-worker'] }],
      },
    ],
  });
}

describe('reading a declaration', () => {
  it('names the place of every refusal', () => {
    const refuse = (document: unknown, pattern: RegExp) => assert.throws(() => parseDeclaration(document), pattern);
    refuse({ version: 2 }, /^Error: version: must be 1$|version: must be 1/);
    refuse({ version: 1, environments: [{ name: 'A', clients: [{ name: 'x', secret: 's' }] }] }, /environments\[0\]\.clients\[0\]\.secret: unknown field/);
    refuse({ version: 1, environments: [{ name: 'A', clients: [{ name: 'x' }, { name: 'x' }] }] }, /client x is declared twice/);
    refuse({ version: 1, environments: [{ name: 'A', clients: [{ name: 'x', quota: 0 }] }] }, /clients\[0\]\.quota: must be a whole number/);
    refuse({ version: 1, environments: [{ name: 'A', apis: [{ identifier: BILLING, name: 'B', clients: ['nobody'] }] }] }, /no client named nobody/);
    refuse([], /\(file\): must be an object/);
  });

  it('refuses any document that is not a declaration with an AdminError, never another exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (document) => {
        try {
          parseDeclaration(document);
        } catch (error) {
          assert.ok(error instanceof AdminError, String(error));
        }
      }),
      { numRuns: 300 },
    );
  });
});

for (const database of await testDatabases()) {
  describe(`plan and apply on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    it('creates what is declared once; applying the same file again changes nothing', async () => {
      const t = await suite.build();
      const target = localDeclarativeTarget(createAdminServices(t.config, t.store, t.clock, t.app.core));
      const env = `decl-${database.name}-${++counter}`;
      const first = await planDeclaration(target, declaration(env));
      assert.deepEqual(
        first.map((c) => `${c.action} ${c.kind} ${c.name}`),
        [
          `create environment ${env}`,
          'create client billing-worker',
          'create client web',
          'create client mobile',
          'create service_account reporter',
          `create api ${BILLING}`,
        ],
      );
      const applied = await applyDeclaration(target, declaration(env));
      assert.deepEqual(
        applied.secrets.map((s) => s.name),
        ['billing-worker', 'web'],
      );
      const clients = await target.listClients(env);
      const worker = clients.find((c) => c.name === 'billing-worker');
      assert.deepEqual((await target.listApis(env))[0]?.clients, [worker?.client_id]);
      assert.equal(clients.find((c) => c.name === 'mobile')?.type, 'public');

      const again = await applyDeclaration(target, declaration(env));
      assert.deepEqual(new Set(again.changes.map((c) => c.action)), new Set(['unchanged']));
      assert.deepEqual(again.secrets, []);
      assert.equal((await target.listClients(env)).length, 4, 'three clients and the service account, nothing twice');
    });

    it('updates what changed, and refuses what cannot change or is ambiguous before changing anything', async () => {
      const t = await suite.build();
      const target = localDeclarativeTarget(createAdminServices(t.config, t.store, t.clock, t.app.core));
      const env = `decl-${database.name}-${++counter}`;
      await applyDeclaration(target, declaration(env));
      const changed = declaration(env, { webScopes: ['invoices:read', 'invoices:write'], workerEnabled: false, quota: 100 });
      const plan = await planDeclaration(target, changed);
      assert.deepEqual(
        plan.filter((c) => c.action === 'update').map((c) => [c.name, c.changes.map((f) => f.field)]),
        [
          [env, ['default_quota']],
          ['billing-worker', ['enabled']],
          // Default scopes follow the scopes when the file gives none.
          ['web', ['scopes', 'default_scopes']],
        ],
      );
      await applyDeclaration(target, changed);
      const clients = await target.listClients(env);
      assert.equal(clients.find((c) => c.name === 'billing-worker')?.enabled, false);
      assert.deepEqual(clients.find((c) => c.name === 'web')?.scopes, ['invoices:read', 'invoices:write']);
      assert.equal((await target.listEnvironments()).find((e) => e.name === env)?.default_quota, 100);
      assert.ok((await planDeclaration(target, changed)).every((c) => c.action === 'unchanged'));

      const mobileConfidential = parseDeclaration({
        version: 1,
        environments: [{ name: env, clients: [{ name: 'mobile', grant_types: ['authorization_code'], redirect_uris: ['https://app.example.test/mobile'] }] }],
      });
      await assert.rejects(applyDeclaration(target, mobileConfidential), /is public and cannot become confidential/);
      await target.createClient({ env, name: 'web', scopes: [] });
      await assert.rejects(planDeclaration(target, changed), /2 clients in .* are named web: pin the one meant with client_id/);
    });
  });
}
