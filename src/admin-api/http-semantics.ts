import { createHash } from 'node:crypto';
import type { Listed } from '../admin/paging.ts';
import type { CreationKey, PageQuery } from '../domain/storage.ts';
import { Problem } from './problems.ts';

/**
 * A strong ETag (RFC 9110 §8.8.3) of a resource's representation: a hash of its JSON, so any
 * change to what a client would see changes the tag, and equal content gives equal tags on
 * every node.
 */
export function etagOf(representation: unknown): string {
  return `"${createHash('sha256').update(canonicalJson(representation)).digest('base64url').slice(0, 32)}"`;
}

/**
 * RFC 9110 §13.1.1 with strong comparison: the update applies only if `If-Match` names the
 * current ETag. Missing: 428 (RFC 6585 §3), so a client that never read the resource cannot
 * overwrite it blindly; `*` is refused for the same reason.
 */
export function checkIfMatch(ifMatch: string | undefined, current: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new Problem('precondition-required', 'send If-Match with the ETag of the resource as you last read it', { field: 'If-Match' });
  }
  const tags = ifMatch.split(',').map((tag) => tag.trim());
  if (tags.includes('*')) throw new Problem('precondition-required', 'If-Match: * is not accepted: send the ETag you read', { field: 'If-Match' });
  if (!tags.includes(current)) throw new Problem('precondition-failed', 'the resource changed since it was read: read it again', { field: 'If-Match' });
}

/**
 * What an update's service calls with the resource as it reads it before writing, and again
 * when a concurrent writer won: a stale If-Match is 412 both times, and the write itself is
 * conditional on the version checked.
 */
export const ifMatches =
  (ifMatch: string | undefined) =>
  (current: unknown): void =>
    checkIfMatch(ifMatch, etagOf(current));

/** JSON with object keys sorted, so equal values hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** A page key as the cursor carries it: a string (a name or id) or a creation time with an id. */
export type CursorKey = string | CreationKey;

/**
 * The page a list request asks for: `?limit=`, `?cursor=` (the previous `next_cursor`, opaque:
 * base64url JSON of the last key seen), and the filters the route has. `key` says which kind of
 * key the list is ordered by; a cursor of another kind, or not one this API returned, is a 400.
 */
export function pageQuery<K extends CursorKey>(
  query: { limit?: string; cursor?: string; q?: string; enabled?: string },
  key: 'string' | 'creation',
  filters: readonly ('q' | 'enabled')[] = [],
): PageQuery<K> {
  const page: PageQuery<K> = { limit: pageLimit(query.limit), after: query.cursor === undefined ? undefined : (decodeCursor(query.cursor, key) as K) };
  if (filters.includes('q') && query.q !== undefined && query.q !== '') page.q = query.q;
  if (filters.includes('enabled') && query.enabled !== undefined) {
    if (query.enabled !== 'true' && query.enabled !== 'false') throw new Problem('invalid-request', 'enabled must be true or false', { field: 'enabled' });
    page.enabled = query.enabled === 'true';
  }
  return page;
}

/** A services' page as the API answers it: the items and the cursor of the next page (null on the last). */
export function pageOf<T>(listed: Listed<T, CursorKey>): Page<T> {
  const next = listed.next;
  const after = next === undefined ? undefined : typeof next === 'string' ? next : [next.createdAt, next.id];
  return { items: listed.items, next_cursor: after === undefined ? null : Buffer.from(JSON.stringify({ after })).toString('base64url') };
}

function pageLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAGE;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PAGE) {
    throw new Problem('invalid-request', `limit must be a whole number from 1 to ${MAX_PAGE}`, { field: 'limit' });
  }
  return Number(text);
}

function decodeCursor(cursor: string, key: 'string' | 'creation'): CursorKey {
  try {
    const { after } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (key === 'string' && typeof after === 'string') return after;
    if (key === 'creation' && Array.isArray(after) && after.length === 2 && Number.isSafeInteger(after[0]) && typeof after[1] === 'string') {
      return { createdAt: after[0] as number, id: after[1] };
    }
  } catch {}
  throw new Problem('invalid-request', 'cursor is not one this API returned', { field: 'cursor' });
}
