import { decodeJwt, decodeProtectedHeader } from 'jose';
import { isLegacyHash, type LegacyHashProfile, LegacyVerificationBusyError } from '../crypto/legacy-hashes.ts';
import { hashesEqual, hashSecret } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import { type CredentialUse, type EventSink, NO_EVENTS } from '../domain/events.ts';
import { type Client, type Environment, selfRegistration } from '../domain/model.ts';
import { AssertionFailure, type AssertionVerifier, JWT_BEARER_CLIENT_ASSERTION_TYPE, type VerifiedAssertion } from './assertions.ts';
import type { ClientCache, ClientRecord } from './client-cache.ts';
import { OAuthError } from './errors.ts';
import { FAPI2_ALGORITHMS, fapi2Requires, isFapi2 } from './fapi2.ts';
import type { LegacyCredentialGuard } from './legacy-credentials.ts';
import type { QuotaLimiter } from './quotas.ts';
import type { RateLimitState } from './rate-limit.ts';
import { throttleSource } from './source-address.ts';
import type { FailureThrottle } from './throttle.ts';

/** Credentials as presented on the wire; the HTTP adapter fills this in. */
export interface PresentedCredentials {
  /** From `Authorization: Basic`, already form-url-decoded (RFC 6749 §2.3.1). */
  basic?: { clientId: string; clientSecret: string };
  /** `client_id` / `client_secret` from the request body. */
  bodyClientId?: string;
  bodyClientSecret?: string;
  /** `client_assertion_type` / `client_assertion` (RFC 7523 §2.2, private_key_jwt). */
  clientAssertionType?: string;
  clientAssertion?: string;
  /** Source address, for throttling. */
  sourceAddress: string;
}

/**
 * Whether the request tries to authenticate the client: a secret or a client assertion. A bare
 * `client_id` does not count (RFC 7521 §4.1 lets grants with their own credential carry one).
 */
export function presentsCredentials(credentials: PresentedCredentials): boolean {
  return (
    credentials.basic !== undefined ||
    credentials.bodyClientSecret !== undefined ||
    credentials.clientAssertion !== undefined ||
    credentials.clientAssertionType !== undefined
  );
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
  /** The client's quota after this request was admitted; undefined when it has none. */
  rateLimit?: RateLimitState | undefined;
  /** The secret or key that authenticated; undefined for a public client. */
  credential?: CredentialUse | undefined;
}

/** Seconds a client is asked to wait when the legacy verification queue is full. */
const LEGACY_BUSY_RETRY_AFTER_S = 2;

// Compared against when the client id is unknown, so unknown and known ids take the same time.
const DUMMY_HASH = hashSecret('gatehouse-unknown-client');

/**
 * Authenticates the client of a token, introspection or revocation request. Unknown client,
 * wrong secret and disabled client all give the same 401 `invalid_client`. A confidential client
 * that authenticates is then admitted by its quota (429 past it). Failed attempts are counted and,
 * past a limit, answered 429; a correct credential is never refused because of failures.
 */
export class ClientAuthenticator {
  constructor(
    private readonly clock: Clock,
    private readonly throttle: FailureThrottle,
    private readonly assertions: AssertionVerifier,
    private readonly clients: ClientCache,
    private readonly quotas: QuotaLimiter,
    private readonly legacy: LegacyCredentialGuard,
    private readonly events: EventSink = NO_EVENTS,
  ) {}

  /**
   * `audiences` are the values a client assertion's `aud` may take at this endpoint (the issuer
   * and the endpoint's URL).
   */
  async authenticate(env: Environment, credentials: PresentedCredentials, audiences: readonly string[]): Promise<AuthenticatedClient> {
    const authenticated = await this.authenticateAny(env, credentials, audiences);
    // FAPI 2.0 Security Profile §5.3.2.1: only confidential clients, authenticating with
    // private_key_jwt (mTLS client authentication is not offered), at every endpoint.
    if (fapi2Requires(env).privateKeyJwtOnly && authenticated.method !== 'private_key_jwt') {
      throw new OAuthError('invalid_client', 'this environment follows the FAPI 2.0 Security Profile: clients must authenticate with private_key_jwt');
    }
    // §5.4.1: PS256, ES256 or EdDSA only (an RS256 key cannot authenticate here).
    if (isFapi2(env) && !FAPI2_ALGORITHMS.includes(assertionAlgorithm(credentials.clientAssertion))) {
      throw new OAuthError(
        'invalid_client',
        `this environment follows the FAPI 2.0 Security Profile: client assertions must be signed with ${FAPI2_ALGORITHMS.join(', ')}`,
      );
    }
    return authenticated;
  }

  private async authenticateAny(env: Environment, credentials: PresentedCredentials, audiences: readonly string[]): Promise<AuthenticatedClient> {
    if (credentials.clientAssertion !== undefined || credentials.clientAssertionType !== undefined) {
      return this.authenticateAssertion(env, credentials, audiences);
    }
    const { basic, bodyClientId, bodyClientSecret } = credentials;
    // RFC 6749 §2.3: a client must not use more than one authentication method per request.
    if (basic && bodyClientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'client credentials were sent both in the Authorization header and in the body');
    }
    if (basic && bodyClientId !== undefined && bodyClientId !== basic.clientId) {
      throw new OAuthError('invalid_request', 'client_id in the body does not match the Authorization header', { parameter: 'client_id' });
    }
    const clientId = basic?.clientId ?? bodyClientId;
    const secret = basic?.clientSecret ?? bodyClientSecret;
    const challenge = basic ? ({ challenge: 'Basic' } as const) : {};
    if (clientId === undefined || clientId === '') {
      throw new OAuthError('invalid_client', 'client authentication is required', challenge);
    }

    const startedAt = performance.now();
    const presented = secret === undefined ? undefined : hashSecret(secret);
    let record = await this.clients.get(env.id, clientId);
    // A cached record may predate a secret rotation or a re-enabled client: a refusal based on
    // it is confirmed against the database. Unknown ids are never cached, so known and unknown
    // ids both cost exactly one read when they fail.
    let matched = this.accepts(record, presented);
    if (record.cached && matched === undefined) {
      record = await this.clients.get(env.id, clientId, true);
      matched = this.accepts(record, presented);
    }
    let slowest: LegacyHashProfile | undefined;
    if (matched === undefined && secret !== undefined) {
      try {
        ({ matched, slowest } = await this.acceptsLegacy(env, clientId, record, secret, credentials.sourceAddress));
      } catch (error) {
        // A full queue's 503 too ends at the deadline, known id or not.
        if (error instanceof OAuthError && error.code === 'temporarily_unavailable') await this.holdFailure(env, startedAt, undefined);
        throw error;
      }
    }
    const { client } = record;
    if (!client || matched === undefined) {
      try {
        await this.refuseFailure(env, clientId, credentials, client);
      } finally {
        await this.holdFailure(env, startedAt, slowest);
      }
      throw new OAuthError('invalid_client', 'client authentication failed', challenge);
    }
    if (presented === undefined) {
      // A public client proves nothing but its id, which anyone can send: a quota would let
      // anyone use it up and shut the real application out, like a lockout.
      return { client, method: 'none' };
    }
    const method = basic ? 'client_secret_basic' : 'client_secret_post';
    return { client, method, rateLimit: this.quotas.admit(env, client), credential: { kind: 'client_secret', id: matched } };
  }

  /** RFC 7523 §2.2 and §3: a JWT signed with a key Gatehouse generated for the client. */
  private async authenticateAssertion(env: Environment, credentials: PresentedCredentials, audiences: readonly string[]): Promise<AuthenticatedClient> {
    const { basic, bodyClientId, bodyClientSecret, clientAssertion, clientAssertionType } = credentials;
    if (basic || bodyClientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'a client assertion cannot be combined with a client secret');
    }
    if (clientAssertion === undefined)
      throw new OAuthError('invalid_request', 'client_assertion is required with client_assertion_type', { parameter: 'client_assertion' });
    if (clientAssertionType === undefined)
      throw new OAuthError('invalid_request', 'client_assertion_type is required with client_assertion', { parameter: 'client_assertion_type' });
    if (clientAssertionType !== JWT_BEARER_CLIENT_ASSERTION_TYPE) {
      throw new OAuthError('invalid_client', `client_assertion_type must be ${JWT_BEARER_CLIENT_ASSERTION_TYPE}`);
    }
    let verified: VerifiedAssertion;
    try {
      verified = await this.assertions.verify(env, clientAssertion, audiences);
      if ((bodyClientId !== undefined && bodyClientId !== verified.client.clientId) || verified.client.kind === 'public') {
        throw new AssertionFailure('the client_id does not match the assertion', true);
      }
      await this.assertions.consume(env, verified);
    } catch (error) {
      if (!(error instanceof AssertionFailure)) throw error;
      // Only a client whose key verified the signature is named: a made-up id never becomes a label.
      await this.refuseFailure(env, bodyClientId ?? unverifiedIssuer(clientAssertion), credentials, error.client);
      // Failures before the signature is known to be good say nothing about which ids or keys exist.
      throw new OAuthError('invalid_client', error.keyUnverified ? 'client authentication failed' : `client assertion refused: ${error.reason}`);
    }
    const credential = { kind: 'key', id: verified.key.kid } as const;
    return { client: verified.client, method: 'private_key_jwt', rateLimit: this.quotas.admit(env, verified.client), credential };
  }

  /**
   * Whether `record` authenticates: an enabled public client without a secret (answers ''), or a
   * matching secret (answers its id). Undefined when it does not authenticate.
   */
  private accepts(record: ClientRecord, presented: string | undefined): string | undefined {
    const { client } = record;
    // A public client identifies itself with client_id alone (token_endpoint_auth_method "none").
    if (presented === undefined) return client?.enabled === true && client.kind === 'public' ? '' : undefined;
    const now = this.clock.now();
    const secrets = client && client.kind !== 'public' ? record.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now) : [];
    let matched: string | undefined;
    for (const candidate of secrets.length > 0 ? secrets : [{ id: undefined, secretHash: DUMMY_HASH }]) {
      // Every candidate is compared, so the time does not reveal which secret matched.
      if (hashesEqual(presented, candidate.secretHash) && secrets.length > 0) matched = candidate.id;
    }
    return client?.enabled === true ? matched : undefined;
  }

  /**
   * After the fast path refused: an imported client's secret still under its old provider's hash
   * (bcrypt, PBKDF2, argon2id) is verified through the bounded legacy queue (503 with Retry-After
   * for this caller when it is full) and, once it matches, replaced by Gatehouse's own hash so
   * the next request takes the fast path. Every other refusal in an environment that still holds
   * legacy secrets (unknown id, disabled or public client, native client, wrong secret) verifies
   * a decoy of the environment's slowest legacy profile under the same key, so neither the time
   * nor the 503s tell which ids exist.
   */
  private async acceptsLegacy(
    env: Environment,
    clientId: string,
    record: ClientRecord,
    secret: string,
    sourceAddress: string,
  ): Promise<{ matched: string | undefined; slowest: LegacyHashProfile | undefined }> {
    const { client } = record;
    const now = this.clock.now();
    const slowest = await this.legacy.slowest(env.id, 'client_secret');
    const candidates =
      client?.enabled === true && client.kind !== 'public'
        ? record.secrets.filter((s) => isLegacyHash(s.secretHash) && (s.expiresAt === null || s.expiresAt > now))
        : [];
    if (candidates.length === 0 && slowest === undefined) return { matched: undefined, slowest };
    // The per-key share of the queue is the caller's (presented id and source address): wrong
    // secrets sent from elsewhere cannot use up the real client's share.
    const key = `${env.id}\u0000${clientId}\u0000${throttleSource(sourceAddress)}`;
    try {
      if (candidates.length === 0 && slowest) {
        await this.legacy.decoy(secret, slowest, key);
        return { matched: undefined, slowest };
      }
      for (const candidate of candidates) {
        if (!(await this.legacy.verify(secret, candidate.secretHash, key, slowest))) continue;
        await this.clients.replaceSecretHash(env.id, clientId, candidate.id, candidate.secretHash, hashSecret(secret));
        return { matched: candidate.id, slowest };
      }
      return { matched: undefined, slowest };
    } catch (error) {
      if (!(error instanceof LegacyVerificationBusyError)) throw error;
      throw new OAuthError('temporarily_unavailable', 'too many client authentications in progress; retry later', { retryAfter: LEGACY_BUSY_RETRY_AFTER_S });
    }
  }

  /**
   * Where legacy hashes remain, every failure (with a secret or without one, 401, 429 or 503)
   * ends at one deadline from the start of its authentication, so its time does not tell a known
   * id from an unknown one (docs/migration.md, "No enumeration while imported credentials remain").
   */
  private async holdFailure(env: Environment, startedAt: number, slowest: LegacyHashProfile | undefined): Promise<void> {
    // Storage unavailable: the failure is answered as it is, not replaced by the lookup's error.
    const profile = slowest ?? (await this.legacy.slowest(env.id, 'client_secret').catch(() => undefined));
    if (profile) await this.legacy.holdFailure(startedAt, profile);
  }

  /**
   * Counts a failed attempt under the presented id and reports it, naming only the `known`
   * client it belongs to (so made-up ids never become metric labels); past a limit the failure
   * is answered 429 instead of 401.
   */
  private async refuseFailure(env: Environment, clientId: string, credentials: PresentedCredentials, known: Client | undefined): Promise<void> {
    const wait = await this.throttle.recordFailure(env.id, clientId, credentials.sourceAddress);
    const source = throttleSource(credentials.sourceAddress);
    this.events.emit({
      type: 'client.authentication_failed',
      env,
      clientId: known?.clientId,
      throttled: wait > 0,
      source,
      registration: known && selfRegistration(known),
    });
    if (wait > 0) throw new OAuthError('too_many_requests', 'too many failed client authentications; retry later', { retryAfter: wait });
  }
}

/** The `iss` an assertion claims, before verification: only a throttling key. */
function unverifiedIssuer(assertion: string): string {
  try {
    const iss = decodeJwt(assertion).iss;
    return typeof iss === 'string' ? iss : '(none)';
  } catch {
    return '(malformed)';
  }
}

/** The `alg` of a client assertion's header (already verified when this is read); '' when none. */
function assertionAlgorithm(assertion: string | undefined): string {
  if (assertion === undefined) return '';
  try {
    return String(decodeProtectedHeader(assertion).alg ?? '');
  } catch {
    return '';
  }
}
