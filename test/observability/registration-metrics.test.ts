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

describe('metrics: clients that registered themselves', () => {
  const env = { id: 'env_1', name: 'AGENTS' };
  const issued = (clientId: string, registration?: 'dynamic' | 'metadata_document') =>
    ({ type: 'token.issued', env, clientId, grantType: 'authorization_code', registration }) as const;

  it('counts their tokens with their registration and no client id', async () => {
    const metrics = new GatehouseMetrics({ maxClients: 10, processMetrics: false });
    metrics.knowGrantTypes(['authorization_code']);
    metrics.onEvent(issued('gh_dyn123', 'dynamic'));
    metrics.onEvent(issued('https://agent.example/client.json', 'metadata_document'));
    metrics.onEvent(issued('gh_admin'));
    const text = await metrics.registry.metrics();
    const series = (labels: string) => `gatehouse_tokens_issued_total{environment="AGENTS",${labels}} 1`;
    assert.ok(text.includes(series('client="other",grant_type="authorization_code",token_type="Bearer",registration="dynamic"')), text);
    assert.ok(text.includes(series('client="other",grant_type="authorization_code",token_type="Bearer",registration="metadata_document"')), text);
    assert.ok(text.includes(series('client="gh_admin",grant_type="authorization_code",token_type="Bearer",registration="admin"')), text);
    assert.doesNotMatch(text, /gh_dyn123|agent\.example/);
  });

  it('keeps the client label cap for the operator’s clients however many register', async () => {
    const metrics = new GatehouseMetrics({ maxClients: 1, processMetrics: false });
    for (let i = 0; i < 5; i++) {
      metrics.onEvent(issued(`gh_dyn${i}`, 'dynamic'));
      metrics.onEvent({ type: 'client.authentication_failed', env, clientId: `gh_dyn${i}`, throttled: false, source: '127.0.0.1', registration: 'dynamic' });
      metrics.onEvent({ type: 'client.quota_exceeded', env, clientId: `gh_dyn${i}`, registration: 'dynamic' });
      metrics.onEvent({ type: 'refresh_token.reused', env, clientId: `gh_dyn${i}`, registration: 'dynamic' });
      metrics.onEvent({ type: 'backchannel_logout.delivered', env, clientId: `gh_dyn${i}`, registration: 'dynamic', attempts: 1 });
    }
    metrics.onEvent(issued('gh_admin'));
    metrics.onEvent({ type: 'client.quota_exceeded', env, clientId: 'gh_admin' });
    const text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /gh_dyn/);
    assert.match(text, /gatehouse_tokens_issued_total\{[^}]*client="gh_admin"[^}]*registration="admin"\} 1/);
    assert.match(text, /gatehouse_quota_refusals_total\{environment="AGENTS",client="gh_admin"\} 1/);
    assert.match(text, /gatehouse_client_auth_failures_total\{environment="AGENTS",client="other",throttled="false"\} 5/);
    assert.match(text, /gatehouse_refresh_token_reuse_total\{environment="AGENTS",client="other"\} 5/);
    assert.match(text, /gatehouse_backchannel_logout_deliveries_total\{environment="AGENTS",client="other",outcome="delivered"\} 5/);
  });
});
