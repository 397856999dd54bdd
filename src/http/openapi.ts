import type { FastifyInstance } from 'fastify';
import { ENDPOINTS, GATEHOUSE_ROUTES, ISSUER_ROUTE, OPENID_PATHS } from '../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';
import { GRANT_MODULES, type GrantParameter, RESOURCE_PARAMETER } from '../oauth/grants/index.ts';
import type { BodyEncoding, JsonSchema } from '../surfaces/profile.ts';
import type { Surface, SurfaceRoute } from '../surfaces/surface.ts';
import { documentErrorHandler } from './routes/discovery-routes.ts';

const MEDIA: Record<BodyEncoding, string> = {
  form: 'application/x-www-form-urlencoded',
  json: 'application/json',
  multipart: 'multipart/form-data',
};

// Every request parameter client authentication, revocation or introspection reads (all strings on the
// wire); each grant's own come from its module.
const PARAMETER_DOCS: Record<string, string> = {
  grant_type: 'The grant type',
  client_id: 'The client id',
  client_secret: 'The client secret',
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer (RFC 7523 §2.2)',
  client_assertion: 'A JWT signed with a key Gatehouse generated for the client',
  token: 'The token to revoke or introspect',
  token_type_hint: 'access_token or refresh_token',
  resource: RESOURCE_PARAMETER.description,
  scope: 'Space-separated scopes',
};

const CLIENT_AUTH_PARAMETERS = ['client_id', 'client_secret', 'client_assertion_type', 'client_assertion'];
const LOOKUP_PARAMETERS = ['token', 'token_type_hint', ...CLIENT_AUTH_PARAMETERS];
/** RFC 8628 §3.1: what the device authorization endpoint reads. */
const DEVICE_AUTHORIZATION_PARAMETERS = ['scope', 'resource', ...CLIENT_AUTH_PARAMETERS];

/** RFC 8628 §3.2 device authorization response. */
const DEVICE_AUTHORIZATION_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'expires_in', 'interval'],
  properties: {
    device_code: { type: 'string', description: 'The device code the device polls the token endpoint with' },
    user_code: { type: 'string', pattern: '^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$', description: 'The code the user enters' },
    verification_uri: { type: 'string', format: 'uri' },
    verification_uri_complete: { type: 'string', format: 'uri' },
    expires_in: { type: 'integer', minimum: 1 },
    interval: { type: 'integer', minimum: 1 },
  },
  additionalProperties: false,
};

/** The parameters a grant reads, by grant type, with their description (from each grant's module). */
const GRANT_PARAMETERS: ReadonlyMap<string, Readonly<Record<string, GrantParameter>>> = new Map(GRANT_MODULES.map((m) => [m.grantType, m.parameters]));

const INTROSPECTION_SCHEMA: JsonSchema = {
  oneOf: [
    { type: 'object', required: ['active'], properties: { active: { const: false } }, additionalProperties: false },
    {
      type: 'object',
      required: ['active', 'scope', 'client_id', 'token_type', 'exp', 'iat', 'sub', 'iss', 'jti'],
      properties: {
        active: { const: true },
        scope: { type: 'string' },
        client_id: { type: 'string' },
        token_type: { enum: ['Bearer', 'DPoP'] },
        exp: { type: 'integer' },
        iat: { type: 'integer' },
        sub: { type: 'string' },
        aud: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        iss: { type: 'string' },
        jti: { type: 'string' },
        // RFC 8693 §4.1: the actor, and in `act` the one before it in a chain of exchanges.
        act: {
          type: 'object',
          required: ['sub'],
          properties: { sub: { type: 'string' }, act: { type: 'object', description: 'The actor before this one, nested the same way' } },
          description: 'Who acts for the subject (RFC 8693 §4.1)',
        },
        cnf: { type: 'object', required: ['jkt'], properties: { jkt: { type: 'string' } }, description: 'The DPoP key the token is bound to (RFC 9449 §6.2)' },
        acr: { type: 'string', description: 'How the user signed in: the authentication context class (OpenID Connect Core §2)' },
        amr: { type: 'array', items: { type: 'string' }, description: 'The authentication methods of the sign-in (RFC 8176)' },
      },
      additionalProperties: false,
    },
  ],
};

/** RFC 9126 §2.2 success response. */
const PUSHED_AUTHORIZATION_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    request_uri: {
      type: 'string',
      pattern: '^urn:ietf:params:oauth:request_uri:',
      description: 'Send it to the authorization endpoint with client_id (RFC 9126 §4); usable once',
    },
    expires_in: { type: 'integer', minimum: 1, description: 'Seconds the request_uri may be used' },
  },
  required: ['request_uri', 'expires_in'],
  additionalProperties: false,
};

const AUTHORIZE_PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'resource'];

/** OpenID Connect Core §3.1.2.1 authentication request parameters: read when `scope` includes `openid`. */
const OPENID_AUTHORIZE_PARAMETERS: Record<string, string> = {
  nonce: 'Given back in the ID Token (OpenID Connect Core §3.1.2.1)',
  prompt: 'Space-separated: none, login, consent, select_account; none alone',
  max_age: 'Seconds since the last sign-in after which the user signs in again',
  id_token_hint: 'An ID Token this issuer gave the client: the user expected to be signed in',
  login_hint: 'Pre-fills the username on the login page',
  ui_locales: 'Space-separated BCP 47 language tags, preferred first',
  acr_values: 'urn:gatehouse:acr:mfa asks for two factors (a step-up when the session has one); urn:gatehouse:acr:password for one',
};

/** RP-Initiated Logout 1.0 §2 parameters of the end-session endpoint. */
const END_SESSION_PARAMETERS: Record<string, string> = {
  id_token_hint: 'An ID Token this issuer gave the client (it may have expired)',
  logout_hint: 'Accepted; the session is chosen by its cookie',
  client_id: 'The client asking; must be in the hint’s aud when both are given',
  post_logout_redirect_uri: 'Where to go afterwards: one registered for the client',
  state: 'Given back on the redirect to post_logout_redirect_uri',
  ui_locales: 'Space-separated BCP 47 language tags, preferred first',
};

// The surface that serves Gatehouse's own endpoints, OpenID Connect's among them.
const STANDARD_SURFACE = 'standard';

const HTML_PAGE = { 'text/html': { schema: { type: 'string' } } };
const BEARER_CHALLENGE = {
  'WWW-Authenticate': { description: 'Bearer, with error and error_description (RFC 6750 §3)', schema: { type: 'string' } },
};
const USERINFO_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['sub'],
  properties: {
    sub: { type: 'string' },
    name: { type: 'string' },
    given_name: { type: 'string' },
    family_name: { type: 'string' },
    preferred_username: { type: 'string' },
    picture: { type: 'string' },
    locale: { type: 'string' },
    zoneinfo: { type: 'string' },
    updated_at: { type: 'integer' },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    phone_number: { type: 'string' },
    phone_number_verified: { type: 'boolean' },
    address: { type: 'object' },
  },
};
const ERROR_BODY: JsonSchema = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, error_description: { type: 'string' } } };

/** UserInfo, GET or POST (OpenID Connect Core §5.3.1). */
function userinfoOperation(method: 'get' | 'post'): Record<string, unknown> {
  return {
    operationId: `openid_userinfo_${method}`,
    tags: ['openid'],
    summary: 'UserInfo (OpenID Connect Core §5.3): the signed-in user’s claims for the granted scopes',
    security: [{ bearerToken: [] }],
    ...(method === 'post'
      ? {
          requestBody: {
            required: false,
            content: {
              [MEDIA.form]: {
                schema: {
                  type: 'object',
                  properties: { access_token: { type: 'string', description: 'The token, unless sent as Authorization: Bearer (RFC 6750 §2.2)' } },
                },
              },
            },
          },
        }
      : {}),
    responses: {
      '200': { description: 'sub and the claims of the granted scopes that the user has', content: { 'application/json': { schema: USERINFO_SCHEMA } } },
      '400': {
        description: 'A malformed request (RFC 6750 §3.1 invalid_request)',
        headers: BEARER_CHALLENGE,
        content: { 'application/json': { schema: ERROR_BODY } },
      },
      '401': {
        description: 'No token, or one that is invalid, expired, revoked or not for UserInfo',
        headers: BEARER_CHALLENGE,
        content: { 'application/json': { schema: ERROR_BODY } },
      },
      '403': {
        description: 'The token lacks the openid scope (insufficient_scope)',
        headers: BEARER_CHALLENGE,
        content: { 'application/json': { schema: ERROR_BODY } },
      },
    },
  };
}

/** The end-session endpoint, GET or POST (RP-Initiated Logout 1.0 §2). */
function endSessionOperation(method: 'get' | 'post'): Record<string, unknown> {
  const parameters = Object.entries(END_SESSION_PARAMETERS).map(([name, description]) => ({
    name,
    in: 'query',
    required: false,
    schema: { type: 'string' },
    description,
  }));
  return {
    operationId: `openid_end_session_${method}`,
    tags: ['openid'],
    summary: 'End-session endpoint (RP-Initiated Logout 1.0): ends the browser session, after a confirmation page without a matching id_token_hint',
    ...(method === 'get'
      ? { parameters }
      : {
          requestBody: {
            required: false,
            content: {
              [MEDIA.form]: {
                schema: { type: 'object', properties: Object.fromEntries(Object.keys(END_SESSION_PARAMETERS).map((n) => [n, { type: 'string' }])) },
              },
            },
          },
        }),
    responses: {
      '200': { description: 'The confirmation page, or the signed-out page', content: HTML_PAGE },
      '303': { description: 'Signed out: to post_logout_redirect_uri with state' },
      '400': { description: 'An error page: a bad id_token_hint, client_id or post_logout_redirect_uri', content: HTML_PAGE },
      '403': { description: 'The confirmation form’s CSRF token does not match the session', content: HTML_PAGE },
    },
  };
}

/** The OpenID Connect endpoints Gatehouse serves under an environment's issuer path (never a compatibility surface's). */
function openIdPaths(issuerPath: string): Record<string, Record<string, unknown>> {
  return {
    [`${issuerPath}${OPENID_PATHS.configuration}`]: {
      get: {
        operationId: 'openid_configuration',
        tags: ['openid'],
        summary: 'OpenID Provider configuration (OpenID Connect Discovery 1.0 §4): the same document as the RFC 8414 metadata',
        responses: { '200': { description: 'The configuration', content: { 'application/json': { schema: { type: 'object', required: ['issuer'] } } } } },
      },
    },
    // Core §3.1.2.1: the authorization endpoint takes POST too (its GET comes with the surface's routes).
    [`${issuerPath}${ENDPOINTS.authorization.path}`]: {
      post: {
        operationId: 'openid_authorize_post',
        tags: ['openid'],
        summary: 'Authorization endpoint, the request form-serialized (OpenID Connect Core §3.1.2.1); the same parameters and answers as GET',
        requestBody: {
          required: true,
          content: {
            [MEDIA.form]: {
              schema: {
                type: 'object',
                properties: Object.fromEntries([...AUTHORIZE_PARAMETERS, ...Object.keys(OPENID_AUTHORIZE_PARAMETERS)].map((n) => [n, { type: 'string' }])),
              },
            },
          },
        },
        responses: {
          '303': { description: 'To the login or consent page, or back to redirect_uri with code, state and iss (RFC 9207)' },
          '400': { description: 'An error page: unknown client, unregistered redirect_uri or bad parameters', content: HTML_PAGE },
          '415': { description: 'The body is not an HTML form', content: HTML_PAGE },
        },
      },
    },
    [`${issuerPath}${OPENID_PATHS.userinfo}`]: { get: userinfoOperation('get'), post: userinfoOperation('post') },
    [`${issuerPath}${OPENID_PATHS.endSession}`]: { get: endSessionOperation('get'), post: endSessionOperation('post') },
  };
}

const RESOURCE_VALUE: JsonSchema = { type: 'string', format: 'uri' };

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
      Object.assign(paths, openIdPaths(ISSUER_ROUTE.replace(':env', segment)));
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
      ...(openId ? [{ name: 'openid', description: 'OpenID Connect: UserInfo, discovery and logout' }] : []),
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
