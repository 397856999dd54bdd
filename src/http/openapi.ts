import type { FastifyInstance } from 'fastify';
import { GATEHOUSE_ROUTES, ISSUER_ROUTE } from '../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import type { JsonSchema } from '../surfaces/profile.ts';
import type { Surface, SurfaceRoute } from '../surfaces/surface.ts';
import { openIdPaths } from './openapi-openid.ts';
import { registrationPaths } from './openapi-registration.ts';
import {
  AUTHORIZE_PARAMETERS,
  CLIENT_AUTH_PARAMETERS,
  DEVICE_AUTHORIZATION_PARAMETERS,
  DEVICE_AUTHORIZATION_SCHEMA,
  GRANT_PARAMETERS,
  INTROSPECTION_SCHEMA,
  LOOKUP_PARAMETERS,
  MEDIA,
  OPENID_AUTHORIZE_PARAMETERS,
  PARAMETER_DOCS,
  PUSHED_AUTHORIZATION_SCHEMA,
  STANDARD_SURFACE,
} from './openapi-schemas.ts';
import { documentErrorHandler } from './routes/discovery-routes.ts';

export const RESOURCE_VALUE: JsonSchema = { type: 'string', format: 'uri' };

/** The schema of a parameter: a route that lets it repeat (RFC 8707 `resource`) takes one value or several. */
function parameterSchema(route: SurfaceRoute, name: string, inBody: boolean): JsonSchema {
  const value: JsonSchema = name === 'resource' ? RESOURCE_VALUE : { type: 'string' };
  if (!route.repeatable.includes(name)) return value;
  // In a form or a query the name repeats; in a JSON body it may be an array.
  return inBody ? { oneOf: [value, { type: 'array', items: value }] } : { type: 'array', items: value };
}

/**
 * An OpenAPI 3.1 document of every surface that serves `envName`: paths, request bodies in each
 * accepted encoding, the success response and every error status with its envelope.
 */
export function openApiDocument(surfaces: readonly Surface[], envName: string, publicBase: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  let openId = false;
  for (const surface of surfaces) {
    const segment = surface.segmentFor(envName);
    if (segment === undefined) continue;
    if (surface.name === STANDARD_SURFACE) {
      openId = true;
      Object.assign(paths, openIdPaths(ISSUER_ROUTE.replace(':env', segment)), registrationPaths(ISSUER_ROUTE.replace(':env', segment)));
    }
    for (const route of surface.routes) {
      const path = route.template.replace(/\{[^}]+\}/, segment);
      paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(surface, route) };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: `Gatehouse — environment ${envName}`, version: '1', description: 'The token endpoints this environment serves, one tag per surface.' },
    servers: [{ url: publicBase }],
    tags: [
      ...surfaces.filter((s) => s.segmentFor(envName) !== undefined).map((s) => ({ name: s.name, description: s.profile.title })),
      ...(openId
        ? [
            { name: 'openid', description: 'OpenID Connect: UserInfo, discovery and logout' },
            { name: 'registration', description: 'Dynamic Client Registration (RFC 7591, RFC 7592), when the environment enables it' },
          ]
        : []),
    ],
    paths,
    components: {
      securitySchemes: {
        clientSecretBasic: { type: 'http', scheme: 'basic', description: 'client_id and client_secret, form-url-encoded (RFC 6749 §2.3.1)' },
        bearerToken: { type: 'http', scheme: 'bearer', description: 'An access token (RFC 6750 §2.1)' },
      },
    },
  };
}

function operation(surface: Surface, route: SurfaceRoute): Record<string, unknown> {
  const op: Record<string, unknown> = { operationId: `${surface.name}_${route.endpoint}`, tags: [surface.name], summary: route.summary };
  if (route.endpoint === 'authorization') {
    const optional = ['state', 'scope', 'resource', ...(surface.profile.pkceOptionalForConfidential ? ['code_challenge', 'code_challenge_method'] : [])];
    op.parameters = [
      ...AUTHORIZE_PARAMETERS.map((name) => ({
        name,
        in: 'query',
        required: !optional.includes(name),
        schema: parameterSchema(route, name, false),
        ...(name === 'resource' ? { description: PARAMETER_DOCS.resource, explode: true } : {}),
      })),
      {
        name: 'request_uri',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description:
          'RFC 9126 §4: a request_uri from the pushed authorization request endpoint, sent with client_id; the pushed request is used and every other parameter is ignored',
      },
      ...Object.entries(OPENID_AUTHORIZE_PARAMETERS).map(([name, description]) => ({
        name,
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description,
      })),
    ];
    op.responses = {
      '303': { description: 'To the login or consent page, or back to redirect_uri with code, state and iss (RFC 9207)' },
      '400': {
        description: 'An error page: unknown client, unregistered redirect_uri or bad parameters',
        content: { 'text/html': { schema: { type: 'string' } } },
      },
      '503': { description: 'Outside working hours', headers: retryAfter(), content: { 'text/html': { schema: { type: 'string' } } } },
    };
    return op;
  }
  if (route.endpoint === 'token_info') {
    op.security = [{ bearerToken: [] }, {}];
    op.parameters = [
      { name: 'access_token', in: 'query', required: false, schema: { type: 'string' }, description: 'The token, unless sent as Authorization: Bearer' },
      { name: 'Authorization', in: 'header', required: false, schema: { type: 'string', pattern: '^Bearer ' } },
    ];
  } else {
    // Client credentials go in the body or in HTTP Basic; a jwt-bearer grant needs neither.
    op.security = [{ clientSecretBasic: [] }, {}];
    const schema = requestSchema(surface, route);
    op.requestBody = { required: true, content: Object.fromEntries(route.encodings.map((e) => [MEDIA[e], { schema }])) };
  }
  // RFC 9126 §2.2: a pushed request is answered 201 Created.
  const success = route.endpoint === 'pushed_authorization' ? '201' : '200';
  op.responses = {
    [success]: { description: 'Success', content: { 'application/json': { schema: successSchema(surface, route) } } },
    ...errorResponses(surface),
  };
  return op;
}

/** The parameters a route reads: a token route, those of its profile's grants only. */
function routeParameters(surface: Surface, route: SurfaceRoute): string[] {
  if (route.endpoint === 'device_authorization') return DEVICE_AUTHORIZATION_PARAMETERS;
  // RFC 9126 §2.1: an authorization request, with the client's credentials.
  if (route.endpoint === 'pushed_authorization')
    return [...new Set([...AUTHORIZE_PARAMETERS, ...Object.keys(OPENID_AUTHORIZE_PARAMETERS), ...CLIENT_AUTH_PARAMETERS])];
  if (route.endpoint !== 'token') return LOOKUP_PARAMETERS;
  const fromGrants = surface.profile.grantTypes.flatMap((g) => Object.keys(GRANT_PARAMETERS.get(g) ?? {}));
  return [...new Set(['grant_type', ...CLIENT_AUTH_PARAMETERS, ...fromGrants])];
}

/** The description a grant of the surface gives a parameter it reads. */
function grantParameterDoc(surface: Surface, name: string): string | undefined {
  for (const grantType of surface.profile.grantTypes) {
    const parameter = GRANT_PARAMETERS.get(grantType)?.[name];
    if (parameter) return parameter.description;
  }
  return undefined;
}

function requestSchema(surface: Surface, route: SurfaceRoute): JsonSchema {
  const aliases = Object.entries({ ...surface.profile.requestAliases, ...surface.settings.requestAliases });
  const properties: Record<string, JsonSchema> = {};
  for (const name of routeParameters(surface, route)) {
    if (route.endpoint === 'token' && name === 'grant_type') properties[name] = { type: 'string', enum: [...surface.profile.grantTypes] };
    else
      properties[name] = {
        ...parameterSchema(route, name, true),
        description: PARAMETER_DOCS[name] ?? OPENID_AUTHORIZE_PARAMETERS[name] ?? grantParameterDoc(surface, name),
      };
  }
  for (const [alias, canonical] of aliases) properties[alias] = { type: 'string', description: `Same as ${canonical}` };
  // A required field may come under any of its names.
  const allOf = route.required.map((name) => {
    const names = [name, ...aliases.filter(([, c]) => c === name).map(([a]) => a)];
    return names.length === 1 ? { required: names } : { anyOf: names.map((n) => ({ required: [n] })) };
  });
  return { type: 'object', properties, ...(allOf.length > 0 ? { allOf } : {}) };
}

function successSchema(surface: Surface, route: SurfaceRoute): JsonSchema {
  const { schemas } = surface.profile;
  if (route.endpoint === 'revocation') return { type: 'object', maxProperties: 0 };
  if (route.endpoint === 'introspection') return INTROSPECTION_SCHEMA;
  if (route.endpoint === 'pushed_authorization') return PUSHED_AUTHORIZATION_SCHEMA;
  if (route.endpoint === 'token_info') return schemas.tokenInfo ?? { type: 'object' };
  if (route.endpoint === 'device_authorization') return DEVICE_AUTHORIZATION_SCHEMA;
  return renamed(schemas.token, surface.settings.responseFields);
}

/** The token schema with the surface's renamed response fields. */
function renamed(schema: JsonSchema, renames: Readonly<Record<string, string>>): JsonSchema {
  if (Object.keys(renames).length === 0) return schema;
  const properties = Object.fromEntries(Object.entries(schema.properties as Record<string, JsonSchema>).map(([k, v]) => [renames[k] ?? k, v]));
  const required = (schema.required as string[]).map((k) => renames[k] ?? k);
  return { ...schema, properties, required };
}

function errorResponses(surface: Surface): Record<string, unknown> {
  const statuses = new Set([...surface.profile.schemas.errorStatuses, ...Object.values(surface.settings.statusMap)]);
  const responses: Record<string, unknown> = {};
  for (const status of [...statuses].sort()) {
    responses[String(status)] = {
      description: status === 503 ? 'Outside working hours' : `Error (${status})`,
      ...(status === 429 || status === 503 ? { headers: retryAfter() } : {}),
      content: { 'application/json': { schema: surface.profile.schemas.error } },
    };
  }
  return responses;
}

const retryAfter = () => ({ 'Retry-After': { description: 'Seconds until the request may be retried', schema: { type: 'integer', minimum: 1 } } });

/** GET /envs/:env/openapi.json: the OpenAPI document of that environment's surfaces. */
export async function openApiRoutes(
  app: FastifyInstance,
  options: { surfaces: readonly Surface[]; environments: EnvironmentResolver; publicBase: string },
): Promise<void> {
  const { surfaces, environments, publicBase } = options;
  app.setErrorHandler(documentErrorHandler);
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.openapi.path, async (request, reply) => {
    const { env } = await environments.resolve(request.params.env);
    reply.header('cache-control', 'public, max-age=300');
    return openApiDocument(surfaces, env.name, publicBase);
  });
}
