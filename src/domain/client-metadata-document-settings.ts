import type { ClientMetadataDocumentSettings } from './model.ts';

/** The stored form of an environment's Client ID Metadata Document settings (validated where it is read and written). */
export const METADATA_DOCUMENTS_OFF: ClientMetadataDocumentSettings = Object.freeze({
  enabled: false,
  allowedHosts: [],
  blockedHosts: [],
  scopes: [],
  apis: [],
  accessTokenTtl: null,
  refreshTokens: true,
});

const HOST_RULE = /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$|^[0-9.]+$/i;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Reads settings from their stored or submitted JSON form (snake_case); throws an Error naming
 * the field that is wrong. Missing fields take the defaults of `METADATA_DOCUMENTS_OFF`.
 */
export function parseMetadataDocumentSettings(raw: unknown): ClientMetadataDocumentSettings {
  if (raw === null || raw === undefined) return METADATA_DOCUMENTS_OFF;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error('client_metadata_documents must be an object');
  const r = raw as Record<string, unknown>;
  const list = (field: string, pattern: RegExp): string[] => {
    const value = r[field] ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && pattern.test(v) && v.length <= 253)) {
      throw new Error(`client_metadata_documents.${field} must be a list of valid entries`);
    }
    return [...new Set(value.map((v) => (pattern === HOST_RULE ? v.toLowerCase() : v)))];
  };
  const flag = (field: string, fallback: boolean): boolean => {
    const value = r[field] ?? fallback;
    if (typeof value !== 'boolean') throw new Error(`client_metadata_documents.${field} must be true or false`);
    return value;
  };
  const ttl = r.access_token_ttl ?? null;
  if (ttl !== null && !(Number.isInteger(ttl) && (ttl as number) > 0 && (ttl as number) <= 86_400)) {
    throw new Error('client_metadata_documents.access_token_ttl must be a whole number of seconds from 1 to 86400, or null');
  }
  return Object.freeze({
    enabled: flag('enabled', false),
    allowedHosts: list('allowed_hosts', HOST_RULE),
    blockedHosts: list('blocked_hosts', HOST_RULE),
    scopes: list('scopes', SCOPE_TOKEN),
    apis: list('apis', /^\S+$/),
    accessTokenTtl: ttl as number | null,
    refreshTokens: flag('refresh_tokens', true),
  });
}

/** The stored and wire form (snake_case), as `parseMetadataDocumentSettings` reads it. */
export function metadataDocumentSettingsJson(s: ClientMetadataDocumentSettings): Record<string, unknown> {
  return {
    enabled: s.enabled,
    allowed_hosts: [...s.allowedHosts],
    blocked_hosts: [...s.blockedHosts],
    scopes: [...s.scopes],
    apis: [...s.apis],
    access_token_ttl: s.accessTokenTtl,
    refresh_tokens: s.refreshTokens,
  };
}
