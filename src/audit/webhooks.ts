import { type Clock, seconds } from '../domain/clock.ts';
import type { AuditDelivery, AuditStore } from '../domain/storage.ts';
import type { AuditLineLogger } from './recorder.ts';
import { auditView } from './recorder.ts';
import { signWebhook } from './signature.ts';

export interface WebhookOptions {
  url: string;
  /** The HMAC key (see `webhookKey`). */
  key: Buffer;
  /** Each attempt is abandoned after this long. */
  timeoutMs?: number;
  /** Deliveries claimed per round. */
  batchSize?: number;
  /** First retry delay; doubled per attempt up to `maxBackoffMs`, with jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** In [0, 1); tests make the jitter predictable. */
  random?: () => number;
}

const DEFAULTS = { timeoutMs: 10_000, batchSize: 20, baseBackoffMs: 5_000, maxBackoffMs: 60 * 60 * 1000 };

/** How often each node looks for due deliveries. */
export const WEBHOOK_INTERVAL_MS = 2_000;

/**
 * Delivers audit events from the outbox to one webhook (Standard Webhooks format: `webhook-id`
 * is the event id, the same on every retry, so receivers can drop duplicates). Only a 2xx answer
 * marks an event delivered; anything else (an error status, a redirect, a refused connection,
 * a timeout) schedules a retry with exponential backoff and jitter, until delivered or the
 * event's retention ends. Deliveries are leased, so several nodes share the outbox; a node
 * that dies mid-delivery leaves a lease that expires, and the event is delivered again.
 */
export class WebhookDeliverer {
  private readonly settings: Required<Omit<WebhookOptions, 'random'>> & { random: () => number };

  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
    private readonly logger: AuditLineLogger,
    options: WebhookOptions,
  ) {
    this.settings = { ...DEFAULTS, random: Math.random, ...options };
  }

  /** One round: claims the due deliveries and attempts each; returns how many were delivered and how many failed. */
  async deliverDue(): Promise<{ delivered: number; failed: number }> {
    const now = this.clock.now();
    // The lease outlives every attempt of the round, so no other node retries while one is under way.
    const leaseUntil = now + this.settings.timeoutMs * (this.settings.batchSize + 1);
    const due = await this.store.claimDeliveries(now, leaseUntil, this.settings.batchSize);
    let delivered = 0;
    for (const delivery of due) {
      if (await this.attempt(delivery)) delivered += 1;
    }
    return { delivered, failed: due.length - delivered };
  }

  /**
   * Rounds until one claims less than a full batch or has a failure (the webhook is then
   * struggling: the rest waits for the next call), at most `maxRounds`: a backlog drains without
   * waiting for the interval, an outage costs one round per call.
   */
  async deliverBacklog(maxRounds = 50): Promise<number> {
    let delivered = 0;
    for (let round = 0; round < maxRounds; round++) {
      const result = await this.deliverDue();
      delivered += result.delivered;
      if (result.failed > 0 || result.delivered < this.settings.batchSize) break;
    }
    return delivered;
  }

  private async attempt({ event, attempts }: AuditDelivery): Promise<boolean> {
    const error = await this.post(event.id, JSON.stringify({ type: event.type, timestamp: new Date(event.time).toISOString(), data: auditView(event) }));
    if (error === undefined) {
      await this.store.markDelivered(event.id, this.clock.now());
      return true;
    }
    const delay = this.backoff(attempts);
    this.logger.warn({ eventId: event.id, attempts, error, retryInMs: delay }, 'audit webhook delivery failed; it will be retried');
    await this.store.markFailed(event.id, this.clock.now() + delay, error);
    return false;
  }

  /** Sends one event; undefined when the webhook answered 2xx, else a short reason. */
  private async post(id: string, body: string): Promise<string | undefined> {
    const timestamp = seconds(this.clock.now());
    try {
      const response = await fetch(this.settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(this.settings.key, id, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      await response.body?.cancel().catch(() => {});
      return response.status >= 200 && response.status < 300 ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return cause ?? (error instanceof Error ? error.name : 'request failed');
    }
  }

  /** The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, then between half and all of it. */
  private backoff(attempts: number): number {
    const { baseBackoffMs, maxBackoffMs, random } = this.settings;
    const ceiling = Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.min(attempts - 1, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * random());
  }
}
