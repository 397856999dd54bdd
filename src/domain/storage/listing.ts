import type { Api, Client, ClientKey, ClientSecret, Environment, SigningKey, User } from '../model.ts';

/**
 * Keyset paging: the items after `after` (the key of the previous page's last item; none for the
 * first page) in key order, at most `limit`, so a page does not shift when items before it are
 * added or deleted.
 */
export interface PageQuery<K> {
  after: K | undefined;
  limit: number;
  /** Only items whose name or id contains this, ignoring (ASCII) case. */
  q?: string | undefined;
  /** Only enabled (or disabled) items, where items have the flag. */
  enabled?: boolean | undefined;
}

/** The key of items listed by creation: the time, then the id for items created in the same millisecond. */
export interface CreationKey {
  createdAt: number;
  id: string;
}

/** One page of a list, and whether more items follow it. */
export interface StoredPage<T> {
  items: T[];
  more: boolean;
}

/**
 * The admin API's lists, each one query in key order (`WHERE key > after ORDER BY key LIMIT n+1`),
 * never the whole table in memory. Environments by name, clients and service accounts by id,
 * users by username, APIs by identifier, secrets by id, keys by creation.
 */
export interface AdminListStore {
  environments(page: PageQuery<string>): Promise<StoredPage<Environment>>;
  /** Clients (confidential and public) or service accounts; `q` matches the name or id. */
  clients(envId: string, kind: 'client' | 'service_account', page: PageQuery<string>): Promise<StoredPage<Client>>;
  /** The client's secrets that still authenticate at `now`. */
  clientSecrets(envId: string, clientId: string, now: number, page: PageQuery<string>): Promise<StoredPage<ClientSecret>>;
  clientKeys(envId: string, clientId: string, page: PageQuery<CreationKey>): Promise<StoredPage<ClientKey>>;
  users(envId: string, page: PageQuery<string>): Promise<StoredPage<User>>;
  /** `q` matches the name or identifier. */
  apis(envId: string, page: PageQuery<string>): Promise<StoredPage<Api>>;
  /** Oldest first. */
  signingKeys(envId: string, page: PageQuery<CreationKey>): Promise<StoredPage<SigningKey>>;
}
