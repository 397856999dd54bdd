import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { freePort } from '../helpers/net.ts';
import { httpRequest, type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';
import { parsePrometheus, type Sample, sumOf } from '../helpers/prometheus.ts';

const REDIRECT_URI = 'https://app.example.test/callback';
const PASSWORD = 'a long enough password for alice';
const WEBHOOK_KEY = randomBytes(32);
const WEBHOOK_SECRET = `whsec_${WEBHOOK_KEY.toString('base64')}`;

interface Delivery {
  id: string;
  type: string;
  body: string;
}

/**
 * A webhook receiver on 127.0.0.1:0 that answers 503 while `down`, checks every signature
 * (Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`) and keeps what it accepted.
 */
async function startReceiver(): Promise<{ url: string; down: boolean; accepted: Delivery[]; refused: number; badSignatures: number; close(): Promise<void> }> {
  const state = { down: true, accepted: [] as Delivery[], refused: 0, badSignatures: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      if (state.down) {
        state.refused += 1;
        res.writeHead(503).end();
        return;
      }
      const id = String(req.headers['webhook-id']);
      const timestamp = String(req.headers['webhook-timestamp']);
      const expected = createHmac('sha256', WEBHOOK_KEY).update(`${id}.${timestamp}.${body}`).digest();
      const signatures = String(req.headers['webhook-signature'] ?? '')
        .split(' ')
        .map((s) => Buffer.from(s.replace(/^v1,/, ''), 'base64'));
      if (!signatures.some((s) => s.length === expected.length && timingSafeEqual(s, expected))) {
        state.badSignatures += 1;
        res.writeHead(401).end();
        return;
      }
      state.accepted.push({ id, type: String((JSON.parse(body) as { type?: string }).type), body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/hooks/gatehouse`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Polls `check` until it returns a value (at most `ms`); fails with `what` otherwise. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(100);
  }
}

for (const workers of [1, 2]) {
  describe(`the operator's view of a scripted run (${workers === 1 ? 'single node' : 'two workers'})`, () => {
    let server: ProductionServer;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let metricsPort: number;
    const secrets: string[] = [];

    before(async () => {
      receiver = await startReceiver();
      metricsPort = await freePort();
      server = await productionServer({
        GATEHOUSE_METRICS_PORT: String(metricsPort),
        GATEHOUSE_AUDIT_WEBHOOK_URL: receiver.url,
        GATEHOUSE_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET,
        GATEHOUSE_USAGE_FLUSH_INTERVAL: '1',
        GATEHOUSE_DRAIN_PERIOD: '0',
      });
    });

    after(async () => {
      await server?.dispose();
      await receiver?.close();
    });

    const cliJson = async (args: string[]) => JSON.parse(await server.cli([...args, '--json']));
    const scrape = async (): Promise<Sample[]> => {
      const res = await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200, res.body);
      for (const secret of secrets) assert.ok(!res.body.includes(secret), 'a secret in /metrics');
      return parsePrometheus(res.body);
    };

    it('shows the tokens, failures, reuse and the disabled client in metrics, audit events, the webhook and client show', async (t) => {
      await server.cli(['env', 'create', 'PROD']);
      const svc = await cliJson(['client', 'create', '--env', 'PROD', '--name', 'svc', '--scope', 'read']);
      const app = await cliJson([
        'client',
        'create',
        '--env',
        'PROD',
        '--name',
        'app',
        '--scope',
        'read',
        '--grant-type',
        'authorization_code',
        '--grant-type',
        'refresh_token',
        '--redirect-uri',
        REDIRECT_URI,
      ]);
      await server.cli(['user', 'create', '--env', 'PROD', '--username', 'alice', '--password-stdin'], `${PASSWORD}\n`);
      secrets.push(svc.client_secret, app.client_secret, PASSWORD);
      await server.start(workers);

      // The public port never serves /metrics.
      assert.equal((await httpRequest(`${server.baseUrl}/metrics`)).status, 404);

      const good = { id: svc.client_id, secret: svc.client_secret };
      for (let i = 0; i < 3; i++) assert.equal((await tokenRequest(server.baseUrl, 'PROD', good)).status, 200);
      for (let i = 0; i < 10; i++) {
        const res = await tokenRequest(server.baseUrl, 'PROD', { id: svc.client_id, secret: `wrong-${i}` });
        assert.ok([401, 429].includes(res.status), res.body);
      }

      const browser = new HttpBrowser(server.baseUrl);
      const { code, verifier } = await browser.obtainCode('PROD', app.client_id, REDIRECT_URI, 'alice', PASSWORD, 'read');
      const appAuth = `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`;
      const post = (params: Record<string, string>) =>
        httpRequest(`${server.baseUrl}/envs/PROD/token`, {
          method: 'POST',
          headers: { authorization: appAuth, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(params).toString(),
        });
      const exchanged = await post({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI });
      assert.equal(exchanged.status, 200, exchanged.body);
      const refreshToken = JSON.parse(exchanged.body).refresh_token as string;
      secrets.push(refreshToken, code);
      assert.equal((await post({ grant_type: 'refresh_token', refresh_token: refreshToken })).status, 200);
      // Presented again with other parameters: no retry of the answered request, so reuse.
      const replay = await post({ grant_type: 'refresh_token', refresh_token: refreshToken, scope: 'read' });
      assert.equal(replay.status, 400, replay.body);

      await server.cli(['client', 'disable', svc.client_id, '--env', 'PROD']);

      // Metrics: the primary (or the single node) serves every worker's counts.
      const samples = await eventually('the counters of every request', async () => {
        const s = await scrape();
        return sumOf(s, 'gatehouse_tokens_issued_total', { client: svc.client_id }) === 3 ? s : undefined;
      });
      assert.equal(sumOf(samples, 'gatehouse_tokens_issued_total', { client: app.client_id }), 2);
      assert.equal(sumOf(samples, 'gatehouse_client_auth_failures_total', { client: svc.client_id }), 10);
      assert.equal(sumOf(samples, 'gatehouse_refresh_token_reuse_total'), 1);
      assert.equal(sumOf(samples, 'gatehouse_logins_total', { outcome: 'success' }), 1);
      assert.ok(sumOf(samples, 'gatehouse_http_request_duration_seconds_count', { endpoint: 'token' }) >= 16);
      assert.ok(samples.some((s) => s.name.startsWith('gatehouse_db_query_duration_seconds')));

      // Audit events: in the database, and at the webhook once it answers again.
      // Security events reach the database from the node's queue within a second or so.
      type Listed = Array<{ type: string; actor: { kind: string }; subject: { id: string } }>;
      const expected = ['client.created', 'user.created', 'refresh_token.reused', 'client.disabled'];
      const events = await eventually('the audit events in audit list', async () => {
        const listed = (await cliJson(['audit', 'list', '--env', 'PROD'])) as Listed;
        return expected.every((type) => listed.some((e) => e.type === type)) ? listed : undefined;
      });
      const disabled = events.find((e) => e.type === 'client.disabled');
      assert.equal(disabled?.actor.kind, 'cli');
      assert.equal(disabled?.subject.id, svc.client_id);
      await eventually('a delivery refused while the receiver is down', async () => (receiver.refused > 0 ? true : undefined));
      receiver.down = false;
      await eventually(
        'every audit event at the webhook',
        async () => {
          const delivered = new Set(receiver.accepted.map((d) => d.type));
          return ['client.created', 'user.created', 'refresh_token.reused', 'client.disabled'].every((t) => delivered.has(t)) ? true : undefined;
        },
        60_000,
      );
      assert.equal(receiver.badSignatures, 0);

      // Last used: flushed within a few seconds, shown by client show.
      const shown = await eventually('the last-used time in client show', async () => {
        const out = await server.cli(['client', 'show', svc.client_id, '--env', 'PROD']);
        return /^last_used\s+\d{4}-/m.test(out) ? out : undefined;
      });
      assert.match(shown, /^tokens_today\s+3$/m);

      const everything = JSON.stringify(events) + receiver.accepted.map((d) => d.body).join('') + server.stderr();
      for (const secret of secrets) assert.ok(!everything.includes(secret), 'a secret in an event, a delivery or the log');

      t.diagnostic(
        `metrics: tokens issued ${sumOf(samples, 'gatehouse_tokens_issued_total')}, auth failures of svc ${sumOf(samples, 'gatehouse_client_auth_failures_total', { client: svc.client_id })}, refresh reuse ${sumOf(samples, 'gatehouse_refresh_token_reuse_total')}; ` +
          `audit events ${events.length}; webhook: ${receiver.refused} refused while down, ${receiver.accepted.length} accepted, ${new Set(receiver.accepted.map((d) => d.id)).size} distinct ids; ` +
          `client show: ${shown
            .split('\n')
            .filter((l) => /^(last_used|tokens_today)/.test(l))
            .join(' | ')}`,
      );
      const { code: exit } = await server.signal('SIGTERM');
      assert.equal(exit, 0, server.stderr());
    });
  });
}
