import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { type TestDatabase, testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

const ENV = 'DEVELOPMENT';
const PASSWORD = 'a long enough passphrase';

/**
 * Makes the database itself refuse every audit insert (a trigger), so the audit write of an admin
 * change fails for real, inside the change's transaction; `allow` drops the trigger again.
 */
async function auditRefusal(database: TestDatabase['name'], url: string, schema: string | undefined) {
  if (database === 'sqlite') {
    // A second connection in the same process: it must not wait for the lock inside the call (a
    // busy timeout would stop the event loop, and with it the store's commit it is waiting for).
    const db = new Sqlite(url, { timeout: 0 });
    const exec = async (statement: string) => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          db.exec(statement);
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 100) throw error;
          // The store's open batch commits on its turn of the event loop, queued before this one.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    return {
      refuse: () => exec(`create trigger refuse_audit before insert on audit_events begin select raise(abort, 'audit refused'); end`),
      allow: () => exec('drop trigger refuse_audit'),
      close: async () => {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`create function ${schema}.refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit refused'; end $$`);
  return {
    refuse: async () => {
      await client.query(`create trigger refuse_audit before insert on ${schema}.audit_events for each row execute function ${schema}.refuse_audit()`);
    },
    allow: async () => {
      await client.query(`drop trigger refuse_audit on ${schema}.audit_events`);
    },
    close: () => client.end(),
  };
}

for (const database of await testDatabases()) {
  describe(`an admin change and its audit event are one transaction, on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    let trigger: Awaited<ReturnType<typeof auditRefusal>>;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));

    before(async () => {
      const opened = await database.open();
      ({ store, cleanup } = opened);
      // With a webhook configured, every event also gets an outbox row in the same transaction.
      const audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: true });
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock, undefined, { audit, actor: { kind: 'cli', id: 'operator' } });
      await s.admin.createEnvironment(ENV);
      trigger = await auditRefusal(database.name, opened.url, opened.schema);
    });
    after(async () => {
      await trigger.close();
      await cleanup();
    });

    const events = async () => (await store.audit.list({ limit: 10_000 })).length;

    /** Runs `change` while the database refuses audit inserts: it must fail and leave no trace, event and outbox row included. */
    const refusedWhole = async (change: () => Promise<unknown>) => {
      const [before, pending] = [await events(), await store.audit.pendingDeliveries()];
      await trigger.refuse();
      try {
        await assert.rejects(change, (error: unknown) => {
          assert.match(String((error as Error).message ?? error), /audit refused/);
          return true;
        });
      } finally {
        await trigger.allow();
      }
      assert.equal(await events(), before, 'no audit event');
      assert.equal(await store.audit.pendingDeliveries(), pending, 'no outbox row');
    };

    it('records a successful change with its outbox row', async () => {
      const [before, pending] = [await events(), await store.audit.pendingDeliveries()];
      await s.admin.createClient({ env: ENV, name: 'recorded' });
      assert.equal(await events(), before + 1);
      assert.equal(await store.audit.pendingDeliveries(), pending + 1);
    });

    it('creates no client, and shows no secret, when the audit write fails', async () => {
      const before = (await s.admin.listClients(ENV)).length;
      let shown: unknown;
      await refusedWhole(async () => {
        shown = await s.admin.createClient({ env: ENV, name: 'never' });
      });
      assert.equal(shown, undefined);
      assert.equal((await s.admin.listClients(ENV)).length, before);
    });

    it('rotates no secret when the audit write fails: the old one keeps its expiry', async () => {
      const { client_id: id } = await s.admin.createClient({ env: ENV, name: 'rotating' });
      const secrets = await s.admin.listClientSecrets(ENV, id);
      await refusedWhole(() => s.admin.rotateClientSecret(ENV, id, 60));
      assert.deepEqual(await s.admin.listClientSecrets(ENV, id), secrets);
    });

    it('changes no client, secret or key when the audit write fails', async () => {
      const { client_id: id } = await s.admin.createClient({ env: ENV, name: 'kept' });
      const [secret] = await s.admin.listClientSecrets(ENV, id);
      const before = await s.admin.getClient(ENV, id);
      await refusedWhole(() => s.admin.updateClient(ENV, id, { name: 'renamed' }));
      await refusedWhole(() => s.admin.setClientEnabled(ENV, id, false));
      await refusedWhole(() => s.admin.setClientQuota(ENV, id, 5));
      await refusedWhole(() => s.admin.revokeClientSecret(ENV, id, secret?.id ?? ''));
      await refusedWhole(() => s.serviceAccounts.createKey(ENV, id, 'ES256', 'client'));
      await refusedWhole(() => s.admin.deleteClient(ENV, id));
      assert.deepEqual(await s.admin.getClient(ENV, id), before);
      assert.equal((await s.admin.listClientSecrets(ENV, id)).length, 1);
      assert.deepEqual(await s.serviceAccounts.listKeys(ENV, id, 'client'), []);
    });

    it('changes no environment, quota or rotation setting when the audit write fails', async () => {
      await refusedWhole(() => s.admin.setEnvironmentQuota(ENV, 100));
      assert.equal((await s.admin.getEnvironment(ENV)).default_quota, null);
      await refusedWhole(() => s.admin.setKeyRotation(ENV, 90 * 86_400));
      assert.equal((await s.admin.setKeyRotation(ENV, null)).key_rotation_interval, null);
      const keys = await s.admin.listKeys(ENV);
      await refusedWhole(() => s.admin.rotateKeys(ENV, { now: true }));
      assert.deepEqual(await s.admin.listKeys(ENV), keys);
      await refusedWhole(() => s.admin.createEnvironment('NEVER'));
      await assert.rejects(s.admin.getEnvironment('NEVER'), /no environment named NEVER/);
    });

    it('changes no user when the audit write fails', async () => {
      await refusedWhole(() => s.users.create({ env: ENV, username: 'never', password: PASSWORD }));
      await assert.rejects(s.users.get(ENV, 'never'), /no user never/);
      const user = await s.users.create({ env: ENV, username: 'kept', password: PASSWORD });
      await refusedWhole(() => s.users.setEnabled(ENV, 'kept', false));
      await refusedWhole(() => s.users.setPassword(ENV, 'kept', 'another long passphrase'));
      assert.deepEqual(await s.users.get(ENV, 'kept'), user);
    });

    it('changes no service account or its keys when the audit write fails', async () => {
      const before = (await s.serviceAccounts.list(ENV)).length;
      await refusedWhole(() => s.serviceAccounts.create({ env: ENV, name: 'never', withSecret: true }));
      assert.equal((await s.serviceAccounts.list(ENV)).length, before);
      const account = await s.serviceAccounts.create({ env: ENV, name: 'kept' });
      const id = account.service_account_id;
      await refusedWhole(() => s.serviceAccounts.setEnabled(ENV, id, false));
      assert.equal((await s.serviceAccounts.get(ENV, id)).enabled, true);
      await refusedWhole(() => s.serviceAccounts.createKey(ENV, id));
      assert.deepEqual(await s.serviceAccounts.listKeys(ENV, id), []);
      const key = await s.serviceAccounts.createKey(ENV, id);
      await refusedWhole(() => s.serviceAccounts.revokeKey(ENV, id, key.kid));
      assert.equal((await s.serviceAccounts.listKeys(ENV, id))[0]?.status, 'active');
    });

    it('changes no API when the audit write fails', async () => {
      const identifier = 'https://api.example.test/atomic';
      await refusedWhole(() => s.apis.create({ env: ENV, identifier, name: 'never' }));
      await assert.rejects(s.apis.show(ENV, identifier), /no API/);
      const api = await s.apis.create({ env: ENV, identifier, name: 'kept' });
      await refusedWhole(() => s.apis.update(ENV, identifier, { name: 'renamed' }));
      await refusedWhole(() => s.apis.delete(ENV, identifier));
      assert.deepEqual(await s.apis.show(ENV, identifier), api);
    });
  });
}
