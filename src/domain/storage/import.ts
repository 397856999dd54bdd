import type { Client, ClientSecret, OpaqueAccessToken, RefreshToken, TokenFamily, User } from '../model.ts';

/** What an import took from one source record: the Gatehouse record it became and the source's version of it. */
export interface ImportMapping {
  kind: 'client' | 'user' | 'refresh_token' | 'access_token';
  /** The client id, the user's source id, or a token's Gatehouse hash. */
  sourceKey: string;
  targetId: string;
  sourceVersion: string | null;
}

/**
 * A mapping as stored: with the source it came from. Each source's keys live in a namespace of
 * their own, so two sources' users with the same source id are two users.
 */
export interface SourcedImportMapping extends ImportMapping {
  sourceId: string;
}

/** The source of mappings written before imports recorded one (migration 013); an import adopts them. */
export const LEGACY_IMPORT_SOURCE = 'legacy';

/** The id prefix of client secrets an import wrote (the others were made in Gatehouse). */
export const IMPORTED_SECRET_PREFIX = 'imported-';

/**
 * One record's writes; `update` replaces what an earlier import of the same source record wrote.
 * A client's update keeps its imported secret when the source's is the same (same id), and never
 * touches secrets made in Gatehouse.
 */
export type ImportWrite =
  | { kind: 'client'; mapping: ImportMapping; client: Client; secret: ClientSecret | undefined; update: boolean }
  | { kind: 'user'; mapping: ImportMapping; user: User; update: boolean }
  | {
      kind: 'refresh_token';
      mapping: ImportMapping;
      family: TokenFamily;
      refreshToken: RefreshToken;
      /** The live access token issued with it, stored in the same family. */
      accessToken: OpaqueAccessToken | undefined;
    }
  | { kind: 'access_token'; mapping: ImportMapping; token: OpaqueAccessToken }
  /** A token imported before and revoked in the source since: revoked here too (its family, or the access token). */
  | { kind: 'revoke'; mapping: ImportMapping }
  /** A mapping from before sources were recorded, taken over by the importing source (nothing else changes). */
  | { kind: 'adopt'; mapping: ImportMapping };

export interface ImportStore {
  /** Every source's mappings of `sourceKeys` of one kind in the environment. */
  findMappings(envId: string, kind: ImportMapping['kind'], sourceKeys: readonly string[]): Promise<SourcedImportMapping[]>;
  /** The source that imported Gatehouse record `targetId` (a user id, a client id), if an import did. */
  findSourceOf(envId: string, kind: ImportMapping['kind'], targetId: string): Promise<string | undefined>;
  /**
   * In one transaction: every write with its mapping, recorded under `sourceId`. An imported
   * refresh token also records the user's consent to its scope for its client (the union with what
   * they granted before).
   */
  apply(envId: string, sourceId: string, writes: readonly ImportWrite[], now: number): Promise<void>;
}
