import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthCore } from '../../oauth/core.ts';
import { GATEHOUSE_ROUTES } from '../../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../../oauth/environments.ts';
import { OAuthError } from '../../oauth/errors.ts';
import { standardErrorHeaders } from '../../surfaces/profiles/standard.ts';
import { toOAuthError } from '../error-mapping.ts';
import { mediaTypeOf, parseBodyAs, parseQueryParams } from '../params.ts';
import type { RequestObserver } from '../request-observer.ts';

export interface UserInfoRoutesOptions {
  core: OAuthCore;
  environments: EnvironmentResolver;
  bodyLimit: number;
  /** Told of each request once answered (metrics), as the API routes are. */
  observer?: RequestObserver | undefined;
}

/** Where a request stands, for its metrics: its environment once resolved, the error it got. */
interface Observed {
  environment: string;
  outcome: string | undefined;
}

const OBSERVED = Symbol('userinfo observed');
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const FORM = 'application/x-www-form-urlencoded';

const observed = (request: FastifyRequest): Observed => {
  const holder = request as unknown as { [OBSERVED]?: Observed };
  holder[OBSERVED] ??= { environment: 'unknown', outcome: undefined };
  return holder[OBSERVED];
};

/**
 * OpenID Connect Core §5.3 UserInfo under each environment's issuer, GET and POST (§5.3.1), on
 * Gatehouse's own routes (a compatibility surface never serves it). The access token comes as a
 * Bearer token (RFC 6750): in the Authorization header, or for POST in a form body's
 * `access_token` (§2.2); a token in the URL (§2.3) is refused, as RFC 6750 §2.3 and Core §16.4
 * advise against it. Responses carry personal data: never cached.
 */
export async function userinfoRoutes(app: FastifyInstance, options: UserInfoRoutesOptions): Promise<void> {
  const { core, environments, bodyLimit, observer } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done(null, payload);
  });

  if (observer) {
    app.addHook('onResponse', (request, reply, done) => {
      const seen = observed(request);
      const outcome = seen.outcome ?? STATUS_CLASSES[Math.floor(reply.statusCode / 100) - 1] ?? 'other';
      observer.observeRequest('userinfo', 'standard', seen.environment, undefined, outcome, reply.elapsedTime / 1000);
      done();
    });
  }

  app.setErrorHandler(async (thrown: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { error, unexpected } = toOAuthError(thrown, bodyLimit);
    observed(request).outcome = error.code;
    if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
    else if (error.status >= 500) request.log.warn({ reason: error.reason }, error.description);
    else request.log.info({ error: error.code, status: error.status }, error.description);
    return reply.status(error.status).headers(standardErrorHeaders(error, error.status)).send({ error: error.code, error_description: error.description });
  });

  const serve = async (request: FastifyRequest<{ Params: { env: string } }>, body: Buffer | undefined) => {
    const { env, urls } = await environments.resolve(request.params.env);
    observed(request).environment = env.name;
    const { token, scheme } = presentedToken(request.headers.authorization, request.url, request.headers['content-type'], body);
    // RFC 9449 §7: a DPoP token comes with its proof for this method and this URL (as the public URL says it).
    const proofs = request.headers.dpop;
    if (Array.isArray(proofs)) throw new OAuthError('invalid_dpop_proof', 'send exactly one DPoP header', { challenge: 'DPoP', status: 401 });
    const dpop = scheme === 'DPoP' ? { proof: proofs, method: request.method, url: urls.userinfo } : undefined;
    return core.userinfo.handle({ env, issuer: urls.issuer, token, ...(dpop ? { dpop } : {}) });
  };

  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.userinfo.path, (request) => serve(request, undefined));
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.userinfoPost.path, (request) => serve(request, request.body as Buffer | undefined));
}

const bearerError = (description: string) => new OAuthError('invalid_request', description, { challenge: 'Bearer' });

/**
 * The access token of a UserInfo request: `Authorization: Bearer` (RFC 6750 §2.1) or, in a form
 * body, `access_token` (§2.2). Sent both ways, or in the query string, is `invalid_request`;
 * not at all, the bare challenge (§3.1). Another scheme carries no token.
 */
export function presentedToken(
  authorization: string | undefined,
  url: string,
  contentType: string | undefined,
  body: Buffer | undefined,
): { token: string; scheme: 'Bearer' | 'DPoP' } {
  const { params: query, duplicates } = parseQueryParams(url);
  if (query.access_token !== undefined || duplicates.includes('access_token')) {
    throw bearerError('send the access token in the Authorization header (or a form body), never in the URL');
  }
  // RFC 9449 §7.1: a DPoP-bound token comes under the DPoP scheme.
  const scheme = authorization !== undefined && /^DPoP(\s|$)/i.test(authorization) ? 'DPoP' : 'Bearer';
  const named = authorization !== undefined && /^(Bearer|DPoP)(\s|$)/i.test(authorization) ? authorization : undefined;
  const fromHeader = named === undefined ? undefined : /^(?:Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(named)?.[1];
  if (named !== undefined && fromHeader === undefined) throw bearerError(`the Authorization header must be "${scheme} <token>"`);
  // RFC 6750 §2.2: a form-encoded body only; any other body is not read.
  const fromBody = body !== undefined && body.length > 0 && mediaTypeOf(contentType) === FORM ? parseBodyAs(FORM, body).access_token : undefined;
  if (fromHeader !== undefined && fromBody !== undefined) throw bearerError('send the access token once: in the Authorization header or the body');
  const token = fromHeader ?? fromBody;
  if (token === undefined || token === '')
    throw new OAuthError('invalid_token', 'an access token is required', { challenge: 'Bearer', reason: 'token_missing' });
  return { token, scheme: fromHeader === undefined ? 'Bearer' : scheme };
}
