import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { type AuditListener, auditListener } from '../audit/listener.ts';
import { AuditRecorder } from '../audit/recorder.ts';
import { AUDIT_RETENTION_INTERVAL_MS, deleteExpiredAuditEvents } from '../audit/retention.ts';
import { WEBHOOK_INTERVAL_MS, WebhookDeliverer } from '../audit/webhooks.ts';
import type { Config } from '../config/config.ts';
import { SYSTEM_ACTOR } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';

/** How often a node stores the audit events queued by the request path. */
export const AUDIT_FLUSH_INTERVAL_MS = 1000;

export type AuditConfig = Pick<Config, 'auditRetention' | 'auditWebhookUrl' | 'auditWebhookSecret' | 'surfaces' | 'quotaWindow'>;

/** The audit log of one node: its recorder and the background tasks that store, deliver and expire events. */
export interface AuditNode {
  readonly recorder: AuditRecorder;
  /** The CoreEvent listener for the node's event bus: security events, queued for the background flush. */
  readonly listener: AuditListener;
  /** Records `server.started` and starts the tasks through `every`. */
  start(every: (ms: number, task: () => Promise<unknown>) => void): Promise<void>;
  /** Stores what is still queued (at shutdown). */
  stop(): Promise<void>;
}

/**
 * A task that skips quietly while the database is unavailable (the node reports the outage once,
 * and the task's work waits in the queue or the outbox); other failures reach the task runner.
 */
const whileAvailable = (task: () => Promise<unknown>) => (): Promise<unknown> =>
  task().catch((error: unknown) => {
    if (!(error instanceof StorageUnavailableError)) throw error;
  });

export function createAuditNode(config: AuditConfig, store: Store, clock: Clock, logger: Logger): AuditNode {
  const webhook = config.auditWebhookUrl && config.auditWebhookSecret ? { url: config.auditWebhookUrl, key: config.auditWebhookSecret } : undefined;
  const recorder = new AuditRecorder(store.audit, clock, logger, { outbox: webhook !== undefined });
  const listener = auditListener(recorder, clock, { quotaWindowMs: config.quotaWindow * 1000 });
  return {
    recorder,
    listener,
    async start(every) {
      const environments = await store.environments.list().catch(() => undefined);
      recorder.enqueue({
        type: 'server.started',
        environment: null,
        actor: SYSTEM_ACTOR,
        subject: { kind: 'server', id: hostname() },
        details: {
          pid: process.pid,
          surfaces: config.surfaces.map((s) => `${s.name} (${s.profile})${s.mount ? ` at ${s.mount}` : ''}`),
          environments: environments?.map((e) => e.name) ?? null,
          webhook: webhook !== undefined,
        },
      });
      every(
        AUDIT_FLUSH_INTERVAL_MS,
        whileAvailable(() => {
          listener.drain();
          return recorder.flush();
        }),
      );
      every(
        AUDIT_RETENTION_INTERVAL_MS,
        whileAvailable(() => deleteExpiredAuditEvents(store.audit, clock, config.auditRetention)),
      );
      if (webhook) {
        const deliverer = new WebhookDeliverer(store.audit, clock, logger, webhook);
        every(
          WEBHOOK_INTERVAL_MS,
          whileAvailable(() => deliverer.deliverBacklog()),
        );
      }
    },
    async stop() {
      listener.drain(true);
      await recorder.flush().catch((error: unknown) => logger.warn({ err: error, pending: recorder.pending }, 'audit events could not be stored at shutdown'));
    },
  };
}
