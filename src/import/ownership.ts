import { type ImportMapping, LEGACY_IMPORT_SOURCE, type SourcedImportMapping } from '../domain/storage.ts';

/**
 * One kind's mappings of a batch as the importing source sees them. A source owns the keys it
 * imported; mappings from before sources were recorded (`legacy`) may be adopted by the first
 * source that imports the same key again; a key another source owns is that source's.
 */
export interface SourceMappings {
  /** This source's mappings, by source key. */
  own: Map<string, ImportMapping>;
  /** Mappings written before imports recorded their source, by source key. */
  legacy: Map<string, ImportMapping>;
  /** For a key neither this source nor `legacy` holds: the (first) other source holding it. */
  others: Map<string, string>;
}

/** Sorts every source's mappings of some keys into this source's, the legacy ones, and the others'. */
export function sourceMappings(found: readonly SourcedImportMapping[], sourceId: string): SourceMappings {
  const result: SourceMappings = { own: new Map(), legacy: new Map(), others: new Map() };
  for (const { sourceId: from, ...mapping } of found) {
    if (from === sourceId) result.own.set(mapping.sourceKey, mapping);
    else if (from === LEGACY_IMPORT_SOURCE) result.legacy.set(mapping.sourceKey, mapping);
    else if (!result.others.has(mapping.sourceKey)) result.others.set(mapping.sourceKey, from);
  }
  return result;
}

/** The mapping a record is planned against: this source's own, else a legacy one it may adopt; `adopt` is set for the latter. */
export function ownMapping(mappings: SourceMappings, key: string): { existing: ImportMapping | undefined; adopt: ImportMapping | undefined } {
  const own = mappings.own.get(key);
  if (own) return { existing: own, adopt: undefined };
  const legacy = mappings.legacy.get(key);
  return { existing: legacy, adopt: legacy };
}

/** Why a record cannot be imported because its wire identifier or username is taken: by another source, or made in Gatehouse. */
export function heldReason(what: 'client id' | 'username', holder: string | undefined, sourceId: string): string {
  const noun = what === 'client id' ? 'client' : 'user';
  if (holder === undefined) return `a ${noun} with this ${what} was created in Gatehouse (not imported)`;
  if (holder === sourceId) return `another ${noun} of this source has this ${what} (not imported)`;
  return `this ${what} belongs to a ${noun} imported from source ${JSON.stringify(holder)} (not imported)`;
}
