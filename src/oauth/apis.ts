import type { Clock } from '../domain/clock.ts';
import type { Api, Client, TokenFormat } from '../domain/model.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import { OAuthError } from './errors.ts';
import { isOpenIdScope } from './openid/scopes.ts';
import { type Params, repeatedValues } from './params.ts';
import { RefreshingCache } from './refreshing-cache.ts';
import { isResourceIdentifier } from './resource-identifier.ts';
import { parseScope, resolveScope } from './scope.ts';

/**
 * How often a node reads an environment's APIs again because a request named one its cached list
 * lacks: at most once per environment per this many milliseconds, so requests naming made-up
 * resources cost the database one read a second, not one each. A real API created meanwhile is
 * therefore usable within this bound, whoever else is naming made-up ones.
 */
export const API_MISS_REREAD_MS = 1_000;

/**
 * The APIs of each environment, cached per node for `ttlMs` so a token request needs no database
 * read; a change made on another node is seen within `ttlMs`, one made here at once (`invalidate`).
 * A request that names an API the cached list lacks (or that does not yet let the client in) has
 * the list read again first (`listCovering`): an API created or opened to a client through the
 * CLI or another node is usable at once, not only after `ttlMs`.
 */
export class ApiDirectory {
  private readonly cache: RefreshingCache<Api[]>;
  /** When each environment's list was last read again on a miss. */
  private readonly rereadAt = new Map<string, number>();
  /** How many times this node changed an environment's APIs (`invalidate`). */
  private invalidations = 0;

  constructor(
    private readonly store: Pick<Store, 'apis' | 'health'>,
    private readonly clock: Clock,
    ttlMs: number,
    staleIfErrorMs = 0,
  ) {
    this.cache = new RefreshingCache(clock, store.health, { ttlMs, staleIfErrorMs, maxEntries: 1_000 });
  }

  async list(envId: string): Promise<Api[]> {
    return (await this.cache.get(envId, () => this.store.apis.list(envId))).value;
  }

  /**
   * The environment's APIs, read again from storage when the cached list does not `cover` the
   * request and the last such read of this environment is `API_MISS_REREAD_MS` old. Storage
   * unavailable: the cached list, and the request is judged on it.
   */
  async listCovering(envId: string, covers: (apis: readonly Api[]) => boolean): Promise<Api[]> {
    const cached = await this.list(envId);
    if (covers(cached)) return cached;
    const now = this.clock.now();
    if (now - (this.rereadAt.get(envId) ?? Number.NEGATIVE_INFINITY) < API_MISS_REREAD_MS) return cached;
    this.rereadAt.delete(envId);
    if (this.rereadAt.size >= 1_000) this.rereadAt.delete(this.rereadAt.keys().next().value as string);
    this.rereadAt.set(envId, now);
    // Read beside the cache, and kept only when the read succeeds: a failed read (the database
    // unavailable or busy) leaves the cached list, and every other request it serves, untouched.
    const invalidations = this.invalidations;
    try {
      const fresh = await this.store.apis.list(envId);
      // A change made on this node meanwhile (`invalidate`) may postdate the read: not kept then.
      if (invalidations === this.invalidations) this.cache.replace(envId, fresh, now);
      return fresh;
    } catch (error) {
      if (error instanceof StorageUnavailableError) return cached;
      throw error;
    }
  }

  /** Holds an environment's APIs as read at `loadedAt` (a warm start). */
  prime(envId: string, apis: Api[], loadedAt: number): void {
    this.cache.prime(envId, apis, loadedAt);
  }

  /** Forgets an environment's APIs (after this node changed them). */
  invalidate(envId: string): void {
    this.invalidations++;
    this.cache.invalidate(envId);
  }
}

/** What the named (or default) APIs mean for one token: its audience, scopes, format and lifetime. */
export interface ResourceGrant {
  /** The APIs the token is for; empty: the issuer is its audience, as before APIs existed. */
  apis: Api[];
  /** The identifiers, in the order named; absent when `apis` is empty. */
  audience: string[] | undefined;
  tokenFormat: TokenFormat | undefined;
  /** The shortest lifetime any of the APIs sets, in seconds. */
  accessTokenTtl: number | undefined;
}

/** Whether an API lets the client get tokens for it. A metadata-document client is in no API's list: the environment's policy names its APIs. */
const apiAllows = (api: Api, client: Client): boolean =>
  api.clientIds.includes(client.clientId) || client.metadataDocument?.apis.includes(api.identifier) === true;

/** For `ApiDirectory.listCovering`: whether a list holds every named API, each letting the client in. */
export const namesAllowedApis =
  (client: Client, identifiers: readonly string[]) =>
  (apis: readonly Api[]): boolean =>
    identifiers.every((id) => apis.some((api) => api.identifier === id && apiAllows(api, client)));

/** The APIs a request names, read again on a miss (`ApiDirectory.listCovering`), granted to the client. */
export async function grantNamedResources(directory: ApiDirectory, envId: string, client: Client, requested: readonly string[]): Promise<ResourceGrant> {
  const apis = await directory.listCovering(envId, requested.length === 0 ? defaultAllows(client) : namesAllowedApis(client, requested));
  return grantResources(apis, client, requested);
}

/**
 * For a request naming no API: whether the cached list settles it, as it does unless the
 * environment has a default API that does not list the client (yet: `gatehouse admin bootstrap`
 * opens the admin API to a new client on another process). A default API created elsewhere waits
 * for the cache, so environments without APIs cost no extra read.
 */
const defaultAllows =
  (client: Client) =>
  (apis: readonly Api[]): boolean => {
    const fallback = apis.find((api) => api.isDefault);
    return fallback === undefined || apiAllows(fallback, client);
  };

const NO_RESOURCE: ResourceGrant = Object.freeze({ apis: [], audience: undefined, tokenFormat: undefined, accessTokenTtl: undefined });

/** The `resource` values of a request (RFC 8707 §2), each an absolute URI without a fragment, without repeats. */
export function requestedResources(params: Readonly<Params>): string[] {
  const values = repeatedValues(params, 'resource');
  for (const value of values) {
    if (!isResourceIdentifier(value)) {
      throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment', { parameter: 'resource' });
    }
  }
  return [...new Set(values)];
}

/**
 * RFC 8707 §2: the APIs a client's token is for. Each named resource must be an API of the
 * environment that lets this client in (`invalid_target` otherwise, without saying which of the
 * two, so a client cannot list another's APIs). With none named, the environment's default API
 * when the client may use it, otherwise the issuer as today.
 */
export function grantResources(apis: readonly Api[], client: Client, requested: readonly string[]): ResourceGrant {
  const allowed = (api: Api) => apiAllows(api, client);
  let chosen: Api[];
  if (requested.length === 0) {
    const fallback = apis.find((api) => api.isDefault);
    if (!fallback || !allowed(fallback)) return NO_RESOURCE;
    chosen = [fallback];
  } else {
    chosen = requested.map((identifier) => {
      const api = apis.find((a) => a.identifier === identifier);
      if (!api || !allowed(api))
        throw new OAuthError('invalid_target', `resource ${identifier} is unknown or not allowed for this client`, { parameter: 'resource' });
      return api;
    });
  }
  const ttls = chosen.flatMap((api) => (api.accessTokenTtl === null ? [] : [api.accessTokenTtl]));
  return {
    apis: chosen,
    audience: chosen.map((api) => api.identifier),
    // A token for several APIs is opaque only when each of them asked for opaque tokens.
    tokenFormat: chosen.every((api) => api.tokenFormat === 'opaque') ? 'opaque' : 'jwt',
    accessTokenTtl: ttls.length > 0 ? Math.min(...ttls) : undefined,
  };
}

/**
 * The scope of a token for `grant`: each requested token must be one the client is allowed and,
 * when the token is for APIs, one those APIs define (RFC 6749 §3.3 `invalid_scope` otherwise).
 * With no scope requested, the client's default scopes that fit.
 */
export function scopeForResources(requested: string | undefined, client: Pick<Client, 'scopes' | 'defaultScopes'>, grant: ResourceGrant): string[] {
  if (grant.apis.length === 0) return resolveScope(requested, client.scopes, client.defaultScopes);
  const defined = new Set(grant.apis.flatMap((api) => api.scopes.map((s) => s.name)));
  // OpenID Connect scopes ask for identity, not for an API: no API has to define them.
  const fits = (token: string) => client.scopes.includes(token) && (defined.has(token) || isOpenIdScope(token));
  const tokens = parseScope(requested);
  if (tokens.length === 0) return client.defaultScopes.filter(fits);
  const refused = tokens.filter((t) => !fits(t));
  if (refused.length > 0) {
    throw new OAuthError('invalid_scope', `scope not allowed for this client and the requested resources: ${refused.join(' ')}`, { parameter: 'scope' });
  }
  return tokens;
}

/** The `resource` and `scope` of a token request read together: the APIs, then the scope they allow. */
export async function resolveTokenTarget(
  directory: ApiDirectory,
  envId: string,
  client: Client,
  params: Readonly<Params>,
): Promise<{ scope: string[]; audience: string[] | undefined; tokenFormat: TokenFormat | undefined; resourceTtl: number | undefined }> {
  const requested = requestedResources(params);
  const grant = await grantNamedResources(directory, envId, client, requested);
  const scope = scopeForResources(params.scope, client, grant);
  return { scope, ...tokenOptionsOf(grant) };
}

/**
 * RFC 8707 §2 for a grant that carries resources granted earlier (a code, a refresh token): the
 * client may name a subset of them for this access token; naming any other is `invalid_target`.
 * With none named, all of them. An API deleted or closed to the client since is `invalid_target` too.
 */
export async function narrowGrantedResources(
  directory: ApiDirectory,
  envId: string,
  client: Client,
  granted: readonly string[] | undefined,
  params: Readonly<Params>,
): Promise<ResourceGrant> {
  const requested = requestedResources(params);
  const outside = requested.filter((r) => !granted?.includes(r));
  if (outside.length > 0) throw new OAuthError('invalid_target', `resource was not granted: ${outside.join(' ')}`, { parameter: 'resource' });
  const chosen = requested.length > 0 ? requested : (granted ?? []);
  if (chosen.length === 0) return NO_RESOURCE;
  return grantNamedResources(directory, envId, client, chosen);
}

/** Whether a scope token may go into a token for `grant`: any when it names no API, else one an API defines. */
export function definedByResources(grant: ResourceGrant): (scope: string) => boolean {
  if (grant.apis.length === 0) return () => true;
  const defined = new Set(grant.apis.flatMap((api) => api.scopes.map((s) => s.name)));
  return (scope) => defined.has(scope) || isOpenIdScope(scope);
}

/** The options of `AccessTokenService.mint` that a resource grant sets. */
export const tokenOptionsOf = (grant: ResourceGrant) => ({ audience: grant.audience, tokenFormat: grant.tokenFormat, resourceTtl: grant.accessTokenTtl });
