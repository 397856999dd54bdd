import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Request properties the surface routes keep per request (Fastify decorations on the Fastify
 * path, plain fields here): the parameters as received, the token request's stage, and what the
 * metrics observer is told.
 */
export const RECEIVED = 'gatehouseReceivedParams';
export const TOKEN_STAGE = 'gatehouseTokenStage';
export const OBSERVED_ENV = 'gatehouseObservedEnvironment';
export const OBSERVED_GRANT = 'gatehouseObservedGrantType';
export const OBSERVED_ERROR = 'gatehouseObservedError';
/** Set in a route's config on token routes: their refusals are reported even before the handler runs. */
export const TOKEN_ROUTE = 'gatehouseTokenRoute';

let nextRequestId = 0;

/**
 * The part of a Fastify request the surface routes' handlers and error handler read, for a
 * request served by the lean path (`LeanRouter`): the same handler code runs on both paths.
 */
export class LeanRequest {
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly ip: string;
  readonly routeOptions: { readonly config: Readonly<Record<string, unknown>> };
  readonly startedAt = performance.now();
  [RECEIVED]: unknown = null;
  [TOKEN_STAGE]: unknown = null;
  [OBSERVED_ENV]: string | null = null;
  [OBSERVED_GRANT]: string | null = null;
  [OBSERVED_ERROR]: string | null = null;
  private logger: FastifyBaseLogger | undefined;

  constructor(
    req: IncomingMessage,
    readonly params: Readonly<Record<string, string>>,
    readonly body: Buffer,
    config: Readonly<Record<string, unknown>>,
    private readonly rootLogger: FastifyBaseLogger,
  ) {
    this.id = `lean-${(nextRequestId++).toString(36)}`;
    this.method = req.method ?? 'POST';
    this.url = req.url ?? '';
    this.headers = req.headers;
    this.ip = req.socket.remoteAddress ?? '';
    this.routeOptions = { config };
  }

  /** Fastify's per-request child logger, made only when something logs. */
  get log(): FastifyBaseLogger {
    this.logger ??= this.rootLogger.child({ reqId: this.id });
    return this.logger;
  }
}

/** Told once a lean response has been written (the route's `onResponse` hook). */
export type LeanFinished = (request: LeanRequest, reply: LeanReply) => void;

/**
 * The part of a Fastify reply the surface routes use. `send` does what the standard surface's
 * `onSend` hook and Fastify's serializer do: `Cache-Control: no-store` and `Pragma: no-cache`
 * (RFC 6749 §5.1), a JSON body serialised once, its length.
 */
export class LeanReply {
  statusCode = 200;
  sent = false;
  private readonly out: OutgoingHttpHeaders = {};

  constructor(
    private readonly res: ServerResponse,
    private readonly request: LeanRequest,
    private readonly finished: LeanFinished | undefined,
  ) {}

  /** Milliseconds since the request was taken, as Fastify's `reply.elapsedTime`. */
  get elapsedTime(): number {
    return performance.now() - this.request.startedAt;
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: string): this {
    this.out[name.toLowerCase()] = value;
    return this;
  }

  headers(values: Readonly<Record<string, string>>): this {
    for (const name in values) this.out[name.toLowerCase()] = values[name];
    return this;
  }

  send(payload: unknown): this {
    const out = this.out;
    out['cache-control'] = 'no-store';
    out.pragma = 'no-cache';
    let text: string;
    if (typeof payload === 'string') {
      text = payload;
      out['content-type'] ??= 'text/plain; charset=utf-8';
    } else {
      text = JSON.stringify(payload);
      out['content-type'] ??= 'application/json; charset=utf-8';
    }
    out['content-length'] = Buffer.byteLength(text);
    this.sent = true;
    this.res.writeHead(this.statusCode, out);
    this.res.end(text);
    this.finished?.(this.request, this);
    return this;
  }
}
