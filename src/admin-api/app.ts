import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AdminError } from '../admin/admin-service.ts';
import type { Clock } from '../domain/clock.ts';
import { StorageUnavailableError } from '../domain/storage.ts';
import { OAuthError } from '../oauth/errors.ts';
import { type AdminAuthenticator, type AdminCaller, type AdminRateLimiter, authorize } from './auth.ts';
import { checkIfMatch, etagOf } from './http-semantics.ts';
import type { Idempotency } from './idempotency.ts';
import { ADMIN_BASE, adminOpenApiDocument } from './openapi.ts';
import { PROBLEM_BASE, PROBLEMS, Problem, type ProblemName } from './problems.ts';
import { ADMIN_ROUTES, type AdminApiServices, type AdminRoute, type RouteContext } from './routes.ts';

export interface AdminApiOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** The management environment (for the OpenAPI description). */
  readonly managementEnv: string;
}

/** One admin call as it ended: who, what, the outcome. No body, header or secret. */
export interface AdminCallRecord {
  /** The admin client; undefined when the call carried no valid token. */
  clientId: string | undefined;
  method: string;
  operationId: string;
  env: string | undefined;
  status: number;
}

export interface AdminApiParts {
  /**
   * The application services acting for one admin caller (the actor audit events name); the
   * server builds them per request, which costs a few object allocations.
   */
  readonly servicesFor: (caller: AdminCaller) => AdminApiServices;
  readonly authenticator: AdminAuthenticator;
  readonly limiter: AdminRateLimiter;
  readonly idempotency: Idempotency;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told of every call once answered, refused ones included: where audit events are recorded. */
  readonly onCall?: (call: AdminCallRecord) => void;
  /** More routes on the admin listener (the web console), registered before it is ready. */
  readonly extend?: (server: FastifyInstance) => Promise<void>;
  /** The environment whose tokens are accepted. */
  readonly managementEnv: string;
}

export interface AdminApp {
  readonly server: FastifyInstance;
  listen(): Promise<string>;
  close(): Promise<void>;
}

const callers = new WeakMap<FastifyRequest, AdminCaller>();

/** The admin HTTP API on its own Fastify instance, for its own listener: never on the public port. */
export async function createAdminApp(options: AdminApiOptions, parts: AdminApiParts): Promise<AdminApp> {
  const server = Fastify({
    loggerInstance: parts.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // Bodies are checked as sent: no type coercion, no silently dropped fields.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    forceCloseConnections: 'idle',
    frameworkErrors: (error, _request, reply) => void sendProblem(reply, toProblem(error, options.bodyLimit, parts.logger)),
  });
  // JSON only: a text body is refused (415) rather than read as a string.
  server.removeContentTypeParser('text/plain');
  server.setErrorHandler((error, _request, reply) => sendProblem(reply, toProblem(error, options.bodyLimit, parts.logger)));
  server.setNotFoundHandler((_request, reply) => sendProblem(reply, new Problem('not-found', 'no such admin API path')));
  const document = adminOpenApiDocument(ADMIN_ROUTES, options.managementEnv);
  server.get(`${ADMIN_BASE}/openapi.json`, async (_request, reply) => reply.header('cache-control', 'no-cache').send(document));
  server.get<{ Params: { name: string } }>(`${PROBLEM_BASE}:name`, async (request, reply) => {
    const name = request.params.name as ProblemName;
    if (!Object.hasOwn(PROBLEMS, name)) return sendProblem(reply, new Problem('not-found', 'no such problem type'));
    return reply.send({ type: `${PROBLEM_BASE}${name}`, ...PROBLEMS[name] });
  });
  for (const route of ADMIN_ROUTES) registerRoute(server, route, parts);
  await parts.extend?.(server);
  await server.ready();
  return {
    server,
    listen: () => server.listen({ host: options.host, port: options.port }),
    close: () => server.close(),
  };
}

function registerRoute(server: FastifyInstance, route: AdminRoute, parts: AdminApiParts): void {
  server.route<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: Record<string, unknown> | undefined }>({
    method: route.method,
    url: `${ADMIN_BASE}${route.path.replace(/\{([a-z_]+)\}/g, ':$1')}`,
    ...(route.body ? { schema: { body: route.body } } : {}),
    ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
    // Authentication, the rate limit and the scope come before the body is even read.
    onRequest: async (request) => {
      const caller = await parts.authenticator.authenticate(request.headers.authorization);
      callers.set(request, caller);
      parts.limiter.hit(caller.clientId);
      if (route.access !== 'token') authorize(caller, route.access, request.params.env);
    },
    preValidation: async (request) => {
      if (route.body && request.body === undefined) request.body = {};
    },
    // Refused calls too (no or a bad token: no client id), so an audit trail shows attempts.
    onResponse: async (request, reply) => {
      const record = {
        clientId: callers.get(request)?.clientId,
        method: route.method,
        operationId: route.operationId,
        env: request.params.env,
        status: reply.statusCode,
      };
      parts.logger.info({ admin: record }, 'admin call');
      parts.onCall?.(record);
    },
    handler: async (request, reply) => {
      const caller = callers.get(request) as AdminCaller;
      const ctx: RouteContext = {
        services: parts.servicesFor(caller),
        caller,
        params: request.params,
        query: request.query,
        body: request.body ?? {},
        ifMatch: request.headers['if-match'],
        managementEnv: parts.managementEnv,
      };
      if (route.current) checkIfMatch(request.headers['if-match'], etagOf(await route.current(ctx)));
      const key = request.headers['idempotency-key'];
      const result =
        route.idempotent && typeof key === 'string'
          ? await parts.idempotency.run(caller.clientId, key, { method: route.method, path: request.url, body: request.body ?? null }, async () => ({
              status: route.status,
              body: await route.run(ctx),
            }))
          : { status: route.status, body: await route.run(ctx), replayed: false };
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      if (route.etag) reply.header('etag', etagOf(result.body));
      return reply.status(result.status).header('cache-control', 'no-store').send(result.body);
    },
  });
}

function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  for (const [name, value] of Object.entries(problem.extra.headers ?? {})) reply.header(name, value);
  return reply.status(problem.status).header('cache-control', 'no-store').type('application/problem+json').send(problem.body());
}

/** Anything thrown below a route, as the problem the caller gets; unexpected errors are logged, not shown. */
export function toProblem(error: unknown, bodyLimit: number, logger: Pick<Logger, 'error'>): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof AdminError) {
    const name: ProblemName = error.kind === 'not_found' ? 'not-found' : error.kind === 'conflict' ? 'conflict' : 'invalid-value';
    return new Problem(name, error.message);
  }
  if (error instanceof StorageUnavailableError || (error instanceof OAuthError && error.status === 503)) {
    return new Problem('unavailable', 'the database is unavailable; nothing was changed', { headers: { 'retry-after': '5' } });
  }
  const e = error as FastifyError & { validation?: { instancePath: string; params: Record<string, unknown>; message?: string }[] };
  if (e.validation?.[0]) {
    const first = e.validation[0];
    const missing = typeof first.params.missingProperty === 'string' ? `/${first.params.missingProperty}` : '';
    const extra = typeof first.params.additionalProperty === 'string' ? `/${first.params.additionalProperty}` : '';
    const field = `${first.instancePath}${missing}${extra}` || '/';
    return new Problem('invalid-request', `${field} ${extra ? 'is not a known field' : (first.message ?? 'is invalid')}`, { field });
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) return new Problem('payload-too-large', `the request body exceeds ${bodyLimit} bytes`);
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.statusCode === 415) return new Problem('unsupported-media-type', 'send the body as application/json');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new Problem('invalid-request', 'the request could not be read');
  logger.error({ err: error }, 'admin API request failed');
  return new Problem('internal-error', 'the server could not complete the request');
}
