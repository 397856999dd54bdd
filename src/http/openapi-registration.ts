import { ERROR_BODY } from './openapi-schemas.ts';

/** RFC 7591 §2 client metadata: the fields Gatehouse reads; others are ignored (§2). */
const CLIENT_METADATA = {
  type: 'object',
  properties: {
    redirect_uris: { type: 'array', items: { type: 'string' }, description: 'https, or loopback / private-use schemes for native apps (RFC 8252 §7)' },
    token_endpoint_auth_method: { type: 'string', enum: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] },
    grant_types: { type: 'array', items: { type: 'string' } },
    response_types: { type: 'array', items: { type: 'string' } },
    client_name: { type: 'string' },
    client_uri: { type: 'string' },
    logo_uri: { type: 'string' },
    scope: { type: 'string', description: 'Space-separated; within the environment’s registration policy' },
    contacts: { type: 'array', items: { type: 'string' } },
    tos_uri: { type: 'string' },
    policy_uri: { type: 'string' },
    jwks: { type: 'object', description: 'The client’s public keys, for private_key_jwt (jwks_uri is not accepted)' },
    software_id: { type: 'string' },
    software_version: { type: 'string' },
    software_statement: { type: 'string', description: 'A JWT signed by an issuer the operator trusts (RFC 7591 §2.3)' },
  },
};

/** RFC 7591 §3.2.1 and RFC 7592 §3: the registered metadata with the credentials to manage it. */
const REGISTRATION_RESPONSE = {
  type: 'object',
  required: ['client_id', 'registration_access_token', 'registration_client_uri'],
  properties: {
    ...CLIENT_METADATA.properties,
    client_id: { type: 'string' },
    client_secret: { type: 'string', description: 'Confidential clients only; shown at registration only' },
    client_id_issued_at: { type: 'integer' },
    client_secret_expires_at: { type: 'integer', description: '0: does not expire' },
    registration_access_token: { type: 'string', description: 'Bearer token for the client configuration endpoint; replaced at each PUT' },
    registration_client_uri: { type: 'string' },
  },
};

const json = (schema: unknown) => ({ 'application/json': { schema } });
const REFUSALS = {
  '400': {
    description: 'invalid_redirect_uri, invalid_client_metadata, invalid_software_statement or unapproved_software_statement (RFC 7591 §3.2.2)',
    content: json(ERROR_BODY),
  },
  '404': { description: 'The environment has not enabled registration', content: json(ERROR_BODY) },
};
const MANAGED = { '401': { description: 'A missing or wrong registration access token (RFC 7592 §2)', content: json(ERROR_BODY) } };
const CLIENT_ID = [{ name: 'client_id', in: 'path', required: true, schema: { type: 'string' } }];
const TAG = ['registration'];

/**
 * Dynamic Client Registration (RFC 7591 §3) and its management (RFC 7592 §2) under an issuer;
 * whether an environment answers them is its registration policy (mode off: 404).
 */
export function registrationPaths(issuerPath: string): Record<string, Record<string, unknown>> {
  return {
    [`${issuerPath}/register`]: {
      post: {
        operationId: 'register_client',
        tags: TAG,
        summary: 'Registers a client (RFC 7591 §3.1); an initial access token as Bearer when the policy asks for one',
        security: [{}, { bearerToken: [] }],
        requestBody: { required: true, content: json(CLIENT_METADATA) },
        responses: {
          '201': { description: 'The client, registered', content: json(REGISTRATION_RESPONSE) },
          ...REFUSALS,
          '429': { description: 'Too many registrations from this source', content: json(ERROR_BODY) },
        },
      },
    },
    [`${issuerPath}/register/{client_id}`]: {
      get: {
        operationId: 'read_client_registration',
        tags: TAG,
        summary: 'Reads the registration (RFC 7592 §2.1)',
        security: [{ bearerToken: [] }],
        parameters: CLIENT_ID,
        responses: { '200': { description: 'The registered metadata', content: json(REGISTRATION_RESPONSE) }, ...MANAGED, '404': REFUSALS['404'] },
      },
      put: {
        operationId: 'update_client_registration',
        tags: TAG,
        summary: 'Replaces the registration (RFC 7592 §2.2): fields left out are removed',
        security: [{ bearerToken: [] }],
        parameters: CLIENT_ID,
        requestBody: { required: true, content: json(CLIENT_METADATA) },
        responses: {
          '200': { description: 'The metadata now registered, with a new registration access token', content: json(REGISTRATION_RESPONSE) },
          ...REFUSALS,
          ...MANAGED,
        },
      },
      delete: {
        operationId: 'delete_client_registration',
        tags: TAG,
        summary: 'Deletes the client (RFC 7592 §2.3)',
        security: [{ bearerToken: [] }],
        parameters: CLIENT_ID,
        responses: { '204': { description: 'Deleted; its tokens no longer work' }, ...MANAGED, '404': REFUSALS['404'] },
      },
    },
  };
}
