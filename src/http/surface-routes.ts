import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { EndpointKind } from '../oauth/endpoints.ts';
import { OAuthError } from '../oauth/errors.ts';
import { tracingEnabled } from '../observability/tracing.ts';
import { rateLimitHeaders } from '../surfaces/profiles/standard.ts';
import type { Surface, SurfaceRoute } from '../surfaces/surface.ts';
import { toOAuthError } from './error-mapping.ts';
import { type LeanFinished, LeanReply, LeanRequest, OBSERVED_ERROR, OBSERVED_GRANT, RECEIVED, TOKEN_ROUTE, TOKEN_STAGE } from './lean-exchange.ts';
import type { LeanServe } from './lean-routes.ts';
import { SurfaceContext, type SurfaceRequest, type SurfaceRoutesOptions, setTokenStage } from './surface-context.ts';
import { decorateObserved, noop, note, reportTo } from './surface-observed.ts';
import { dpopHeader, outsideWorkingHours, presentedBearerToken, receivedOf, send } from './surface-request.ts';
import { annotateTokenSpan, tracedTokenHandler } from './token-tracing.ts';

/**
 * The API routes of one surface (token, revocation, introspection, token info); /authorize lives
 * with the pages. Every route runs the same pipeline — working hours → environment → parse →
 * OAuth core → the profile's dialect — and every error is rendered by that dialect.
 * Bodies are read raw and parsed here, so duplicates, media types and JSON errors are ours to judge.
 */
export async function surfaceRoutes(app: FastifyInstance, options: SurfaceRoutesOptions): Promise<void> {
  const { surface, clock, bodyLimit } = options;
  // The parameters of the request being served, for its error body. A request property, not a
  // WeakMap: this is on every token request's path.
  app.decorateRequest(RECEIVED, null);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  // RFC 6749 §5.1 and RFC 7662 §2.2: responses carrying or describing tokens are never cached.
  // A callback hook, not an async one: no promise per response on the hottest path.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done(null, payload);
  });

  if (surface.settings.workingHours) {
    // Before the body is read: a closed surface answers at once, whatever was sent.
    app.addHook('onRequest', (_request, _reply, done) => {
      const wait = surface.closedFor(clock.now());
      if (wait === undefined) return done();
      done(outsideWorkingHours(wait));
    });
  }

  const handleError = async (thrown: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { error, unexpected } = toOAuthError(thrown, bodyLimit);
    const errorId = randomUUID();
    const rendered = surface.renderError(error, { errorId, now: new Date(clock.now()) }, receivedOf(request));
    note(request, OBSERVED_ERROR, error.code);
    if (!unexpected) await context.reportEarlyRefusal(request, error);
    // RFC 9449 §8: the nonce a refused proof should have carried.
    if (error.dpopNonce !== undefined) reply.header('dpop-nonce', error.dpopNonce);
    if (unexpected) request.log.error({ err: thrown, errorId, surface: surface.name }, 'unexpected error');
    else if (error.reason === 'storage_unavailable') request.log.warn({ errorId, surface: surface.name, reason: (thrown as Error).message }, error.description);
    else request.log.info({ errorId, surface: surface.name, error: error.code, reason: error.reason, status: rendered.status }, error.description);
    return send(reply, rendered);
  };
  app.setErrorHandler(handleError);

  if (options.observer) decorateObserved(app);
  app.decorateRequest(TOKEN_STAGE, null);

  const logger = app.log as unknown as Logger;
  const context = new SurfaceContext(options, logger.isLevelEnabled('debug'));
  const lean = options.lean && servesLean(surface) ? options.lean : undefined;
  for (const route of surface.routes) {
    if (route.endpoint === 'authorization') continue;
    const handler = HANDLERS[route.endpoint](context, route);
    const onResponse = options.observer && reportTo(options.observer, route.endpoint, surface.name);
    const config = { [TOKEN_ROUTE]: route.endpoint === 'token' };
    app.route({
      method: route.method,
      url: route.url,
      handler: route.endpoint === 'token' ? tracedTokenHandler(surface.name, handler) : handler,
      config,
      ...(onResponse ? { onResponse } : {}),
    });
    if (lean && route.method === 'POST') {
      lean.add(route.template, leanServe({ handler, handleError, config, logger, ...(onResponse ? { onResponse } : {}) }));
    }
  }
}

/**
 * Whether the lean path may serve this surface's POST routes: the standard surface, with no
 * working hours (an `onRequest` hook), while no tracing SDK wraps the token handler in a span
 * (the Fastify path then serves every request, spans included).
 */
function servesLean(surface: Surface): boolean {
  return surface.profile.name === 'standard' && surface.settings.workingHours === undefined && !tracingEnabled();
}

/**
 * A route's handler and the surface's error handler, run for a request the lean path read:
 * the same code as the Fastify route, with `LeanRequest`/`LeanReply` standing in for Fastify's
 * request and reply, then the route's `onResponse` hook and Fastify's two info-level request logs.
 */
function leanServe(parts: {
  handler: Handler;
  handleError: (thrown: unknown, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
  config: Readonly<Record<string, unknown>>;
  logger: Logger;
  onResponse?: onResponseHookHandler;
}): LeanServe {
  const { handler, handleError, config, logger, onResponse } = parts;
  const finished: LeanFinished = (request, reply) => {
    if (onResponse) (onResponse as unknown as (q: LeanRequest, r: LeanReply, done: () => void) => void)(request, reply, noop);
    if (logger.isLevelEnabled('info')) request.log.info({ res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
  };
  return (req, res, envSegment, body) => {
    const request = new LeanRequest(req, { env: envSegment }, body, config, logger);
    const reply = new LeanReply(res, request, finished);
    if (logger.isLevelEnabled('info')) request.log.info({ req: request }, 'incoming request');
    const asFastify = request as unknown as SurfaceRequest;
    const replyAsFastify = reply as unknown as FastifyReply;
    handler(asFastify, replyAsFastify)
      .catch((thrown: unknown) => handleError(thrown, asFastify, replyAsFastify))
      .catch((thrown: unknown) => {
        request.log.error({ err: thrown }, 'the error handler failed');
        if (!reply.sent) reply.status(500).send({ error: 'server_error', error_description: 'the server could not complete the request' });
      });
  };
}

type Handler = (request: SurfaceRequest, reply: FastifyReply) => Promise<FastifyReply>;

/**
 * The handler of each endpoint kind a surface serves here (`ENDPOINTS`); the authorization
 * endpoint is served with the login and consent pages.
 */
const HANDLERS: Record<Exclude<EndpointKind, 'authorization'>, (context: SurfaceContext, route: SurfaceRoute) => Handler> = {
  token: (context, route) => async (request, reply) => {
    const { core, surface, clock } = context.options;
    setTokenStage(request, 'resolving');
    const resolved = await context.resolve(request);
    setTokenStage(request, { env: resolved.env, grantType: '' });
    const { params, credentials } = context.readRequest(request, route);
    note(request, OBSERVED_GRANT, params.grant_type);
    annotateTokenSpan({ environment: resolved.env.name, grantType: params.grant_type });
    setTokenStage(request, { env: resolved.env, grantType: params.grant_type ?? '' });
    surface.checkGrantType(params);
    const { env, urls } = resolved;
    // From here the core reports its own refusals (with the client, and reuse events).
    setTokenStage(request, 'core');
    const dpopProof = dpopHeader(request.headers.dpop);
    const result = await core.token.handle({
      env,
      issuer: urls.issuer,
      params,
      credentials,
      audiences: context.audiences(resolved, route, urls.token),
      accessTokenTtl: surface.accessTokenTtl,
      dpopProof,
      // Built only for a request with a proof: nothing more on the bearer path.
      endpointUrl: dpopProof === undefined ? undefined : context.endpointUrl(resolved, route),
    });
    if (context.logsDebug)
      request.log.debug({ grant_type: params.grant_type, client_id: credentials.basic?.clientId ?? credentials.bodyClientId }, 'token issued');
    annotateTokenSpan({ clientId: credentials.basic?.clientId ?? credentials.bodyClientId });
    const rendered = surface.renderToken(result, new Date(clock.now()));
    if (result.rateLimit) reply.headers(rateLimitHeaders(result.rateLimit));
    if (result.dpopNonce !== undefined) reply.header('dpop-nonce', result.dpopNonce);
    return send(reply, rendered);
  },
  introspection: (context, route) => async (request, reply) => {
    const resolved = await context.resolve(request);
    const { params, credentials } = context.readRequest(request, route);
    const { env, urls } = resolved;
    const body = await context.options.core.introspection.handle({
      env,
      issuer: urls.issuer,
      params,
      credentials,
      audiences: context.audiences(resolved, route, urls.introspection),
    });
    return send(reply, { status: 200, headers: {}, body });
  },
  revocation: (context, route) => async (request, reply) => {
    const resolved = await context.resolve(request);
    const { params, credentials } = context.readRequest(request, route);
    const { env, urls } = resolved;
    try {
      const audiences = context.audiences(resolved, route, urls.revocation);
      await context.options.core.revocation.handle({ env, issuer: urls.issuer, params, credentials, audiences });
    } catch (error) {
      // The client authenticated (that comes first); only the token is missing.
      const missingToken = error instanceof OAuthError && error.code === 'invalid_request' && error.parameter === 'token';
      if (!(route.missingTokenIsNoop && missingToken)) throw error;
    }
    // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
    return send(reply, { status: 200, headers: {}, body: {} });
  },
  // RFC 8628 §3.1–3.2: the client authenticates as at the token endpoint; the answer is JSON.
  device_authorization: (context, route) => async (request, reply) => {
    const resolved = await context.resolve(request);
    const { params, credentials } = context.readRequest(request, route);
    const { env, urls } = resolved;
    const audiences = context.audiences(resolved, route, urls.deviceAuthorization);
    const body = await context.options.core.device.authorization.handle({ env, issuer: urls.issuer, params, credentials, audiences });
    return send(reply, { status: 200, headers: {}, body });
  },
  pushed_authorization: (context, route) => async (request, reply) => {
    const resolved = await context.resolve(request);
    const { params, credentials } = context.readRequest(request, route);
    const { env, urls } = resolved;
    const body = await context.options.core.pushedAuthorization.handle({
      env,
      issuer: urls.issuer,
      params,
      credentials,
      audiences: context.audiences(resolved, route, urls.pushedAuthorization),
    });
    // RFC 9126 §2.2: 201 Created with the request_uri and its lifetime.
    return send(reply, { status: 201, headers: {}, body });
  },
  token_info: (context) => async (request, reply) => {
    const { core, surface, clock } = context.options;
    const { env, urls } = await context.resolve(request);
    const token = presentedBearerToken(request.headers.authorization, request.url);
    const claims = await core.tokens.read(env, urls.issuer, token);
    if (!claims) throw new OAuthError('invalid_token', 'the access token is invalid, expired or revoked', { challenge: 'Bearer' });
    const render = surface.profile.dialect.renderTokenInfo;
    if (!render) throw new Error(`profile ${surface.profile.name} has a token_info route but no renderer`);
    return send(reply, render({ claims, now: new Date(clock.now()) }));
  },
};

export type { SurfaceRoutesOptions } from './surface-context.ts';
export { outsideWorkingHours, parseBody, presentedBearerToken } from './surface-request.ts';
