import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import {
  type AccessToken,
  createExpressAuth,
  createFetchAuth,
  gatehouseAuth,
  type RouteAuthOptions,
  requireAuth,
  requireScopes,
  type Verifier,
} from '../../src/resource-server/index.ts';

// How an application types what the plugin sets on each request.
declare module 'fastify' {
  interface FastifyRequest {
    auth: AccessToken | null;
  }
}

/** What a test sends to a protected API. */
export interface ApiCall {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A small invoice API protected by one adapter: `GET /invoices` needs `read`, `POST /invoices` needs `write`, `GET /admin` needs `admin`. */
export interface ProtectedApi {
  name: string;
  /** Scheme, host and port the adapter sees for its requests (what a DPoP proof's `htu` names without `publicOrigin`). */
  origin: string;
  call(request: ApiCall): Promise<ApiAnswer>;
  close(): Promise<void>;
}

const SCOPES: Record<string, string> = { 'GET /invoices': 'read', 'POST /invoices': 'write', 'GET /admin': 'admin' };
const ok = (token: { sub: string; clientId: string; scopes: readonly string[] }) =>
  JSON.stringify({ sub: token.sub, client_id: token.clientId, scopes: token.scopes });
const flat = (headers: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : [[name.toLowerCase(), String(value)]])));
const FORM = 'application/x-www-form-urlencoded';

/**
 * Fastify: the plugin with `config.scopes` on two routes and `requireScopes()` on the third (or,
 * with `route`, `config.dpop` and `requireAuth()`); called through `inject`.
 */
export async function fastifyApi(verifier: Verifier, route?: RouteAuthOptions): Promise<ProtectedApi> {
  const app = Fastify();
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => done(null, formObject(String(body))));
  await app.register(gatehouseAuth, { verifier });
  const reply = (request: { auth: AccessToken | null }) => (request.auth ? ok(request.auth) : '');
  app.get('/invoices', { config: { scopes: ['read'], ...route } }, async (request) => reply(request));
  app.post('/invoices', { config: { scopes: ['write'], ...route } }, async (request) => reply(request));
  app.get('/admin', { preHandler: route ? requireAuth({ scopes: ['admin'], ...route }) : requireScopes('admin') }, async (request) => reply(request));
  await app.ready();
  return {
    name: 'fastify',
    // inject's default Host is localhost:80.
    origin: 'http://localhost',
    async call({ method = 'GET', path = '/invoices', headers = {}, body }) {
      const res = await app.inject({ method: method as 'GET', url: path, headers, ...(body === undefined ? {} : { payload: body }) });
      return { status: res.statusCode, headers: flat(res.headers), body: res.body };
    },
    close: () => app.close(),
  };
}

/** A form body as express.urlencoded({ extended: false }) gives it: a string, or an array for a repeated name. */
function formObject(text: string): Record<string, string | string[]> {
  const body: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = body[name];
    body[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return body;
}

type Middleware = (req: IncomingMessage & { body?: unknown; auth?: AccessToken }, res: ServerResponse, next: (error?: unknown) => void) => void;

/** Express/Connect: the middleware behind a minimal Connect-compatible chain on a real `node:http` server (port 0). */
export async function expressApi(verifier: Verifier, routeOptions?: RouteAuthOptions): Promise<ProtectedApi> {
  const auth = createExpressAuth(verifier);
  const urlencoded: Middleware = (req, _res, next) => {
    if (!String(req.headers['content-type'] ?? '').startsWith(FORM)) return next();
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      req.body = formObject(text);
      next();
    });
  };
  const server = createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const scope = SCOPES[route];
    const handler: Middleware = (r, response) => response.end(r.auth ? ok(r.auth) : '');
    const chain = (scope === undefined ? [] : [urlencoded, auth([scope], routeOptions), handler]) as Middleware[];
    let index = 0;
    const next = (error?: unknown): void => {
      const step = chain[index++];
      if (error !== undefined || step === undefined) {
        res.statusCode = error === undefined ? 404 : 500;
        res.end();
        return;
      }
      step(req, res, next);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name: 'express',
    origin: `http://127.0.0.1:${port}`,
    async call({ method = 'GET', path = '/invoices', headers = {}, body }) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Fetch API (Hono, Next.js route handlers): a `(request: Request) => Promise<Response>` handler, called directly. */
export async function fetchApi(verifier: Verifier, route?: RouteAuthOptions): Promise<ProtectedApi> {
  const authenticate = createFetchAuth(verifier);
  const handle = async (request: Request): Promise<Response> => {
    const scope = SCOPES[`${request.method} ${new URL(request.url).pathname}`];
    if (scope === undefined) return new Response(null, { status: 404 });
    const auth = await authenticate(request, [scope], route);
    if (!auth.ok) return auth.response;
    return new Response(ok(auth.token), { headers: { 'content-type': 'application/json' } });
  };
  return {
    name: 'fetch',
    origin: 'http://api.example.test',
    async call({ method = 'GET', path = '/invoices', headers = {}, body }) {
      const res = await handle(new Request(`http://api.example.test${path}`, { method, headers, ...(body === undefined ? {} : { body }) }));
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
    close: async () => {},
  };
}

export const ADAPTERS = [fastifyApi, expressApi, fetchApi] as const;
