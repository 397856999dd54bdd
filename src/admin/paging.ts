import type { StoredPage } from '../domain/storage.ts';

/** One page of an admin list as the services return it: the views, and the key to continue after (none on the last page). */
export interface Listed<T, K> {
  items: T[];
  next: K | undefined;
}

/** Views of a stored page, with the key of its last record when more follow. */
export function listed<R, T, K>(page: StoredPage<R>, view: (record: R) => T, key: (record: R) => K): Listed<T, K> {
  const last = page.items.at(-1);
  return { items: page.items.map(view), next: page.more && last !== undefined ? key(last) : undefined };
}
