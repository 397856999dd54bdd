import type { RegistrationServices } from '../admin/initial-access-tokens.ts';
import type { RegistrationPolicyChanges } from '../admin/registration-policy.ts';
import type { RegistrationMode, TrustedStatementIssuer } from '../domain/registration.ts';
import { ifMatches } from './http-semantics.ts';
import { Problem } from './problems.ts';
import { body, object, type Schema } from './schemas.ts';

const str: Schema = { type: 'string' };
const strings: Schema = { type: 'array', items: str };
const nullableInt: Schema = { type: ['integer', 'null'] };
const time: Schema = { type: 'string', format: 'date-time' };
const mode: Schema = { enum: ['off', 'open', 'initial_access_token'] };
const issuer: Schema = {
  type: 'object',
  properties: { issuer: str, jwks: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object' } } }, required: ['keys'] } },
  required: ['issuer', 'jwks'],
  additionalProperties: false,
};

const POLICY_FIELDS = {
  mode,
  allowed_scopes: strings,
  allowed_apis: strings,
  allowed_grant_types: strings,
  allowed_auth_methods: strings,
  max_access_token_ttl: nullableInt,
  unused_client_days: nullableInt,
  software_statement_issuers: { type: 'array', items: issuer },
  require_software_statement: { type: 'boolean' },
  source_limit_per_hour: { type: 'integer', minimum: 1 },
};

/** An environment's RFC 7591 registration policy. */
export const REGISTRATION_POLICY = object({ environment: str, registration_endpoint: { type: ['string', 'null'] }, ...POLICY_FIELDS });
export const UPDATE_REGISTRATION_POLICY = body(POLICY_FIELDS);
const TOKEN_FIELDS = { id: str, environment: str, description: str, uses_left: { type: 'integer' }, created_at: time, expires_at: time };
export const INITIAL_ACCESS_TOKEN = object(TOKEN_FIELDS);
export const INITIAL_ACCESS_TOKEN_CREATED = object({ ...TOKEN_FIELDS, token: str });
export const CREATE_INITIAL_ACCESS_TOKEN = body({
  description: { type: 'string', maxLength: 200 },
  expires_in: { type: 'integer', minimum: 60 },
  uses: { type: 'integer', minimum: 1 },
});

/** What a registration route reads of its request (a part of the admin API's route context). */
interface RegistrationRouteContext {
  services: { registration?: RegistrationServices | undefined };
  params: Record<string, string>;
  body: Record<string, unknown>;
  ifMatch: string | undefined;
}

/** An admin API route of this file, in the shape of the routes table (not imported from it: no import circle). */
interface RegistrationRoute {
  method: 'GET' | 'PATCH' | 'POST' | 'DELETE';
  path: string;
  operationId: string;
  summary: string;
  access: 'read' | 'write';
  body?: Schema;
  status: number;
  response: Schema;
  current?: (ctx: RegistrationRouteContext) => Promise<unknown>;
  etag?: boolean;
  run(ctx: RegistrationRouteContext): Promise<unknown>;
}

const ENV = '/environments/{env}';
const optional = <T>(value: unknown): T | undefined => (value === undefined ? undefined : (value as T));

const services = (ctx: RegistrationRouteContext): RegistrationServices => {
  if (!ctx.services.registration) throw new Problem('not-found', 'this node does not serve client registration settings');
  return ctx.services.registration;
};

/** The admin API body of a policy change, as the service takes it. */
export function policyChanges(b: Record<string, unknown>): RegistrationPolicyChanges {
  return {
    mode: optional<RegistrationMode>(b.mode),
    allowedScopes: optional<string[]>(b.allowed_scopes),
    allowedApis: optional<string[]>(b.allowed_apis),
    allowedGrantTypes: optional<string[]>(b.allowed_grant_types),
    allowedAuthMethods: optional<string[]>(b.allowed_auth_methods),
    maxAccessTokenTtl: optional<number | null>(b.max_access_token_ttl),
    unusedClientDays: optional<number | null>(b.unused_client_days),
    softwareStatementIssuers: optional<TrustedStatementIssuer[]>(b.software_statement_issuers),
    requireSoftwareStatement: optional<boolean>(b.require_software_statement),
    sourceLimitPerHour: optional<number>(b.source_limit_per_hour),
  };
}

/** RFC 7591 dynamic registration: each environment's policy and its initial access tokens. */
export const REGISTRATION_ROUTES: RegistrationRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/registration`,
    operationId: 'getRegistrationPolicy',
    summary: 'Read the dynamic client registration policy (RFC 7591)',
    access: 'read',
    status: 200,
    response: REGISTRATION_POLICY,
    etag: true,
    run: (ctx) => services(ctx).policies.get(ctx.params.env ?? ''),
  },
  {
    method: 'PATCH',
    path: `${ENV}/registration`,
    operationId: 'updateRegistrationPolicy',
    summary:
      'Change the dynamic client registration policy: mode (off, open, initial_access_token), allowed scopes, APIs, grant types and auth methods, lifetime cap, unused-client expiry, software statement issuers, per-source limit',
    access: 'write',
    body: UPDATE_REGISTRATION_POLICY,
    status: 200,
    response: REGISTRATION_POLICY,
    etag: true,
    current: (ctx) => services(ctx).policies.get(ctx.params.env ?? ''),
    run: (ctx) => services(ctx).policies.set(ctx.params.env ?? '', policyChanges(ctx.body), ifMatches(ctx.ifMatch)),
  },
  {
    method: 'GET',
    path: `${ENV}/initial-access-tokens`,
    operationId: 'listInitialAccessTokens',
    summary: 'List initial access tokens (RFC 7591 §3), without their values',
    access: 'read',
    status: 200,
    response: { type: 'array', items: INITIAL_ACCESS_TOKEN },
    run: (ctx) => services(ctx).initialAccessTokens.list(ctx.params.env ?? ''),
  },
  {
    method: 'POST',
    path: `${ENV}/initial-access-tokens`,
    operationId: 'createInitialAccessToken',
    summary: 'Create an initial access token (RFC 7591 §3); its value is shown only in this response',
    access: 'write',
    body: CREATE_INITIAL_ACCESS_TOKEN,
    status: 201,
    response: INITIAL_ACCESS_TOKEN_CREATED,
    run: (ctx) =>
      services(ctx).initialAccessTokens.create({
        env: ctx.params.env ?? '',
        description: optional<string>(ctx.body.description),
        expiresIn: optional<number>(ctx.body.expires_in),
        uses: optional<number>(ctx.body.uses),
      }),
  },
  {
    method: 'DELETE',
    path: `${ENV}/initial-access-tokens/{id}`,
    operationId: 'deleteInitialAccessToken',
    summary: 'Delete an initial access token',
    access: 'write',
    status: 200,
    response: object({ id: str, environment: str, deleted: { const: true } }),
    run: (ctx) => services(ctx).initialAccessTokens.delete(ctx.params.env ?? '', ctx.params.id ?? ''),
  },
];
