import { createHash } from 'node:crypto';
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

/**
 * Cursor paging over items in order of `key`: the cursor is the last key seen (base64url JSON),
 * so a page does not shift when items before it are added or deleted.
 */
export function paginate<T>(items: readonly T[], key: (item: T) => string, query: { limit?: string; cursor?: string }): Page<T> {
  const limit = pageLimit(query.limit);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const sorted = [...items].sort((a, b) => compare(key(a), key(b)));
  const rest = after === undefined ? sorted : sorted.filter((item) => compare(key(item), after) > 0);
  const items_ = rest.slice(0, limit);
  const last = items_.at(-1);
  return {
    items: items_,
    next_cursor: rest.length > limit && last !== undefined ? Buffer.from(JSON.stringify({ after: key(last) })).toString('base64url') : null,
  };
}

function pageLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAGE;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PAGE) {
    throw new Problem('invalid-request', `limit must be a whole number from 1 to ${MAX_PAGE}`, { field: 'limit' });
  }
  return Number(text);
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {}
  throw new Problem('invalid-request', 'cursor is not one this API returned', { field: 'cursor' });
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** `?enabled=true|false` and `?q=substring` (case-insensitive, on the name fields given). */
export function filterItems<T extends object>(items: readonly T[], query: { enabled?: string; q?: string }, names: (item: T) => string[]): T[] {
  let result = [...items];
  if (query.enabled !== undefined) {
    if (query.enabled !== 'true' && query.enabled !== 'false') throw new Problem('invalid-request', 'enabled must be true or false', { field: 'enabled' });
    result = result.filter((item) => (item as { enabled?: boolean }).enabled === (query.enabled === 'true'));
  }
  if (query.q !== undefined && query.q !== '') {
    const needle = query.q.toLowerCase();
    result = result.filter((item) => names(item).some((name) => name.toLowerCase().includes(needle)));
  }
  return result;
}
