import type { Clock } from '../../domain/clock.ts';
import type { Store } from '../../domain/storage.ts';
import type { AccessTokenService } from '../access-tokens.ts';
import type { ApiDirectory } from '../apis.ts';
import type { AssertionVerifier } from '../assertions.ts';
import type { QuotaLimiter } from '../quotas.ts';
import type { RefreshRetries } from '../refresh-retries.ts';
import type { FamilyTokenIssuer } from '../token-families.ts';
import { AUTHORIZATION_CODE, authorizationCodeGrant } from './authorization-code.ts';
import { CLIENT_CREDENTIALS, clientCredentialsGrant } from './client-credentials.ts';
import { type Grant, GrantRegistry } from './grant.ts';
import { JWT_BEARER, jwtBearerGrant } from './jwt-bearer.ts';
import { REFRESH_TOKEN, refreshTokenGrant } from './refresh-token.ts';

/** The services of the OAuth core a grant may be built from. */
export interface GrantServices {
  readonly store: Pick<Store, 'authorizationCodes' | 'tokenFamilies' | 'users'>;
  readonly families: FamilyTokenIssuer;
  readonly tokens: AccessTokenService;
  readonly assertions: AssertionVerifier;
  readonly quotas: QuotaLimiter;
  readonly clock: Clock;
  readonly apis: ApiDirectory;
  readonly refreshRetries: RefreshRetries;
}

/** A grant type Gatehouse implements. */
export interface GrantModule {
  readonly grantType: string;
  /**
   * `clients`: an administrator may give it to a client. `service_accounts`: only service
   * accounts have it, from their creation.
   */
  readonly assignable: 'clients' | 'service_accounts';
  create(services: GrantServices): Grant;
}

/**
 * Every grant, in the order metadata lists them: the one list the token endpoint, the metadata
 * document, the OpenAPI document and the application services read. A new grant is a module
 * next to this file and a line here (and, where a compatibility product offers it, its profile).
 */
export const GRANT_MODULES: readonly GrantModule[] = [
  { grantType: AUTHORIZATION_CODE, assignable: 'clients', create: (s) => authorizationCodeGrant(s.store, s.families, s.clock, s.apis) },
  { grantType: REFRESH_TOKEN, assignable: 'clients', create: (s) => refreshTokenGrant(s.store, s.families, s.clock, s.apis, s.refreshRetries) },
  { grantType: CLIENT_CREDENTIALS, assignable: 'clients', create: (s) => clientCredentialsGrant(s.tokens, s.apis) },
  { grantType: JWT_BEARER, assignable: 'service_accounts', create: (s) => jwtBearerGrant(s.tokens, s.assertions, s.quotas, s.apis) },
];

/** Grant types an administrator may give a client. */
export const CLIENT_GRANT_TYPES: readonly string[] = GRANT_MODULES.filter((m) => m.assignable === 'clients').map((m) => m.grantType);

/** Builds every grant over the core's services; a module whose grant names another type is a programming error. */
export function createGrantRegistry(services: GrantServices): GrantRegistry {
  const registry = new GrantRegistry();
  for (const module of GRANT_MODULES) {
    const grant = module.create(services);
    if (grant.grantType !== module.grantType) throw new Error(`grant module ${module.grantType} built a ${grant.grantType} grant`);
    registry.register(grant);
  }
  return registry;
}
