import type { Clock } from '../../domain/clock.ts';
import type { Store } from '../../domain/storage.ts';
import type { AccessTokenService } from '../access-tokens.ts';
import type { ApiDirectory } from '../apis.ts';
import type { AssertionVerifier } from '../assertions.ts';
import type { QuotaLimiter } from '../quotas.ts';
import type { RefreshRetries } from '../refresh-retries.ts';
import type { FamilyTokenIssuer } from '../token-families.ts';
import type { Grant } from './grant.ts';

/** The services of the OAuth core a grant may be built from. */
export interface GrantServices {
  readonly store: Pick<Store, 'authorizationCodes' | 'deviceAuthorizations' | 'tokenFamilies' | 'users' | 'accessTokens'>;
  readonly families: FamilyTokenIssuer;
  readonly tokens: AccessTokenService;
  readonly assertions: AssertionVerifier;
  readonly quotas: QuotaLimiter;
  readonly clock: Clock;
  readonly apis: ApiDirectory;
  readonly refreshRetries: RefreshRetries;
}

/** A request parameter a grant reads, for the OpenAPI document and error bodies. */
export interface GrantParameter {
  readonly description: string;
  /** A credential (a code, a token, an assertion): never echoed back in an error body. */
  readonly secret?: boolean;
}

/**
 * A grant type Gatehouse implements, with everything the rest of Gatehouse says about it: the
 * token endpoint builds the grant, and the metadata documents, OpenAPI, the admin rules (API,
 * CLI, console, `apply`, imports), error bodies, metrics and traces read the rest from here.
 */
export interface GrantModule {
  readonly grantType: string;
  /**
   * `clients`: an administrator may give it to a client. `service_accounts`: only service
   * accounts have it, from their creation.
   */
  readonly assignable: 'clients' | 'service_accounts';
  /** What it is for, in a few words: the console's checkbox and the CLI's help. */
  readonly label: string;
  /** Parameters it reads besides grant_type and client authentication, with their description. */
  readonly parameters: Readonly<Record<string, GrantParameter>>;
  /** Whether a public client (no secret) may have it. */
  readonly allowsPublicClients: boolean;
  /** Whether a client with it needs a registered redirect URI. */
  readonly needsRedirectUris?: boolean;
  /** Whether it signs a user in and may start a token family, so that `refresh_token` makes sense beside it. */
  readonly startsUserSessions?: boolean;
  create(services: GrantServices): Grant;
}

/** The `scope` parameter as most grants read it. */
export const SCOPE_PARAMETER: GrantParameter = { description: 'Space-separated scopes' };
/** RFC 8707 `resource`, as every grant that issues an access token reads it. */
export const RESOURCE_PARAMETER: GrantParameter = { description: 'An API the token is for: its identifier, an absolute URI without a fragment (RFC 8707 §2)' };
