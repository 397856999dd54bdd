import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AuditRecorder } from '../../src/audit/recorder.ts';
import { signWebhook, verifyWebhook } from '../../src/audit/signature.ts';
import { WebhookDeliverer } from '../../src/audit/webhooks.ts';
import { SYSTEM_ACTOR, webhookKey } from '../../src/domain/audit.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { openStore } from '../../src/store/open.ts';
import { testDatabases } from '../helpers/databases.ts';
import { freePort } from '../helpers/net.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const KEY = webhookKey(SECRET);
const quiet = { info() {}, warn() {} };

interface Received {
  id: string;
  timestamp: number;
  body: string;
  signatureValid: boolean;
}

/** A webhook receiver on 127.0.0.1:0 that answers with `status` (or never, with 'hang') and checks every signature. */
async function receiver() {
  const received: Received[] = [];
  const state = { status: 500 as number | 'hang' };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const timestamp = Number(req.headers['webhook-timestamp']);
      received.push({ id, timestamp, body, signatureValid: verifyWebhook(KEY, id, timestamp, body, String(req.headers['webhook-signature'])) });
      if (state.status === 'hang') return;
      res.writeHead(state.status, state.status === 302 ? { location: 'http://127.0.0.1:1/' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

for (const database of await testDatabases()) {
  describe(`audit webhooks on ${database.name}`, { timeout: 180_000 }, () => {
    let store: Store;
    let url: string;
    let schema: string | undefined;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, url, schema, cleanup } = await database.open());
    });
    after(async () => cleanup());

    it('retries through failures, a closed port, a redirect and a timeout, then delivers each event once recovered, after a restart, signed and with a stable id', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const hook = await receiver();
      try {
        const recorder = new AuditRecorder(store.audit, clock, quiet, { outbox: true });
        for (const id of ['gh_a', 'gh_b', 'gh_c']) {
          await recorder.record({
            type: 'client.created',
            environment: { id: 'e1', name: 'PRODUCTION' },
            actor: SYSTEM_ACTOR,
            subject: { kind: 'client', id },
          });
        }
        const options = { key: KEY, baseBackoffMs: 1000, maxBackoffMs: 4000, random: () => 1, timeoutMs: 300 };
        const first = new WebhookDeliverer(store.audit, clock, quiet, { ...options, url: hook.url });
        assert.deepEqual(await first.deliverDue(), { delivered: 0, failed: 3 }, 'HTTP 500');
        assert.deepEqual(await first.deliverDue(), { delivered: 0, failed: 0 }, 'not due before the backoff');
        clock.advance(1000);
        hook.state.status = 302;
        assert.deepEqual(await first.deliverDue(), { delivered: 0, failed: 3 }, 'a redirect is not a delivery');
        clock.advance(2000);
        hook.state.status = 'hang';
        assert.deepEqual(await first.deliverDue(), { delivered: 0, failed: 3 }, 'timed out');
        clock.advance(4000);
        const closed = new WebhookDeliverer(store.audit, clock, quiet, { ...options, url: `http://127.0.0.1:${await freePort()}/hook` });
        assert.deepEqual(await closed.deliverDue(), { delivered: 0, failed: 3 }, 'connection refused');
        assert.equal(await store.audit.pendingDeliveries(), 3);

        // A restart: a new store and deliverer over the same database deliver what the first could not.
        const reopened = openStore(url, schema ? { postgresSchema: schema, poolSize: 2 } : {});
        try {
          hook.state.status = 204;
          clock.advance(4000); // the backoff is capped at 4 s
          const restarted = new WebhookDeliverer(reopened.audit, clock, quiet, { ...options, url: hook.url });
          assert.deepEqual(await restarted.deliverDue(), { delivered: 3, failed: 0 });
          clock.advance(60_000);
          assert.deepEqual(await restarted.deliverDue(), { delivered: 0, failed: 0 }, 'delivered once is done');
          assert.equal(await reopened.audit.pendingDeliveries(), 0);
        } finally {
          await reopened.close();
        }

        assert.ok(
          hook.received.every((r) => r.signatureValid),
          'every request is signed',
        );
        const events = await store.audit.list({ limit: 10 });
        for (const event of events) {
          const attempts = hook.received.filter((r) => r.id === event.id);
          // 500, 302, timeout, then delivered; the closed port never reached the receiver.
          assert.equal(attempts.length, 4, `every attempt of ${event.id} has the event id as webhook-id`);
          const payload = JSON.parse(attempts[3]?.body ?? '{}');
          assert.equal(payload.type, 'client.created');
          assert.equal(payload.data.id, event.id);
          assert.equal(payload.data.subject.id, event.subject.id);
        }
        assert.equal(hook.received.length, 12);
      } finally {
        await hook.close();
      }
    });

    it('shares the outbox between nodes: two deliverers at once send each event once', async () => {
      const clock = new ManualClock(Date.UTC(2026, 1, 1));
      const hook = await receiver();
      hook.state.status = 200;
      const other = openStore(url, schema ? { postgresSchema: schema, poolSize: 2 } : {});
      try {
        const recorder = new AuditRecorder(store.audit, clock, quiet, { outbox: true });
        for (let i = 0; i < 6; i++) {
          await recorder.record({ type: 'user.created', environment: null, actor: SYSTEM_ACTOR, subject: { kind: 'user', id: `usr_${i}` } });
        }
        const options = { url: hook.url, key: KEY, batchSize: 4 };
        const a = new WebhookDeliverer(store.audit, clock, quiet, options);
        const b = new WebhookDeliverer(other.audit, clock, quiet, options);
        let delivered = 0;
        for (let round = 0; round < 5 && delivered < 6; round++) {
          const results = await Promise.all([a.deliverDue(), b.deliverDue()]);
          delivered += results.reduce((n, r) => n + r.delivered, 0);
        }
        assert.equal(delivered, 6);
        const ids = hook.received.map((r) => r.id);
        assert.equal(ids.length, 6);
        assert.equal(new Set(ids).size, 6, 'no event sent twice');
        assert.equal(await store.audit.pendingDeliveries(), 0);
      } finally {
        await other.close();
        await hook.close();
      }
    });

    it('drains a backlog in one call, batch after batch, and stops at the first failure', async () => {
      const clock = new ManualClock(Date.UTC(2026, 3, 1));
      const hook = await receiver();
      try {
        hook.state.status = 200;
        const recorder = new AuditRecorder(store.audit, clock, quiet, { outbox: true });
        for (let i = 0; i < 7; i++) {
          await recorder.record({ type: 'api.created', environment: null, actor: SYSTEM_ACTOR, subject: { kind: 'api', id: `https://api${i}.example` } });
        }
        const deliverer = new WebhookDeliverer(store.audit, clock, quiet, { url: hook.url, key: KEY, batchSize: 3 });
        assert.equal(await deliverer.deliverBacklog(), 7);
        assert.equal(hook.received.length, 7);
        for (let i = 0; i < 7; i++) {
          await recorder.record({ type: 'api.created', environment: null, actor: SYSTEM_ACTOR, subject: { kind: 'api', id: `https://more${i}.example` } });
        }
        hook.state.status = 503;
        assert.equal(await deliverer.deliverBacklog(), 0);
        assert.equal(hook.received.length, 10, 'one batch tried, then it waits for the next call');
        assert.equal(await store.audit.pendingDeliveries(), 7);
        await store.audit.deleteBefore(clock.now() + 1);
      } finally {
        await hook.close();
      }
    });

    it('accepts the signature of the body it signed, among others, and refuses a tampered body, another key and a short secret', () => {
      const body = '{"a":1}';
      const header = `v1,${'x'.repeat(44)} ${signWebhook(KEY, 'msg_1', 1700000000, body)}`;
      assert.equal(verifyWebhook(KEY, 'msg_1', 1700000000, body, header), true);
      assert.equal(verifyWebhook(KEY, 'msg_1', 1700000000, '{"a":2}', header), false);
      assert.equal(verifyWebhook(KEY, 'msg_1', 1700000001, body, header), false);
      assert.equal(verifyWebhook(Buffer.alloc(32, 8), 'msg_1', 1700000000, body, header), false);
      assert.throws(() => webhookKey('whsec_c2hvcnQ='), /at least 32/);
      assert.throws(() => webhookKey('short'), /at least 32/);
      assert.equal(webhookKey('a'.repeat(32)).length, 32);
    });
  });
}
