import type { Clock } from '../domain/clock.ts';
import type { Client, ClientRegistrationKind, Environment } from '../domain/model.ts';
import {
  defaultRegistrationPolicy,
  REGISTRATION_MODES,
  type RegistrationMode,
  type RegistrationPolicy,
  type TrustedStatementIssuer,
} from '../domain/registration.ts';
import type { Store } from '../domain/storage.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { REGISTRATION_AUTH_METHODS, REGISTRATION_GRANT_TYPES } from '../oauth/registration/client-metadata.ts';
import { registrationEndpoint } from '../oauth/registration/registered-client.ts';
import { jwkAlgorithm } from '../oauth/registration/software-statement.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import { AdminError } from './admin-error.ts';
import type { AdminAudit } from './audit-trail.ts';
import type { AdminPolicy } from './policy.ts';
import { holdUnchanged } from './settings-guard.ts';

/** An environment's registration policy as the admin API, CLI and `apply` show it. */
export interface RegistrationPolicyView {
  environment: string;
  mode: RegistrationMode;
  /** RFC 7591 §3: the endpoint, or null while registration is off. */
  registration_endpoint: string | null;
  allowed_scopes: string[];
  allowed_apis: string[];
  allowed_grant_types: string[];
  allowed_auth_methods: string[];
  max_access_token_ttl: number | null;
  unused_client_days: number | null;
  software_statement_issuers: TrustedStatementIssuer[];
  require_software_statement: boolean;
  source_limit_per_hour: number;
}

/** What `setPolicy` may change; absent fields keep their value. */
export interface RegistrationPolicyChanges {
  mode?: RegistrationMode;
  allowedScopes?: string[];
  allowedApis?: string[];
  allowedGrantTypes?: string[];
  allowedAuthMethods?: string[];
  maxAccessTokenTtl?: number | null;
  unusedClientDays?: number | null;
  softwareStatementIssuers?: TrustedStatementIssuer[];
  requireSoftwareStatement?: boolean;
  sourceLimitPerHour?: number;
}

/** How a client came to be, in every client view: `dynamic` for RFC 7591 registrations. */
export interface ClientRegistrationView {
  registration?: ClientRegistrationKind;
}

export const clientRegistrationView = (client: Pick<Client, 'registration'>): ClientRegistrationView => ({ registration: client.registration ?? 'admin' });

const invalid = (message: string) => new AdminError('invalid_argument', message);

/** Each environment's RFC 7591 registration policy: off by default; every change is audited. */
export class RegistrationPolicyService {
  constructor(
    private readonly config: Pick<AdminPolicy, 'publicUrl' | 'maxAccessTokenTtl'>,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AdminAudit,
  ) {}

  async get(envName: string): Promise<RegistrationPolicyView> {
    const env = await environment(this.store, envName);
    return this.view(env, (await this.store.registrations.findPolicy(env.id)) ?? defaultRegistrationPolicy(env.id));
  }

  /**
   * `expect` sees the policy as read and may refuse (an admin's If-Match); the write then applies
   * only to that version, so a change made in between is never overwritten.
   */
  async set(envName: string, changes: RegistrationPolicyChanges, expect?: (current: RegistrationPolicyView) => void): Promise<RegistrationPolicyView> {
    const env = await environment(this.store, envName);
    const policyOf = async (store: Pick<Store, 'registrations'>) => (await store.registrations.findPolicy(env.id)) ?? defaultRegistrationPolicy(env.id);
    const current = await policyOf(this.store);
    expect?.(this.view(env, current));
    const next: RegistrationPolicy = { ...current, ...definedOnly(changes), updatedAt: Math.max(this.clock.now(), current.updatedAt + 1) };
    await this.check(env, next);
    const change = {
      type: 'environment.registration_policy_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ mode: next.mode, allowed_scopes: next.allowedScopes, allowed_grant_types: next.allowedGrantTypes }),
    } as const;
    const guard = { read: current, reread: policyOf, view: (p: RegistrationPolicy) => this.view(env, p), expect, what: 'the registration policy' };
    await this.audit.change(this.store, change, async (tx) => {
      await holdUnchanged(tx, env, guard);
      await tx.registrations.savePolicy(next);
    });
    return this.view(env, next);
  }

  private async check(env: Environment, policy: RegistrationPolicy): Promise<void> {
    if (!REGISTRATION_MODES.includes(policy.mode)) throw invalid(`registration mode must be one of ${REGISTRATION_MODES.join(', ')}`);
    const badScope = policy.allowedScopes.find((s) => !isValidScopeToken(s));
    if (badScope !== undefined) throw invalid(`invalid scope ${JSON.stringify(badScope)}`);
    const badGrant = policy.allowedGrantTypes.find((g) => !(REGISTRATION_GRANT_TYPES as readonly string[]).includes(g));
    if (badGrant !== undefined)
      throw invalid(`grant type ${badGrant} cannot be allowed to registered clients (allowed: ${REGISTRATION_GRANT_TYPES.join(', ')})`);
    const badMethod = policy.allowedAuthMethods.find((m) => !(REGISTRATION_AUTH_METHODS as readonly string[]).includes(m));
    if (badMethod !== undefined) throw invalid(`token endpoint auth method ${badMethod} is not supported (${REGISTRATION_AUTH_METHODS.join(', ')})`);
    if (policy.allowedAuthMethods.length === 0) throw invalid('allow at least one token endpoint auth method');
    for (const identifier of policy.allowedApis) {
      if (!(await this.store.apis.find(env.id, identifier))) throw invalid(`no API ${identifier} in environment ${env.name}`);
    }
    const ttl = policy.maxAccessTokenTtl;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > this.config.maxAccessTokenTtl)) {
      throw invalid(`max access-token lifetime must be 1..${this.config.maxAccessTokenTtl} seconds`);
    }
    const days = policy.unusedClientDays;
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) throw invalid('unused client days must be 1..3650');
    const limit = policy.sourceLimitPerHour;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw invalid('source limit per hour must be 1..100000');
    for (const trusted of policy.softwareStatementIssuers) checkIssuer(trusted);
    if (policy.requireSoftwareStatement && policy.softwareStatementIssuers.length === 0) {
      throw invalid('requiring software statements needs at least one trusted issuer');
    }
  }

  private view(env: Environment, policy: RegistrationPolicy): RegistrationPolicyView {
    return {
      environment: env.name,
      mode: policy.mode,
      registration_endpoint: policy.mode === 'off' ? null : registrationEndpoint(issuerUrls(this.config.publicUrl, env).issuer),
      allowed_scopes: policy.allowedScopes,
      allowed_apis: policy.allowedApis,
      allowed_grant_types: policy.allowedGrantTypes,
      allowed_auth_methods: policy.allowedAuthMethods,
      max_access_token_ttl: policy.maxAccessTokenTtl,
      unused_client_days: policy.unusedClientDays,
      software_statement_issuers: policy.softwareStatementIssuers,
      require_software_statement: policy.requireSoftwareStatement,
      source_limit_per_hour: policy.sourceLimitPerHour,
    };
  }
}

/** RFC 7591 §2.3: a trusted issuer has a name and public keys of a supported type, never private ones. */
function checkIssuer(trusted: TrustedStatementIssuer): void {
  if (typeof trusted.issuer !== 'string' || trusted.issuer.length === 0 || trusted.issuer.length > 500) throw invalid('a trusted issuer needs an issuer name');
  const keys = trusted.jwks?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw invalid(`trusted issuer ${trusted.issuer} needs a JWK Set with at least one key`);
  for (const key of keys) {
    if ('d' in key || 'k' in key) throw invalid(`trusted issuer ${trusted.issuer}: only public keys belong here`);
    if (!jwkAlgorithm(key)) throw invalid(`trusted issuer ${trusted.issuer}: keys are EC P-256, Ed25519 or RSA`);
  }
}

function definedOnly(changes: RegistrationPolicyChanges): Partial<RegistrationPolicy> {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as Partial<RegistrationPolicy>;
}

export async function environment(store: Pick<Store, 'environments'>, name: string): Promise<Environment> {
  const env = await store.environments.findByName(name);
  if (!env) throw new AdminError('not_found', `no environment named ${name}`);
  return env;
}
