import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { auditListener } from '../../src/audit/listener.ts';
import { AuditRecorder, timeOrderedId } from '../../src/audit/recorder.ts';
import { deleteExpiredAuditEvents } from '../../src/audit/retention.ts';
import { type AuditEvent, type NewAuditEvent, SYSTEM_ACTOR } from '../../src/domain/audit.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { AuditStore } from '../../src/domain/storage.ts';
import { StorageUnavailableError, type Store } from '../../src/domain/storage.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { testConfig } from '../helpers/fixtures.ts';

const env = { id: 'env-1', name: 'PRODUCTION' };

/** A pino logger (with Gatehouse's redaction) writing into `lines`. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger('info', destination) };
}

/** An audit store whose inserts fail while `down` is set, as an unavailable database would. */
function flakyStore() {
  const stored: AuditEvent[] = [];
  const state = { down: true };
  const store = {
    async insert(event: AuditEvent) {
      if (state.down) throw new StorageUnavailableError('connection refused');
      stored.push(event);
    },
  } as unknown as AuditStore;
  return { store, stored, state };
}

describe('the audit recorder', { timeout: 180_000 }, () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-'));
    store = openStore(join(dir, 'gatehouse.db'));
    await store.migrate();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records admin changes with their actor, one log line each, and no secret or password in the database or the log', async () => {
    const { lines, logger } = capturingLogger();
    const clock = new ManualClock();
    const audit = new AuditRecorder(store.audit, clock, logger, { outbox: true });
    const config = { ...testConfig(), passwordHashCost: 10 };
    const { admin, users } = createAdminServices(config, store, clock, undefined, { audit, actor: { kind: 'cli', id: 'alice' } });
    await admin.createEnvironment('PRODUCTION');
    const client = await admin.createClient({ env: 'PRODUCTION', name: 'billing' });
    const rotated = await admin.rotateClientSecret('PRODUCTION', client.client_id);
    const password = 'correct horse battery staple';
    await users.create({ env: 'PRODUCTION', username: 'bob', password });
    await users.setPassword('PRODUCTION', 'bob', `${password} 2`);

    const events = await store.audit.list({ limit: 100 });
    assert.deepEqual(
      events.map((e) => e.type),
      ['user.password_changed', 'user.created', 'client.secret_rotated', 'client.created', 'environment.created'],
      'newest first, in recording order within the same millisecond',
    );
    assert.ok(events.every((e) => e.actor.kind === 'cli' && e.actor.id === 'alice' && e.environment?.name === 'PRODUCTION'));
    assert.equal(lines.filter((l) => JSON.parse(l).msg === 'audit event').length, 5);
    assert.equal(await store.audit.pendingDeliveries(), 5, 'each event has its outbox row');

    const secrets = [client.client_secret ?? '', rotated.client_secret, password, 'horse'];
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
    for (const secret of secrets) {
      assert.ok(secret.length > 0);
      assert.ok(!JSON.stringify(events).includes(secret), 'stored events');
      assert.ok(!lines.join('\n').includes(secret), 'log lines');
      assert.ok(!files.some((bytes) => bytes.includes(Buffer.from(secret))), 'database files');
    }
  });

  it('keeps queued events in order while the database is unavailable and stores them once it answers', async () => {
    const { store: flaky, stored, state } = flakyStore();
    const { lines, logger } = capturingLogger();
    const audit = new AuditRecorder(flaky, new ManualClock(), logger, { outbox: false, queueLimit: 3 });
    const event = (id: string): NewAuditEvent => ({ type: 'user.locked_out', environment: env, actor: SYSTEM_ACTOR, subject: { kind: 'username', id } });
    for (const id of ['a', 'b', 'c', 'd']) audit.enqueue(event(id));
    assert.equal(audit.pending, 3, 'bounded: the oldest is dropped');
    assert.equal(lines.length, 4, 'every event is logged at once, stored or not');
    await assert.rejects(audit.flush(), StorageUnavailableError);
    assert.equal(audit.pending, 3);
    assert.ok(lines.some((l) => JSON.parse(l).dropped === 1));
    state.down = false;
    assert.equal(await audit.flush(), 3);
    assert.deepEqual(
      stored.map((e) => e.subject.id),
      ['b', 'c', 'd'],
    );
    assert.equal(audit.pending, 0);
  });

  it('never makes the emitting request wait, even on a database that does not answer', async () => {
    let inserts = 0;
    const hanging = {
      insert: () => {
        inserts += 1;
        return new Promise<void>(() => {});
      },
    } as unknown as AuditStore;
    const audit = new AuditRecorder(hanging, new ManualClock(), capturingLogger().logger, { outbox: false });
    const listen = auditListener(audit, new ManualClock(), { quotaWindowMs: 60_000 });
    const result = listen({ type: 'refresh_token.reused', env, clientId: 'gh_a' });
    assert.equal(result, undefined, 'synchronous');
    assert.equal(audit.pending, 1);
    assert.equal(inserts, 0, 'stored only by the background flush');
    void audit.flush();
    assert.equal(inserts, 1);
  });

  it('deletes events older than the retention, with their deliveries', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 1));
    const audit = new AuditRecorder(store.audit, clock, capturingLogger().logger, { outbox: true });
    await audit.record({ type: 'api.deleted', environment: env, actor: SYSTEM_ACTOR, subject: { kind: 'api', id: 'https://old.example' } });
    clock.advance(10 * 86_400_000);
    await audit.record({ type: 'api.deleted', environment: env, actor: SYSTEM_ACTOR, subject: { kind: 'api', id: 'https://new.example' } });
    clock.advance(86_400_000);
    const before = (await store.audit.list({ limit: 1000 })).length;
    // Cut-off five days back: everything but the newest event, including the first test's.
    assert.equal(await deleteExpiredAuditEvents(store.audit, clock, 5), before - 1);
    assert.deepEqual(
      (await store.audit.list({ limit: 1000 })).map((e) => e.subject.id),
      ['https://new.example'],
    );
    assert.equal(await store.audit.pendingDeliveries(), 1, 'only the kept event is still to deliver');
  });

  it('maps security events from the core, once per client per quota window for quota refusals, and ignores the rest', () => {
    const queued: NewAuditEvent[] = [];
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const listen = auditListener({ enqueue: (e) => queued.push(e) }, clock, { quotaWindowMs: 60_000 });
    listen({ type: 'token.issued', env, clientId: 'gh_a', grantType: 'client_credentials' });
    listen({ type: 'refresh_token.reused', env, clientId: 'gh_a' });
    listen({ type: 'authorization_code.reused', env, clientId: 'gh_a' });
    listen({ type: 'refresh_token.retried', env, clientId: 'gh_a' });
    listen({ type: 'user.locked_out', env, username: 'bob' });
    listen({ type: 'signing_key.rotated', env, kid: 'k1', trigger: 'scheduled' });
    listen({ type: 'signing_key.rotated', env, kid: 'k2', trigger: 'immediate' });
    for (let i = 0; i < 100; i++) listen({ type: 'client.quota_exceeded', env, clientId: 'gh_a' });
    listen({ type: 'client.quota_exceeded', env, clientId: 'gh_b' });
    clock.advance(60_000);
    listen({ type: 'client.quota_exceeded', env, clientId: 'gh_a' });
    assert.deepEqual(
      queued.map((e) => `${e.type} ${e.subject.kind}:${e.subject.id} ${e.outcome ?? 'success'}`),
      [
        'refresh_token.reused client:gh_a failure',
        'authorization_code.reused client:gh_a failure',
        'refresh_token.retried client:gh_a success',
        'user.locked_out username:bob failure',
        'signing_key.rotated signing_key:k1 success',
        'client.quota_exceeded client:gh_a failure',
        'client.quota_exceeded client:gh_b failure',
        'client.quota_exceeded client:gh_a failure',
      ],
    );
    assert.ok(queued.every((e) => e.actor === SYSTEM_ACTOR && e.environment === env));
    assert.deepEqual(queued[4]?.details, { trigger: 'scheduled' });
  });

  it('records server.started with the surfaces and environments when a node starts, stored by the time it stops', async () => {
    const config = testConfig({
      host: '127.0.0.1',
      auditWebhookUrl: 'http://127.0.0.1:9/hook',
      auditWebhookSecret: Buffer.alloc(32, 1),
    });
    const { logger } = capturingLogger();
    const node = await createServer(config, { store, clock: new ManualClock(Date.UTC(2026, 2, 1)), logger });
    await node.start();
    await node.stop(1000);
    const [started] = await store.audit.list({ limit: 1, type: 'server.started' });
    assert.equal(started?.actor.kind, 'system');
    assert.equal(started?.environment, null);
    assert.deepEqual(started?.details.environments, ['PRODUCTION']);
    assert.deepEqual(started?.details.surfaces, ['standard (standard)']);
    assert.equal(started?.details.webhook, true);
    assert.ok(!JSON.stringify(started).includes(Buffer.alloc(32, 1).toString('base64')));
  });
});

describe('audit event ids', () => {
  it('are UUIDv7 that sort in recording order, within a millisecond too', () => {
    const ids = Array.from({ length: 5000 }, () => timeOrderedId(Date.UTC(2030, 0, 1)));
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.match(ids[0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
