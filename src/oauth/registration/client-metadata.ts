import type { RegistrationPolicy } from '../../domain/registration.ts';
import { OAuthError } from '../errors.ts';
import { grantRuleViolation } from '../grants/index.ts';
import { isValidScopeToken } from '../scope.ts';
import { checkRegisteredRedirectUri } from './redirect-uris.ts';

/** RFC 7591 §2 `token_endpoint_auth_method` values Gatehouse supports. */
export const REGISTRATION_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type RegistrationAuthMethod = (typeof REGISTRATION_AUTH_METHODS)[number];

/** Grant types a registered client may be allowed (those a client, not a service account, can hold). */
export const REGISTRATION_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'] as const;

/**
 * The client metadata Gatehouse registers (RFC 7591 §2), as it answers them (§3.2.1). Fields it
 * does not understand are ignored (§2), so they are neither stored nor echoed.
 */
export interface RegisteredMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method: RegistrationAuthMethod;
  grant_types: string[];
  response_types: string[];
  scope: string;
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  tos_uri?: string;
  policy_uri?: string;
  contacts?: string[];
  software_id?: string;
  software_version?: string;
  jwks?: { keys: Record<string, unknown>[] };
}

const invalid = (description: string, parameter?: string) =>
  new OAuthError('invalid_client_metadata', description, parameter === undefined ? {} : { parameter });

const URI_FIELDS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const;
const TEXT_FIELDS = ['client_name', 'software_id', 'software_version'] as const;

/**
 * Validates a registration request's metadata against RFC 7591 §2 and the environment's policy,
 * filling defaults and substituting what the policy decides (§3.2.1 lets the server replace
 * requested values). Throws `invalid_redirect_uri` or `invalid_client_metadata` with a
 * description naming the field.
 */
export function checkClientMetadata(input: Record<string, unknown>, policy: RegistrationPolicy): RegisteredMetadata {
  const method = authMethod(input.token_endpoint_auth_method, policy);
  const grantTypes = stringList(input.grant_types, 'grant_types') ?? ['authorization_code'];
  const responseTypes = stringList(input.response_types, 'response_types') ?? (grantTypes.includes('authorization_code') ? ['code'] : []);
  checkGrantConsistency(grantTypes, responseTypes, method, policy);
  const publicClient = method === 'none';
  const redirectUris = (stringList(input.redirect_uris, 'redirect_uris', true) ?? []).map((uri) => checkRegisteredRedirectUri(uri, publicClient));
  const problem = grantRuleViolation(publicClient ? 'public' : 'confidential', grantTypes, redirectUris);
  if (problem !== undefined) {
    const redirect = problem.includes('redirect URI');
    if (redirect) throw new OAuthError('invalid_redirect_uri', 'redirect_uris is required with the authorization_code grant (RFC 7591 §2)');
    throw invalid(problem, 'grant_types');
  }
  const metadata: RegisteredMetadata = {
    redirect_uris: unique(redirectUris),
    token_endpoint_auth_method: method,
    grant_types: unique(grantTypes),
    response_types: unique(responseTypes),
    scope: scopeOf(input.scope, policy).join(' '),
  };
  for (const field of TEXT_FIELDS) {
    const value = text(input[field], field, 200);
    if (value !== undefined) metadata[field] = value;
  }
  for (const field of URI_FIELDS) {
    const value = webUri(input[field], field);
    if (value !== undefined) metadata[field] = value;
  }
  const contacts = stringList(input.contacts, 'contacts');
  if (contacts) {
    if (contacts.length > 20 || contacts.some((c) => c.length === 0 || c.length > 320))
      throw invalid('contacts holds at most 20 non-empty strings', 'contacts');
    metadata.contacts = contacts;
  }
  const jwks = keySet(input, method);
  if (jwks) metadata.jwks = jwks;
  return metadata;
}

function authMethod(value: unknown, policy: RegistrationPolicy): RegistrationAuthMethod {
  if (value === undefined) {
    // RFC 7591 §2: the default is client_secret_basic; when the policy refuses it, §3.2.1 lets
    // the server substitute an allowed method, which the response names.
    const allowed = policy.allowedAuthMethods;
    return (allowed.includes('client_secret_basic') ? 'client_secret_basic' : (allowed[0] ?? 'none')) as RegistrationAuthMethod;
  }
  if (typeof value !== 'string' || !(REGISTRATION_AUTH_METHODS as readonly string[]).includes(value)) {
    throw invalid(`token_endpoint_auth_method must be one of ${REGISTRATION_AUTH_METHODS.join(', ')}`, 'token_endpoint_auth_method');
  }
  if (!policy.allowedAuthMethods.includes(value)) {
    throw invalid(
      `token_endpoint_auth_method ${value} is not allowed here (allowed: ${policy.allowedAuthMethods.join(', ') || 'none'})`,
      'token_endpoint_auth_method',
    );
  }
  return value as RegistrationAuthMethod;
}

/** RFC 7591 §2.1: grant types and response types must agree; every grant must be allowed. */
function checkGrantConsistency(grantTypes: string[], responseTypes: string[], method: RegistrationAuthMethod, policy: RegistrationPolicy): void {
  const refused = grantTypes.find((g) => !policy.allowedGrantTypes.includes(g));
  if (refused !== undefined) throw invalid(`grant type ${refused} is not allowed here (allowed: ${policy.allowedGrantTypes.join(', ')})`, 'grant_types');
  const badResponse = responseTypes.find((r) => r !== 'code');
  if (badResponse !== undefined) throw invalid(`response type ${badResponse} is not supported (only code)`, 'response_types');
  if (grantTypes.includes('authorization_code') !== responseTypes.includes('code')) {
    throw invalid('grant_types authorization_code and response_types code go together (RFC 7591 §2.1)', 'response_types');
  }
  if (grantTypes.includes('client_credentials') && method === 'none') throw invalid('client_credentials needs a client that authenticates', 'grant_types');
}

function scopeOf(value: unknown, policy: RegistrationPolicy): string[] {
  // RFC 7591 §2: when omitted the server may register a default set: every scope the policy allows.
  if (value === undefined) return [...policy.allowedScopes];
  if (typeof value !== 'string') throw invalid('scope is a space-separated string', 'scope');
  const scopes = unique(value.split(' ').filter((s) => s !== ''));
  const bad = scopes.find((s) => !isValidScopeToken(s));
  if (bad !== undefined) throw invalid(`invalid scope ${JSON.stringify(bad)}`, 'scope');
  const outside = scopes.filter((s) => !policy.allowedScopes.includes(s));
  if (outside.length > 0) throw invalid(`scope not allowed for registered clients: ${outside.join(' ')}`, 'scope');
  return scopes;
}

/** RFC 7591 §2: `jwks` (by value) for private_key_jwt; `jwks_uri` is not fetched, and both at once are refused. */
function keySet(input: Record<string, unknown>, method: RegistrationAuthMethod): { keys: Record<string, unknown>[] } | undefined {
  if (input.jwks !== undefined && input.jwks_uri !== undefined) throw invalid('jwks and jwks_uri must not both be present (RFC 7591 §2)', 'jwks');
  if (input.jwks_uri !== undefined) throw invalid('jwks_uri is not supported: register the public keys by value in jwks', 'jwks_uri');
  if (input.jwks === undefined) {
    if (method === 'private_key_jwt') throw invalid('private_key_jwt needs the public keys in jwks', 'jwks');
    return undefined;
  }
  const jwks = input.jwks as { keys?: unknown };
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys) || jwks.keys.length === 0 || jwks.keys.length > 10) {
    throw invalid('jwks is a JWK Set with 1 to 10 keys', 'jwks');
  }
  for (const key of jwks.keys as unknown[]) {
    if (typeof key !== 'object' || key === null) throw invalid('each key of jwks is a JSON object', 'jwks');
    const jwk = key as Record<string, unknown>;
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 200) throw invalid('each key of jwks needs a kid', 'jwks');
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw invalid('jwks must hold public keys only', 'jwks');
  }
  if (method !== 'private_key_jwt') throw invalid('jwks is only registered with token_endpoint_auth_method private_key_jwt', 'jwks');
  return { keys: jwks.keys as Record<string, unknown>[] };
}

function stringList(value: unknown, field: string, required = false): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string') || value.length > 50) {
    const error = `${field} is an array of at most 50 strings`;
    throw field === 'redirect_uris' ? new OAuthError('invalid_redirect_uri', error) : invalid(error, field);
  }
  if (required && value.length === 0) return [];
  return value as string[];
}

function text(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) throw invalid(`${field} is a string of 1 to ${max} characters`, field);
  return value;
}

/** A URL shown to users (RFC 7591 §2 `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`): https only. */
function webUri(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 2000) throw invalid(`${field} is an https URL`, field);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${field} is not an absolute URL`, field);
  }
  if (url.protocol !== 'https:') throw invalid(`${field} must be an https URL`, field);
  return value;
}

const unique = (values: readonly string[]): string[] => [...new Set(values)];
