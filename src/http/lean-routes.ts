import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';

/**
 * Serves a matched request whose body has been read in full. It answers `res` itself, errors
 * included (rendered in the surface's dialect); it never throws.
 */
export type LeanServe = (req: IncomingMessage, res: ServerResponse, envSegment: string, body: Buffer) => void;

interface LeanRoute {
  /** The path before and after the `{env}` segment, e.g. `/envs/` and `/token`. */
  readonly prefix: string;
  readonly suffix: string;
  readonly serve: LeanServe;
}

/**
 * Bodies the lean path reads itself: a token, introspection or revocation request is a few
 * hundred bytes. Anything longer (or of unknown length, or over the configured limit) goes to
 * Fastify, whose body limit answers 413.
 */
const LEAN_BODY_LIMIT = 8192;

/** Environment names (`EnvironmentResolver`): anything else, percent-encoded names included, goes to Fastify. */
const MAX_ENV_NAME = 64;

/**
 * A `node:http` request listener in front of Fastify for the standard surface's POST API routes
 * (token, introspection, revocation under `/envs/{env}/…`). A request that plainly is one — POST,
 * no query string, an environment segment of name characters, a `Content-Length` body within a
 * few kilobytes — is read here and handed to the route's `serve`, which runs the very handler
 * and error handler the Fastify route runs (see `surfaceRoutes`); every other request is passed to
 * Fastify's own handler untouched. What this skips is Fastify's per-request machinery (request
 * and reply objects, hook chains, content-type parsing, a child logger); the surface's one
 * `onSend` and `onResponse` hook are done inline (`LeanReply`).
 *
 * Measured 2026-12-06 (SQLite, `serve --workers 1` pinned to one core, autocannon c=50 on the
 * other, ten rounds alternating with the Fastify-only build and `node:http` + one ES256
 * signature, on a 2-core machine shared with other jobs): client_credentials → JWT takes 134 µs
 * of server CPU per request against 155 µs (six rounds at load 2-4; the reference: 62 µs) and
 * 129 µs against 184 µs (four rounds at load 5-7). Requests per second, same rounds: 0.37-0.66×
 * the reference against 0.26-0.54× before; 0.69-1.88× the Fastify-only build, median 1.37×.
 * Fastify, find-my-way and pino self time (about a third of one signature per request) is gone;
 * what is left beside the signature and the socket is Gatehouse's own pipeline. Introspection:
 * opaque 1.16-1.42×, JWT 1.14-1.57× (rates in the same rounds).
 *
 * Routes are added while Fastify registers its plugins, before the server listens. Draining or
 * closing turns the lean path off, so Fastify's `Connection: close` and 503-on-close apply.
 */
export class LeanRouter {
  private readonly routes: LeanRoute[] = [];
  private off = false;

  constructor(private readonly bodyLimit: number) {}

  /** Adds the route `template` (one `{env}` segment, e.g. `/envs/{env}/token`); templates without one are not served here. */
  add(template: string, serve: LeanServe): void {
    const at = template.indexOf('{env}');
    if (at < 0 || template.indexOf('{', at + 1) >= 0) return;
    this.routes.push({ prefix: template.slice(0, at), suffix: template.slice(at + '{env}'.length), serve });
  }

  /** From now on every request goes to Fastify (draining, closing). */
  turnOff(): void {
    this.off = true;
  }

  /** An HTTP server whose requests this router serves or passes to `fastify` (Fastify's `serverFactory`). */
  createServer(fastify: RequestListener, options: { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number }): Server {
    const server = createServer((req, res) => {
      if (!this.take(req, res)) fastify(req, res);
    });
    // What Fastify sets on the server it creates itself.
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    return server;
  }

  /** Reads and serves `req` when it is one of the lean routes' plain requests; false leaves it to Fastify. */
  private take(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.off || req.method !== 'POST' || this.routes.length === 0) return false;
    const length = leanBodyLength(req, Math.min(this.bodyLimit, LEAN_BODY_LIMIT));
    if (length < 0) return false;
    const url = req.url ?? '';
    for (const route of this.routes) {
      const envSegment = segmentOf(url, route);
      if (envSegment !== undefined) {
        readBody(req, res, length, envSegment, route.serve);
        return true;
      }
    }
    return false;
  }
}

/** The declared body length when it is plain and small enough to read here; -1 otherwise. */
function leanBodyLength(req: IncomingMessage, limit: number): number {
  const declared = req.headers['content-length'];
  if (declared === undefined || req.headers['transfer-encoding'] !== undefined) return -1;
  const length = Number(declared);
  return Number.isInteger(length) && length >= 0 && length <= limit ? length : -1;
}

/** The environment segment of `url` on `route`, or undefined when the URL is not plainly the route's. */
function segmentOf(url: string, route: LeanRoute): string | undefined {
  const { prefix, suffix } = route;
  const end = url.length - suffix.length;
  if (end - prefix.length < 1 || end - prefix.length > MAX_ENV_NAME || !url.startsWith(prefix) || !url.endsWith(suffix)) return undefined;
  for (let i = prefix.length; i < end; i++) {
    const c = url.charCodeAt(i);
    // [A-Za-z0-9_-]: no '/', '?', '%' or anything Fastify's router would decode or split.
    const nameChar = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45;
    if (!nameChar) return undefined;
  }
  return url.slice(prefix.length, end);
}

/** Reads exactly the declared body (Node's parser holds the peer to Content-Length), then serves it. */
function readBody(req: IncomingMessage, res: ServerResponse, length: number, envSegment: string, serve: LeanServe): void {
  if (length === 0) {
    req.resume();
    serve(req, res, envSegment, Buffer.alloc(0));
    return;
  }
  const body = Buffer.allocUnsafe(length);
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    chunk.copy(body, received);
    received += chunk.length;
  });
  req.on('end', () => {
    if (received === length) serve(req, res, envSegment, body);
    else res.destroy();
  });
}
