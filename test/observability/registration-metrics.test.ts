import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';

describe('metrics: dynamic registrations', () => {
  it('counts each operation with registration="dynamic", no client id', async () => {
    const metrics = new GatehouseMetrics({ maxClients: 10, processMetrics: false });
    const env = { id: 'env_1', name: 'AGENTS' };
    metrics.onEvent({ type: 'client.registration', env, operation: 'registered' });
    metrics.onEvent({ type: 'client.registration', env, operation: 'registered' });
    metrics.onEvent({ type: 'client.registration', env, operation: 'deleted' });
    const text = await metrics.registry.metrics();
    assert.match(text, /gatehouse_client_registrations_total\{environment="AGENTS",operation="registered",registration="dynamic"\} 2/);
    assert.match(text, /gatehouse_client_registrations_total\{environment="AGENTS",operation="deleted",registration="dynamic"\} 1/);
  });
});
