import type { Clock } from '../../domain/clock.ts';
import type { EventEnvironment, EventSink } from '../../domain/events.ts';
import { type Client, type Environment, selfRegistration } from '../../domain/model.ts';
import { type BackchannelLogoutDelivery, StorageUnavailableError, type Store } from '../../domain/storage.ts';
import { issuerUrls } from '../issuer.ts';
import type { KeyRing } from '../signing-keys.ts';
import { type PostOutcome, postForm, type ReceiverPolicy } from './logout-receiver.ts';
import { signLogoutToken } from './logout-token.ts';

export interface BackchannelDeliveryOptions {
  /** Base of every issuer URL: a logout token's `iss`. */
  publicUrl: string;
  /** Development only: receivers on http and loopback addresses (see `ReceiverPolicy`). */
  allowLoopback: boolean;
  /** Each attempt is abandoned after this long. */
  timeoutMs?: number;
  /** Logouts claimed (and sent in parallel) per round. */
  batchSize?: number;
  /** Attempts before a logout is given up. */
  maxAttempts?: number;
  /** First retry delay; doubled per attempt up to `maxBackoffMs`, with jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** In [0, 1); tests make the jitter predictable. */
  random?: () => number;
  /** Sends one logout token; tests may replace the network. */
  post?: (url: URL, body: string, policy: ReceiverPolicy) => Promise<PostOutcome>;
}

const DEFAULTS = { timeoutMs: 5_000, batchSize: 20, maxAttempts: 10, baseBackoffMs: 5_000, maxBackoffMs: 15 * 60 * 1000 };

/** How often each node looks for due logout tokens. */
export const BACKCHANNEL_LOGOUT_INTERVAL_MS = 1_000;

/** The part of a logger the deliverer writes through. */
export interface DeliveryLogger {
  warn(fields: object, message: string): void;
}

type Verdict = { kind: 'delivered' } | { kind: 'retry'; reason: string } | { kind: 'give_up'; reason: string };

/**
 * Delivers the logout tokens queued by `afterSessionsEnded` (Back-Channel Logout §2.5): each is
 * signed just before its attempt and POSTed as `logout_token` to the client's current
 * `backchannel_logout_uri`. 200 and 204 are success (§2.8); a network error, a timeout or a
 * 5xx is retried with exponential backoff and jitter, up to `maxAttempts`; any other answer
 * (a 4xx, a redirect, which is never followed) gives it up, as does a client that is gone or no
 * longer has a logout URI. Logouts are leased, so several nodes share the outbox and never send
 * one at the same time; a node that dies mid-delivery leaves a lease that expires.
 */
export class BackchannelLogoutDeliverer {
  private readonly settings: Required<Omit<BackchannelDeliveryOptions, 'random' | 'post'>> & Pick<Required<BackchannelDeliveryOptions>, 'random' | 'post'>;

  constructor(
    private readonly store: Pick<Store, 'backchannelLogouts' | 'clients' | 'environments'>,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly logger: DeliveryLogger,
    options: BackchannelDeliveryOptions,
  ) {
    this.settings = { ...DEFAULTS, random: Math.random, post: postForm, ...options };
  }

  /** One round: claims the due logouts and attempts them all at once; returns how many were delivered and how many failed. */
  async deliverDue(): Promise<{ delivered: number; failed: number }> {
    const now = this.clock.now();
    // Attempts run in parallel, each bounded by the timeout: the lease outlives them with a margin.
    const leaseUntil = now + this.settings.timeoutMs * 3;
    const due = await this.store.backchannelLogouts.claim(now, leaseUntil, this.settings.batchSize);
    if (due.length === 0) return { delivered: 0, failed: 0 };
    const environments = new Map((await this.store.environments.list()).map((env) => [env.id, env]));
    const results = await Promise.all(due.map((delivery) => this.attempt(delivery, environments.get(delivery.logout.envId))));
    const delivered = results.filter(Boolean).length;
    return { delivered, failed: due.length - delivered };
  }

  /** Rounds until one claims less than a full batch, at most `maxRounds`: a backlog drains without waiting for the interval. */
  async deliverBacklog(maxRounds = 20): Promise<number> {
    let delivered = 0;
    for (let round = 0; round < maxRounds; round++) {
      const result = await this.deliverDue();
      delivered += result.delivered;
      if (result.delivered + result.failed < this.settings.batchSize) break;
    }
    return delivered;
  }

  private async attempt(delivery: BackchannelLogoutDelivery, env: Environment | undefined): Promise<boolean> {
    const { logout, attempts } = delivery;
    const client = env && (await this.store.clients.find(logout.envId, logout.clientId));
    const verdict: Verdict = !env
      ? { kind: 'give_up', reason: 'environment gone' }
      : !client
        ? { kind: 'give_up', reason: 'client gone' }
        : await this.send(delivery, env, client);
    const eventEnv: EventEnvironment = { id: logout.envId, name: env?.name ?? logout.envId };
    // A self-registered client's id never becomes a metric label (anyone can make one).
    const registration = client ? selfRegistration(client) : undefined;
    const who = { clientId: logout.clientId, ...(registration ? { registration } : {}) };
    if (verdict.kind === 'delivered') {
      await this.store.backchannelLogouts.finish(logout.id);
      this.events.emit({ type: 'backchannel_logout.delivered', env: eventEnv, ...who, attempts });
      return true;
    }
    const retry = verdict.kind === 'retry' && attempts < this.settings.maxAttempts;
    const fields = { envId: logout.envId, clientId: logout.clientId, attempts, error: verdict.reason };
    if (retry) {
      const delay = this.backoff(attempts);
      this.logger.warn({ ...fields, retryInMs: delay }, 'back-channel logout delivery failed; it will be retried');
      await this.store.backchannelLogouts.retryLater(logout.id, attempts, this.clock.now() + delay, verdict.reason);
    } else {
      this.logger.warn(fields, 'back-channel logout delivery failed; it is given up');
      await this.store.backchannelLogouts.finish(logout.id);
    }
    this.events.emit({ type: 'backchannel_logout.failed', env: eventEnv, ...who, attempts, reason: verdict.reason, retry });
    return false;
  }

  /** Signs and sends one logout token: what the receiver's answer (or its silence) means. */
  private async send({ logout }: BackchannelLogoutDelivery, env: Environment, client: Client): Promise<Verdict> {
    if (!client.backchannelLogoutUri) return { kind: 'give_up', reason: 'no backchannel_logout_uri' };
    let url: URL;
    try {
      url = new URL(client.backchannelLogoutUri);
    } catch {
      return { kind: 'give_up', reason: 'invalid backchannel_logout_uri' };
    }
    let token: string | undefined;
    try {
      token = await signLogoutToken(this.keys, issuerUrls(this.settings.publicUrl, env).issuer, client, logout, this.clock.now());
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      // No active key of the client's algorithm (yet): the environment's keys may still change.
      return { kind: 'retry', reason: 'no signing key' };
    }
    if (token === undefined) return { kind: 'give_up', reason: 'sid required but unknown' };
    const outcome = await this.settings.post(url, new URLSearchParams({ logout_token: token }).toString(), {
      allowLoopback: this.settings.allowLoopback,
      timeoutMs: this.settings.timeoutMs,
    });
    if ('error' in outcome) return outcome.error.startsWith('refused') ? { kind: 'give_up', reason: outcome.error } : { kind: 'retry', reason: outcome.error };
    if (outcome.status === 200 || outcome.status === 204) return { kind: 'delivered' };
    if (outcome.status >= 500) return { kind: 'retry', reason: `HTTP ${outcome.status}` };
    return { kind: 'give_up', reason: `HTTP ${outcome.status}` };
  }

  /** The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, then between half and all of it. */
  private backoff(attempts: number): number {
    const { baseBackoffMs, maxBackoffMs, random } = this.settings;
    const ceiling = Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.min(attempts - 1, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * random());
  }
}
