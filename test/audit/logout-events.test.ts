import assert from 'node:assert/strict';
import { it } from 'node:test';
import { auditEventOf } from '../../src/audit/listener.ts';
import { SYSTEM_ACTOR } from '../../src/domain/audit.ts';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';

const env = { id: 'env-1', name: 'PRODUCTION' };

it('a logout and its back-channel deliveries become audit events, never with a token', () => {
  assert.deepEqual(auditEventOf({ type: 'session.ended', env, userId: 'usr_1', clientId: 'gh_rp', trigger: 'hint', notified: 2, revoked: 1 }), {
    type: 'session.ended',
    environment: env,
    actor: SYSTEM_ACTOR,
    subject: { kind: 'user', id: 'usr_1' },
    details: { client_id: 'gh_rp', trigger: 'hint', backchannel_logouts: 2, families_revoked: 1 },
  });
  assert.deepEqual(auditEventOf({ type: 'backchannel_logout.delivered', env, clientId: 'gh_rp', attempts: 3 }), {
    type: 'backchannel_logout.delivered',
    environment: env,
    actor: SYSTEM_ACTOR,
    subject: { kind: 'client', id: 'gh_rp' },
    details: { attempts: 3 },
  });
  // An attempt that will be retried is counted and logged; only giving up is recorded.
  assert.equal(auditEventOf({ type: 'backchannel_logout.failed', env, clientId: 'gh_rp', attempts: 1, reason: 'HTTP 503', retry: true }), undefined);
  assert.deepEqual(auditEventOf({ type: 'backchannel_logout.failed', env, clientId: 'gh_rp', attempts: 10, reason: 'HTTP 503', retry: false }), {
    type: 'backchannel_logout.failed',
    environment: env,
    actor: SYSTEM_ACTOR,
    subject: { kind: 'client', id: 'gh_rp' },
    outcome: 'failure',
    details: { attempts: 10, reason: 'HTTP 503' },
  });
});

it('back-channel deliveries are counted by outcome', async () => {
  const metrics = new GatehouseMetrics({ maxClients: 10, processMetrics: false });
  metrics.onEvent({ type: 'backchannel_logout.failed', env, clientId: 'gh_rp', attempts: 1, reason: 'timeout', retry: true });
  metrics.onEvent({ type: 'backchannel_logout.delivered', env, clientId: 'gh_rp', attempts: 2 });
  metrics.onEvent({ type: 'backchannel_logout.failed', env, clientId: 'gh_rp', attempts: 1, reason: 'HTTP 400', retry: false });
  metrics.onEvent({ type: 'session.ended', env, userId: 'usr_1', trigger: 'confirmed', notified: 0, revoked: 0 });
  const text = await metrics.registry.metrics();
  for (const outcome of ['delivered', 'retry', 'failed']) {
    assert.match(text, new RegExp(`gatehouse_backchannel_logout_deliveries_total\\{environment="PRODUCTION",client="gh_rp",outcome="${outcome}"\\} 1`));
  }
  assert.doesNotMatch(text, /usr_1/);
});
