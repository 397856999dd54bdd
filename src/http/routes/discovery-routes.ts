import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthCore } from '../../oauth/core.ts';
import { GATEHOUSE_ROUTES } from '../../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../../oauth/environments.ts';
import { authorizationServerMetadata } from '../../oauth/metadata.ts';
import { registrationEndpoint } from '../../oauth/registration/registered-client.ts';
import type { RegistrationEndpoint } from '../../oauth/registration/registration-endpoint.ts';
import { ACCESS_TOKEN_ALGORITHMS, publicJwks } from '../../oauth/signing-keys.ts';
import { toOAuthError } from '../error-mapping.ts';

/**
 * Errors of the documents Gatehouse publishes (metadata, JWKS, OpenAPI) and of anything outside
 * every surface (an unknown or overlong URL): RFC 6749-style JSON, with Retry-After on a 503.
 */
export async function documentErrorHandler(this: unknown, thrown: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { error, unexpected } = toOAuthError(thrown, 0);
  if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
  else if (error.status >= 500) request.log.warn({ reason: error.reason }, error.description);
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  return reply.status(error.status).send({ error: error.code, error_description: error.description });
}

/** RFC 8414 metadata, the OpenID configuration and the JWKS of each environment. */
export async function discoveryRoutes(
  app: FastifyInstance,
  options: { core: OAuthCore; environments: EnvironmentResolver; jwksMaxAge: number; registration?: RegistrationEndpoint | undefined },
): Promise<void> {
  const { core, environments } = options;

  app.setErrorHandler(documentErrorHandler);

  const metadata = async (name: string) => {
    const { env, urls } = await environments.resolve(name);
    // The algorithms with an active key: a published key that only awaits activation or has retired cannot sign.
    const [apis, idTokenAlgorithms, policy] = await Promise.all([
      core.apis.list(env.id),
      core.keys.algorithms(env.id),
      options.registration?.announcedPolicy(env),
    ]);
    const apiScopes = apis.flatMap((api) => api.scopes.map((scope) => scope.name));
    const document = authorizationServerMetadata(urls, core.grants.grantTypes(), ACCESS_TOKEN_ALGORITHMS, { apiScopes, idTokenAlgorithms }, env);
    // RFC 8414 §2 / RFC 7591 §3: announced only where the environment enables registration.
    return policy && policy.mode !== 'off' ? { ...document, registration_endpoint: registrationEndpoint(urls.issuer) } : document;
  };

  // RFC 8414 §3 and OpenID Connect Discovery 1.0 §4: one document at every well-known URL.
  for (const route of [GATEHOUSE_ROUTES.metadata, GATEHOUSE_ROUTES.metadataUnderIssuer, GATEHOUSE_ROUTES.openidConfiguration]) {
    app.get<{ Params: { env: string } }>(route.path, async (request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return metadata(request.params.env);
    });
  }

  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.jwks.path, async (request, reply) => {
    const { env } = await environments.resolve(request.params.env);
    // A resource server may keep the JWKS this long: key rotation waits for it (activationLeadMs).
    reply.header('cache-control', `public, max-age=${options.jwksMaxAge}`);
    reply.type('application/jwk-set+json');
    return publicJwks(await core.keys.publishedKeys(env.id));
  });
}
