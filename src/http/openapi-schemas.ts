// The parameter lists, media types and response schemas the OpenAPI documents are built from.

import { GRANT_MODULES, type GrantParameter, RESOURCE_PARAMETER } from '../oauth/grants/index.ts';
import type { BodyEncoding, JsonSchema } from '../surfaces/profile.ts';

export const MEDIA: Record<BodyEncoding, string> = {
  form: 'application/x-www-form-urlencoded',
  json: 'application/json',
  multipart: 'multipart/form-data',
};

// Every request parameter client authentication, revocation or introspection reads (all strings on the
// wire); each grant's own come from its module.
export const PARAMETER_DOCS: Record<string, string> = {
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

export const CLIENT_AUTH_PARAMETERS = ['client_id', 'client_secret', 'client_assertion_type', 'client_assertion'];
export const LOOKUP_PARAMETERS = ['token', 'token_type_hint', ...CLIENT_AUTH_PARAMETERS];
/** RFC 8628 §3.1: what the device authorization endpoint reads. */
export const DEVICE_AUTHORIZATION_PARAMETERS = ['scope', 'resource', ...CLIENT_AUTH_PARAMETERS];

/** RFC 8628 §3.2 device authorization response. */
export const DEVICE_AUTHORIZATION_SCHEMA: JsonSchema = {
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
export const GRANT_PARAMETERS: ReadonlyMap<string, Readonly<Record<string, GrantParameter>>> = new Map(GRANT_MODULES.map((m) => [m.grantType, m.parameters]));

export const INTROSPECTION_SCHEMA: JsonSchema = {
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
export const PUSHED_AUTHORIZATION_SCHEMA: JsonSchema = {
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

export const AUTHORIZE_PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'resource'];

/** OpenID Connect Core §3.1.2.1 authentication request parameters: read when `scope` includes `openid`. */
export const OPENID_AUTHORIZE_PARAMETERS: Record<string, string> = {
  nonce: 'Given back in the ID Token (OpenID Connect Core §3.1.2.1)',
  prompt: 'Space-separated: none, login, consent, select_account; none alone',
  max_age: 'Seconds since the last sign-in after which the user signs in again',
  id_token_hint: 'An ID Token this issuer gave the client: the user expected to be signed in',
  login_hint: 'Pre-fills the username on the login page',
  ui_locales: 'Space-separated BCP 47 language tags, preferred first',
  acr_values: 'urn:gatehouse:acr:mfa asks for two factors (a step-up when the session has one); urn:gatehouse:acr:password for one',
};

/** RP-Initiated Logout 1.0 §2 parameters of the end-session endpoint. */
export const END_SESSION_PARAMETERS: Record<string, string> = {
  id_token_hint: 'An ID Token this issuer gave the client (it may have expired)',
  logout_hint: 'Accepted; the session is chosen by its cookie',
  client_id: 'The client asking; must be in the hint’s aud when both are given',
  post_logout_redirect_uri: 'Where to go afterwards: one registered for the client',
  state: 'Given back on the redirect to post_logout_redirect_uri',
  ui_locales: 'Space-separated BCP 47 language tags, preferred first',
};

// The surface that serves Gatehouse's own endpoints, OpenID Connect's among them.
export const STANDARD_SURFACE = 'standard';

export const HTML_PAGE = { 'text/html': { schema: { type: 'string' } } };
export const BEARER_CHALLENGE = {
  'WWW-Authenticate': { description: 'Bearer, with error and error_description (RFC 6750 §3)', schema: { type: 'string' } },
};
export const USERINFO_SCHEMA: JsonSchema = {
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
export const ERROR_BODY: JsonSchema = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, error_description: { type: 'string' } } };
