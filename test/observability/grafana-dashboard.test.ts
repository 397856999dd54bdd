import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';
import { CLUSTER_METRIC_NAMES } from '../../src/server/metrics-listener.ts';

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../../examples/grafana-dashboard.json', import.meta.url), 'utf8')) as Dashboard;

/** Every `gatehouse_…` name an expression reads, with a histogram's `_bucket`, `_sum` and `_count` series mapped to the histogram. */
function referencedMetrics(): Set<string> {
  const exprs = [
    ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
    ...dashboard.templating.list.map((variable) => JSON.stringify(variable.query ?? '')),
  ];
  const names = new Set<string>();
  for (const expr of exprs) for (const match of expr.matchAll(/\bgatehouse_[a-z0-9_]+/g)) names.add(match[0]);
  return names;
}

it('the Grafana dashboard reads only metrics Gatehouse exports', async () => {
  const metrics = new GatehouseMetrics({ maxClients: 1 });
  const exported = new Set<string>(CLUSTER_METRIC_NAMES);
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    exported.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
  }
  const referenced = referencedMetrics();
  assert.ok(referenced.size >= 15, `only ${referenced.size} metrics referenced`);
  assert.deepEqual(
    [...referenced].filter((name) => !exported.has(name)),
    [],
  );
  for (const wanted of ['gatehouse_tokens_issued_total', 'gatehouse_signing_key_age_seconds', 'gatehouse_nodejs_eventloop_lag_p99_seconds']) {
    assert.ok(referenced.has(wanted), `the dashboard shows no ${wanted}`);
  }
});
