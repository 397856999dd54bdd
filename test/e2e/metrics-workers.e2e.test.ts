import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../helpers/net.ts';
import { httpRequest, type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';

/**
 * `gatehouse serve --workers 2` with GATEHOUSE_METRICS_PORT: the primary serves one view of both
 * workers' metrics on its own listener, and the public port has no /metrics.
 */
describe('metrics under `serve --workers 2`', () => {
  let server: ProductionServer;
  let metricsUrl: string;
  let client = { id: '', secret: '' };

  before(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await productionServer({ GATEHOUSE_METRICS_PORT: String(metricsPort), GATEHOUSE_DRAIN_PERIOD: '0' });
    await server.cli(['env', 'create', 'PROD']);
    const out = JSON.parse(await server.cli(['client', 'create', '--env', 'PROD', '--name', 'billing', '--json'])) as {
      client_id: string;
      client_secret: string;
    };
    client = { id: out.client_id, secret: out.client_secret };
    await server.start(2);
  });
  after(() => server?.dispose());

  it('sums the requests both workers served, and answers 404 for /metrics on the public port', async () => {
    // One connection per request: the primary hands connections to the workers in turn.
    const requests = 8;
    for (let i = 0; i < requests; i++) assert.equal((await tokenRequest(server.baseUrl, 'PROD', client)).status, 200);
    const series = 'gatehouse_http_requests_total{endpoint="token",surface="standard",environment="PROD",grant_type="client_credentials",outcome="2xx"}';
    let body = '';
    // Bounded: the workers answer a scrape at once; the loop only covers a worker still starting.
    for (let attempt = 0; attempt < 50; attempt++) {
      const res = await httpRequest(metricsUrl);
      assert.equal(res.status, 200);
      body = res.body;
      if (body.includes(`${series} ${requests}\n`) && body.includes('gatehouse_metrics_workers_reporting 2\n')) break;
      await delay(100);
    }
    assert.ok(
      body.includes(`${series} ${requests}\n`),
      body
        .split('\n')
        .filter((l) => l.startsWith('gatehouse_http_requests_total'))
        .join('\n'),
    );
    assert.ok(body.includes('gatehouse_metrics_workers_reporting 2\n'));
    assert.ok(body.includes('gatehouse_metrics_workers 2\n'));
    assert.ok(!body.includes(client.secret));
    assert.equal((await httpRequest(`${server.baseUrl}/metrics`)).status, 404);
  });

  it('answers every scrape while a worker dies and is replaced', async () => {
    // The primary's worker processes, from Linux's /proc.
    const children = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(children.length, 2, `the primary's children: ${children}`);
    process.kill(children[0] ?? 0, 'SIGKILL');
    let replaced = false;
    for (let attempt = 0; attempt < 100 && !replaced; attempt++) {
      const started = Date.now();
      const res = await httpRequest(metricsUrl);
      assert.equal(res.status, 200, res.body);
      assert.ok(Date.now() - started < 5000, 'a scrape waited on the dead worker');
      const now = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      replaced = res.body.includes('gatehouse_metrics_workers_reporting 2\n') && !now.includes(children[0] ?? 0);
      if (!replaced) await delay(100);
    }
    assert.ok(replaced, 'the replacement worker reports within 10 s');
  });
});
