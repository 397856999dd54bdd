import { isIP } from 'node:net';
import { type DocumentKey, parseKeySet } from './key-set.ts';

/** What Gatehouse takes from a valid Client ID Metadata Document (RFC 7591 §2 client metadata). */
export interface MetadataDocument {
  clientId: string;
  clientName: string | undefined;
  clientUri: string | undefined;
  logoUri: string | undefined;
  redirectUris: string[];
  grantTypes: string[];
  /** RFC 7591 §2 `scope`: what the client says it may ask for; undefined: nothing said. */
  scope: string[] | undefined;
  tokenEndpointAuthMethod: 'none' | 'private_key_jwt';
  /** private_key_jwt: the client's public keys by value, or where they are published. */
  keys?: { jwks: DocumentKey[] } | { jwksUri: string };
}

const GRANT_TYPES = new Set(['authorization_code', 'refresh_token']);
/** Draft §4.1: no shared secret can exist between the server and a client it has never met. */
const SECRET_FIELDS = ['client_secret', 'client_secret_expires_at'];

/**
 * Checks a fetched document against its URL (draft §4), or says why it is refused. The reason
 * names a field, never echoes a value (a document could carry a secret it must not have).
 */
export function validateMetadataDocument(clientIdUrl: string, raw: unknown): { document: MetadataDocument } | { refused: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { refused: 'document is not a JSON object' };
  const doc = raw as Record<string, unknown>;
  // Draft §4: simple string comparison (RFC 3986 §6.2.1), never after normalisation.
  if (doc.client_id !== clientIdUrl) return { refused: 'client_id does not match the document URL' };
  for (const field of SECRET_FIELDS) if (field in doc) return { refused: `document contains ${field}` };
  const method = doc.token_endpoint_auth_method ?? 'none';
  if (method !== 'none' && method !== 'private_key_jwt') return { refused: 'token_endpoint_auth_method must be none or private_key_jwt' };
  const keys = method === 'private_key_jwt' ? keysOf(doc) : undefined;
  if (keys && 'refused' in keys) return keys;
  const redirectUris = redirectUrisOf(doc.redirect_uris);
  if ('refused' in redirectUris) return redirectUris;
  const grantTypes = doc.grant_types ?? ['authorization_code'];
  if (!isStringArray(grantTypes) || grantTypes.length === 0 || !grantTypes.every((g) => GRANT_TYPES.has(g))) {
    return { refused: 'grant_types may hold only authorization_code and refresh_token' };
  }
  const responseTypes = doc.response_types ?? ['code'];
  if (!isStringArray(responseTypes) || responseTypes.some((r) => r !== 'code')) return { refused: 'response_types may hold only code' };
  const text = textFields(doc);
  if ('refused' in text) return text;
  if (doc.scope !== undefined && typeof doc.scope !== 'string') return { refused: 'scope is not a string' };
  return {
    document: {
      clientId: clientIdUrl,
      ...text,
      redirectUris: redirectUris.uris,
      grantTypes: [...new Set(grantTypes)],
      scope: typeof doc.scope === 'string' ? doc.scope.split(' ').filter((s) => s !== '') : undefined,
      tokenEndpointAuthMethod: method,
      ...(keys ? { keys } : {}),
    },
  };
}

/** RFC 7591 §2: `jwks` or `jwks_uri` (an https URL), exactly one, for private_key_jwt. */
function keysOf(doc: Record<string, unknown>): NonNullable<MetadataDocument['keys']> | { refused: string } {
  // RFC 7591 §2: jwks and jwks_uri are exclusive; private_key_jwt needs one of them.
  if ((doc.jwks === undefined) === (doc.jwks_uri === undefined)) return { refused: 'private_key_jwt needs exactly one of jwks and jwks_uri' };
  if (doc.jwks !== undefined) {
    const parsed = parseKeySet(doc.jwks);
    return 'refused' in parsed ? { refused: `jwks: ${parsed.refused}` } : { jwks: parsed.keys };
  }
  const uri = doc.jwks_uri;
  if (typeof uri !== 'string' || uri.length > 2048 || !uri.startsWith('https://') || uri.includes('#') || !URL.canParse(uri)) {
    return { refused: 'jwks_uri is not an https URL' };
  }
  return { jwksUri: uri };
}

/** RFC 7591 §2 and RFC 8252 §7.3/§8.3: absolute URIs without fragment, https or http on a loopback literal. */
function redirectUrisOf(value: unknown): { uris: string[] } | { refused: string } {
  if (!isStringArray(value) || value.length === 0) return { refused: 'redirect_uris missing or empty' };
  if (value.length > 20) return { refused: 'too many redirect_uris' };
  for (const uri of value) if (!validRedirectUri(uri)) return { refused: 'redirect_uris holds an invalid URI' };
  return { uris: value };
}

export function validRedirectUri(uri: string): boolean {
  if (uri.includes('#') || uri.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && (host === '127.0.0.1' || host === '::1') && isIP(host) !== 0;
}

function textFields(doc: Record<string, unknown>): Pick<MetadataDocument, 'clientName' | 'clientUri' | 'logoUri'> | { refused: string } {
  const name = doc.client_name;
  if (name !== undefined && (typeof name !== 'string' || name.length > 200)) return { refused: 'client_name is not a short string' };
  const uris: Record<string, string | undefined> = {};
  for (const field of ['client_uri', 'logo_uri']) {
    const value = doc[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !value.startsWith('https://') || !URL.canParse(value)) return { refused: `${field} is not an https URL` };
    uris[field] = value;
  }
  return { clientName: typeof name === 'string' && name.trim() !== '' ? name : undefined, clientUri: uris.client_uri, logoUri: uris.logo_uri };
}

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
