import type { FastifyRequest } from 'fastify';
import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { PresentedCredentials } from '../oauth/client-auth.ts';
import type { OAuthCore } from '../oauth/core.ts';
import type { EnvironmentResolver, ResolvedEnvironment } from '../oauth/environments.ts';
import type { OAuthError } from '../oauth/errors.ts';
import { isFapi2 } from '../oauth/fapi2.ts';
import type { ReceivedParams, Surface, SurfaceRoute } from '../surfaces/surface.ts';
import { OBSERVED_ENV, RECEIVED, TOKEN_ROUTE, TOKEN_STAGE } from './lean-exchange.ts';
import type { LeanRouter } from './lean-routes.ts';
import { type Params, parseBasicAuthorization } from './params.ts';
import type { RequestObserver } from './request-observer.ts';
import { note } from './surface-observed.ts';
import { jsonFieldsOf, parseBody } from './surface-request.ts';

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

export type SurfaceRequest = FastifyRequest<{ Params: Record<string, string> }>;

/** What every route of one surface shares: its environment, request reading and assertion audiences. */
export class SurfaceContext {
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

export const setTokenStage = (request: FastifyRequest, stage: TokenStage): void => {
  (request as unknown as Record<typeof TOKEN_STAGE, TokenStage>)[TOKEN_STAGE] = stage;
};
