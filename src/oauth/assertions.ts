import { decodeJwt, decodeProtectedHeader } from 'jose';
import { type ClaimRules, JwtError, type JwtFailure, type VerifiableAlgorithm, type VerifiedJwt, verifyJwt } from '../crypto/jwt.ts';
import { PublicKeyCache } from '../crypto/public-keys.ts';
import type { Clock } from '../domain/clock.ts';
import type { Client, ClientKey, Environment } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { AssertionAlgorithm } from './assertion-algorithms.ts';
import type { ClientCache } from './client-cache.ts';
import { looksLikeClientIdUrl } from './client-metadata-documents/client-id-url.ts';
import { RefreshingCache } from './refreshing-cache.ts';

/** RFC 7523 §2.1 authorization grant type. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** RFC 7523 §2.2 client assertion type (private_key_jwt). */
export const JWT_BEARER_CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export { ASSERTION_ALGORITHMS, type AssertionAlgorithm } from './assertion-algorithms.ts';

/** Header `alg` values a key registered with `alg` verifies: RFC 9864 names Ed25519 explicitly. */
const HEADER_ALGORITHMS: Record<AssertionAlgorithm, readonly string[]> = { ES256: ['ES256'], EdDSA: ['EdDSA', 'Ed25519'], RS256: ['RS256'] };
const ALL_HEADER_ALGORITHMS = Object.values(HEADER_ALGORITHMS).flat();

/**
 * Why an assertion was refused. `keyUnverified` failures happen before the signature is known
 * to be good (unknown kid, revoked key, disabled account, bad signature): client authentication
 * reports those without detail.
 */
export class AssertionFailure extends Error {
  constructor(
    readonly reason: string,
    readonly keyUnverified = false,
    /** The client whose key verified the signature, when the refusal came after that. */
    readonly client?: Client,
  ) {
    super(reason);
    this.name = 'AssertionFailure';
  }
}

export interface VerifiedAssertion {
  client: Client;
  key: ClientKey;
  jti: string;
  /** Until when the jti must be remembered (exp plus the clock skew), epoch milliseconds. */
  expiresAt: number;
  /** The key is one a Client ID Metadata Document publishes, not a registered one. */
  fromDocument?: true;
}

export interface AssertionPolicy {
  /** Longest accepted distance from now to `exp`, in seconds. */
  maxLifetime: number;
  /** Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds. */
  clockSkew: number;
}

const MAX_JTI_LENGTH = 256;

/** Where the verifier finds keys and their owners; without it, both are read on every assertion. */
export interface AssertionCaches {
  /** The owners of keys, as client authentication reads clients; without it, read on every assertion. */
  owners?: Pick<ClientCache, 'get'>;
  /**
   * Clients as client authentication finds them, Client ID Metadata Document clients included:
   * an assertion whose `iss` is such a client's URL is checked against its document's keys.
   */
  documents?: Pick<ClientCache, 'get'>;
  /** How long a registered key is kept, and served through an outage (milliseconds). */
  keyTtlMs: number;
  staleIfErrorMs: number;
}

/**
 * Verifies a JWT signed with a key Gatehouse generated for a client or service account
 * (RFC 7523 §3): kid → registered key → that key's algorithm only → iss = sub = the account →
 * aud → exp/nbf/iat → jti present. `consume` then records the jti (atomic, shared by every node).
 *
 * With caches, the key (and, where given, its owner) comes from per-node caches, as a client
 * and its secrets do for client authentication (the owner's grant types and scopes are then at
 * most `GATEHOUSE_CACHE_TTL` old). What must hold at once is not left to them: `consume` spends the
 * jti only while the key is registered and not revoked and its owner is enabled, in the same
 * statement, so a key revoked or an account disabled on any node stops working at once; and an
 * owner cached as disabled is read again, so one enabled again works at once.
 */
export class AssertionVerifier {
  private readonly publicKeys = new PublicKeyCache();
  private readonly keys: RefreshingCache<ClientKey | undefined> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly policy: AssertionPolicy,
    private readonly caches?: AssertionCaches,
  ) {
    if (caches) this.keys = new RefreshingCache(clock, store.health, { ttlMs: caches.keyTtlMs, staleIfErrorMs: caches.staleIfErrorMs, maxEntries: 10_000 });
  }

  async verify(env: Environment, assertion: string, audiences: readonly string[]): Promise<VerifiedAssertion> {
    const { key, client, alg, fromDocument } = (await this.documentKey(env, assertion)) ?? (await this.registeredKey(env, assertion));
    const { clockSkew, maxLifetime } = this.policy;
    // A document client's keys serve every server it uses: an `aud` another server could also be
    // given (a token endpoint URL it advertises as its own, a list) would let that server replay
    // the assertion here. Only this issuer's identifier, alone, is accepted (draft-ietf-oauth-
    // rfc7523bis §4; `audiences` starts with it).
    const accepted = fromDocument ? audiences.slice(0, 1) : audiences;
    // RFC 7523 §3: iss = sub = the key's owner, aud this server, exp bounded, jti a replay key.
    const rules: ClaimRules<AssertionClaim> = {
      issuer: client.clientId,
      subject: client.clientId,
      audience: accepted,
      clockSkew,
      maxLifetime,
      refuseFutureIat: true,
      maxJtiLength: MAX_JTI_LENGTH,
      required: ASSERTION_CLAIMS,
    };
    let verified: VerifiedJwt<AssertionClaim>;
    try {
      verified = verifyJwt(assertion, { key: this.publicKeys.get(key.publicJwk), alg: alg as VerifiableAlgorithm }, rules, this.clock.now());
    } catch (error) {
      const failure = refusal(error, client, key, audiences, this.policy);
      // Past the signature the failure is the key owner's; before it, it names nobody.
      throw failure.keyUnverified ? failure : new AssertionFailure(failure.reason, false, client);
    }
    if (fromDocument && verified.payload.aud !== accepted[0]) {
      throw new AssertionFailure(`aud must be ${accepted[0]} alone, the issuer identifier`, false, client);
    }
    const { exp, jti } = verified.payload;
    // Remembered for as long as the assertion would be accepted: exp plus the tolerated skew.
    return { client, key, jti, expiresAt: exp * 1000 + clockSkew * 1000, ...(fromDocument ? { fromDocument } : {}) };
  }

  /**
   * Marks a verified assertion used. Callers run it after every other check of the request, so
   * a refused request does not burn the assertion; of concurrent uses exactly one passes.
   */
  async consume(env: Environment, verified: VerifiedAssertion): Promise<void> {
    const now = this.clock.now();
    // Checked again: time passed since verify(), and a record expiring now may be swept below.
    if (verified.expiresAt <= now) throw new AssertionFailure('the assertion has expired (exp)', false, verified.client);
    const { client, key, jti, expiresAt } = verified;
    if (verified.fromDocument) {
      // Nothing to revoke here: the document's keys are the client's, held for its cache lifetime.
      if (!(await this.store.usedAssertions.consume(env.id, client.clientId, jti, expiresAt, now))) {
        throw new AssertionFailure('the assertion was already used (jti replayed)', false, client);
      }
      return;
    }
    const outcome = await this.store.usedAssertions.consumeWithKey(env.id, client.clientId, key.kid, jti, expiresAt, now);
    if (outcome === 'key_revoked') {
      this.keys?.invalidate(keyEntry(env.id, key.kid));
      throw new AssertionFailure(`key ${key.kid} has been revoked`, true);
    }
    if (outcome === 'owner_disabled') throw new AssertionFailure(`the owner of key ${key.kid} is disabled`, true);
    if (outcome === 'replayed') throw new AssertionFailure('the assertion was already used (jti replayed)', false, client);
  }

  /** The key's owner: from the cache, but read again when the cache holds it disabled. */
  private async findOwner(envId: string, clientId: string): Promise<Client | undefined> {
    const owners = this.caches?.owners;
    if (!owners) return this.store.clients.find(envId, clientId);
    const cached = (await owners.get(envId, clientId)).client;
    return cached?.enabled === false ? (await owners.get(envId, clientId, true)).client : cached;
  }

  private async findKey(envId: string, kid: string): Promise<ClientKey | undefined> {
    if (!this.keys) return this.store.clientKeys.find(envId, kid);
    const load = () => this.store.clientKeys.find(envId, kid);
    return (await this.keys.get(keyEntry(envId, kid), load, { keep: (key) => key !== undefined && key.revokedAt === null })).value;
  }

  /**
   * For an assertion whose `iss` names a Client ID Metadata Document client (one Gatehouse does
   * not hold: a stored client keeps its id), the key of that document its header names; else
   * undefined. A document client without keys (token_endpoint_auth_method none) has none to use.
   */
  private async documentKey(env: Environment, assertion: string): Promise<KeyFound | undefined> {
    const documents = this.caches?.documents;
    if (!documents) return undefined;
    const iss = unverifiedIssuer(assertion);
    if (iss === undefined || !looksLikeClientIdUrl(iss)) return undefined;
    const client = (await documents.get(env.id, iss)).client;
    if (!client?.metadataDocument) return undefined;
    const header = checkedHeader(assertion);
    if (!isKid(header.kid)) throw new AssertionFailure('the assertion header must name a key of the client (kid)');
    const found = client.metadataDocument.keys?.find((k) => k.kid === header.kid);
    if (!found) throw new AssertionFailure(`no key ${header.kid} in the client's metadata document`, true);
    if (!HEADER_ALGORITHMS[found.alg as AssertionAlgorithm]?.includes(header.alg)) {
      throw new AssertionFailure(`key ${found.kid} signs with ${found.alg}, not ${header.alg}`, true);
    }
    const key: ClientKey = {
      envId: env.id,
      clientId: client.clientId,
      kid: found.kid,
      alg: found.alg,
      publicJwk: found.publicJwk,
      createdAt: 0,
      revokedAt: null,
    };
    return { key, client, alg: header.alg, fromDocument: true };
  }

  private async registeredKey(env: Environment, assertion: string): Promise<KeyFound> {
    const header = checkedHeader(assertion);
    if (!isKid(header.kid)) throw new AssertionFailure('the assertion header must name a registered key (kid)');
    const key = await this.findKey(env.id, header.kid);
    if (!key) throw new AssertionFailure(`no key ${header.kid} is registered in this environment`, true);
    if (key.revokedAt !== null) throw new AssertionFailure(`key ${key.kid} has been revoked`, true);
    // RFC 8725 §3.1: the key's registered algorithm only, never one the token names.
    if (!HEADER_ALGORITHMS[key.alg as AssertionAlgorithm]?.includes(header.alg)) {
      throw new AssertionFailure(`key ${key.kid} signs with ${key.alg}, not ${header.alg}`, true);
    }
    const client = await this.findOwner(env.id, key.clientId);
    if (!client?.enabled) throw new AssertionFailure(`the owner of key ${key.kid} is disabled`, true);
    return { key, client, alg: header.alg };
  }
}

const keyEntry = (envId: string, kid: string) => `${envId}\u0000${kid}`;

interface KeyFound {
  key: ClientKey;
  client: Client;
  alg: string;
  fromDocument?: true;
}

/** The protected header of a compact JWS, with an `alg` Gatehouse verifies assertions with. */
function checkedHeader(assertion: string): { alg: string; kid?: unknown } {
  let header: { alg?: unknown; kid?: unknown };
  try {
    if (assertion.split('.').length !== 3) throw new Error('not compact');
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new AssertionFailure('the assertion is not a well-formed signed JWT');
  }
  if (typeof header.alg !== 'string' || !ALL_HEADER_ALGORITHMS.includes(header.alg)) {
    throw new AssertionFailure(`the assertion algorithm must be one of ${ALL_HEADER_ALGORITHMS.join(', ')}`);
  }
  return { ...header, alg: header.alg };
}

/** A `kid` worth looking up (and naming in a refusal): a string of 1 to 256 characters without NUL. */
const isKid = (kid: unknown): kid is string => typeof kid === 'string' && kid !== '' && kid.length <= 256 && !kid.includes('\u0000');

/** The `iss` of an assertion not yet verified, to find whose keys to verify it with; undefined when unreadable. */
function unverifiedIssuer(assertion: string): string | undefined {
  try {
    const iss = decodeJwt(assertion).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

const ASSERTION_CLAIMS = ['exp', 'jti'] as const;
type AssertionClaim = (typeof ASSERTION_CLAIMS)[number];

/** Why an assertion was refused, in the words client authentication and the jwt-bearer grant report. */
function refusal(error: unknown, client: Client, key: ClientKey, audiences: readonly string[], policy: AssertionPolicy): AssertionFailure {
  // A key that cannot be loaded counts as a signature that does not verify.
  const reason = error instanceof JwtError ? error.reason : 'signature';
  const claim = error instanceof JwtError ? error.claim : undefined;
  switch (reason) {
    case 'malformed':
    case 'crit':
    case 'alg':
    case 'signature':
      return new AssertionFailure('the assertion signature does not verify with the key named by kid', true);
    case 'payload':
      return new AssertionFailure('the assertion payload is not a JSON object');
    case 'iss':
    case 'sub':
      return new AssertionFailure(`${reason} must be ${client.clientId}, the owner of key ${key.kid}`);
    case 'aud':
      return new AssertionFailure(`aud must name this server: ${audiences.join(' or ')}`);
    case 'expired':
      return new AssertionFailure('the assertion has expired (exp)');
    case 'lifetime':
      return new AssertionFailure(`exp is more than ${policy.maxLifetime} seconds in the future`);
    case 'not_yet_valid':
      return new AssertionFailure('the assertion is not valid yet (nbf)');
    case 'iat':
      return new AssertionFailure('iat is in the future');
    default:
      return claimRefusal(reason, claim);
  }
}

function claimRefusal(reason: JwtFailure, claim: string | undefined): AssertionFailure {
  if (claim === 'aud') return new AssertionFailure('aud is required: the issuer or the token endpoint URL');
  if (claim === 'jti') return new AssertionFailure(`jti is required (a unique string of at most ${MAX_JTI_LENGTH} characters)`);
  if (claim === 'exp' && reason === 'missing_claim') return new AssertionFailure('exp is required');
  if (claim === 'exp' || claim === 'nbf' || claim === 'iat') return new AssertionFailure(`${claim} must be a NumericDate (seconds since the epoch)`);
  return new AssertionFailure(`the assertion was refused (${reason})`);
}
