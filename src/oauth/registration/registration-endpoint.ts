import { randomUUID } from 'node:crypto';
import { hashesEqual, hashSecret, keyedHasher, randomToken } from '../../crypto/secrets.ts';
import type { AuditEventType, AuditLog } from '../../domain/audit.ts';
import type { Clock } from '../../domain/clock.ts';
import type { EventSink } from '../../domain/events.ts';
import type { Client, Environment } from '../../domain/model.ts';
import { type ClientRegistration, defaultRegistrationPolicy, type RegistrationPolicy } from '../../domain/registration.ts';
import { StorageUnavailableError, type Store, type TransactionStore } from '../../domain/storage.ts';
import { OAuthError } from '../errors.ts';
import { checkClientMetadata, type RegisteredMetadata } from './client-metadata.ts';
import { clientKeysOf, clientOf, type RegistrationResponse, registrationResponse } from './registered-client.ts';
import { RegistrationLimiter } from './registration-limiter.ts';
import { verifySoftwareStatement } from './software-statement.ts';

/** A registration request as the HTTP adapter hands it over. */
export interface RegistrationRequest {
  env: Environment;
  issuer: string;
  /** The parsed JSON body (RFC 7591 §3.1), not yet known to be an object. */
  body: unknown;
  /** The Bearer token of the Authorization header, if one was sent. */
  bearer: string | undefined;
  sourceAddress: string;
}

/** A request to the client configuration endpoint (RFC 7592 §2). */
export interface ManagementRequest {
  env: Environment;
  issuer: string;
  clientId: string;
  bearer: string | undefined;
}

export interface RegistrationDeps {
  store: Pick<Store, 'transaction' | 'registrations' | 'clients' | 'apis'>;
  clock: Clock;
  audit: AuditLog;
  limiter: RegistrationLimiter;
  /** This node's client cache, told of each change so the next request sees it. */
  invalidate: (envId: string, clientId: string) => void;
  /** This node's API directory, told when a registration granted APIs so the client's first request sees them. */
  invalidateApis?: (envId: string) => void;
  clockSkew: number;
  /** Told of each registration, update and deletion (metrics). */
  events?: EventSink;
}

/** RFC 6750 §3.1: a missing or wrong registration (or initial) access token. */
const invalidToken = (description: string) => new OAuthError('invalid_token', description, { challenge: 'Bearer', status: 401 });

/**
 * RFC 7591 dynamic client registration and RFC 7592 client configuration, per environment and
 * under its policy. Clients registered here are marked `dynamic`; each change is audited with the
 * registration as its actor. Registration access tokens and initial access tokens are stored
 * only as hashes; a registration access token is rotated on every update (RFC 7592 §2.2 allows it).
 */
export class RegistrationEndpoint {
  constructor(private readonly deps: RegistrationDeps) {}

  /** The last policy read for each environment, for the metadata documents while storage is down. */
  private readonly lastPolicies = new Map<string, RegistrationPolicy>();

  /** The environment's policy (registration off when it never set one). */
  async policy(env: Environment): Promise<RegistrationPolicy> {
    const policy = (await this.deps.store.registrations.findPolicy(env.id)) ?? defaultRegistrationPolicy(env.id);
    this.lastPolicies.set(env.id, policy);
    return policy;
  }

  /**
   * The policy the metadata documents announce (RFC 8414 §2 `registration_endpoint`). Metadata is
   * served without the database, so while storage is unavailable the last policy this node read
   * is used; with none, registration is not announced (it could not succeed until storage is back).
   */
  async announcedPolicy(env: Environment): Promise<RegistrationPolicy | undefined> {
    try {
      return await this.policy(env);
    } catch (error) {
      if (error instanceof StorageUnavailableError) return this.lastPolicies.get(env.id);
      throw error;
    }
  }

  /** RFC 7591 §3: registers a client; answers the §3.2.1 body (HTTP 201). */
  async register(request: RegistrationRequest): Promise<RegistrationResponse> {
    const { env, issuer } = request;
    const policy = await this.enabledPolicy(env);
    await this.deps.limiter.admit(env.id, request.sourceAddress, policy.sourceLimitPerHour);
    if (policy.mode === 'initial_access_token' && request.bearer === undefined) {
      throw invalidToken('this environment registers clients with an initial access token (RFC 7591 §3)');
    }
    const metadata = this.metadataOf(request.body, policy);
    const now = this.deps.clock.now();
    const clientId = `gh_${randomToken(18)}`;
    const client = clientOf(env, clientId, metadata, policy, now);
    const keys = clientKeysOf(env, clientId, metadata, now);
    const secret = metadata.token_endpoint_auth_method.startsWith('client_secret') ? randomToken(32) : undefined;
    const accessToken = randomToken(32);
    const registration: ClientRegistration = {
      envId: env.id,
      clientId,
      accessTokenHash: hashSecret(accessToken),
      metadata: { ...metadata },
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.store.transaction(async (tx) => {
      if (policy.mode === 'initial_access_token') {
        // RFC 7591 §3: one use of the initial access token, spent by one conditional update.
        const spent = await tx.registrations.consumeInitialAccessToken(env.id, hashSecret(request.bearer ?? ''), now);
        if (!spent) throw invalidToken('the initial access token is unknown, expired or used up');
      }
      const firstSecret = secret === undefined ? undefined : { id: randomUUID(), secretHash: hashSecret(secret), createdAt: now, expiresAt: null };
      await tx.clients.create(client, firstSecret);
      await tx.registrations.insertRegistration(registration);
      await insertKeys(tx, keys);
      await grantApis(tx, env, clientId, policy, now);
      await this.record(tx, 'client.registered', env, client, { software_id: metadata.software_id ?? null });
    });
    if (policy.allowedApis.length > 0) this.deps.invalidateApis?.(env.id);
    this.emit(env, 'registered');
    return registrationResponse(issuer, registration, accessToken, {
      ...(secret === undefined ? {} : { value: secret }),
      confidential: client.kind !== 'public',
    });
  }

  /** RFC 7592 §2.1: the client's current registration. */
  async read(request: ManagementRequest): Promise<RegistrationResponse> {
    const { registration, client } = await this.authorize(request);
    // The token is only stored hashed: the one the client presented is the current one.
    return registrationResponse(request.issuer, registration, request.bearer ?? '', { confidential: client.kind !== 'public' });
  }

  /**
   * RFC 7592 §2.2: replaces the registration with the metadata sent (fields omitted are deleted,
   * that is, back to their defaults). `client_id` must match; a `client_secret` sent must be the
   * current one; the kind of client and its keys cannot change. The registration access token
   * is rotated: the response carries the new one and the old one stops working.
   */
  async update(request: ManagementRequest & { body: unknown }): Promise<RegistrationResponse> {
    const { registration, client } = await this.authorize(request);
    const policy = await this.enabledPolicy(request.env);
    const body = jsonObject(request.body);
    if (body.client_id !== request.clientId)
      throw new OAuthError('invalid_client_metadata', 'client_id must be sent and match the registration (RFC 7592 §2.2)');
    for (const field of ['registration_access_token', 'registration_client_uri', 'client_id_issued_at', 'client_secret_expires_at']) {
      if (field in body) throw new OAuthError('invalid_client_metadata', `${field} must not be sent in an update (RFC 7592 §2.2)`);
    }
    if (body.client_secret !== undefined) await this.checkSecret(request.env, client, body.client_secret);
    const { client_id: _id, client_secret: _secret, ...fields } = body;
    const metadata = this.metadataOf(fields, policy);
    const now = this.deps.clock.now();
    const updated = { ...clientOf(request.env, client.clientId, metadata, policy, now), createdAt: client.createdAt, enabled: client.enabled };
    if (updated.kind !== client.kind) {
      throw new OAuthError(
        'invalid_client_metadata',
        'token_endpoint_auth_method cannot change between none and an authenticating method: register a new client',
      );
    }
    if (JSON.stringify(metadata.jwks ?? null) !== JSON.stringify(registration.metadata.jwks ?? null)) {
      throw new OAuthError('invalid_client_metadata', 'jwks cannot change in an update: register a new client', { parameter: 'jwks' });
    }
    const accessToken = randomToken(32);
    const next: ClientRegistration = { ...registration, metadata: { ...metadata }, accessTokenHash: hashSecret(accessToken), updatedAt: now };
    await this.deps.store.transaction(async (tx) => {
      if (!(await tx.clients.update(updated, client.updatedAt)))
        throw new OAuthError('invalid_client_metadata', 'the client changed meanwhile: read it and try again');
      // Only the token that was checked may be replaced: a concurrent update with it loses.
      if (!(await tx.registrations.updateRegistration(next))) throw invalidToken('the registration no longer exists');
      await this.record(tx, 'client.registration_updated', request.env, updated, {});
    });
    this.deps.invalidate(request.env.id, client.clientId);
    this.emit(request.env, 'updated');
    return registrationResponse(request.issuer, next, accessToken, { confidential: updated.kind !== 'public' });
  }

  /** RFC 7592 §2.3: deletes the client; its tokens and registration access token stop working. */
  async remove(request: ManagementRequest): Promise<void> {
    const { client } = await this.authorize(request);
    await this.deps.store.transaction(async (tx) => {
      if (!(await tx.clients.delete(request.env.id, client.clientId, this.deps.clock.now()))) throw invalidToken('the registration no longer exists');
      await this.record(tx, 'client.registration_deleted', request.env, client, {});
    });
    this.deps.invalidate(request.env.id, client.clientId);
    this.emit(request.env, 'deleted');
  }

  private emit(env: Environment, operation: 'registered' | 'updated' | 'deleted'): void {
    this.deps.events?.emit({ type: 'client.registration', env: { id: env.id, name: env.name }, operation });
  }

  private async enabledPolicy(env: Environment): Promise<RegistrationPolicy> {
    const policy = await this.policy(env);
    if (policy.mode === 'off') throw new OAuthError('not_found', 'client registration is not enabled in this environment');
    return policy;
  }

  /** RFC 7591 §3.1: the JSON object, with a software statement's claims taking precedence (§2.3). */
  private metadataOf(body: unknown, policy: RegistrationPolicy): RegisteredMetadata {
    const input = jsonObject(body);
    const { software_statement: statement, ...sent } = input;
    if (statement === undefined) {
      if (policy.requireSoftwareStatement) {
        throw new OAuthError('unapproved_software_statement', 'a software statement from an issuer trusted here is required', {
          parameter: 'software_statement',
        });
      }
      return checkClientMetadata(sent, policy);
    }
    const claims = verifySoftwareStatement(statement, policy, this.deps.clock.now(), this.deps.clockSkew);
    return checkClientMetadata({ ...sent, ...claims }, policy);
  }

  /**
   * RFC 7592 §3: the registration access token must be that client's, compared in constant time.
   * An unknown client and a wrong token get the same 401 (§2.1: never say which ids exist).
   */
  private async authorize(request: ManagementRequest): Promise<{ registration: ClientRegistration; client: Client }> {
    await this.enabledPolicy(request.env);
    if (request.bearer === undefined) throw invalidToken('a registration access token is required (RFC 7592 §3)');
    const presented = hashSecret(request.bearer);
    const registration = await this.deps.store.registrations.findRegistration(request.env.id, request.clientId);
    const matches = hashesEqual(presented, registration?.accessTokenHash ?? hashSecret('gatehouse-unknown-registration'));
    const client = registration && matches ? await this.deps.store.clients.find(request.env.id, request.clientId) : undefined;
    if (!registration || !matches || !client) throw invalidToken('the registration access token is not valid for this client');
    return { registration, client };
  }

  private async checkSecret(env: Environment, client: Client, sent: unknown): Promise<void> {
    const secrets = await this.deps.store.clients.activeSecrets(env.id, client.clientId, this.deps.clock.now());
    const presented = hashSecret(typeof sent === 'string' ? sent : '');
    // RFC 7592 §2.2: the client cannot choose its own secret; a secret sent must be the current one.
    if (!secrets.some((s) => hashesEqual(presented, s.secretHash))) {
      throw new OAuthError('invalid_client_metadata', 'client_secret does not match the current secret (RFC 7592 §2.2)', { parameter: 'client_secret' });
    }
  }

  private async record(tx: TransactionStore, type: AuditEventType, env: Environment, client: Client, details: Record<string, string | null>): Promise<void> {
    await this.deps.audit.record(
      {
        type,
        environment: { id: env.id, name: env.name },
        actor: { kind: 'registration', id: client.clientId },
        subject: { kind: 'client', id: client.clientId },
        outcome: 'success',
        details: { registration: 'dynamic', name: client.name, grant_types: client.grantTypes, ...details },
      },
      tx.audit,
    );
  }
}

function jsonObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OAuthError('invalid_client_metadata', 'the request body is a JSON object of client metadata (RFC 7591 §3.1)');
  }
  return body as Record<string, unknown>;
}

async function insertKeys(tx: TransactionStore, keys: ReturnType<typeof clientKeysOf>): Promise<void> {
  for (const key of keys) {
    if (await tx.clientKeys.find(key.envId, key.kid)) {
      throw new OAuthError('invalid_client_metadata', `a key with kid ${key.kid} is already registered here: choose another kid`, { parameter: 'jwks' });
    }
    await tx.clientKeys.insert(key);
  }
}

/**
 * The policy's APIs: the registered client may get tokens for each. Each API's list is changed
 * by a conditional update on its version, retried from a fresh read, so that concurrent
 * registrations (or an operator's edit) never drop one another's client from the list.
 */
async function grantApis(tx: TransactionStore, env: Environment, clientId: string, policy: RegistrationPolicy, now: number): Promise<void> {
  for (const identifier of policy.allowedApis) {
    for (let attempt = 0; ; attempt++) {
      const api = await tx.apis.find(env.id, identifier);
      if (!api || api.clientIds.includes(clientId)) break;
      // Strictly newer than the version read, even within one millisecond: the next writer's condition then fails.
      const next = { ...api, clientIds: [...api.clientIds, clientId], updatedAt: Math.max(now, api.updatedAt + 1) };
      if (await tx.apis.update(next, api.updatedAt)) break;
      if (attempt >= GRANT_ATTEMPTS) throw new OAuthError('temporarily_unavailable', 'too many registrations at once; retry later', { retryAfter: 1 });
    }
  }
}

const GRANT_ATTEMPTS = 20;

/** Wires the registration endpoint over the node's store, clock, audit log and client cache. */
export function createRegistrationEndpoint(parts: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  keySecret: Buffer;
  clients: { invalidate(envId: string, clientId: string): void };
  apis?: { invalidate(envId: string): void };
  clockSkew: number;
  events?: EventSink;
}): RegistrationEndpoint {
  const { store, clock, audit, keySecret, clients, apis, clockSkew, events } = parts;
  const limiter = new RegistrationLimiter(store.rateCounters, clock, keyedHasher(keySecret, 'rate counters'));
  return new RegistrationEndpoint({
    store,
    clock,
    audit,
    limiter,
    invalidate: (envId, clientId) => clients.invalidate(envId, clientId),
    ...(apis ? { invalidateApis: (envId: string) => apis.invalidate(envId) } : {}),
    clockSkew,
    ...(events ? { events } : {}),
  });
}
