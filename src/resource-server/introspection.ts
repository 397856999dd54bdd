import { createHash } from 'node:crypto';
import { BearerError } from './errors.ts';
import type { FetchFunction } from './fetch-function.ts';

/** How the verifier reaches the issuer's RFC 7662 introspection endpoint. */
export interface IntrospectionSettings {
  url: string;
  /** A client of the issuer allowed to introspect every token (`gatehouse client create --resource-server`). */
  clientId: string;
  clientSecret: string;
}

/** An active RFC 7662 §2.2 response: the members the verifier relies on, and all the others. */
export type ActiveIntrospection = Record<string, unknown> & { active: true };

export interface IntrospectionClientOptions {
  settings: IntrospectionSettings;
  fetch: FetchFunction;
  now: () => number;
  /** Longest time an active answer is reused, in milliseconds (never past the token's `exp`). */
  cacheMs: number;
  maxEntries: number;
  timeoutMs: number;
}

interface CachedAnswer {
  answer: ActiveIntrospection;
  until: number;
}

/**
 * Asks the issuer about opaque tokens (RFC 7662). Active answers are reused for a short, bounded
 * time, keyed by the token's SHA-256 so the cache never holds a token; inactive ones are not kept.
 */
export class IntrospectionClient {
  private readonly cache = new Map<string, CachedAnswer>();
  private readonly authorization: string;

  constructor(private readonly options: IntrospectionClientOptions) {
    const { clientId, clientSecret } = options.settings;
    // RFC 6749 §2.3.1: id and secret are form-url-encoded before base64.
    this.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
  }

  /** The active answer for `token`; throws `invalid_token` when it is not active, `temporarily_unavailable` when the endpoint fails. */
  async introspect(token: string): Promise<ActiveIntrospection> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.options.now();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.answer;
    if (cached) this.cache.delete(key);
    const answer = await this.ask(token);
    if (answer.active !== true) throw new BearerError('invalid_token', 'the token is not active');
    this.remember(key, answer as ActiveIntrospection, now);
    return answer as ActiveIntrospection;
  }

  private async ask(token: string): Promise<Record<string, unknown>> {
    let response: Response;
    let body: unknown;
    try {
      response = await this.options.fetch(this.options.settings.url, {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      body = await response.json();
    } catch {
      throw new BearerError('temporarily_unavailable', 'the introspection endpoint cannot be reached');
    }
    // A refusal of the verifier's own credentials is not the caller's fault.
    if (!response.ok || typeof body !== 'object' || body === null) {
      throw new BearerError('temporarily_unavailable', 'the introspection endpoint did not answer');
    }
    return body as Record<string, unknown>;
  }

  private remember(key: string, answer: ActiveIntrospection, now: number): void {
    let until = now + this.options.cacheMs;
    if (typeof answer.exp === 'number') until = Math.min(until, answer.exp * 1000);
    if (until <= now) return;
    if (this.cache.size >= this.options.maxEntries) {
      for (const [k, entry] of this.cache) if (entry.until <= now) this.cache.delete(k);
      if (this.cache.size >= this.options.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(key, { answer, until });
  }
}

const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');
