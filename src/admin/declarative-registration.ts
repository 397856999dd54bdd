import { defaultRegistrationPolicy, REGISTRATION_MODES, type TrustedStatementIssuer } from '../domain/registration.ts';
import { AdminError } from './admin-error.ts';
import type { RegistrationPolicyChanges, RegistrationPolicyView } from './registration-policy.ts';

/** An environment's declared registration policy (RFC 7591): every field, undeclared ones at their default. */
export type DeclaredRegistration = Required<RegistrationPolicyChanges>;

const FIELDS = [
  'mode',
  'allowed_scopes',
  'allowed_apis',
  'allowed_grant_types',
  'allowed_auth_methods',
  'max_access_token_ttl',
  'unused_client_days',
  'software_statement_issuers',
  'require_software_statement',
  'source_limit_per_hour',
] as const;

const refuse = (path: string, problem: string) => new AdminError('invalid_argument', `${path}: ${problem}`);

function strings(value: unknown, path: string, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw refuse(path, 'must be a list of strings');
  return value as string[];
}

function whole(value: unknown, path: string, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  if (value !== null && (typeof value !== 'number' || !Number.isSafeInteger(value))) throw refuse(path, 'must be a whole number or null');
  return value as number | null;
}

/**
 * The `registration` block of a declared environment: the policy as a whole (an undeclared field
 * is its default, so the file says all there is). The values themselves are checked by the
 * policy service when applied, as on every other path.
 */
export function parseDeclaredRegistration(value: unknown, path: string): DeclaredRegistration | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(path, 'must be an object');
  const f = value as Record<string, unknown>;
  const unknown = Object.keys(f).find((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown !== undefined) throw refuse(`${path}.${unknown}`, `unknown field (known: ${FIELDS.join(', ')})`);
  const d = defaultRegistrationPolicy('');
  if (typeof f.mode !== 'string' || !REGISTRATION_MODES.includes(f.mode as never))
    throw refuse(`${path}.mode`, `must be one of ${REGISTRATION_MODES.join(', ')}`);
  const flag = f.require_software_statement;
  if (flag !== undefined && typeof flag !== 'boolean') throw refuse(`${path}.require_software_statement`, 'must be true or false');
  const issuers = f.software_statement_issuers;
  if (issuers !== undefined && !Array.isArray(issuers)) throw refuse(`${path}.software_statement_issuers`, 'must be a list');
  return {
    mode: f.mode as DeclaredRegistration['mode'],
    allowedScopes: strings(f.allowed_scopes, `${path}.allowed_scopes`, d.allowedScopes),
    allowedApis: strings(f.allowed_apis, `${path}.allowed_apis`, d.allowedApis),
    allowedGrantTypes: strings(f.allowed_grant_types, `${path}.allowed_grant_types`, d.allowedGrantTypes),
    allowedAuthMethods: strings(f.allowed_auth_methods, `${path}.allowed_auth_methods`, d.allowedAuthMethods),
    maxAccessTokenTtl: whole(f.max_access_token_ttl, `${path}.max_access_token_ttl`, d.maxAccessTokenTtl),
    unusedClientDays: whole(f.unused_client_days, `${path}.unused_client_days`, d.unusedClientDays),
    softwareStatementIssuers: (issuers as TrustedStatementIssuer[] | undefined) ?? d.softwareStatementIssuers,
    requireSoftwareStatement: flag ?? d.requireSoftwareStatement,
    sourceLimitPerHour: whole(f.source_limit_per_hour, `${path}.source_limit_per_hour`, d.sourceLimitPerHour) ?? d.sourceLimitPerHour,
  };
}

/** The fields of the current policy the declared one changes, as [field, from, to]. */
export function registrationDifferences(declared: DeclaredRegistration, current: RegistrationPolicyView | undefined): Array<[string, unknown, unknown]> {
  const d = declared;
  const c = current;
  return [
    ['registration.mode', c?.mode, d.mode],
    ['registration.allowed_scopes', c?.allowed_scopes, d.allowedScopes],
    ['registration.allowed_apis', c?.allowed_apis, d.allowedApis],
    ['registration.allowed_grant_types', c?.allowed_grant_types, d.allowedGrantTypes],
    ['registration.allowed_auth_methods', c?.allowed_auth_methods, d.allowedAuthMethods],
    ['registration.max_access_token_ttl', c?.max_access_token_ttl, d.maxAccessTokenTtl],
    ['registration.unused_client_days', c?.unused_client_days, d.unusedClientDays],
    ['registration.software_statement_issuers', c?.software_statement_issuers, d.softwareStatementIssuers],
    ['registration.require_software_statement', c?.require_software_statement, d.requireSoftwareStatement],
    ['registration.source_limit_per_hour', c?.source_limit_per_hour, d.sourceLimitPerHour],
  ];
}

/** What `plan` and `apply` call for registration policies: the policy service, or the admin API. */
export interface RegistrationTarget {
  get(env: string): Promise<RegistrationPolicyView>;
  set(env: string, changes: RegistrationPolicyChanges): Promise<RegistrationPolicyView>;
}
