import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BrowserSessions } from '../accounts/browser-sessions.ts';
import type { UserAuthenticator } from '../accounts/users.ts';
import type { Clock } from '../domain/clock.ts';
import type { PageSettingsStore } from '../domain/page-settings.ts';
import { StorageUnavailableError } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { GATEHOUSE_ROUTES } from '../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import type { EndSessionEndpoint } from '../oauth/openid/logout.ts';
import type { RegistrationEndpoint } from '../oauth/registration/registration-endpoint.ts';
import type { Surface } from '../surfaces/surface.ts';
import { LeanRouter } from './lean-routes.ts';
import { openApiRoutes } from './openapi.ts';
import { registrationRoutes } from './registration-routes.ts';
import type { RequestObserver } from './request-observer.ts';
import { authorizationRoutes } from './routes/authorization-routes.ts';
import { brandingLogoRoutes } from './routes/branding-logo-routes.ts';
import { discoveryRoutes, documentErrorHandler } from './routes/discovery-routes.ts';
import { logoutRoutes } from './routes/logout-routes.ts';
import { PageContexts } from './routes/page-context.ts';
import { userinfoRoutes } from './routes/userinfo-routes.ts';
import { surfaceRoutes } from './surface-routes.ts';

/** What the HTTP adapter is told, as plain values. */
export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  /** Base of every issuer URL, without a trailing slash. */
  readonly publicUrl: string;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** `Cache-Control: max-age` of each JWKS, in seconds. */
  readonly jwksMaxAge: number;
  /** Reverse proxies whose `X-Forwarded-For` is believed; empty: the peer address is the client's. */
  readonly trustProxy: readonly string[];
}

/** The parts the routes call: the OAuth core, the account services and the configured surfaces. */
export interface HttpParts {
  readonly core: OAuthCore;
  readonly environments: EnvironmentResolver;
  readonly sessions: BrowserSessions;
  readonly users: UserAuthenticator;
  /** The end-session endpoint (RP-Initiated Logout 1.0). */
  readonly logout: EndSessionEndpoint;
  readonly surfaces: readonly Surface[];
  readonly clock: Clock;
  readonly logger: Logger;
  /** Checks that the database answers (for `/readyz`); throws `StorageUnavailableError` if not. */
  readonly ping: () => Promise<void>;
  /** Told of every API request answered (metrics); without one nothing is recorded. */
  readonly requests?: RequestObserver | undefined;
  /** The brand, languages and logo of each environment's pages; without it, Gatehouse's own look. */
  readonly pageSettings?: Pick<PageSettingsStore, 'get' | 'getLogo'> | undefined;
  /** Whether plain POSTs to the standard surface's API routes skip Fastify's request machinery (default true; see `LeanRouter`). */
  readonly leanRoutes?: boolean | undefined;
  /** RFC 7591 / 7592: the registration endpoint; without it no environment offers registration. */
  readonly registration?: RegistrationEndpoint | undefined;
}

export type { RequestObserver };

export interface HttpApp {
  readonly server: FastifyInstance;
  /** Listens on the configured host and port; returns the bound address (port 0 picks one). */
  listen(): Promise<string>;
  /** `/readyz` answers 503 from now on, and every response closes its connection. */
  drain(): void;
  /** Stops accepting connections, closes idle ones, and waits for requests in flight at most `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

/** The public HTTP surface (Fastify): discovery, the surfaces' API routes, the pages, health. */
export async function createHttpApp(options: HttpOptions, parts: HttpParts): Promise<HttpApp> {
  // The lean path reads the peer address itself: with trusted proxies, Fastify's request.ip decides.
  // Without routes (trusted proxies, or turned off) it passes every request to Fastify.
  const router = new LeanRouter(options.bodyLimit);
  const lean = parts.leanRoutes !== false && options.trustProxy.length === 0 ? router : undefined;
  const server = Fastify({
    serverFactory: (handler, factoryOptions) => router.createServer(handler, factoryOptions),
    loggerInstance: parts.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // The issuer comes from configuration, never from forwarding headers. X-Forwarded-For is
    // believed only from the configured proxies, for throttling by the real client address.
    trustProxy: options.trustProxy.length > 0 ? [...options.trustProxy] : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors Fastify raises before any route runs (an overlong path segment, a malformed URL)
    // get Gatehouse's envelope too.
    frameworkErrors: (error, request, reply) => void documentErrorHandler(error, request, reply),
  });
  let draining = false;
  // While draining, each response is its connection's last: clients reconnect (to another node,
  // once the load balancer has taken this one out) instead of racing the close of an idle socket.
  server.addHook('onRequest', (_request, reply, done) => {
    if (draining) reply.header('connection', 'close');
    done();
  });
  server.setErrorHandler(documentErrorHandler);
  const registered = recordRoutes(server);
  healthRoutes(server, parts.ping, () => draining);
  await registerRoutes(server, options, parts, lean);
  checkRoutes(registered, parts.surfaces);
  server.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'not_found', error_description: 'no such endpoint' }));
  await server.ready();
  return {
    server,
    listen: () => server.listen({ host: options.host, port: options.port }),
    drain() {
      draining = true;
      router.turnOff();
    },
    async close(timeoutMs) {
      draining = true;
      router.turnOff();
      const closed = server.close();
      const deadline = setTimeout(() => server.server.closeAllConnections(), timeoutMs);
      deadline.unref();
      await closed;
      clearTimeout(deadline);
    },
  };
}

/** `/healthz`: the process answers. `/readyz`: it should get traffic (database reachable, not draining). */
function healthRoutes(server: FastifyInstance, ping: () => Promise<void>, draining: () => boolean): void {
  server.get(GATEHOUSE_ROUTES.health.path, async () => ({ status: 'ok' }));
  server.get(GATEHOUSE_ROUTES.ready.path, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (draining()) return reply.status(503).send({ status: 'draining', reason: 'the server is shutting down' });
    try {
      await ping();
      return { status: 'ready' };
    } catch (error) {
      const reason = error instanceof StorageUnavailableError ? error.reason : 'the database check failed';
      return reply.status(503).send({ status: 'unavailable', reason });
    }
  });
}

/** Every route registered from now on, as `METHOD /path`. */
function recordRoutes(server: FastifyInstance): string[] {
  const routes: string[] = [];
  server.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });
  return routes;
}

/**
 * Refuses to start with a route that is neither a surface's nor in `GATEHOUSE_ROUTES`: that table
 * is what the surfaces are checked against, so a route left out of it could be shadowed unseen.
 */
function checkRoutes(registered: readonly string[], surfaces: readonly Surface[]): void {
  const known = new Set([
    ...Object.values(GATEHOUSE_ROUTES).map((route) => `${route.method} ${route.path}`),
    ...surfaces.flatMap((surface) => surface.routes.map((route) => `${route.method} ${route.url}`)),
  ]);
  const unknown = registered.filter((route) => !known.has(route));
  if (unknown.length > 0) throw new Error(`routes missing from GATEHOUSE_ROUTES: ${unknown.join(', ')}`);
}

async function registerRoutes(server: FastifyInstance, options: HttpOptions, parts: HttpParts, lean: LeanRouter | undefined): Promise<void> {
  const { core, environments, sessions, users, surfaces, clock } = parts;
  await server.register(discoveryRoutes, { core, environments, jwksMaxAge: options.jwksMaxAge, registration: parts.registration });
  if (parts.registration) await server.register(registrationRoutes, { registration: parts.registration, environments, bodyLimit: options.bodyLimit });
  await server.register(userinfoRoutes, { core, environments, bodyLimit: options.bodyLimit, observer: parts.requests });
  const publicBase = options.publicUrl.replace(/\/+$/, '');
  for (const surface of surfaces) {
    await server.register(surfaceRoutes, { surface, core, environments, clock, bodyLimit: options.bodyLimit, publicBase, observer: parts.requests, lean });
  }
  const pages = new PageContexts(parts.pageSettings);
  if (parts.pageSettings) await server.register(brandingLogoRoutes, { environments, logos: parts.pageSettings });
  await server.register(authorizationRoutes, {
    pages,
    core,
    environments,
    sessions,
    users,
    clock,
    bodyLimit: options.bodyLimit,
    secureCookies: new URL(options.publicUrl).protocol === 'https:',
    authorizeRoutes: surfaces.flatMap((surface) => surface.routes.filter((r) => r.endpoint === 'authorization').map((r) => ({ surface, url: r.url }))),
  });
  await server.register(logoutRoutes, {
    pages,
    environments,
    sessions,
    logout: parts.logout,
    bodyLimit: options.bodyLimit,
    secureCookies: new URL(options.publicUrl).protocol === 'https:',
  });
  await server.register(openApiRoutes, { surfaces, environments, publicBase });
}
