import type { ClientKind } from '../../domain/model.ts';

export type { GrantModule, GrantParameter, GrantServices } from './module.ts';
export { RESOURCE_PARAMETER, SCOPE_PARAMETER } from './module.ts';

import { authorizationCodeModule } from './authorization-code.ts';
import { clientCredentialsModule } from './client-credentials.ts';
import { deviceCodeModule } from './device-code.ts';
import { GrantRegistry } from './grant.ts';
import { jwtBearerModule } from './jwt-bearer.ts';
import type { GrantModule, GrantServices } from './module.ts';
import { refreshTokenModule } from './refresh-token.ts';
import { tokenExchangeModule } from './token-exchange.ts';

/**
 * Every grant, in the order metadata lists them: the one list the token endpoint, the metadata
 * document, the OpenAPI document and the application services read. A new grant is a module
 * next to this file and a line here (and, where a compatibility product offers it, its profile).
 */
export const GRANT_MODULES: readonly GrantModule[] = [
  authorizationCodeModule,
  refreshTokenModule,
  clientCredentialsModule,
  jwtBearerModule,
  deviceCodeModule,
  tokenExchangeModule,
];

/** Grant types an administrator may give a client. */
export const CLIENT_GRANT_TYPES: readonly string[] = GRANT_MODULES.filter((m) => m.assignable === 'clients').map((m) => m.grantType);

/** The module of a grant type, if Gatehouse implements it. */
export function grantModule(grantType: string): GrantModule | undefined {
  return GRANT_MODULES.find((m) => m.grantType === grantType);
}

/** The parameters of every grant that carry a credential. */
export const SECRET_GRANT_PARAMETERS: ReadonlySet<string> = new Set(
  GRANT_MODULES.flatMap((m) => Object.entries(m.parameters).flatMap(([name, p]) => (p.secret ? [name] : []))),
);

/**
 * Why a client of `kind` may not have these grant types together (with `redirectUris`), or
 * undefined when it may: the rules each grant's module declares, for every admin surface and the
 * imports alike.
 */
export function grantRuleViolation(kind: ClientKind, grantTypes: readonly string[], redirectUris: readonly string[]): string | undefined {
  const unknown = grantTypes.find((grant) => !CLIENT_GRANT_TYPES.includes(grant));
  if (unknown !== undefined) return `unknown grant type ${unknown} (known: ${CLIENT_GRANT_TYPES.join(', ')})`;
  const modules = grantTypes.map((g) => grantModule(g) as GrantModule);
  const secretNeeded = modules.find((m) => !m.allowsPublicClients);
  if (kind === 'public' && secretNeeded) return `a public client cannot use ${secretNeeded.grantType}: it has no secret`;
  const needsRedirect = modules.find((m) => m.needsRedirectUris);
  if (needsRedirect && redirectUris.length === 0) return `a client using ${needsRedirect.grantType} needs at least one redirect URI (--redirect-uri)`;
  if (grantTypes.includes('refresh_token') && !modules.some((m) => m.startsUserSessions)) {
    const starters = GRANT_MODULES.filter((m) => m.startsUserSessions).map((m) => m.grantType);
    return `refresh_token is only issued with ${starters.join(' or ')}: add one of them`;
  }
  return undefined;
}

/**
 * The grant types of `grantTypes` a client of `kind` with `redirectUris` can keep: unknown ones,
 * those its kind or missing redirect URIs rule out, and refresh_token without a user grant are
 * dropped (an import keeps what Gatehouse can honour).
 */
export function honourableGrantTypes(kind: ClientKind, grantTypes: readonly string[], redirectUris: readonly string[]): string[] {
  const kept = [...new Set(grantTypes)].filter((g) => {
    const module = grantModule(g);
    if (module?.assignable !== 'clients') return false;
    if (kind === 'public' && !module.allowsPublicClients) return false;
    return !(module.needsRedirectUris && redirectUris.length === 0);
  });
  return kept.some((g) => grantModule(g)?.startsUserSessions) ? kept : kept.filter((g) => g !== 'refresh_token');
}

/** Builds every grant over the core's services; a module whose grant names another type is a programming error. */
export function createGrantRegistry(services: GrantServices): GrantRegistry {
  const registry = new GrantRegistry();
  for (const module of GRANT_MODULES) {
    const grant = module.create(services);
    if (grant.grantType !== module.grantType) throw new Error(`grant module ${module.grantType} built a ${grant.grantType} grant`);
    registry.register(grant, module.allowsPublicClients);
  }
  return registry;
}
