import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK, SignJWT } from 'jose';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import { type Client, type ClientKey, type Environment, MAX_SCOPES } from '../domain/model.ts';
import type { CreationKey, PageQuery, Store } from '../domain/storage.ts';
import { ASSERTION_ALGORITHMS, type AssertionAlgorithm, JWT_BEARER_GRANT_TYPE } from '../oauth/assertions.ts';
import type { ClientCache } from '../oauth/client-cache.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import { AdminError, isoOrNull, type LastUsed } from './admin-service.ts';
import { AdminAudit } from './audit-trail.ts';
import { type Listed, listed } from './paging.ts';
import type { AdminPolicy } from './policy.ts';

export interface ServiceAccountView {
  service_account_id: string;
  name: string;
  environment: string;
  issuer: string;
  token_endpoint: string;
  grant_types: string[];
  scopes: string[];
  default_scopes: string[];
  enabled: boolean;
  created_at: string;
}

export interface KeyListing extends LastUsed {
  kid: string;
  owner: string;
  alg: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
}

/** A new key pair: the private half is returned here once and never stored. */
export interface CreatedKey extends KeyListing {
  private_key_pem: string;
  private_jwk: JWK;
  public_jwk: JWK;
  /** A signed assertion valid for five minutes and the request that trades it for a token. */
  example: { assertion: string; expires_at: string; curl: string };
}

const EXAMPLE_LIFETIME_S = 300;

/**
 * Service accounts and the keys of clients and service accounts. Gatehouse generates each key
 * pair, keeps only the public key and hands the private key to the caller exactly once.
 */
export class ServiceAccountService {
  constructor(
    private readonly config: Pick<AdminPolicy, 'publicUrl'>,
    private readonly store: Store,
    private readonly clock: Clock,
    /** This node's client cache, refreshed after a change made here. */
    private readonly clients?: ClientCache,
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  async create(input: { env: string; name: string; scopes?: string[]; defaultScopes?: string[]; withSecret?: boolean }) {
    const env = await this.environment(input.env);
    const scopes = [...new Set((input.scopes ?? []).filter(Boolean))];
    if (scopes.length > MAX_SCOPES) throw new AdminError('invalid_argument', `a service account may list at most ${MAX_SCOPES} scopes`);
    for (const scope of scopes) if (!isValidScopeToken(scope)) throw new AdminError('invalid_argument', `invalid scope ${JSON.stringify(scope)}`);
    const defaultScopes = [...new Set(input.defaultScopes ?? scopes)];
    const outside = defaultScopes.filter((s) => !scopes.includes(s));
    if (outside.length) throw new AdminError('invalid_argument', `default scopes must be allowed scopes: ${outside.join(' ')}`);
    const name = input.name.trim();
    if (!name || name.length > 200) throw new AdminError('invalid_argument', 'service account name must be 1-200 characters');
    const now = this.clock.now();
    const account: Client = {
      envId: env.id,
      // The sa_ prefix keeps service-account subjects apart from every user id.
      clientId: `sa_${randomToken(18)}`,
      name,
      kind: 'service_account',
      grantTypes: input.withSecret ? [JWT_BEARER_GRANT_TYPE, 'client_credentials'] : [JWT_BEARER_GRANT_TYPE],
      scopes,
      defaultScopes,
      redirectUris: [],
      tokenFormat: 'jwt',
      accessTokenTtl: null,
      introspectAny: false,
      allowMissingPkce: false,
      quota: null,
      enabled: true,
      createdAt: now,
      updatedAt: now,
    };
    const secret = input.withSecret ? randomToken(32) : undefined;
    const firstSecret = secret ? { id: randomUUID(), secretHash: hashSecret(secret), createdAt: now, expiresAt: null } : undefined;
    const created = {
      type: 'service_account.created',
      env,
      subject: { kind: 'service_account', id: account.clientId },
      details: () => ({ name, scopes, with_secret: secret !== undefined }),
    } as const;
    // The secret is returned only once the account and its audit event are committed.
    await this.audit.change(this.store, created, (tx) => tx.clients.create(account, firstSecret));
    return { ...this.view(env, account), ...(secret ? { client_secret: secret } : {}) };
  }

  /** One page of service accounts by id. */
  async page(envName: string, page: PageQuery<string>): Promise<Listed<ServiceAccountView, string>> {
    const env = await this.environment(envName);
    return listed(
      await this.store.adminLists.clients(env.id, 'service_account', page),
      (c) => this.view(env, c),
      (c) => c.clientId,
    );
  }

  async list(envName: string): Promise<ServiceAccountView[]> {
    const env = await this.environment(envName);
    const clients = await this.store.clients.list(env.id);
    return clients.filter((c) => c.kind === 'service_account').map((c) => this.view(env, c));
  }

  /**
   * `expect` sees the account as read and may refuse (an admin's If-Match); the write then applies
   * only to that version, so a change made in between is never overwritten.
   */
  async setEnabled(envName: string, id: string, enabled: boolean, expect?: (current: ServiceAccountView) => void): Promise<ServiceAccountView> {
    const env = await this.environment(envName);
    const changed = { type: enabled ? 'service_account.enabled' : 'service_account.disabled', env, subject: { kind: 'service_account', id } } as const;
    const next = await this.audit.change(this.store, changed, async (tx) => {
      const current = await this.owner(env, id, 'service_account', tx);
      expect?.(this.view(env, current));
      // Strictly later than the version read, so a second writer of that version always loses.
      const next: Client = { ...current, enabled, updatedAt: Math.max(this.clock.now(), current.updatedAt + 1) };
      if (await tx.clients.update(next, current.updatedAt)) return next;
      expect?.(this.view(env, await this.owner(env, id, 'service_account', tx)));
      throw new AdminError('conflict', `service account ${id} changed while being updated: read it again`);
    });
    this.clients?.invalidate(env.id, id);
    return this.view(env, next);
  }

  /** Generates a key pair for a service account (or, with `kind: 'client'`, a confidential client). */
  async createKey(envName: string, ownerId: string, alg: string = 'ES256', kind: 'service_account' | 'client' = 'service_account'): Promise<CreatedKey> {
    if (!(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new AdminError('invalid_argument', `unsupported key algorithm ${alg} (use ${ASSERTION_ALGORITHMS.join(', ')})`);
    }
    const env = await this.environment(envName);
    const owner = await this.owner(env, ownerId, kind);
    const algorithm = alg as AssertionAlgorithm;
    const { publicKey, privateKey } = await generateKeyPair(algorithm, {
      extractable: true,
      ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}),
      ...(algorithm === 'RS256' ? { modulusLength: 2048 } : {}),
    });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const now = this.clock.now();
    const record: ClientKey = {
      envId: env.id,
      kid,
      clientId: owner.clientId,
      alg: algorithm,
      publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
      createdAt: now,
      revokedAt: null,
    };
    const added = { type: `${kind}.key_added`, env, subject: { kind, id: owner.clientId }, details: () => ({ kid, alg: algorithm }) } as const;
    // The private key is returned only once the public key and its audit event are committed.
    await this.audit.change(this.store, added, (tx) => tx.clientKeys.insert(record));
    const urls = issuerUrls(this.config.publicUrl, env);
    const iat = Math.floor(now / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: algorithm, kid, typ: 'JWT' })
      .setIssuer(owner.clientId)
      .setSubject(owner.clientId)
      .setAudience(urls.token)
      .setIssuedAt(iat)
      .setExpirationTime(iat + EXAMPLE_LIFETIME_S)
      .setJti(randomUUID())
      .sign(privateKey);
    const curl =
      owner.kind === 'service_account'
        ? `curl -s -d grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)} -d assertion=${assertion} ${urls.token}`
        : `curl -s -d grant_type=client_credentials -d client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')} -d client_assertion=${assertion} ${urls.token}`;
    return {
      ...listing(record),
      private_key_pem: await exportPKCS8(privateKey),
      private_jwk: { ...(await exportJWK(privateKey)), kid, alg: algorithm },
      public_jwk: record.publicJwk as JWK,
      example: { assertion, expires_at: new Date((iat + EXAMPLE_LIFETIME_S) * 1000).toISOString(), curl },
    };
  }

  /** One page of the keys of a service account (or client), by creation. */
  async pageKeys(
    envName: string,
    ownerId: string,
    page: PageQuery<CreationKey>,
    kind: 'service_account' | 'client' = 'service_account',
  ): Promise<Listed<KeyListing, CreationKey>> {
    const env = await this.environment(envName);
    await this.owner(env, ownerId, kind);
    const stored = await this.store.adminLists.clientKeys(env.id, ownerId, page);
    const lastUsed = await this.store.usage.lastUsed('key', env.id, ownerId);
    return listed(
      stored,
      (key) => listing(key, lastUsed.get(key.kid)),
      (key) => ({ createdAt: key.createdAt, id: key.kid }),
    );
  }

  async listKeys(envName: string, ownerId: string, kind: 'service_account' | 'client' = 'service_account'): Promise<KeyListing[]> {
    const env = await this.environment(envName);
    await this.owner(env, ownerId, kind);
    const lastUsed = await this.store.usage.lastUsed('key', env.id, ownerId);
    return (await this.store.clientKeys.list(env.id, ownerId)).map((key) => listing(key, lastUsed.get(key.kid)));
  }

  /** Revokes a key: assertions signed with it fail from the next request on, on every node. */
  async revokeKey(envName: string, ownerId: string, kid: string, kind: 'service_account' | 'client' = 'service_account'): Promise<KeyListing> {
    const env = await this.environment(envName);
    const revoked = { type: `${kind}.key_revoked`, env, subject: { kind, id: ownerId }, details: () => ({ kid }) } as const;
    return this.audit.change(this.store, revoked, async (tx) => {
      await this.owner(env, ownerId, kind, tx);
      const key = await tx.clientKeys.find(env.id, kid);
      if (!key || key.clientId !== ownerId) throw new AdminError('not_found', `no key ${kid} for ${ownerId}`);
      if (!(await tx.clientKeys.revoke(env.id, ownerId, kid, this.clock.now()))) throw new AdminError('conflict', `key ${kid} is already revoked`);
      const lastUsed = await tx.usage.lastUsed('key', env.id, ownerId);
      return listing((await tx.clientKeys.find(env.id, kid)) ?? key, lastUsed.get(kid));
    });
  }

  // --- Operations of the admin API ---

  async get(envName: string, id: string): Promise<ServiceAccountView> {
    const env = await this.environment(envName);
    return this.view(env, await this.owner(env, id, 'service_account'));
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }

  /** The owner of keys, read through `store` (a change's transaction, where one is open). */
  private async owner(env: Environment, id: string, kind: 'service_account' | 'client', store: Pick<Store, 'clients'> = this.store): Promise<Client> {
    const client = await store.clients.find(env.id, id);
    if (kind === 'service_account') {
      if (client?.kind !== 'service_account') throw new AdminError('not_found', `no service account ${id} in environment ${env.name}`);
      return client;
    }
    if (!client || client.kind === 'service_account') throw new AdminError('not_found', `no client ${id} in environment ${env.name}`);
    if (client.kind === 'public') throw new AdminError('invalid_argument', 'a public client cannot hold keys: it cannot keep a private key secret');
    return client;
  }

  private view(env: Environment, c: Client): ServiceAccountView {
    const urls = issuerUrls(this.config.publicUrl, env);
    return {
      service_account_id: c.clientId,
      name: c.name,
      environment: env.name,
      issuer: urls.issuer,
      token_endpoint: urls.token,
      grant_types: c.grantTypes,
      scopes: c.scopes,
      default_scopes: c.defaultScopes,
      enabled: c.enabled,
      created_at: new Date(c.createdAt).toISOString(),
    };
  }
}

function listing(key: ClientKey, lastUsedAt?: number): KeyListing {
  return {
    kid: key.kid,
    owner: key.clientId,
    alg: key.alg,
    status: key.revokedAt === null ? 'active' : 'revoked',
    created_at: new Date(key.createdAt).toISOString(),
    revoked_at: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
    last_used_at: isoOrNull(lastUsedAt),
  };
}
