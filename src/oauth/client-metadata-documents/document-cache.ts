import type { Clock } from '../../domain/clock.ts';
import type { FetchOutcome } from './fetcher.ts';
import type { MetadataDocument } from './validator.ts';

/** Bounds on caching and on how hard one host can be asked. */
export interface DocumentCachePolicy {
  /** Draft §5.2: a document is cached per its Cache-Control, never shorter than this… */
  readonly minTtlMs: number;
  /** …nor longer than this (also the lifetime when the server says nothing). */
  readonly maxTtlMs: number;
  /** Fetches running at once for one host; more are refused at once, so a slow host holds few requests. */
  readonly perHostConcurrency: number;
  /** After a failed fetch, the host is not asked again for this long, doubling per failure… */
  readonly failureBackoffMs: number;
  /** …up to this. */
  readonly maxFailureBackoffMs: number;
  /** Documents held; the oldest go first. */
  readonly maxEntries: number;
}

/** A document, or why none; `fetchedMs` is set when this call fetched (how long it took). */
export type DocumentOutcome<T = MetadataDocument> = ({ document: T } | { refused: string }) & { fetchedMs?: number };

/** Checks what was fetched from `url`: the value kept, or why it is refused. */
export type DocumentValidator<T> = (url: string, raw: unknown) => { document: T } | { refused: string };

interface HostState {
  active: number;
  failures: number;
  retryAt: number;
}

/**
 * Validated documents by URL (metadata documents by default; a client's JWK Set with another
 * validator), shared by every environment (the document is the client's, the policy applied to
 * it is the environment's). One fetch per URL at a time; a host
 * that fails is left alone for a growing while; a host with `perHostConcurrency` fetches running
 * gets no more. Nothing here runs inside a database transaction: callers resolve the client first.
 */
export class DocumentCache<T> {
  private readonly documents = new Map<string, { document: T; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<DocumentOutcome<T>>>();
  private readonly hosts = new Map<string, HostState>();

  constructor(
    private readonly fetch: (url: URL) => Promise<FetchOutcome>,
    private readonly clock: Clock,
    private readonly policy: DocumentCachePolicy,
    private readonly validate: DocumentValidator<T>,
  ) {}

  async get(url: URL): Promise<DocumentOutcome<T>> {
    const key = url.href;
    const held = this.documents.get(key);
    if (held && held.expiresAt > this.clock.now()) return { document: held.document };
    if (held) this.documents.delete(key);
    const running = this.inFlight.get(key);
    if (running) return withoutTiming(await running);
    const host = this.hostState(url.host);
    if (host.retryAt > this.clock.now()) return { refused: 'host is backing off after a failed fetch' };
    if (host.active >= this.policy.perHostConcurrency) return { refused: 'too many fetches running for this host' };
    const fetching = this.fetchAndValidate(url, host).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, fetching);
    return fetching;
  }

  /** Forgets every held document and host state (an operator's change of policy, tests). */
  clear(): void {
    this.documents.clear();
    this.hosts.clear();
  }

  private async fetchAndValidate(url: URL, host: HostState): Promise<DocumentOutcome<T>> {
    const started = this.clock.now();
    host.active += 1;
    let outcome: FetchOutcome;
    try {
      outcome = await this.fetch(url);
    } catch {
      outcome = { ok: false, reason: 'fetch failed' };
    } finally {
      host.active -= 1;
    }
    const fetchedMs = this.clock.now() - started;
    const checked = outcome.ok ? this.validate(url.href, outcome.document) : { refused: outcome.reason };
    const now = this.clock.now();
    if ('refused' in checked) {
      host.failures += 1;
      const backoff = Math.min(this.policy.failureBackoffMs * 2 ** Math.min(host.failures - 1, 20), this.policy.maxFailureBackoffMs);
      host.retryAt = now + backoff;
      return { ...checked, fetchedMs };
    }
    host.failures = 0;
    host.retryAt = 0;
    const maxAge = outcome.ok ? outcome.maxAge : undefined;
    const ttl = Math.min(Math.max((maxAge ?? Number.POSITIVE_INFINITY) * 1000, this.policy.minTtlMs), this.policy.maxTtlMs);
    this.hold(url.href, checked.document, now + ttl);
    return { ...checked, fetchedMs };
  }

  private hold(key: string, document: T, expiresAt: number): void {
    this.documents.delete(key);
    this.documents.set(key, { document, expiresAt });
    while (this.documents.size > this.policy.maxEntries) {
      const oldest = this.documents.keys().next().value as string;
      this.documents.delete(oldest);
    }
  }

  private hostState(host: string): HostState {
    let state = this.hosts.get(host);
    if (!state) {
      state = { active: 0, failures: 0, retryAt: 0 };
      this.hosts.set(host, state);
      // Bounded like the documents: idle hosts without a pending backoff go first.
      if (this.hosts.size > this.policy.maxEntries) this.forgetIdleHosts();
    }
    return state;
  }

  private forgetIdleHosts(): void {
    const now = this.clock.now();
    for (const [name, state] of this.hosts) if (state.active === 0 && state.retryAt <= now) this.hosts.delete(name);
  }
}

const withoutTiming = <T>(outcome: DocumentOutcome<T>): DocumentOutcome<T> =>
  'document' in outcome ? { document: outcome.document } : { refused: outcome.refused };
