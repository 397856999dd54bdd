import type { DpopMode, RouteAuthOptions } from './dpop-policy.ts';
import { BearerError, renderBearerError } from './errors.ts';
import type { BearerRequest } from './extract.ts';
import { metadataAnswer } from './resource-metadata.ts';
import type { AccessToken, Verifier } from './verifier.ts';

/**
 * Express/Connect and Fastify adapters. Both frameworks are described structurally: the library
 * has no runtime dependency on either, and any version whose request and reply fit works.
 */

type HeaderValue = string | string[] | undefined;

/** `access_token` values of a parsed `application/x-www-form-urlencoded` body (by express.urlencoded, @fastify/formbody…). */
function formBodyTokens(headers: Record<string, HeaderValue>, body: unknown): string[] | undefined {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded') || typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>).access_token;
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * The neutral view of a Node request. `path` is the path and query as the client sent it (Node's
 * `url`, or Express's `originalUrl` under a mounted router); `protocol` is the framework's view
 * (Express and Fastify honour their trust-proxy setting), else the socket's.
 */
function bearerRequest(
  request: { method?: string | undefined; headers: Record<string, HeaderValue>; body?: unknown; socket?: unknown },
  path: string,
  protocol: string | undefined,
): BearerRequest {
  const q = path.indexOf('?');
  // A TLS socket has `encrypted: true` (node:tls).
  const encrypted = typeof request.socket === 'object' && request.socket !== null && (request.socket as { encrypted?: unknown }).encrypted === true;
  const scheme = protocol ?? (encrypted ? 'https' : 'http');
  return {
    method: request.method ?? 'GET',
    authorization: request.headers.authorization,
    query: q === -1 ? undefined : path.slice(q + 1),
    bodyTokens: formBodyTokens(request.headers, request.body),
    // Node joins repeated DPoP headers with ", ", which the proof check refuses (RFC 9449 §4.3 check 1).
    dpop: request.headers.dpop,
    url: `${scheme}://${String(request.headers.host ?? 'localhost')}${path.startsWith('/') ? path : `/${path}`}`,
  };
}

/** The parts of a Node `IncomingMessage` (as extended by Express or Connect) the middleware reads and writes. */
export interface NodeLikeRequest {
  method?: string | undefined;
  url?: string | undefined;
  /** Express: the URL before a mounted router cut its prefix. */
  originalUrl?: string | undefined;
  /** Express: `http` or `https`, after its trust-proxy setting. */
  protocol?: string | undefined;
  socket?: unknown;
  headers: Record<string, HeaderValue>;
  body?: unknown;
  /** Set by the middleware: the verified token. */
  auth?: AccessToken;
}

/** The parts of a Node `ServerResponse` the middleware uses. */
export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

export type ConnectMiddleware = (req: NodeLikeRequest, res: NodeLikeResponse, next: (error?: unknown) => void) => void;

/**
 * Express/Connect middleware: `app.get('/invoices', auth(['invoices:read']), handler)`, or
 * `auth(['invoices:read'], { dpop: 'required' })` for a route's own DPoP mode. On success
 * `req.auth` holds the token; a refusal is answered here (RFC 6750, RFC 9449 §7.1); other errors go to `next`.
 */
export function createExpressAuth(verifier: Verifier): (scopes?: readonly string[], route?: RouteAuthOptions) => ConnectMiddleware {
  return (scopes = [], route = {}) =>
    (req, res, next) => {
      verifier.authenticate(bearerRequest(req, req.originalUrl ?? req.url ?? '/', req.protocol), scopes, route).then(
        (token) => {
          req.auth = token;
          next();
        },
        (error: unknown) => {
          if (!(error instanceof BearerError)) return next(error);
          const answer = renderBearerError(error, verifier.realm, verifier.resourceMetadata?.url);
          res.statusCode = answer.status;
          for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
          res.end(answer.body);
        },
      );
    };
}

/**
 * Express/Connect middleware serving the verifier's RFC 9728 Protected Resource Metadata at its
 * well-known path (`app.use(createResourceMetadataMiddleware(verifier))`); other requests go on.
 */
export function createResourceMetadataMiddleware(verifier: Verifier): ConnectMiddleware {
  return (req, res, next) => {
    const path = (req.originalUrl ?? req.url ?? '/').split('?')[0] ?? '/';
    const answer = metadataAnswer(verifier.resourceMetadata, req.method ?? 'GET', path);
    if (answer === undefined) return next();
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.end(answer.body);
  };
}

/** The parts of a Fastify request the plugin reads. */
export interface FastifyLikeRequest {
  method: string;
  url: string;
  /** `http` or `https`, after Fastify's trustProxy setting. */
  protocol?: string;
  raw?: { socket?: unknown };
  headers: Record<string, HeaderValue>;
  body?: unknown;
  routeOptions?: { config?: unknown };
  server: unknown;
  /** Set by the plugin: the verified token, or null on a route that does not ask for one. */
  auth?: AccessToken | null;
}

/** The parts of a Fastify reply the plugin uses. */
export interface FastifyLikeReply {
  code(status: number): FastifyLikeReply;
  header(name: string, value: string): FastifyLikeReply;
  send(payload?: string): FastifyLikeReply;
}

type FastifyHook = (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown>;

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  decorate(name: string, value: unknown): unknown;
  decorateRequest(name: string, value: unknown): unknown;
  addHook(name: 'preValidation', hook: FastifyHook): unknown;
  /** Used to serve the RFC 9728 metadata when the verifier has some. */
  route?(options: { method: string; url: string; handler: (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown> }): unknown;
}

const VERIFIER = 'gatehouseVerifier';

/** Authenticates `request` (once per request) and checks `scopes`; answers the refusal and returns false, or returns true. */
async function admit(
  verifier: Verifier,
  request: FastifyLikeRequest,
  reply: FastifyLikeReply,
  scopes: readonly string[],
  route: RouteAuthOptions,
): Promise<boolean> {
  try {
    if (request.auth) {
      if (!scopes.every((scope) => request.auth?.scopes.includes(scope)))
        throw new BearerError('insufficient_scope', 'the token lacks a required scope', scopes);
    } else {
      // Fastify's request members are getters: copied one by one, not spread.
      const { method, headers, body } = request;
      const neutral = bearerRequest({ method, headers, body, socket: request.raw?.socket }, request.url, request.protocol);
      request.auth = await verifier.authenticate(neutral, scopes, route);
    }
    return true;
  } catch (error) {
    if (!(error instanceof BearerError)) throw error;
    const answer = renderBearerError(error, verifier.realm, verifier.resourceMetadata?.url);
    reply.code(answer.status);
    for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
    reply.send(answer.body);
    return false;
  }
}

function routeConfig(request: FastifyLikeRequest): { scopes: readonly string[] | undefined; route: RouteAuthOptions } {
  const config = request.routeOptions?.config;
  const { scopes, dpop } = (typeof config === 'object' && config !== null ? config : {}) as { scopes?: unknown; dpop?: DpopMode };
  return { scopes: Array.isArray(scopes) ? (scopes as string[]) : undefined, route: dpop === undefined ? {} : { dpop } };
}

/**
 * Fastify plugin: `fastify.register(gatehouseAuth, { verifier })`. A route with
 * `config: { scopes: [...] }` (an empty list for any valid token) requires a token before its
 * body is validated, `config.dpop` sets its own DPoP mode; `request.auth` holds the token. Routes without `config.scopes` are left alone
 * unless they use `requireScopes()`. The plugin applies to the instance it is registered on,
 * not only to its own children. With the verifier's `resourceMetadata`, it also serves the RFC 9728
 * document at its well-known path.
 */
export async function gatehouseAuth(fastify: FastifyLikeInstance, options: { verifier: Verifier }): Promise<void> {
  const { verifier } = options;
  fastify.decorate(VERIFIER, verifier);
  fastify.decorateRequest('auth', null);
  const metadata = verifier.resourceMetadata;
  if (metadata) {
    if (typeof fastify.route !== 'function') throw new TypeError('gatehouseAuth: the instance cannot add the resource metadata route');
    // RFC 9728 §3.1; Fastify answers HEAD for a GET route itself.
    fastify.route({
      method: 'GET',
      url: metadata.path,
      handler: async (_request, reply) => {
        reply.code(200);
        for (const [name, value] of Object.entries(metadata.headers)) reply.header(name, value);
        return reply.send(JSON.stringify(metadata.document));
      },
    });
  }
  fastify.addHook('preValidation', async (request, reply) => {
    const { scopes, route } = routeConfig(request);
    if (scopes !== undefined && !(await admit(verifier, request, reply, scopes, route))) return reply;
    return undefined;
  });
}
// What fastify-plugin sets: no encapsulation, so the hook covers the routes of the registering instance.
Object.assign(gatehouseAuth, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'gatehouse-auth' });

/** A preHandler requiring a token with `scopes`, for routes that do not use `config.scopes`; needs `gatehouseAuth` registered. */
export function requireScopes(...scopes: string[]): FastifyHook {
  return requireAuth({ scopes });
}

/** Like `requireScopes`, with the route's own DPoP mode: `requireAuth({ scopes: ['admin'], dpop: 'required' })`. */
export function requireAuth(options: { scopes?: readonly string[] } & RouteAuthOptions = {}): FastifyHook {
  const { scopes = [], ...route } = options;
  return async (request, reply) => {
    const verifier = (request.server as Record<string, unknown>)[VERIFIER] as Verifier | undefined;
    if (!verifier) throw new Error('requireScopes() needs fastify.register(gatehouseAuth, { verifier }) first');
    if (!(await admit(verifier, request, reply, scopes, route))) return reply;
    return undefined;
  };
}
