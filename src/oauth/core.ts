import type { Logger } from 'pino';
import { keyedHasher } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import { type EventSink, NO_EVENTS } from '../domain/events.ts';
import type { Store } from '../domain/storage.ts';
import { AccessTokenService } from './access-tokens.ts';
import { ApiDirectory } from './apis.ts';
import { AssertionVerifier } from './assertions.ts';
import { AuthorizationEndpoint } from './authorization/endpoint.ts';
import { ClientAuthenticator } from './client-auth.ts';
import { ClientCache } from './client-cache.ts';
import { documentClientLookup, type MetadataDocumentFetchDeps } from './client-metadata-documents/wiring.ts';
import { DeviceAuthorizationEndpoint } from './device/device-authorization.ts';
import { UserCodeThrottle } from './device/user-code-throttle.ts';
import { DeviceVerification } from './device/verification.ts';
import { DpopNonces } from './dpop/nonces.ts';
import { DpopProofVerifier } from './dpop/proof.ts';
import type { GrantRegistry } from './grants/grant.ts';
import { createGrantRegistry } from './grants/index.ts';
import { IntrospectionEndpoint } from './introspection.ts';
import { LegacyCredentialGuard } from './legacy-credentials.ts';
import { IdTokenIssuer } from './openid/id-tokens.ts';
import { UserInfoEndpoint } from './openid/userinfo.ts';
import type { OAuthPolicy } from './policy.ts';
import { PushedAuthorizationEndpoint } from './pushed-authorization.ts';
import { QuotaLimiter } from './quotas.ts';
import { RefreshRetries } from './refresh-retries.ts';
import { RevocationEndpoint } from './revocation.ts';
import { KeyRing } from './signing-keys.ts';
import { FailureThrottle } from './throttle.ts';
import { TokenEndpoint } from './token-endpoint.ts';
import { FamilyTokenIssuer } from './token-families.ts';

/** The framework-free OAuth core, wired once from its policy, storage and a clock. */
export interface OAuthCore {
  readonly grants: GrantRegistry;
  readonly keys: KeyRing;
  readonly clients: ClientCache;
  readonly apis: ApiDirectory;
  readonly quotas: QuotaLimiter;
  readonly tokens: AccessTokenService;
  readonly token: TokenEndpoint;
  /** Decoy verifications while an environment still holds imported credentials (client secrets and passwords). */
  readonly legacy: LegacyCredentialGuard;
  readonly introspection: IntrospectionEndpoint;
  readonly revocation: RevocationEndpoint;
  readonly authorization: AuthorizationEndpoint;
  /** RFC 9126 §2. */
  readonly pushedAuthorization: PushedAuthorizationEndpoint;
  /** OpenID Connect Core §5.3. */
  readonly userinfo: UserInfoEndpoint;
  /** RFC 8628: the device authorization endpoint and the verification page's decisions. */
  readonly device: { readonly authorization: DeviceAuthorizationEndpoint; readonly verification: DeviceVerification };
}

/**
 * Keys from a per-node cache; their owners too on PostgreSQL, where that saves a round trip.
 * SQLite reads the owner in-process, which measured faster there (jwt-bearer, `--ab`, 2026-12-07).
 */
function assertionVerifier(config: OAuthPolicy, store: Store, clock: Clock, clients: ClientCache, staleIfErrorMs: number): AssertionVerifier {
  const policy = { maxLifetime: config.assertionMaxLifetime, clockSkew: config.clockSkew };
  const owners = store.dialect === 'postgres' ? clients : undefined;
  return new AssertionVerifier(store, clock, policy, { owners, documents: clients, keyTtlMs: config.cacheTtl * 1000, staleIfErrorMs });
}

/** `events` receives what the core reports (tokens issued and refused, authentication failures, quota refusals, reuse). */
export function createOAuthCore(
  config: OAuthPolicy,
  keySecret: Buffer,
  store: Store,
  clock: Clock,
  logger?: Pick<Logger, 'warn' | 'info'>,
  events: EventSink = NO_EVENTS,
  documentFetch?: MetadataDocumentFetchDeps,
): OAuthCore {
  const staleIfErrorMs = config.cacheStaleIfError * 1000;
  const keys = new KeyRing(store, keySecret, clock, config.cacheTtl * 1000, staleIfErrorMs);
  const apis = new ApiDirectory(store, clock, config.cacheTtl * 1000, staleIfErrorMs);
  const tokens = new AccessTokenService(store, keys, clock, config.accessTokenTtl, config.maxAccessTokenTtl, apis);
  const counterKey = keyedHasher(keySecret, 'rate counters');
  const throttle = new FailureThrottle(
    store.rateCounters,
    clock,
    { pair: config.authFailureLimit, source: config.authFailureSourceLimit, client: config.authFailureClientLimit, windowMs: config.authFailureWindow * 1000 },
    counterKey,
  );
  const quotas = new QuotaLimiter(store.rateCounters, clock, config.quotaWindow * 1000, store.health, counterKey, logger, events);
  const documents = documentClientLookup(config.clientMetadataDocuments, store, clock, events, {
    cacheTtlMs: config.cacheTtl * 1000,
    staleIfErrorMs,
    fetch: documentFetch,
  });
  const clients = new ClientCache(store, clock, config.cacheTtl * 1000, staleIfErrorMs, 10_000, documents);
  const assertions = assertionVerifier(config, store, clock, clients, staleIfErrorMs);
  const legacy = new LegacyCredentialGuard(store, clock, { staleIfErrorMs });
  const authenticator = new ClientAuthenticator(clock, throttle, assertions, clients, quotas, legacy, events);
  const idTokens = new IdTokenIssuer(keys, clock, config.idTokenTtl);
  const families = new FamilyTokenIssuer(
    tokens,
    clock,
    { refreshTokenIdleTtl: config.refreshTokenIdleTtl, refreshTokenAbsoluteTtl: config.refreshTokenAbsoluteTtl },
    idTokens,
  );
  const refreshRetries = new RefreshRetries(keySecret, config.refreshRetryGrace);
  const hashUserCode = keyedHasher(keySecret, 'device user codes');
  const device = {
    authorization: new DeviceAuthorizationEndpoint(authenticator, apis, store.deviceAuthorizations, clock, hashUserCode, {
      ttl: config.deviceCodeTtl,
      interval: config.deviceCodeInterval,
    }),
    verification: new DeviceVerification({
      store,
      clients,
      clock,
      throttle: new UserCodeThrottle(store.rateCounters, clock, counterKey),
      hashUserCode,
      events,
    }),
  };
  // RFC 9449: proofs' jti are spent in the used-assertions store, shared by every node.
  const dpop = new DpopProofVerifier(store.usedAssertions, new DpopNonces(keySecret), clock, {
    proofWindow: config.dpopProofWindow,
    clockSkew: config.clockSkew,
  });
  const grants = createGrantRegistry({ store, families, tokens, assertions, quotas, clock, apis, refreshRetries });
  const authorization = new AuthorizationEndpoint(store, clients, clock, config.authorizationCodeTtl * 1000, apis, keys, config.firstPartySignIn);
  return {
    grants,
    keys,
    clients,
    apis,
    quotas,
    tokens,
    token: new TokenEndpoint(grants, authenticator, events, dpop),
    legacy,
    introspection: new IntrospectionEndpoint(authenticator, tokens),
    revocation: new RevocationEndpoint(authenticator, tokens, store, clock),
    authorization,
    pushedAuthorization: new PushedAuthorizationEndpoint(authenticator, authorization, config.pushedRequestTtl, events),
    userinfo: new UserInfoEndpoint(tokens, clients, store, dpop),
    device,
  };
}
