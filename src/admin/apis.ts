import type { Clock } from '../domain/clock.ts';
import { type Api, type ApiScope, type Environment, MAX_SCOPES, type TokenFormat } from '../domain/model.ts';
import { ConflictError, type PageQuery, type Store } from '../domain/storage.ts';
import { isResourceIdentifier, MAX_RESOURCE_LENGTH } from '../oauth/resource-identifier.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import { AdminError } from './admin-error.ts';
import { AdminAudit } from './audit-trail.ts';
import { type Listed, listed } from './paging.ts';
import type { AdminPolicy } from './policy.ts';

export interface ApiInput {
  env: string;
  identifier: string;
  name: string;
  scopes?: ApiScope[];
  tokenFormat?: TokenFormat;
  /** Seconds; null or absent: the client's lifetime, otherwise the server default. */
  accessTokenTtl?: number | null;
  clientIds?: string[];
  isDefault?: boolean;
}

/** What may change on an existing API; absent fields keep their value. */
export type ApiChanges = Partial<Omit<ApiInput, 'env' | 'identifier'>>;

export interface ApiView {
  identifier: string;
  name: string;
  environment: string;
  scopes: ApiScope[];
  token_format: TokenFormat;
  access_token_ttl: number | null;
  clients: string[];
  default: boolean;
  created_at: string;
  updated_at: string;
}

/**
 * The APIs of an environment (RFC 8707 resources). A change made here reaches this node's token
 * endpoint at once (through `onChange`) and other nodes within GATEHOUSE_CACHE_TTL.
 */
export class ApiService {
  constructor(
    private readonly config: Pick<AdminPolicy, 'maxAccessTokenTtl'>,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly onChange: (envId: string) => void = () => {},
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  async create(input: ApiInput): Promise<ApiView> {
    const env = await this.environment(input.env);
    if (!isResourceIdentifier(input.identifier)) {
      throw new AdminError('invalid_argument', `an API identifier is an absolute URI without a fragment, at most ${MAX_RESOURCE_LENGTH} characters`);
    }
    const now = this.clock.now();
    const api = await this.validated(env, {
      envId: env.id,
      identifier: input.identifier,
      name: input.name,
      scopes: input.scopes ?? [],
      tokenFormat: input.tokenFormat ?? 'jwt',
      accessTokenTtl: input.accessTokenTtl ?? null,
      clientIds: input.clientIds ?? [],
      isDefault: input.isDefault ?? false,
      createdAt: now,
      updatedAt: now,
    });
    const created = { type: 'api.created', env, subject: { kind: 'api', id: api.identifier }, details: () => apiDetails(api) } as const;
    try {
      await this.audit.change(this.store, created, (tx) => tx.apis.create(api));
    } catch (error) {
      if (error instanceof ConflictError) throw new AdminError('conflict', `API ${api.identifier} already exists in ${env.name}`);
      throw error;
    }
    this.onChange(env.id);
    return view(env, api);
  }

  async list(envName: string): Promise<ApiView[]> {
    const env = await this.environment(envName);
    return (await this.store.apis.list(env.id)).map((api) => view(env, api));
  }

  /** One page of APIs by identifier. */
  async page(envName: string, page: PageQuery<string>): Promise<Listed<ApiView, string>> {
    const env = await this.environment(envName);
    return listed(
      await this.store.adminLists.apis(env.id, page),
      (api) => view(env, api),
      (api) => api.identifier,
    );
  }

  async show(envName: string, identifier: string): Promise<ApiView> {
    const env = await this.environment(envName);
    return view(env, await this.api(env, identifier));
  }

  /**
   * `expect` sees the API as read and may refuse (an admin's If-Match); the write then applies
   * only to that version, so a change made in between is never overwritten.
   */
  async update(envName: string, identifier: string, changes: ApiChanges, expect?: (current: ApiView) => void): Promise<ApiView> {
    const env = await this.environment(envName);
    const current = await this.api(env, identifier);
    expect?.(view(env, current));
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as ApiChanges;
    if (Object.keys(defined).length === 0) return view(env, current);
    // Strictly later than the version read, so a second writer of that version always loses.
    const next = await this.validated(env, { ...current, ...defined, updatedAt: Math.max(this.clock.now(), current.updatedAt + 1) });
    const updated = { type: 'api.updated', env, subject: { kind: 'api', id: identifier }, details: () => apiDetails(next) } as const;
    await this.audit.change(this.store, updated, async (tx) => {
      if (await tx.apis.update(next, current.updatedAt)) return;
      const fresh = await tx.apis.find(env.id, identifier);
      if (!fresh) throw notFound(env, identifier);
      expect?.(view(env, fresh));
      throw new AdminError('conflict', `API ${identifier} changed while being updated: read it again`);
    });
    this.onChange(env.id);
    return view(env, next);
  }

  /** Lets clients obtain tokens for the API (clients already allowed are kept). */
  async allowClients(envName: string, identifier: string, clientIds: string[]): Promise<ApiView> {
    const current = await this.api(await this.environment(envName), identifier);
    return this.update(envName, identifier, { clientIds: [...current.clientIds, ...clientIds] });
  }

  /** Stops clients from obtaining new tokens for the API; tokens already issued stay valid until they expire. */
  async denyClients(envName: string, identifier: string, clientIds: string[]): Promise<ApiView> {
    const current = await this.api(await this.environment(envName), identifier);
    return this.update(envName, identifier, { clientIds: current.clientIds.filter((id) => !clientIds.includes(id)) });
  }

  async delete(envName: string, identifier: string): Promise<{ identifier: string; environment: string; deleted: true }> {
    const env = await this.environment(envName);
    await this.audit.change(this.store, { type: 'api.deleted', env, subject: { kind: 'api', id: identifier } }, async (tx) => {
      if (!(await tx.apis.delete(env.id, identifier))) throw notFound(env, identifier);
    });
    this.onChange(env.id);
    return { identifier, environment: env.name, deleted: true };
  }

  private async validated(env: Environment, api: Api): Promise<Api> {
    const name = api.name.trim();
    if (!name || name.length > 200) throw new AdminError('invalid_argument', 'API name must be 1-200 characters');
    const scopes = validScopes(api.scopes);
    if (api.tokenFormat !== 'jwt' && api.tokenFormat !== 'opaque') throw new AdminError('invalid_argument', 'token format must be jwt or opaque');
    const ttl = api.accessTokenTtl;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > this.config.maxAccessTokenTtl)) {
      throw new AdminError('invalid_argument', `access-token lifetime must be 1..${this.config.maxAccessTokenTtl} seconds`);
    }
    const clientIds = [...new Set(api.clientIds)];
    for (const clientId of clientIds) {
      if (!(await this.store.clients.find(env.id, clientId))) throw new AdminError('not_found', `no client ${clientId} in ${env.name}`);
    }
    return { ...api, name, scopes, clientIds };
  }

  private async api(env: Environment, identifier: string): Promise<Api> {
    const api = await this.store.apis.find(env.id, identifier);
    if (!api) throw notFound(env, identifier);
    return api;
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }
}

/** What an API's creation or update records: its settings, none of them secret. */
const apiDetails = (api: Api) => ({
  name: api.name,
  scopes: api.scopes.map((s) => s.name),
  token_format: api.tokenFormat,
  client_ids: api.clientIds,
  default: api.isDefault,
});

function validScopes(scopes: ApiScope[]): ApiScope[] {
  if (scopes.length > MAX_SCOPES) throw new AdminError('invalid_argument', `an API may define at most ${MAX_SCOPES} scopes`);
  const seen = new Set<string>();
  return scopes.map(({ name, description }) => {
    if (!isValidScopeToken(name)) throw new AdminError('invalid_argument', `invalid scope name: ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new AdminError('invalid_argument', `scope ${name} is given twice`);
    seen.add(name);
    const words = description.trim();
    if (words.length > 500 || /\p{Cc}/u.test(words))
      throw new AdminError('invalid_argument', `the description of ${name} must be at most 500 characters, without control characters`);
    return { name, description: words };
  });
}

/**
 * `--scope "invoices:read:Read your invoices"`: scope names may contain colons but never spaces,
 * so the name ends at the last colon before the first space. A scope with no description ends in a colon.
 */
export function parseApiScope(text: string): ApiScope {
  const firstSpace = text.indexOf(' ');
  const head = firstSpace === -1 ? text : text.slice(0, firstSpace);
  const colon = head.lastIndexOf(':');
  if (colon <= 0) throw new AdminError('invalid_argument', `a scope is given as "name:description", got ${JSON.stringify(text)}`);
  return { name: text.slice(0, colon), description: text.slice(colon + 1).trim() };
}

const notFound = (env: Environment, identifier: string) => new AdminError('not_found', `no API ${identifier} in ${env.name}`);

const view = (env: Environment, api: Api): ApiView => ({
  identifier: api.identifier,
  name: api.name,
  environment: env.name,
  scopes: api.scopes,
  token_format: api.tokenFormat,
  access_token_ttl: api.accessTokenTtl,
  clients: api.clientIds,
  default: api.isDefault,
  created_at: new Date(api.createdAt).toISOString(),
  updated_at: new Date(api.updatedAt).toISOString(),
});
