import { randomUUID } from 'node:crypto';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Client, Environment } from '../domain/model.ts';
import type { PageQuery } from '../domain/storage.ts';
import { grantRuleViolation } from '../oauth/grants/index.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import { utcDay } from '../observability/usage.ts';
import { AdminContext, unique } from './admin-context.ts';
import { AdminError } from './admin-error.ts';
import {
  type ClientChanges,
  type ClientDetails,
  type ClientView,
  type CreateClientInput,
  iso,
  isoOrNull,
  type LastUsed,
  TOKEN_COUNT_DAYS,
} from './admin-views.ts';
import { withDpopChanges } from './client-dpop.ts';
import { checkClientOidc, withOidcChanges } from './client-oidc.ts';
import { checkClient, checkClientLists, checkIdTokenAlgorithm, clientChangeType, clientDetails, validateRedirectUri } from './client-rules.ts';
import { type Listed, listed } from './paging.ts';
import { checkClientPar, withParChanges } from './par-settings.ts';
import { validQuota } from './quota.ts';

const DAY_MS = 86_400_000;

/** Clients (not service accounts): creation, reading with their use, changes and deletion. */
export class ClientAdmin extends AdminContext {
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
    checkClientLists(scopes, redirectUris);
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
    checkIdTokenAlgorithm(this.config, client);
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
    // A service account takes what `setClientEnabled` and `setClientQuota` give it, nothing else.
    const account = current.kind === 'service_account';
    const accountFields = Object.entries(changes).every(([field, value]) => value === undefined || field === 'enabled' || field === 'quota');
    if (account && !accountFields) throw new AdminError('invalid_argument', `${clientId} is a service account, not a client`);
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
    if (!account) this.checkChanged(env, next, changes);
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

  /** The checks a new client passes, for a changed one. */
  private checkChanged(env: Environment, next: Client, changes: ClientChanges): void {
    // Only a list that changes is bounded: a client imported with more keeps working and changing.
    checkClientLists(changes.scopes === undefined ? [] : next.scopes, changes.redirectUris === undefined ? [] : next.redirectUris);
    checkClient(this.config, next);
    checkClientPar(next);
    const sectorTouched = [changes.redirectUris, changes.subjectType, changes.sectorIdentifierUri].some((v) => v !== undefined);
    checkClientOidc(next, env, validateRedirectUri, sectorTouched);
    checkIdTokenAlgorithm(this.config, next);
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
}
