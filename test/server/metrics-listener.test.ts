import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';
import { createLogger } from '../../src/server/logger.ts';
import { type MetricsListener, registryExposition, serveMetrics, startMetricsListener } from '../../src/server/metrics-listener.ts';
import { createServer, type Server } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { httpRequest } from '../helpers/production-server.ts';

/** The text format's samples as `name{labels}` → value; every other line must parse. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(match, `not a sample line: ${JSON.stringify(line)}`);
    samples.set(match[1] ?? '', Number(match[2]));
  }
  return samples;
}

describe('the metrics listener', () => {
  let listener: MetricsListener;
  const metrics = new GatehouseMetrics({ maxClients: 10, grantTypes: ['client_credentials'] });

  before(async () => {
    metrics.onEvent({ type: 'token.issued', env: { id: 'e1', name: 'PRODUCTION' }, clientId: 'c1', grantType: 'client_credentials' });
    listener = await startMetricsListener('127.0.0.1', 0, registryExposition(metrics.registry));
  });
  after(() => listener.close());

  it('serves GET /metrics in the Prometheus text format, process metrics included', async () => {
    const res = await httpRequest(`${listener.address}/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const samples = parseExposition(res.body);
    assert.equal(
      samples.get(
        'gatehouse_tokens_issued_total{environment="PRODUCTION",client="c1",grant_type="client_credentials",token_type="Bearer",registration="admin"}',
      ),
      1,
    );
    assert.ok(samples.has('gatehouse_nodejs_eventloop_lag_p99_seconds'));
  });

  it('answers 404 for any other path and 405 for another method', async () => {
    assert.equal((await httpRequest(`${listener.address}/`)).status, 404);
    assert.equal((await httpRequest(`${listener.address}/metrics/x`)).status, 404);
    const post = await httpRequest(`${listener.address}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});

describe('a metrics port in use', () => {
  it('fails the start, unless metrics are only a convenience there (the dev default)', async () => {
    const render = registryExposition(new GatehouseMetrics({ maxClients: 1, processMetrics: false }).registry);
    const first = await startMetricsListener('127.0.0.1', 0, render);
    const port = Number(new URL(first.address).port);
    try {
      const busy: number[] = [];
      await assert.rejects(
        serveMetrics('always', '127.0.0.1', port, render, (p) => busy.push(p)),
        { code: 'EADDRINUSE' },
      );
      assert.equal(await serveMetrics('if-port-free', '127.0.0.1', port, render, (p) => busy.push(p)), undefined);
      assert.deepEqual(busy, [port]);
      assert.equal(await serveMetrics('never', '127.0.0.1', 0, render, () => {}), undefined);
      assert.equal(await serveMetrics('always', '127.0.0.1', undefined, render, () => {}), undefined);
    } finally {
      await first.close();
    }
  });
});

describe('a node with GATEHOUSE_METRICS_PORT', () => {
  let app: Server;
  let dir: string;
  let close: () => Promise<void>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-metrics-listener-'));
    const store = openStore(join(dir, 'gatehouse.db'));
    await store.migrate();
    app = await createServer(testConfig({ host: '127.0.0.1', metricsPort: 0 }), { store, clock: new ManualClock(0), logger: createLogger('silent') });
    await app.start();
    close = async () => {
      await app.stop(1000);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
  });
  after(() => close());

  it('serves /metrics on its own listener and never on the public port', async () => {
    const address = app.metricsAddress();
    assert.ok(address?.startsWith('http://127.0.0.1:'), String(address));
    const scrape = await httpRequest(`${address}/metrics`);
    assert.equal(scrape.status, 200);
    assert.ok(parseExposition(scrape.body).has('gatehouse_process_cpu_seconds_total'));
    for (const method of ['GET', 'POST'] as const) {
      const res = await app.server.inject({ method, url: '/metrics' });
      assert.equal(res.statusCode, 404, `${method} /metrics on the public app`);
    }
  });

  it('has no listener when no metrics port is set', async () => {
    const store = openStore(':memory:');
    await store.migrate();
    const plain = await createServer(testConfig({ host: '127.0.0.1' }), { store, logger: createLogger('silent') });
    await plain.start();
    try {
      assert.equal(plain.metrics, undefined);
      assert.equal(plain.metricsAddress(), undefined);
    } finally {
      await plain.stop(1000);
      await store.close();
    }
  });
});
