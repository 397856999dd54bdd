import { OAuthError } from '../oauth/errors.ts';

import { type Params, REPEATED_VALUES_SEPARATOR } from '../oauth/params.ts';

export type { Params };

/**
 * Parses an OAuth request body. Form (RFC 6749 §3.2) and JSON bodies are accepted; a repeated
 * parameter (RFC 6749 §3.1), a non-string JSON value, malformed JSON or another media type
 * is `invalid_request`. Empty form values count as omitted (RFC 6749 §3.1). Names in `repeatable`
 * (RFC 8707 `resource`) may repeat in a form, or be a JSON array of strings; their values are
 * joined with `REPEATED_VALUES_SEPARATOR`.
 */
export function parseBodyParams(contentType: string | undefined, body: Buffer | undefined, repeatable: readonly string[] = []): Params {
  return parseBodyAs(mediaTypeOf(contentType), body, repeatable);
}

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export const mediaTypeOf = (contentType: string | undefined): string =>
  // The form media type as clients send it is answered as it is: every token request asks.
  contentType === FORM_MEDIA_TYPE ? FORM_MEDIA_TYPE : ((contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '');

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** `parseBodyParams` for a media type already read from the header. */
export function parseBodyAs(media: string, body: Buffer | undefined, repeatable: readonly string[] = []): Params {
  if (!body || body.length === 0) {
    if (media === '' || media === 'application/x-www-form-urlencoded' || media === 'application/json') return {};
  }
  if (media === 'application/x-www-form-urlencoded') return parseForm(body?.toString('utf8') ?? '', repeatable);
  if (media === 'application/json') return parseJson(body?.toString('utf8') ?? '', repeatable);
  throw new OAuthError('invalid_request', 'unsupported content type: send application/x-www-form-urlencoded or application/json');
}

function parseForm(text: string, repeatable: readonly string[]): Params {
  const params: Params = Object.create(null);
  const seen = new Set<string>();
  for (const [name, value] of formPairs(text)) {
    refuseControlCharacters(name, value);
    if (seen.has(name)) {
      if (!repeatable.includes(name)) throw duplicate(name);
      if (value !== '') params[name] = params[name] === undefined ? value : `${params[name]}${REPEATED_VALUES_SEPARATOR}${value}`;
      continue;
    }
    seen.add(name);
    if (value !== '') params[name] = value;
  }
  return params;
}

/**
 * The name-value pairs of a form body (WHATWG URL, application/x-www-form-urlencoded parsing). A
 * body without '%' or '+' has nothing to decode, so it is split directly, as URLSearchParams
 * would split it (empty pieces skipped, a piece without '=' is a name with an empty value);
 * anything else goes through URLSearchParams.
 */
function formPairs(text: string): Iterable<[string, string]> {
  if (text.includes('%') || text.includes('+')) return new URLSearchParams(text);
  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const equals = text.indexOf('=', start);
      pairs.push(equals >= 0 && equals < end ? [text.slice(start, equals), text.slice(equals + 1, end)] : [text.slice(start, end), '']);
    }
    start = end + 1;
  }
  return pairs;
}

function parseJson(text: string, repeatable: readonly string[]): Params {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OAuthError('invalid_request', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OAuthError('invalid_request', 'the JSON body must be an object');
  }
  const name = firstDuplicateKey(text);
  if (name !== undefined) throw duplicate(name);
  const params: Params = Object.create(null);
  for (const [key, v] of Object.entries(value)) {
    if (v === null || v === '') continue;
    if (Array.isArray(v) && repeatable.includes(key)) {
      const values = jsonStrings(key, v);
      if (values.length > 0) params[key] = values.join(REPEATED_VALUES_SEPARATOR);
      continue;
    }
    if (typeof v !== 'string') throw new OAuthError('invalid_request', `parameter ${key} must be a string`, { parameter: key });
    refuseControlCharacters(key, v);
    params[key] = v;
  }
  return params;
}

/** The non-empty strings of a JSON array given for a repeatable parameter. */
function jsonStrings(key: string, values: unknown[]): string[] {
  return values.flatMap((v) => {
    if (typeof v !== 'string') throw new OAuthError('invalid_request', `parameter ${key} must be a string or an array of strings`, { parameter: key });
    refuseControlCharacters(key, v);
    return v === '' ? [] : [v];
  });
}

/**
 * Finds a key that occurs twice in the top-level object of an already-validated JSON text
 * (JSON.parse silently keeps the last one).
 */
export function firstDuplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectKey = depth === 1 && ch === '{';
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}

// No OAuth parameter holds a NUL; PostgreSQL cannot even store one in text.
function refuseControlCharacters(name: string, value: string): void {
  if (name.includes('\u0000') || value.includes('\u0000')) {
    throw new OAuthError('invalid_request', 'parameters must not contain NUL characters', { parameter: name.includes('\u0000') ? 'body' : name });
  }
}

const duplicate = (name: string): OAuthError => new OAuthError('invalid_request', `parameter ${name} was sent more than once`, { parameter: name });

/**
 * Parses `Authorization: Basic`. RFC 6749 §2.3.1: id and secret are form-url-encoded before
 * base64, so they are decoded again here. Returns undefined when another scheme is used.
 */
export function parseBasicAuthorization(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]*) *$/i.exec(header);
  if (!/^Basic(\s|$)/i.test(header)) return undefined;
  const malformed = () => new OAuthError('invalid_client', 'malformed Basic credentials', { challenge: 'Basic' });
  if (!match?.[1]) throw malformed();
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw malformed();
  let credentials: { clientId: string; clientSecret: string };
  try {
    credentials = { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw malformed();
  }
  if (credentials.clientId.includes('\u0000') || credentials.clientSecret.includes('\u0000')) throw malformed();
  return credentials;
}

const formDecode = (value: string): string => decodeURIComponent(value.replace(/\+/g, ' '));

/**
 * Parses a query string without refusing anything: the authorization endpoint decides itself
 * how to answer duplicates (RFC 6749 §3.1), since it may only redirect once the client and
 * redirect_uri are trusted. Empty values count as omitted. Names in `repeatable` (RFC 8707
 * `resource`) may repeat: their values are joined with `REPEATED_VALUES_SEPARATOR`.
 */
export function parseQueryParams(rawUrl: string, repeatable: readonly string[] = []): { params: Params; duplicates: string[]; hasNul: boolean } {
  const question = rawUrl.indexOf('?');
  const params: Params = Object.create(null);
  const duplicates = new Set<string>();
  const seen = new Set<string>();
  let hasNul = false;
  if (question < 0) return { params, duplicates: [], hasNul };
  for (const [name, value] of new URLSearchParams(rawUrl.slice(question + 1))) {
    if (name.includes('\u0000') || value.includes('\u0000')) hasNul = true;
    if (seen.has(name) && repeatable.includes(name)) {
      if (value !== '') params[name] = params[name] === undefined ? value : `${params[name]}${REPEATED_VALUES_SEPARATOR}${value}`;
      continue;
    }
    if (seen.has(name)) duplicates.add(name);
    seen.add(name);
    if (value !== '') params[name] = value;
  }
  return { params, duplicates: [...duplicates], hasNul };
}
