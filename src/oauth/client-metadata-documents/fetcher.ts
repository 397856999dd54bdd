import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { checkedAddress, type HostResolver } from './address-policy.ts';

/** How documents are fetched; every limit is a bound on what one client_id can make the server do. */
export interface FetchLimits {
  /** Draft §8.7: the recommended maximum is 5 kilobytes. */
  readonly maxBytes: number;
  /** Name resolution, TCP and TLS together. */
  readonly connectTimeoutMs: number;
  /** The whole exchange, body included. */
  readonly totalTimeoutMs: number;
  /** Development only: the document may be served from 127.0.0.0/8 or ::1. */
  readonly allowLoopback: boolean;
}

export interface FetchDeps {
  readonly resolve: HostResolver;
  /** Trusted CA certificates instead of the system's (tests, or an operator's private CA). */
  readonly ca?: string | Buffer | undefined;
}

/** The parsed document and how long its server allows it to be cached (seconds; undefined: it said nothing). */
export type FetchOutcome = { ok: true; document: unknown; maxAge: number | undefined } | { ok: false; reason: string };

/**
 * Fetches a Client ID Metadata Document (draft §5): a GET over https to the checked address,
 * with SNI and Host set to the URL's host so the certificate is verified for the name. Draft §5:
 * redirects are not followed (a 3xx is refused); only 200 with a JSON content type is read; the
 * body may not exceed `maxBytes`; the exchange is abandoned after the time limits.
 */
export async function fetchMetadataDocument(url: URL, limits: FetchLimits, deps: FetchDeps): Promise<FetchOutcome> {
  const started = Date.now();
  const checked = await withTimeout(checkedAddress(url.hostname, deps.resolve, limits.allowLoopback), limits.connectTimeoutMs);
  if (checked === undefined) return { ok: false, reason: 'connect timeout' };
  if ('refused' in checked) return { ok: false, reason: checked.refused };
  const remaining = Math.max(1, limits.totalTimeoutMs - (Date.now() - started));
  return get(url, checked.address.address, { ...limits, totalTimeoutMs: remaining }, deps.ca);
}

function get(url: URL, address: string, limits: FetchLimits, ca: FetchDeps['ca']): Promise<FetchOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (outcome: FetchOutcome) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const req = request({
      host: address,
      port: url.port === '' ? 443 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      // Certificate checked for the URL's name, not for the address connected to.
      servername: hostname,
      headers: { host: url.host, accept: 'application/json', 'user-agent': 'Gatehouse' },
      agent: false,
      ...(ca === undefined ? {} : { ca }),
    });
    timers.push(setTimeout(() => finish({ ok: false, reason: 'connect timeout' }), limits.connectTimeoutMs));
    timers.push(setTimeout(() => finish({ ok: false, reason: 'time limit exceeded' }), limits.totalTimeoutMs));
    req.on('socket', (socket) => socket.once('secureConnect', () => clearTimeout(timers[0])));
    req.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, reason: `fetch failed (${error.code ?? error.name})` }));
    req.on('response', (response) => readResponse(response, limits.maxBytes, finish));
    req.end();
  });
}

function readResponse(response: IncomingMessage, maxBytes: number, finish: (outcome: FetchOutcome) => void): void {
  const refused = refusedResponse(response, maxBytes);
  if (refused !== undefined) {
    finish({ ok: false, reason: refused });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) finish({ ok: false, reason: 'document too large' });
    else chunks.push(chunk);
  });
  response.on('error', () => finish({ ok: false, reason: 'fetch failed (body)' }));
  response.on('end', () => {
    try {
      const document: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      finish({ ok: true, document, maxAge: maxAgeOf(response.headers['cache-control']) });
    } catch {
      finish({ ok: false, reason: 'document is not JSON' });
    }
  });
}

/** Why a response is not read (draft §5: no redirects, 200 only; §4: JSON; §8.7: size), or undefined. */
function refusedResponse(response: IncomingMessage, maxBytes: number): string | undefined {
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) return `redirect refused (${status})`;
  if (status !== 200) return `status ${status}`;
  if (!isJsonType(response.headers['content-type'])) return 'content type is not JSON';
  if (Number(response.headers['content-length'] ?? '0') > maxBytes) return 'document too large';
  return undefined;
}

/** Draft §4: `application/json`, or a more specific `application/<…>+json`. */
export function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/** RFC 9111 §5.2.2: `no-store`/`no-cache` mean 0; else `max-age` in seconds; undefined when absent. */
export function maxAgeOf(cacheControl: string | undefined): number | undefined {
  if (cacheControl === undefined) return undefined;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  const seconds = maxAge === undefined ? Number.NaN : Number(maxAge.slice('max-age='.length).replace(/^"|"$/g, ''));
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
