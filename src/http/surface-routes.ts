import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { PresentedCredentials } from '../oauth/client-auth.ts';
import type { OAuthCore } from '../oauth/core.ts';
import type { EndpointKind } from '../oauth/endpoints.ts';
import type { EnvironmentResolver, ResolvedEnvironment } from '../oauth/environments.ts';
import { OAuthError } from '../oauth/errors.ts';
import { isFapi2 } from '../oauth/fapi2.ts';
import { tracingEnabled } from '../observability/tracing.ts';
import type { BodyEncoding, RenderedResponse } from '../surfaces/profile.ts';
import { rateLimitHeaders } from '../surfaces/profiles/standard.ts';
import { ReceivedParams, type Surface, type SurfaceRoute } from '../surfaces/surface.ts';
import { toOAuthError } from './error-mapping.ts';
import {
  type LeanFinished,
  LeanReply,
  LeanRequest,
  OBSERVED_ENV,
  OBSERVED_ERROR,
  OBSERVED_GRANT,
  RECEIVED,
  TOKEN_ROUTE,
  TOKEN_STAGE,
} from './lean-exchange.ts';
import type { LeanRouter, LeanServe } from './lean-routes.ts';
import { parseMultipartForm } from './multipart.ts';
import { firstDuplicateKey, mediaTypeOf, type Params, parseBasicAuthorization, parseBodyAs, parseQueryParams } from './params.ts';
import type { RequestObserver } from './request-observer.ts';
import { annotateTokenSpan, tracedTokenHandler } from './token-tracing.ts';

export interface SurfaceRoutesOptions {
  surface: Surface;
  core: OAuthCore;
  environments: EnvironmentResolver;
  clock: Clock;
  bodyLimit: number;
  /** Origin and base path of the public URL, without a trailing slash. */
  publicBase: string;
  /** Told of each request once answered (metrics). */
  observer?: RequestObserver | undefined;
  /** Where this surface's plain POST requests may be served without Fastify's request machinery. */
  lean?: LeanRouter | undefined;
}

type SurfaceRequest = FastifyRequest<{ Params: Record<string, string> }>;

const MEDIA_TYPES: Record<BodyEncoding, string> = {
  form: 'application/x-www-form-urlencoded',
  json: 'application/json',
  multipart: 'multipart/form-data',
};

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

const noop = (): void => {};

/** What a request tells its observer; set as it goes, read once answered. */
interface Observed {
  [OBSERVED_ENV]: string | null;
  [OBSERVED_GRANT]: string | null;
  [OBSERVED_ERROR]: string | null;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

function decorateObserved(app: FastifyInstance): void {
  app.decorateRequest(OBSERVED_ENV, null);
  app.decorateRequest(OBSERVED_GRANT, null);
  app.decorateRequest(OBSERVED_ERROR, null);
}

/** A route's hook reporting each answered request: a callback, no promise or object per request. */
function reportTo(observer: RequestObserver, endpoint: string, surface: string): onResponseHookHandler {
  return (request, reply, done) => {
    const observed = request as unknown as Observed;
    const outcome = observed[OBSERVED_ERROR] ?? STATUS_CLASSES[Math.floor(reply.statusCode / 100) - 1] ?? 'other';
    observer.observeRequest(endpoint, surface, observed[OBSERVED_ENV] ?? 'unknown', observed[OBSERVED_GRANT] ?? undefined, outcome, reply.elapsedTime / 1000);
    done();
  };
}

/** Records one fact for the observer, if there is one (the decorations exist only then). */
function note(request: FastifyRequest, key: keyof Observed, value: string | undefined): void {
  if (key in request && value !== undefined) (request as unknown as Observed)[key] = value;
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

/** What every route of one surface shares: its environment, request reading and assertion audiences. */
class SurfaceContext {
  // Values a client assertion's `aud` may take, per route and environment (see `audiences`).
  private readonly audienceCache = new Map<string, readonly string[]>();

  constructor(
    readonly options: SurfaceRoutesOptions,
    /** Whether debug lines are logged at all: skipped before building them on the token path. */
    readonly logsDebug: boolean,
  ) {}

  /**
   * A token request refused before the core saw it (a body too large or unreadable, a missing
   * or unsupported grant_type, outside working hours) is a refused token request all the same:
   * reported as the core reports its own, when its environment exists.
   */
  async reportEarlyRefusal(request: FastifyRequest, error: OAuthError): Promise<void> {
    const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
    if (config?.[TOKEN_ROUTE] !== true) return;
    const stage = (request as unknown as Record<typeof TOKEN_STAGE, TokenStage>)[TOKEN_STAGE];
    // The core reports its own; a request whose environment did not resolve belongs to none.
    if (stage === 'core' || stage === 'resolving') return;
    if (stage !== null) return this.options.core.token.reportRefusal(stage.env, stage.grantType, error);
    // Refused before the handler ran (a body over the limit, outside working hours): its
    // environment, if it exists and is known without waiting on an unavailable database.
    if (error.reason === 'storage_unavailable') return;
    try {
      const { env } = await this.options.environments.resolve(this.options.surface.environmentName((request as SurfaceRequest).params ?? {}));
      this.options.core.token.reportRefusal(env, '', error);
    } catch {
      // An unknown environment: nothing to count it against.
    }
  }

  async resolve(request: SurfaceRequest): Promise<ResolvedEnvironment> {
    const resolved = await this.options.environments.resolve(this.options.surface.environmentName(request.params));
    note(request, OBSERVED_ENV, resolved.env.name);
    return resolved;
  }

  /** Parses the body; when it is refused, its JSON fields as sent are kept for the error body (AbbeyCross's parameter_value). */
  private parseReceived(request: SurfaceRequest, route: SurfaceRoute): Params {
    const contentType = request.headers['content-type'];
    try {
      return parseBody(contentType, request.body as Buffer | undefined, route.encodings, route.repeatable);
    } catch (error) {
      const sent = jsonFieldsOf(contentType, request.body as Buffer | undefined);
      if (sent) (request as unknown as Record<typeof RECEIVED, ReceivedParams>)[RECEIVED] = this.options.surface.receivedAsSent(sent);
      throw error;
    }
  }

  /** Reads the body and the credentials; the canonical parameters are what the core sees. */
  readRequest(request: SurfaceRequest, route: SurfaceRoute): { params: Params; credentials: PresentedCredentials } {
    const raw = this.parseReceived(request, route);
    const canonical = this.options.surface.canonicalParams(raw);
    (request as unknown as Record<typeof RECEIVED, ReceivedParams>)[RECEIVED] = canonical.received;
    const { params } = canonical;
    this.options.surface.checkRequired(params, route, canonical.received);
    const basic = parseBasicAuthorization(request.headers.authorization);
    const credentials: PresentedCredentials = { sourceAddress: request.ip };
    if (basic) credentials.basic = basic;
    if (params.client_id !== undefined) credentials.bodyClientId = params.client_id;
    if (params.client_secret !== undefined) credentials.bodyClientSecret = params.client_secret;
    if (params.client_assertion_type !== undefined) credentials.clientAssertionType = params.client_assertion_type;
    if (params.client_assertion !== undefined) credentials.clientAssertion = params.client_assertion;
    return { params, credentials };
  }

  /**
   * Values a client assertion's `aud` may take (RFC 7523 §3): the issuer, the token endpoint
   * (which clients use for every endpoint), this endpoint's standard URL and this route's URL.
   * Computed once per route and environment: this is on every token request's path.
   */
  audiences(resolved: ResolvedEnvironment, route: SurfaceRoute, standard: string): readonly string[] {
    // FAPI 2.0 Security Profile §5.3.2.1: only the issuer identifier is accepted as `aud`.
    if (isFapi2(resolved.env)) return [resolved.urls.issuer];
    const key = `${route.endpoint}\u0000${resolved.env.name}`;
    let list = this.audienceCache.get(key);
    if (!list) {
      list = Object.freeze([...new Set([resolved.urls.issuer, resolved.urls.token, standard, this.endpointUrl(resolved, route)])]);
      this.audienceCache.set(key, list);
    }
    return list;
  }

  /** This route's URL for the environment, as the public URL says it: what a DPoP proof's `htu` names (RFC 9449 §4.3). */
  endpointUrl(resolved: ResolvedEnvironment, route: SurfaceRoute): string {
    const { surface, publicBase } = this.options;
    return `${publicBase}${route.template.replace(/\{[^}]+\}/, surface.segmentFor(resolved.env.name) ?? '')}`;
  }
}

/**
 * Where a token request is: null before its handler runs, `resolving` its environment, then the
 * environment and (once read) the grant type, and `core` once the OAuth core has it and reports
 * its outcome itself.
 */
type TokenStage = null | 'resolving' | { env: Environment; grantType: string } | 'core';

const setTokenStage = (request: FastifyRequest, stage: TokenStage): void => {
  (request as unknown as Record<typeof TOKEN_STAGE, TokenStage>)[TOKEN_STAGE] = stage;
};

const receivedOf = (request: FastifyRequest): ReceivedParams =>
  (request as unknown as Record<typeof RECEIVED, ReceivedParams | null>)[RECEIVED] ?? ReceivedParams.none;

/** RFC 9449 §4.1: the `DPoP` header; repeated ones are joined, which the proof check refuses (§4.3 step 1). */
const dpopHeader = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);

const send = (reply: FastifyReply, rendered: RenderedResponse) => reply.status(rendered.status).headers(rendered.headers).send(rendered.body);

/** The error of a surface outside its working hours. */
export const outsideWorkingHours = (retryAfter: number): OAuthError =>
  new OAuthError('temporarily_unavailable', 'the service is outside its working hours; retry later', { retryAfter, reason: 'outside_working_hours' });

/** Parses a body in one of the route's encodings; any other media type is `invalid_request`. */
export function parseBody(
  contentType: string | undefined,
  body: Buffer | undefined,
  encodings: readonly BodyEncoding[],
  repeatable: readonly string[] = [],
): Params {
  const media = mediaTypeOf(contentType);
  if (media === MEDIA_TYPES.multipart && encodings.includes('multipart')) return parseMultipartForm(contentType ?? '', body ?? Buffer.alloc(0));
  if (encodings.some((e) => MEDIA_TYPES[e] === media) || (media === '' && (!body || body.length === 0))) return parseBodyAs(media, body, repeatable);
  throw new OAuthError('invalid_request', `unsupported content type: send ${encodings.map((e) => MEDIA_TYPES[e]).join(' or ')}`);
}

/** The top-level fields of a JSON object body, each sent once; undefined for any other body. */
function jsonFieldsOf(contentType: string | undefined, body: Buffer | undefined): Readonly<Record<string, unknown>> | undefined {
  if (mediaTypeOf(contentType) !== MEDIA_TYPES.json || !body) return undefined;
  try {
    const text = body.toString('utf8');
    const value: unknown = JSON.parse(text);
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    return isObject && firstDuplicateKey(text) === undefined ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RFC 6750 §2.1 and §2.3: the token from `Authorization: Bearer` or the `access_token` query
 * parameter; both at once is invalid_request, none at all is the bare challenge (§3.1). Another
 * scheme (`curl -u` sends Basic) carries no token: §3.1 counts it as lacking authentication.
 */
export function presentedBearerToken(authorization: string | undefined, url: string): string {
  const { params, duplicates } = parseQueryParams(url);
  const bearer = authorization !== undefined && /^Bearer(\s|$)/i.test(authorization) ? authorization : undefined;
  const fromHeader = bearer === undefined ? undefined : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(bearer)?.[1];
  if (bearer !== undefined && fromHeader === undefined) {
    throw new OAuthError('invalid_request', 'the Authorization header must be "Bearer <token>"', { challenge: 'Bearer', status: 400 });
  }
  if (duplicates.includes('access_token') || (fromHeader !== undefined && params.access_token !== undefined)) {
    throw new OAuthError('invalid_request', 'send the access token once: in the Authorization header or as access_token', { challenge: 'Bearer' });
  }
  const token = fromHeader ?? params.access_token;
  if (token === undefined) throw new OAuthError('invalid_token', 'an access token is required', { challenge: 'Bearer', reason: 'token_missing' });
  return token;
}
