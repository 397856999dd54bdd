import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GATEHOUSE_ROUTES } from '../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { RegistrationEndpoint } from '../oauth/registration/registration-endpoint.ts';
import { standardErrorHeaders } from '../surfaces/profiles/standard.ts';
import { toOAuthError } from './error-mapping.ts';
import { mediaTypeOf } from './params.ts';

export interface RegistrationRoutesOptions {
  registration: RegistrationEndpoint;
  environments: EnvironmentResolver;
  bodyLimit: number;
}

type EnvParams = { Params: { env: string } };
type ClientParams = { Params: { env: string; clientId: string } };

/**
 * RFC 7591 §3 client registration and RFC 7592 §2 client configuration under each environment's
 * issuer, on Gatehouse's own routes. JSON in and out; every answer carries secrets or tokens, so
 * none is cached (RFC 7591 §3.2.1). An environment that has not enabled registration answers 404.
 */
export async function registrationRoutes(app: FastifyInstance, options: RegistrationRoutesOptions): Promise<void> {
  const { registration, environments, bodyLimit } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done(null, payload);
  });

  app.setErrorHandler(async (thrown: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { error, unexpected } = toOAuthError(thrown, bodyLimit);
    if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
    else request.log.info({ error: error.code, status: error.status }, error.description);
    // RFC 7591 §3.2.2: the error response is a JSON object with `error` and `error_description`.
    return reply.status(error.status).headers(standardErrorHeaders(error, error.status)).send({ error: error.code, error_description: error.description });
  });

  const context = async (request: FastifyRequest<ClientParams>) => {
    const { env, urls } = await environments.resolve(request.params.env);
    return { env, issuer: urls.issuer, clientId: request.params.clientId, bearer: bearerToken(request.headers.authorization) };
  };

  app.post<EnvParams>(GATEHOUSE_ROUTES.register.path, async (request, reply) => {
    const { env, urls } = await environments.resolve(request.params.env);
    const body = jsonBody(request);
    const answer = await registration.register({
      env,
      issuer: urls.issuer,
      body,
      bearer: bearerToken(request.headers.authorization),
      sourceAddress: request.ip,
    });
    // RFC 7591 §3.2.1: 201 Created with the client information.
    return reply.status(201).send(answer);
  });
  app.get<ClientParams>(GATEHOUSE_ROUTES.registrationRead.path, async (request) => registration.read(await context(request)));
  app.put<ClientParams>(GATEHOUSE_ROUTES.registrationUpdate.path, async (request) =>
    registration.update({ ...(await context(request)), body: jsonBody(request) }),
  );
  app.delete<ClientParams>(GATEHOUSE_ROUTES.registrationDelete.path, async (request, reply) => {
    await registration.remove(await context(request));
    // RFC 7592 §2.3: 204 No Content.
    return reply.status(204).send();
  });
}

/** RFC 7591 §3.1: the body is `application/json`; anything else, or bad JSON, is refused clearly. */
function jsonBody(request: FastifyRequest): unknown {
  if (mediaTypeOf(request.headers['content-type']) !== 'application/json') {
    throw new OAuthError('invalid_client_metadata', 'send the client metadata as application/json (RFC 7591 §3.1)');
  }
  const raw = request.body as Buffer | undefined;
  try {
    return JSON.parse(raw?.toString('utf8') ?? '');
  } catch {
    throw new OAuthError('invalid_client_metadata', 'the request body is not valid JSON');
  }
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`; another scheme carries no token here. */
function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  if (!match) throw new OAuthError('invalid_token', 'the Authorization header must be "Bearer <token>"', { challenge: 'Bearer', status: 401 });
  return match[1];
}
