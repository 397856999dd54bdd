import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import type { EventBus } from '../domain/events.ts';
import type { Store } from '../domain/storage.ts';
import type { GatehouseMetrics } from '../observability/metrics.ts';
import { UsageRecorder } from '../observability/usage.ts';
import { type AuditNode, createAuditNode } from './audit.ts';
import { nodeMetrics } from './node-metrics.ts';
import type { ServerConfig } from './policies.ts';

export interface Observers {
  /** Prometheus metrics, when a metrics port is set (or given). */
  metrics: GatehouseMetrics | undefined;
  audit: AuditNode;
  usage: UsageRecorder;
}

/**
 * What listens to the core's events on one node: metrics count them, the audit log records the
 * security events, the usage recorder notes last-used times and token counts. Each listener only
 * updates memory; the slow work (database writes, webhooks) happens in background tasks.
 */
export function createObservers(
  config: ServerConfig,
  deps: { store: Store; clock: Clock; logger: Logger; events: EventBus; metrics?: GatehouseMetrics | undefined },
  grantTypes: string[],
): Observers {
  const { store, clock, logger, events } = deps;
  const metrics = deps.metrics ?? nodeMetrics(config);
  metrics?.knowGrantTypes(grantTypes);
  if (metrics) events.listen(metrics.onEvent);
  const audit = createAuditNode(config, store, clock, logger);
  events.listen(audit.listener);
  const usage = new UsageRecorder(store.usage, clock, {
    onDropped: (count) => logger.warn({ count }, 'usage records dropped: the database refused the last batches and the usage limit was reached'),
    onError: (error) => logger.warn({ err: error }, 'an early usage flush failed; the batch is kept for the next one'),
  });
  events.listen(usage.listener);
  return { metrics, audit, usage };
}
