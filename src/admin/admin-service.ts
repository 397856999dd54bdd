import { randomUUID } from 'node:crypto';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type {
  Client,
  ClientKind,
  ClientSecret,
  Environment,
  IdTokenAlgorithm,
  RefreshTokenPolicy,
  SigningKey,
  SubjectType,
  TokenFormat,
} from '../domain/model.ts';
import { ConflictError, type CreationKey, type PageQuery, type Store, type TransactionStore } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { grantRuleViolation } from '../oauth/grants/index.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { activationLeadMs, KeyRotation, MIN_ROTATION_INTERVAL } from '../oauth/key-rotation.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import { generateSigningKey, ID_TOKEN_KEY_ALGORITHM, isKeyAlgorithm, KEY_ALGORITHMS, type KeyLineage, lineageOf } from '../oauth/signing-keys.ts';
import { utcDay } from '../observability/usage.ts';
import { AdminError } from './admin-error.ts';
import { AdminAudit, type AuditedChange } from './audit-trail.ts';
import {
  CLIENT_DPOP_FIELDS,
  type ClientDpopChanges,
  type ClientDpopView,
  clientDpopView,
  type EnvironmentDpopView,
  environmentDpopView,
  withDpopChanges,
} from './client-dpop.ts';
import {
  CLIENT_OIDC_FIELDS,
  type ClientOidcChanges,
  type ClientOidcView,
  checkClientOidc,
  clientOidcView,
  SUBJECT_TYPES,
  sectorlessHosts,
  withOidcChanges,
} from './client-oidc.ts';
import { type Listed, listed } from './paging.ts';
import {
  CLIENT_PAR_FIELDS,
  type ClientParChanges,
  type ClientParView,
  checkClientPar,
  clientParView,
  type EnvironmentParChanges,
  type EnvironmentParView,
  environmentParView,
  givesParSettings,
  parSettingsOf,
  withParChanges,
  withParSettings,
} from './par-settings.ts';
import type { AdminPolicy, KeySecretSource } from './policy.ts';
import { type ClientRegistrationView, clientRegistrationView } from './registration-policy.ts';
import { type KeyRevocationView, type KeyView, keyView, revokeSigningKey } from './signing-keys.ts';

export { AdminError } from './admin-error.ts';
export type { KeyView } from './signing-keys.ts';

export interface CreateClientInput extends ClientOidcChanges, ClientDpopChanges, ClientParChanges {
  env: string;
  name: string;
  grantTypes?: string[];
  scopes?: string[];
  defaultScopes?: string[];
  redirectUris?: string[];
  kind?: ClientKind;
  tokenFormat?: TokenFormat;
  accessTokenTtl?: number | null;
  introspectAny?: boolean;
  allowMissingPkce?: boolean;
  /** Requests per quota window; null or absent: the environment's default. */
  quota?: number | null;
}

export interface ClientView extends ClientOidcView, ClientDpopView, ClientParView, ClientRegistrationView {
  client_id: string;
  name: string;
  environment: string;
  issuer: string;
  type: ClientKind;
  grant_types: string[];
  scopes: string[];
  default_scopes: string[];
  redirect_uris: string[];
  token_format: TokenFormat;
  access_token_ttl: number | null;
  introspect_any: boolean;
  allow_missing_pkce: boolean;
  /** Requests per quota window; null: the environment's default applies. */
  quota: number | null;
  enabled: boolean;
  created_at: string;
}

/** When it was last used (null: never, as far as the usage records go), written by each node every GATEHOUSE_USAGE_FLUSH_INTERVAL. */
export interface LastUsed {
  last_used_at: string | null;
}

/** What `client show` adds to a client: its secrets' use and the access tokens it got. */
export interface ClientDetails extends ClientView, LastUsed {
  secrets: ({ id: string; created_at: string; expires_at: string | null } & LastUsed)[];
  /** Access tokens issued today (UTC). */
  tokens_today: number;
  /** Access tokens issued over the last 30 UTC days, today included. */
  tokens_last_30_days: number;
}

/** Days of token counts `client show` adds up, today included. */
export const TOKEN_COUNT_DAYS = 30;
const DAY_MS = 86_400_000;

export interface EnvironmentView extends EnvironmentDpopView, EnvironmentParView {
  name: string;
  issuer: string;
  /** Requests per quota window for each client that sets no quota of its own; null: unlimited. */
  default_quota: number | null;
  /** Core §8: the subject type of clients that choose none. */
  subject_type: SubjectType;
  /** Core §11: when user flows get refresh tokens (`client`: whenever the client may refresh; `offline_access`: only when granted). */
  refresh_token_policy: RefreshTokenPolicy;
  created_at: string;
}

/** What `updateEnvironment` may change; absent fields keep their value. */
export interface EnvironmentChanges extends EnvironmentParChanges {
  /** RFC 9449 §8: DPoP proofs at the token endpoint must carry a server nonce. */
  dpopNonceRequired?: boolean;
  defaultQuota?: number | null;
  subjectType?: SubjectType;
  refreshTokenPolicy?: RefreshTokenPolicy;
}

export const REFRESH_TOKEN_POLICIES: readonly RefreshTokenPolicy[] = ['client', 'offline_access'];

export interface KeyRotationView {
  environment: string;
  /** Seconds between scheduled rotations; null: none. */
  key_rotation_interval: number | null;
  /** Time from a scheduled rotation to the new key's activation, in seconds. */
  activation_lead: number;
}

/** What `updateClient` may change; absent fields keep their value. */
export interface ClientChanges extends ClientOidcChanges, ClientDpopChanges, ClientParChanges {
  name?: string;
  grantTypes?: string[];
  scopes?: string[];
  defaultScopes?: string[];
  redirectUris?: string[];
  tokenFormat?: TokenFormat;
  accessTokenTtl?: number | null;
  introspectAny?: boolean;
  allowMissingPkce?: boolean;
  quota?: number | null;
  enabled?: boolean;
}

/** One secret of a client, by id: its value is shown only when it is created. */
export interface ClientSecretView {
  id: string;
  created_at: string;
  expires_at: string | null;
}

const ENV_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A scheduled rotation refused because a next key is pending: rolled back, then recorded as refused. */
class RotationPending extends Error {}

/**
 * The application-service layer: every administrative change goes through here, whether it
 * comes from the CLI or (later) the admin HTTP API, so the checks live in one place.
 */
export class AdminService {
  constructor(
    private readonly config: AdminPolicy,
    /** Read only by key operations, which fail clearly when none is configured. */
    private readonly keySecret: KeySecretSource,
    private readonly store: Store,
    /** This node's caches, refreshed after a change made here; other nodes catch up within GATEHOUSE_CACHE_TTL. */
    private readonly caches: Pick<OAuthCore, 'keys' | 'clients'> | undefined,
    private readonly clock: Clock,
    /** Records each change with the actor the services were built for. */
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  async createEnvironment(name: string): Promise<{ name: string; issuer: string; jwks_uri: string; kid: string }> {
    if (!ENV_NAME.test(name)) throw new AdminError('invalid_argument', 'environment names use 1-64 letters, digits, "-" or "_"');
    const now = this.clock.now();
    const env: Environment = { id: randomUUID(), name, createdAt: now, defaultQuota: null };
    // The environment's two lineages from the start: its access-token key and the RS256 key
    // that ID Tokens are signed with by default (OpenID Connect Core §15.1).
    const [key, idTokenKey] = await Promise.all([
      generateSigningKey(env.id, this.config.signingAlgorithm, this.requireKeySecret(), now),
      generateSigningKey(env.id, ID_TOKEN_KEY_ALGORITHM, this.requireKeySecret(), now),
    ]);
    const created = {
      type: 'environment.created',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ name, kid: key.kid, id_token_kid: idTokenKey.kid }),
    } as const;
    try {
      await this.audit.change(this.store, created, (tx) => tx.environments.create(env, key, idTokenKey));
    } catch (error) {
      if (error instanceof ConflictError) throw new AdminError('conflict', `environment ${name} already exists`);
      throw error;
    }
    const urls = issuerUrls(this.config.publicUrl, env);
    return { name, issuer: urls.issuer, jwks_uri: urls.jwks, kid: key.kid };
  }

  /** One page of environments by name (the admin API's list). */
  async pageEnvironments(page: PageQuery<string>): Promise<Listed<EnvironmentView, string>> {
    return listed(
      await this.store.adminLists.environments(page),
      (env) => this.environmentView(env),
      (env) => env.name,
    );
  }

  async listEnvironments(): Promise<EnvironmentView[]> {
    const envs = await this.store.environments.list();
    return envs.map((env) => this.environmentView(env));
  }

  /**
   * Sets the quota of every client of the environment that sets none of its own (requests per
   * quota window), or with null removes it. Running nodes see it within GATEHOUSE_CACHE_TTL.
   */
  async setEnvironmentQuota(envName: string, quota: number | null, expect?: (current: EnvironmentView) => void): Promise<EnvironmentView> {
    return this.updateEnvironment(envName, { defaultQuota: quota }, expect);
  }

  /**
   * Changes an environment's default quota and OpenID Connect settings; absent fields keep their
   * value. Each write is conditional on the value read, so a change made in between is never
   * overwritten (`conflict`). Running nodes see it within GATEHOUSE_CACHE_TTL.
   */
  async updateEnvironment(envName: string, changes: EnvironmentChanges, expect?: (current: EnvironmentView) => void): Promise<EnvironmentView> {
    if (changes.defaultQuota !== undefined) validQuota(changes.defaultQuota);
    let env = await this.environment(envName);
    expect?.(this.environmentView(env));
    if (givesParSettings(changes)) env = await this.writeParSettings(env, changes, expect);
    if (changes.dpopNonceRequired !== undefined && changes.dpopNonceRequired !== (env.dpopNonceRequired === true)) {
      env = await this.writeDpopNonceRequired(env, changes.dpopNonceRequired);
    }
    const oidcGiven = changes.subjectType !== undefined || changes.refreshTokenPolicy !== undefined;
    if (!oidcGiven) return changes.defaultQuota === undefined ? this.environmentView(env) : this.writeQuota(env, changes.defaultQuota, expect);
    if (changes.subjectType !== undefined && !SUBJECT_TYPES.includes(changes.subjectType)) {
      throw new AdminError('invalid_argument', `subject_type must be one of ${SUBJECT_TYPES.join(', ')}`);
    }
    if (changes.refreshTokenPolicy !== undefined && !REFRESH_TOKEN_POLICIES.includes(changes.refreshTokenPolicy)) {
      throw new AdminError('invalid_argument', `refresh_token_policy must be one of ${REFRESH_TOKEN_POLICIES.join(', ')}`);
    }
    const quota = changes.defaultQuota === undefined ? env.defaultQuota : validQuota(changes.defaultQuota);
    if (changes.subjectType === 'pairwise' && env.subjectType !== 'pairwise') {
      // Core §8.1: each client that would become pairwise needs one sector.
      const stuck = (await this.store.clients.list(env.id)).filter((c) => sectorlessHosts(c, 'pairwise'));
      if (stuck.length > 0) {
        throw new AdminError(
          'invalid_argument',
          `clients ${stuck.map((c) => c.clientId).join(', ')} have redirect URIs on several hosts and no sector_identifier_uri: give them one (or subject_type public) before making pairwise the default`,
        );
      }
    }
    const read = { subjectType: env.subjectType ?? 'public', refreshTokenPolicy: env.refreshTokenPolicy ?? 'client' } as const;
    const settings = { subjectType: changes.subjectType ?? read.subjectType, refreshTokenPolicy: changes.refreshTokenPolicy ?? read.refreshTokenPolicy };
    const changed = {
      type: 'environment.oidc_settings_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({
        subject_type: settings.subjectType,
        refresh_token_policy: settings.refreshTokenPolicy,
        ...(changes.defaultQuota === undefined ? {} : { default_quota: quota }),
      }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      // Both conditional on the values read: of two writers of one version, only one succeeds.
      const written =
        (await tx.environments.setOidcSettings(env.name, settings, read)) &&
        (changes.defaultQuota === undefined || (await tx.environments.setDefaultQuota(env.name, quota, env.defaultQuota)));
      if (written) return;
      const fresh = await tx.environments.findByName(env.name);
      if (!fresh) throw new AdminError('not_found', `no environment named ${envName}`);
      expect?.(this.environmentView(fresh));
      throw new AdminError('conflict', `environment ${envName} changed while being updated: read it again`);
    });
    const next: Environment = { ...env, defaultQuota: quota, subjectType: settings.subjectType, refreshTokenPolicy: settings.refreshTokenPolicy };
    return this.environmentView(next);
  }

  /**
   * RFC 9449 §8: whether DPoP proofs at the environment's token endpoint must carry a server
   * nonce. Running nodes see it within GATEHOUSE_CACHE_TTL.
   */
  async setDpopNonceRequired(envName: string, required: boolean): Promise<EnvironmentView> {
    return this.environmentView(await this.writeDpopNonceRequired(await this.environment(envName), required));
  }

  /** The nonce switch written and audited; the environment as it is now. */
  private async writeDpopNonceRequired(env: Environment, required: boolean): Promise<Environment> {
    const changed = {
      type: 'environment.dpop_settings_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ dpop_nonce_required: required }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.environments.setDpopNonceRequired(env.name, required))) throw new AdminError('not_found', `no environment named ${env.name}`);
    });
    const next: Environment = { ...env };
    if (required) next.dpopNonceRequired = true;
    else delete next.dpopNonceRequired;
    return next;
  }

  /** RFC 9126 §5 and the security profile: one conditional write on the values read, audited. */
  private async writeParSettings(env: Environment, changes: EnvironmentParChanges, expect?: (current: EnvironmentView) => void): Promise<Environment> {
    const { read, settings } = parSettingsOf(env, changes);
    const changed = {
      type: 'environment.security_settings_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ require_pushed_authorization_requests: settings.requirePushedAuthorizationRequests, security_profile: settings.securityProfile }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (await tx.environments.setPushedRequestSettings(env.name, settings, read)) return;
      const fresh = await tx.environments.findByName(env.name);
      if (!fresh) throw new AdminError('not_found', `no environment named ${env.name}`);
      expect?.(this.environmentView(fresh));
      throw new AdminError('conflict', `environment ${env.name} changed while being updated: read it again`);
    });
    return withParSettings(env, settings);
  }

  private async writeQuota(env: Environment, quota: number | null, expect?: (current: EnvironmentView) => void): Promise<EnvironmentView> {
    const envName = env.name;
    const value = validQuota(quota);
    const changed = {
      type: 'environment.quota_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ default_quota: value }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      // Conditional on the quota as read, the only part of its view that changes: the write applies to the version checked.
      if (await tx.environments.setDefaultQuota(env.name, value, env.defaultQuota)) return;
      const fresh = await tx.environments.findByName(env.name);
      if (!fresh) throw new AdminError('not_found', `no environment named ${envName}`);
      expect?.(this.environmentView(fresh));
      throw new AdminError('conflict', `environment ${envName} changed while being updated: read it again`);
    });
    return this.environmentView({ ...env, defaultQuota: value });
  }

  async createClient(input: CreateClientInput): Promise<ClientView & { client_secret?: string }> {
    const env = await this.environment(input.env);
    const kind = input.kind ?? 'confidential';
    const grantTypes = unique(input.grantTypes?.length ? input.grantTypes : ['client_credentials']);
    const scopes = unique(input.scopes ?? []);
    for (const scope of scopes) {
      if (!isValidScopeToken(scope)) throw new AdminError('invalid_argument', `invalid scope ${JSON.stringify(scope)}`);
    }
    const defaultScopes = unique(input.defaultScopes ?? scopes);
    const outside = defaultScopes.filter((s) => !scopes.includes(s));
    if (outside.length) throw new AdminError('invalid_argument', `default scopes must be allowed scopes: ${outside.join(' ')}`);
    const redirectUris = unique(input.redirectUris ?? []);
    for (const uri of redirectUris) validateRedirectUri(uri);
    const grantProblem = grantRuleViolation(kind, grantTypes, redirectUris);
    if (grantProblem !== undefined) throw new AdminError('invalid_argument', grantProblem);
    const ttl = input.accessTokenTtl ?? null;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > this.config.maxAccessTokenTtl)) {
      throw new AdminError('invalid_argument', `access-token lifetime must be 1..${this.config.maxAccessTokenTtl} seconds`);
    }
    const name = input.name.trim();
    if (!name || name.length > 200) throw new AdminError('invalid_argument', 'client name must be 1-200 characters');

    const allowMissingPkce = input.allowMissingPkce ?? false;
    if (allowMissingPkce && (kind !== 'confidential' || !grantTypes.includes('authorization_code'))) {
      // RFC 9700 §2.1.1: a public client has no secret, so PKCE is its only protection.
      throw new AdminError('invalid_argument', 'only a confidential client using authorization_code may omit PKCE');
    }
    const now = this.clock.now();
    const base: Client = {
      envId: env.id,
      clientId: `gh_${randomToken(18)}`,
      name,
      kind,
      grantTypes,
      scopes,
      defaultScopes,
      redirectUris,
      tokenFormat: input.tokenFormat ?? 'jwt',
      accessTokenTtl: ttl,
      introspectAny: input.introspectAny ?? false,
      allowMissingPkce,
      quota: validQuota(input.quota ?? null),
      enabled: true,
      createdAt: now,
      updatedAt: now,
    };
    const client = withParChanges(withDpopChanges(withOidcChanges(base, input), input), input);
    checkClientOidc(client, env, validateRedirectUri);
    checkClientPar(client);
    this.checkIdTokenAlgorithm(client);
    const secret = kind === 'confidential' ? randomToken(32) : undefined;
    const firstSecret = secret ? { id: randomUUID(), secretHash: hashSecret(secret), createdAt: now, expiresAt: null } : undefined;
    const created = { type: 'client.created', env, subject: { kind: 'client', id: client.clientId }, details: () => clientDetails(client) } as const;
    // The secret is returned only once the client and its audit event are committed.
    await this.audit.change(this.store, created, (tx) => tx.clients.create(client, firstSecret));
    return { ...this.view(env, client), ...(secret ? { client_secret: secret } : {}) };
  }

  async listClients(envName: string): Promise<(ClientView & LastUsed)[]> {
    const env = await this.environment(envName);
    const lastUsed = await this.store.usage.lastUsed('client', env.id);
    return (await this.store.clients.list(env.id)).map((c) => ({ ...this.view(env, c), last_used_at: isoOrNull(lastUsed.get(c.clientId)) }));
  }

  /** One page of the environment's clients (not service accounts) by id, with their last use. */
  async pageClients(envName: string, page: PageQuery<string>): Promise<Listed<ClientView & LastUsed, string>> {
    const env = await this.environment(envName);
    const stored = await this.store.adminLists.clients(env.id, 'client', page);
    // Only this page's clients: the list is never read whole.
    const lastUsed = await this.store.usage.lastUsed(
      'client',
      env.id,
      undefined,
      stored.items.map((c) => c.clientId),
    );
    return listed(
      stored,
      (c) => ({ ...this.view(env, c), last_used_at: isoOrNull(lastUsed.get(c.clientId)) }),
      (c) => c.clientId,
    );
  }

  /** The client with its last use, each current secret's last use, and its token counts of today and the last 30 days. */
  async showClient(envName: string, clientId: string): Promise<ClientDetails> {
    const env = await this.environment(envName);
    const client = await this.client(env, clientId);
    const now = this.clock.now();
    const secrets = await this.store.clients.activeSecrets(env.id, clientId, now);
    const secretUses = await this.store.usage.lastUsed('client_secret', env.id, clientId);
    const today = utcDay(now);
    const counts = await this.store.usage.tokenCounts(env.id, clientId, utcDay(now - (TOKEN_COUNT_DAYS - 1) * DAY_MS), today);
    return {
      ...this.view(env, client),
      last_used_at: isoOrNull((await this.store.usage.lastUsed('client', env.id, clientId)).get(clientId)),
      secrets: secrets.map((s) => ({
        id: s.id,
        created_at: iso(s.createdAt),
        expires_at: s.expiresAt === null ? null : iso(s.expiresAt),
        last_used_at: isoOrNull(secretUses.get(s.id)),
      })),
      tokens_today: counts.get(today) ?? 0,
      tokens_last_30_days: [...counts.values()].reduce((sum, n) => sum + n, 0),
    };
  }

  /** Issues a new secret; the old ones keep working until `overlapSeconds` from now. */
  async rotateClientSecret(envName: string, clientId: string, overlapSeconds = this.config.secretRotationOverlap) {
    const env = await this.environment(envName);
    const rotated = {
      type: 'client.secret_rotated',
      env,
      subject: { kind: 'client', id: clientId },
      details: (r: { previous_secrets_expire_at: string }) => ({ previous_secrets_expire_at: r.previous_secrets_expire_at }),
    } as const;
    const result = await this.audit.change(this.store, rotated, (tx) => this.issueClientSecret(tx, env, clientId, overlapSeconds));
    this.caches?.clients.invalidate(env.id, clientId);
    return result;
  }

  private async issueClientSecret(tx: TransactionStore, env: Environment, clientId: string, overlapSeconds: number) {
    const client = await tx.clients.find(env.id, clientId);
    if (!client) throw new AdminError('not_found', `no client ${clientId} in environment ${env.name}`);
    if (client.kind === 'public') throw new AdminError('invalid_argument', 'a public client has no secret to rotate');
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0) throw new AdminError('invalid_argument', 'overlap must be a whole number of seconds');
    const now = this.clock.now();
    const secret = randomToken(32);
    const overlapUntil = now + overlapSeconds * 1000;
    await tx.clients.rotateSecret(env.id, clientId, { id: randomUUID(), secretHash: hashSecret(secret), createdAt: now, expiresAt: null }, overlapUntil);
    return { client_id: clientId, client_secret: secret, previous_secrets_expire_at: iso(overlapUntil) };
  }

  async setClientEnabled(envName: string, clientId: string, enabled: boolean): Promise<ClientView> {
    const env = await this.environment(envName);
    const changed = { type: enabled ? 'client.enabled' : 'client.disabled', env, subject: { kind: 'client', id: clientId } } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.clients.setEnabled(env.id, clientId, enabled, this.clock.now()))) {
        throw new AdminError('not_found', `no client ${clientId} in environment ${envName}`);
      }
    });
    this.caches?.clients.invalidate(env.id, clientId);
    return this.view(env, await this.client(env, clientId));
  }

  /** Sets the client's own quota (requests per quota window), or with null removes it: the environment's default then applies. */
  async setClientQuota(envName: string, clientId: string, quota: number | null): Promise<ClientView> {
    const env = await this.environment(envName);
    const value = validQuota(quota);
    const changed = { type: 'client.quota_changed', env, subject: { kind: 'client', id: clientId }, details: () => ({ quota: value }) } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.clients.setQuota(env.id, clientId, value, this.clock.now()))) {
        throw new AdminError('not_found', `no client ${clientId} in environment ${envName}`);
      }
    });
    this.caches?.clients.invalidate(env.id, clientId);
    return this.view(env, await this.client(env, clientId));
  }

  /** One page of the environment's signing keys, oldest first, with their state now. */
  async pageKeys(envName: string, page: PageQuery<CreationKey>): Promise<Listed<KeyView, CreationKey>> {
    const env = await this.environment(envName);
    const now = this.clock.now();
    return listed(
      await this.store.adminLists.signingKeys(env.id, page),
      (k) => keyView(k, now),
      (k) => ({ createdAt: k.createdAt, id: k.kid }),
    );
  }

  async listKeys(envName: string): Promise<KeyView[]> {
    const env = await this.environment(envName);
    const now = this.clock.now();
    return (await this.store.signingKeys.list(env.id)).map((k) => keyView(k, now));
  }

  /**
   * Starts a key rotation of one lineage: by default the access-token key's, with `alg` RS256 the
   * ID-Token key's (ES256 or EdDSA name the access-token lineage, and must be the configured
   * GATEHOUSE_SIGNING_ALG, the algorithm its new key gets). By default the new key is next:
   * published at once, signing only after the activation lead (GATEHOUSE_CACHE_TTL +
   * GATEHOUSE_JWKS_MAX_AGE + 1 s), when every cached JWKS lists it; refused while another next
   * key of the lineage is pending. With `now`, the fast path: the new key signs after the
   * publication lead (GATEHOUSE_CACHE_TTL + 1 s), once every node publishes it, so only resource
   * servers holding an older JWKS refetch it on the new kid. Either way the old key stays
   * published until every token it signed has expired; `revokeKey` withdraws a leaked one.
   */
  async rotateKeys(envName: string, options: { now?: boolean; alg?: IdTokenAlgorithm } = {}): Promise<KeyView[]> {
    const lineage = this.rotatedLineage(options.alg);
    const env = await this.environment(envName);
    const trigger = options.now ? 'immediate' : 'manual';
    const alg = this.keyRotation().algorithmOf(lineage);
    // Keys are listed newest first: the subject is the one this rotation created.
    const rotated: AuditedChange<SigningKey[]> = {
      type: 'signing_key.rotated',
      env,
      subject: (keys: SigningKey[]) => ({ kind: 'signing_key', id: keys[0]?.kid ?? '' }),
      details: () => ({ trigger, alg }),
    };
    // Generated before the transaction: an RSA key takes a while, and SQLite would be locked meanwhile.
    const fresh = await this.keyRotation().generate(env.id, lineage);
    try {
      await this.audit.change(this.store, rotated, async (tx) => {
        if (options.now) await this.keyRotation(tx).rotateNow(env.id, lineage, fresh);
        else if (!(await this.keyRotation(tx).scheduleNext(env.id, undefined, lineage, fresh))) throw new RotationPending();
        return tx.signingKeys.list(env.id);
      });
    } catch (error) {
      if (!(error instanceof RotationPending)) throw error;
      await this.audit.refused('signing_key.rotated', env, { kind: 'environment', id: env.id }, 'conflict', { trigger, alg });
      const which = lineage === ID_TOKEN_KEY_ALGORITHM ? ` ${ID_TOKEN_KEY_ALGORITHM}` : '';
      throw new AdminError('conflict', `environment ${envName} already has a next${which} key; wait for its activation or use --now`);
    }
    this.caches?.keys.invalidate(env.id);
    return this.listKeys(envName);
  }

  /** The lineage a rotation asked for `alg` acts on; an algorithm new access-token keys would not get is refused. */
  private rotatedLineage(alg: IdTokenAlgorithm | undefined): KeyLineage {
    if (alg === undefined) return 'access';
    if (!isKeyAlgorithm(alg)) throw new AdminError('invalid_argument', `alg must be one of ${KEY_ALGORITHMS.join(', ')}`);
    const lineage = lineageOf(alg);
    if (lineage === 'access' && alg !== this.config.signingAlgorithm) {
      throw new AdminError(
        'invalid_argument',
        `new access-token keys are ${this.config.signingAlgorithm} (GATEHOUSE_SIGNING_ALG): give alg ${this.config.signingAlgorithm} or ${ID_TOKEN_KEY_ALGORITHM}`,
      );
    }
    return lineage;
  }

  /** Revokes a leaked signing key (see `revokeSigningKey`); this node stops publishing and signing with it at once. */
  async revokeKey(envName: string, kid: string): Promise<KeyRevocationView> {
    const env = await this.environment(envName);
    try {
      return await revokeSigningKey({ store: this.store, rotation: (store) => this.keyRotation(store), audit: this.audit, clock: this.clock }, env, kid);
    } finally {
      this.caches?.keys.invalidate(env.id);
    }
  }

  /** Sets (or, with null, removes) the interval of scheduled rotations, carried out by whichever running node gets there first. */
  async setKeyRotation(envName: string, seconds: number | null): Promise<KeyRotationView> {
    const env = await this.environment(envName);
    const leadSeconds = activationLeadMs(this.config) / 1000;
    if (seconds !== null && (!Number.isSafeInteger(seconds) || seconds < MIN_ROTATION_INTERVAL || seconds <= leadSeconds)) {
      throw new AdminError(
        'invalid_argument',
        `the rotation interval must be at least ${MIN_ROTATION_INTERVAL} s and longer than the activation lead (${leadSeconds} s)`,
      );
    }
    const changed = {
      type: 'environment.rotation_schedule_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ key_rotation_interval: seconds }),
    } as const;
    await this.audit.change(this.store, changed, (tx) => tx.signingKeys.setRotationInterval(env.id, seconds));
    return { environment: env.name, key_rotation_interval: await this.store.signingKeys.rotationInterval(env.id), activation_lead: leadSeconds };
  }

  // --- Operations of the admin API: read one, update, delete, and a client's secrets one by one ---

  async getEnvironment(name: string): Promise<EnvironmentView> {
    return this.environmentView(await this.environment(name));
  }

  async getClient(envName: string, clientId: string): Promise<ClientView> {
    const env = await this.environment(envName);
    return this.view(env, await this.client(env, clientId));
  }

  /**
   * Changes a client; absent fields keep their value. The result must pass the same checks as a
   * new client. Running nodes see the change within GATEHOUSE_CACHE_TTL, this one at once.
   * `expect` sees the client as read and may refuse (an admin's If-Match); the write then
   * applies only to that version, so a change made in between is never overwritten (`conflict`).
   */
  async updateClient(envName: string, clientId: string, changes: ClientChanges, expect?: (current: ClientView) => void): Promise<ClientView> {
    const env = await this.environment(envName);
    const current = await this.client(env, clientId);
    if (current.kind === 'service_account') throw new AdminError('invalid_argument', `${clientId} is a service account, not a client`);
    expect?.(this.view(env, current));
    const scopes = changes.scopes === undefined ? current.scopes : unique(changes.scopes);
    const next: Client = withParChanges(
      withDpopChanges(
        withOidcChanges(
          {
            ...current,
            name: changes.name === undefined ? current.name : changes.name.trim(),
            grantTypes: changes.grantTypes === undefined ? current.grantTypes : unique(changes.grantTypes),
            scopes,
            // Narrowed scopes narrow the defaults with them unless new defaults are given.
            defaultScopes: changes.defaultScopes === undefined ? current.defaultScopes.filter((s) => scopes.includes(s)) : unique(changes.defaultScopes),
            redirectUris: changes.redirectUris === undefined ? current.redirectUris : unique(changes.redirectUris),
            tokenFormat: changes.tokenFormat ?? current.tokenFormat,
            accessTokenTtl: changes.accessTokenTtl === undefined ? current.accessTokenTtl : changes.accessTokenTtl,
            introspectAny: changes.introspectAny ?? current.introspectAny,
            allowMissingPkce: changes.allowMissingPkce ?? current.allowMissingPkce,
            quota: changes.quota === undefined ? current.quota : validQuota(changes.quota),
            enabled: changes.enabled ?? current.enabled,
            // Strictly later than the version read, so a second writer of that version always loses.
            updatedAt: Math.max(this.clock.now(), current.updatedAt + 1),
          },
          changes,
        ),
        changes,
      ),
      changes,
    );
    this.checkClient(next);
    checkClientPar(next);
    const sectorTouched = [changes.redirectUris, changes.subjectType, changes.sectorIdentifierUri].some((v) => v !== undefined);
    checkClientOidc(next, env, validateRedirectUri, sectorTouched);
    this.checkIdTokenAlgorithm(next);
    const changed = {
      type: clientChangeType(changes),
      env,
      subject: { kind: 'client', id: clientId },
      details: () => ({ changed: Object.keys(changes).filter((k) => changes[k as keyof ClientChanges] !== undefined) }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (await tx.clients.update(next, current.updatedAt)) return;
      // Another writer got there first: its version is what If-Match is now compared with.
      const fresh = await tx.clients.find(env.id, clientId);
      if (fresh) expect?.(this.view(env, fresh));
      throw new AdminError('conflict', `client ${clientId} changed while being updated: read it again`);
    });
    this.caches?.clients.invalidate(env.id, clientId);
    return this.view(env, next);
  }

  /** One page of the client's secrets that still authenticate, by id (never their value or hash). */
  async pageClientSecrets(envName: string, clientId: string, page: PageQuery<string>): Promise<Listed<ClientSecretView, string>> {
    const env = await this.environment(envName);
    await this.client(env, clientId);
    return listed(await this.store.adminLists.clientSecrets(env.id, clientId, this.clock.now(), page), secretView, (s) => s.id);
  }

  /** The client's secrets that still authenticate, by id (never their value or hash). */
  async listClientSecrets(envName: string, clientId: string): Promise<ClientSecretView[]> {
    const env = await this.environment(envName);
    await this.client(env, clientId);
    const secrets = await this.store.clients.activeSecrets(env.id, clientId, this.clock.now());
    return secrets.map(secretView);
  }

  /** Ends one secret now, for instance the old one once every caller uses the rotated one, or a leaked one. */
  async revokeClientSecret(envName: string, clientId: string, secretId: string): Promise<ClientSecretView[]> {
    const env = await this.environment(envName);
    await this.client(env, clientId);
    const revoked = { type: 'client.secret_revoked', env, subject: { kind: 'client', id: clientId }, details: () => ({ secret_id: secretId }) } as const;
    await this.audit.change(this.store, revoked, async (tx) => {
      if (!(await tx.clients.expireSecret(env.id, clientId, secretId, this.clock.now()))) {
        throw new AdminError('not_found', `client ${clientId} has no active secret ${secretId}`);
      }
    });
    this.caches?.clients.invalidate(env.id, clientId);
    return this.listClientSecrets(envName, clientId);
  }

  /**
   * Deletes a client: its secrets and keys stop authenticating, its refresh and opaque access
   * tokens stop working; JWT access tokens it holds stay valid until they expire, as resource
   * servers verify them without asking.
   */
  async deleteClient(envName: string, clientId: string): Promise<{ client_id: string; environment: string; deleted: true }> {
    const env = await this.environment(envName);
    const client = await this.client(env, clientId);
    if (client.kind === 'service_account') throw new AdminError('invalid_argument', `${clientId} is a service account, not a client`);
    await this.audit.change(this.store, { type: 'client.deleted', env, subject: { kind: 'client', id: clientId } }, async (tx) => {
      if (!(await tx.clients.delete(env.id, clientId, this.clock.now()))) throw new AdminError('not_found', `no client ${clientId} in environment ${envName}`);
    });
    this.caches?.clients.invalidate(env.id, clientId);
    return { client_id: clientId, environment: env.name, deleted: true };
  }

  /** The rules `createClient` applies, for a changed client. */
  /**
   * An ID Token can be signed only with an algorithm the environment holds a key of: RS256, and
   * the access-token algorithm of this server (`GATEHOUSE_SIGNING_ALG`). Any other would fail at
   * the token endpoint, so it is refused here.
   */
  private checkIdTokenAlgorithm(client: Client): void {
    const alg = client.idTokenSignedResponseAlg;
    if (alg == null || alg === ID_TOKEN_KEY_ALGORITHM || alg === this.config.signingAlgorithm) return;
    throw new AdminError(
      'invalid_argument',
      `id_token_signed_response_alg ${alg} has no key here: this server signs with ${ID_TOKEN_KEY_ALGORITHM} and ${this.config.signingAlgorithm} (GATEHOUSE_SIGNING_ALG)`,
    );
  }

  private checkClient(client: Client): void {
    const grants = client.grantTypes;
    if (grants.length === 0) throw new AdminError('invalid_argument', 'a client needs at least one grant type');
    const grantProblem = grantRuleViolation(client.kind, grants, client.redirectUris);
    if (grantProblem !== undefined) throw new AdminError('invalid_argument', grantProblem);
    const badScope = client.scopes.find((scope) => !isValidScopeToken(scope));
    if (badScope !== undefined) throw new AdminError('invalid_argument', `invalid scope ${JSON.stringify(badScope)}`);
    const outside = client.defaultScopes.filter((s) => !client.scopes.includes(s));
    if (outside.length) throw new AdminError('invalid_argument', `default scopes must be allowed scopes: ${outside.join(' ')}`);
    for (const uri of client.redirectUris) validateRedirectUri(uri);
    const ttl = client.accessTokenTtl;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > this.config.maxAccessTokenTtl)) {
      throw new AdminError('invalid_argument', `access-token lifetime must be 1..${this.config.maxAccessTokenTtl} seconds`);
    }
    if (client.tokenFormat !== 'jwt' && client.tokenFormat !== 'opaque') throw new AdminError('invalid_argument', 'token format must be jwt or opaque');
    if (!client.name || client.name.length > 200) throw new AdminError('invalid_argument', 'client name must be 1-200 characters');
    if (client.allowMissingPkce && (client.kind !== 'confidential' || !grants.includes('authorization_code'))) {
      throw new AdminError('invalid_argument', 'only a confidential client using authorization_code may omit PKCE');
    }
  }

  private keyRotation(store: Pick<Store, 'signingKeys'> = this.store): KeyRotation {
    return new KeyRotation(store, () => this.requireKeySecret(), this.clock, this.config);
  }

  private requireKeySecret(): Buffer {
    return typeof this.keySecret === 'function' ? this.keySecret() : this.keySecret;
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }

  private async client(env: Environment, clientId: string): Promise<Client> {
    const client = await this.store.clients.find(env.id, clientId);
    if (!client) throw new AdminError('not_found', `no client ${clientId} in environment ${env.name}`);
    return client;
  }

  private environmentView(env: Environment): EnvironmentView {
    return {
      name: env.name,
      issuer: issuerUrls(this.config.publicUrl, env).issuer,
      default_quota: env.defaultQuota,
      subject_type: env.subjectType ?? 'public',
      refresh_token_policy: env.refreshTokenPolicy ?? 'client',
      ...environmentDpopView(env),
      ...environmentParView(env),
      created_at: iso(env.createdAt),
    };
  }

  private view(env: Environment, c: Client): ClientView {
    return {
      client_id: c.clientId,
      name: c.name,
      environment: env.name,
      issuer: issuerUrls(this.config.publicUrl, env).issuer,
      type: c.kind,
      grant_types: c.grantTypes,
      scopes: c.scopes,
      default_scopes: c.defaultScopes,
      redirect_uris: c.redirectUris,
      token_format: c.tokenFormat,
      access_token_ttl: c.accessTokenTtl,
      introspect_any: c.introspectAny,
      allow_missing_pkce: c.allowMissingPkce,
      quota: c.quota,
      enabled: c.enabled,
      created_at: iso(c.createdAt),
      ...clientOidcView(c),
      ...clientDpopView(c),
      ...clientParView(c),
      ...clientRegistrationView(c),
    };
  }
}

/** What a client's creation records: its settings, none of them secret. */
function clientDetails(c: Client) {
  return {
    name: c.name,
    type: c.kind,
    grant_types: c.grantTypes,
    scopes: c.scopes,
    redirect_uris: c.redirectUris,
    token_format: c.tokenFormat,
    quota: c.quota,
    // The OpenID Connect metadata that differs from its default, under its registration names.
    ...Object.fromEntries(
      Object.entries({ ...CLIENT_OIDC_FIELDS, ...CLIENT_DPOP_FIELDS, ...CLIENT_PAR_FIELDS })
        .filter(([field]) => c[field as keyof Client] !== undefined)
        .map(([field, wire]) => [wire, c[field as keyof Client]]),
    ),
  };
}

const secretView = (s: ClientSecret): ClientSecretView => ({
  id: s.id,
  created_at: iso(s.createdAt),
  expires_at: s.expiresAt === null ? null : iso(s.expiresAt),
});

const FORBIDDEN_REDIRECT_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'ftp:']);
const RESPONSE_PARAMETERS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'];

/**
 * RFC 6749 §3.1.2 and RFC 9700 §2.1: an absolute URI without fragment or credentials, in its
 * canonical form (it is matched character for character, and sent back in a Location header),
 * https unless loopback or a private-use scheme (RFC 8252 §7.1), and no parameter of its own that
 * an authorization response would add.
 */
function validateRedirectUri(uri: string, what = 'redirect URI'): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AdminError('invalid_argument', `${what} is not an absolute URI: ${uri}`);
  }
  if (url.hash || uri.includes('#')) throw new AdminError('invalid_argument', `${what} must not have a fragment: ${uri}`);
  if (url.href !== uri) throw new AdminError('invalid_argument', `${what} must be written in its canonical form: ${url.href}`);
  if (FORBIDDEN_REDIRECT_SCHEMES.has(url.protocol)) throw new AdminError('invalid_argument', `${what} scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw new AdminError('invalid_argument', `${what} must not carry credentials: ${uri}`);
  if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
    throw new AdminError('invalid_argument', `${what} must use https (http only on loopback): ${uri}`);
  }
  const clash = RESPONSE_PARAMETERS.find((name) => url.searchParams.has(name));
  if (clash) throw new AdminError('invalid_argument', `${what} must not have a ${clash} parameter: the response adds it`);
}

/** Largest quota accepted, in requests per window: far above any real client, far below overflow. */
export const MAX_QUOTA = 100_000_000;

function validQuota(quota: number | null): number | null {
  if (quota !== null && (!Number.isInteger(quota) || quota < 1 || quota > MAX_QUOTA)) {
    throw new AdminError('invalid_argument', `a quota is a whole number of requests per window, 1..${MAX_QUOTA}`);
  }
  return quota;
}

const unique = (values: string[]): string[] => [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];
const iso = (ms: number): string => new Date(ms).toISOString();
/** A usage time, or null when none was recorded. */
export const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : iso(ms));

/**
 * The audit type of a client update: a change of `enabled` alone (or of the quota alone) is the
 * same event whichever path made it (CLI, admin API, console, apply); anything else `client.updated`.
 */
function clientChangeType(changes: ClientChanges): 'client.enabled' | 'client.disabled' | 'client.quota_changed' | 'client.updated' {
  const given = Object.keys(changes).filter((k) => changes[k as keyof ClientChanges] !== undefined);
  if (given.length === 1 && given[0] === 'enabled') return changes.enabled ? 'client.enabled' : 'client.disabled';
  if (given.length === 1 && given[0] === 'quota') return 'client.quota_changed';
  return 'client.updated';
}
