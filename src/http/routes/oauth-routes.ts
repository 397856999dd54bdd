import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.ts';
import type { PresentedCredentials } from '../../oauth/client-auth.ts';
import type { OAuthCore } from '../../oauth/core.ts';
import type { Dialect } from '../dialects/dialect.ts';
import type { EnvironmentResolver } from '../environments.ts';
import { toOAuthError } from '../error-mapping.ts';
import { type Params, parseBasicAuthorization, parseBodyParams } from '../params.ts';

export interface OAuthRoutesOptions {
  core: OAuthCore;
  environments: EnvironmentResolver;
  dialect: Dialect;
  clock: Clock;
  bodyLimit: number;
}

interface EnvParams {
  env: string;
}

/**
 * The standard surface's token, introspection and revocation endpoints under `/envs/:env`.
 * Bodies are read raw and parsed here, so duplicates, media types and JSON errors are ours to judge.
 */
export async function oauthRoutes(app: FastifyInstance, options: OAuthRoutesOptions): Promise<void> {
  const { core, environments, dialect, clock, bodyLimit } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  // RFC 6749 §5.1 and RFC 7662 §2.2: responses carrying or describing tokens are never cached.
  // A callback hook, not an async one: no promise per response on the hottest path.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done(null, payload);
  });

  app.setErrorHandler(async (thrown, request, reply) => {
    const { error, unexpected } = toOAuthError(thrown, bodyLimit);
    const errorId = randomUUID();
    if (unexpected) request.log.error({ err: thrown, errorId }, 'unexpected error');
    else request.log.info({ errorId, error: error.code, status: error.status }, error.description);
    const rendered = dialect.renderError(error, { errorId, now: new Date(clock.now()) });
    return reply.status(rendered.status).headers(rendered.headers).send(rendered.body);
  });

  const readRequest = (request: FastifyRequest<{ Params: EnvParams }>): { params: Params; credentials: PresentedCredentials } => {
    const params = parseBodyParams(request.headers['content-type'], request.body as Buffer | undefined);
    const basic = parseBasicAuthorization(request.headers.authorization);
    const credentials: PresentedCredentials = { sourceAddress: request.ip };
    if (basic) credentials.basic = basic;
    if (params.client_id !== undefined) credentials.bodyClientId = params.client_id;
    if (params.client_secret !== undefined) credentials.bodyClientSecret = params.client_secret;
    if (params.client_assertion_type !== undefined) credentials.clientAssertionType = params.client_assertion_type;
    if (params.client_assertion !== undefined) credentials.clientAssertion = params.client_assertion;
    return { params, credentials };
  };

  const send = (reply: FastifyReply, status: number, headers: Record<string, string>, body: unknown) => reply.status(status).headers(headers).send(body);

  app.post<{ Params: EnvParams }>('/envs/:env/token', async (request, reply) => {
    const { env, urls } = await environments.resolve(request.params.env);
    const { params, credentials } = readRequest(request);
    const result = await core.token.handle({ env, issuer: urls.issuer, params, credentials, audiences: [urls.issuer, urls.token] });
    request.log.debug({ grant_type: params.grant_type, client_id: credentials.basic?.clientId ?? credentials.bodyClientId }, 'token issued');
    const rendered = dialect.renderToken(result);
    return send(reply, rendered.status, rendered.headers, rendered.body);
  });

  app.post<{ Params: EnvParams }>('/envs/:env/introspect', async (request, reply) => {
    const { env, urls } = await environments.resolve(request.params.env);
    const { params, credentials } = readRequest(request);
    const audiences = [urls.issuer, urls.token, urls.introspection];
    return send(reply, 200, {}, await core.introspection.handle({ env, issuer: urls.issuer, params, credentials, audiences }));
  });

  app.post<{ Params: EnvParams }>('/envs/:env/revoke', async (request, reply) => {
    const { env, urls } = await environments.resolve(request.params.env);
    const { params, credentials } = readRequest(request);
    await core.revocation.handle({ env, issuer: urls.issuer, params, credentials, audiences: [urls.issuer, urls.token, urls.revocation] });
    // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
    return send(reply, 200, {}, {});
  });
}
