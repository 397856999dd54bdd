import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEventOf } from '../../src/audit/listener.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';

const env = { id: 'env_1', name: 'PROD' };
const clientId = 'https://app.example.com/client.json';
const EVENTS: CoreEvent[] = [
  { type: 'client.metadata_document_fetched', env, clientId, host: 'app.example.com', durationMs: 120 },
  { type: 'client.metadata_document_refused', env, clientId, host: 'app.example.com', reason: 'redirect refused (302)', durationMs: 40 },
  { type: 'client.metadata_document_refused', env, clientId, host: 'bad.example.com', reason: 'host is blocked' },
];

describe('Client ID Metadata Documents: metrics and audit events', () => {
  it('counts outcomes with registration="metadata_document" and times fetches, never labelling the URL', async () => {
    const metrics = new GatehouseMetrics({ maxClients: 10, processMetrics: false });
    for (const event of EVENTS) metrics.onEvent(event);
    const text = await metrics.registry.metrics();
    assert.match(text, /gatehouse_client_metadata_documents_total\{environment="PROD",registration="metadata_document",outcome="accepted"\} 1/);
    assert.match(text, /gatehouse_client_metadata_documents_total\{environment="PROD",registration="metadata_document",outcome="failed"\} 1/);
    assert.match(text, /gatehouse_client_metadata_documents_total\{environment="PROD",registration="metadata_document",outcome="refused"\} 1/);
    assert.match(text, /gatehouse_client_metadata_document_fetch_seconds_count\{outcome="accepted"\} 1/);
    assert.doesNotMatch(text, /app\.example\.com/);
  });

  it('audits accepted fetches and refusals that cost a fetch, with host and reason only', () => {
    const [fetched, failed, blocked] = EVENTS.map((e) => auditEventOf(e));
    assert.equal(fetched?.type, 'client.metadata_document_fetched');
    assert.deepEqual(fetched?.subject, { kind: 'client', id: clientId });
    assert.deepEqual(failed?.details, { host: 'app.example.com', reason: 'redirect refused (302)' });
    assert.equal(failed?.outcome, 'failure');
    assert.equal(blocked, undefined);
  });
});
