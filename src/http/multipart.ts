import { OAuthError } from '../oauth/errors.ts';
import { mediaTypeOf, type Params } from './params.ts';

/** More parts than any token request needs; bounds the work an untrusted body can ask for. */
const MAX_PARTS = 64;

const CRLF = Buffer.from('\r\n', 'latin1');
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const DASH = 0x2d;
const CR = 0x0d;
const LF = 0x0a;

// RFC 7230 §3.2.6 tchar: what an unquoted type, parameter name or parameter value may hold.
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
// RFC 2046 §5.1.1: 1 to 70 bchars, the last not a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

// fatal: a value that is not UTF-8 is refused, not silently repaired (RFC 7578 §5.1.2 names
// UTF-8 as the charset of form-data text). ignoreBOM: a leading U+FEFF is data, not a marker.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const malformed = (): OAuthError => new OAuthError('invalid_request', 'the multipart body is malformed');
const invalid = (description: string, parameter?: string): OAuthError =>
  new OAuthError('invalid_request', description, parameter === undefined ? {} : { parameter });

/**
 * Parses a multipart/form-data body (RFC 7578) of text fields, as `curl -F name=value` sends
 * them. The rules are those of `parseBodyParams`: each name once, no NUL, an empty value counts
 * as omitted. File parts, non-text parts, more than 64 parts and any framing error are
 * `invalid_request`. The body is untrusted, so it is scanned with `indexOf` in linear time and
 * every failure it can cause is an `OAuthError`.
 *
 * Not busboy (1.6): for these bodies it drops a part whose delimiter carries transport padding
 * (RFC 2046 §5.1.1 allows it), skips parts without `Content-Disposition: form-data` instead of
 * refusing them, accepts a second Content-Disposition or a folded header, and converts charsets
 * this endpoint refuses. Busboy exposes neither a part's raw headers nor its framing, so keeping
 * those answers would mean a second parser of the same bytes in front of it; one strict reading
 * is safer.
 */
export function parseMultipartForm(contentType: string, body: Buffer): Params {
  const boundary = boundaryOf(contentType);
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  // RFC 2046 §5.1.1: a delimiter is CRLF "--" boundary; the CRLF belongs to the delimiter, not
  // to the part before it. Only the first one may sit at the very start of the body, with no
  // preamble and so no CRLF in front of it.
  const delimiter = Buffer.concat([CRLF, dashBoundary]);
  let position: number;
  if (body.subarray(0, dashBoundary.length).equals(dashBoundary)) {
    position = dashBoundary.length;
  } else {
    const first = body.indexOf(delimiter);
    if (first < 0) throw malformed();
    position = first + delimiter.length;
  }
  const params: Params = Object.create(null);
  const seen = new Set<string>();
  for (let parts = 0; ; parts++) {
    const start = afterDelimiter(body, position);
    if (start === undefined) return params;
    if (parts === MAX_PARTS) throw invalid(`too many parts: at most ${MAX_PARTS} are accepted`);
    const end = body.indexOf(delimiter, start);
    // A body that never reaches the close delimiter was cut short or is not multipart at all.
    if (end < 0) throw malformed();
    const { name, value } = parsePart(body.subarray(start, end));
    addField(params, seen, name, value);
    position = end + delimiter.length;
  }
}

/**
 * Reads the boundary parameter of the request's Content-Type (RFC 7578 §4.1 makes it
 * mandatory). Its name is case-insensitive, its value may be quoted (RFC 2045 §5.1).
 */
function boundaryOf(contentType: string): string {
  if (mediaTypeOf(contentType) !== 'multipart/form-data') throw invalid('expected a multipart/form-data body');
  const boundary = parseHeaderValue(contentType)?.params.get('boundary');
  if (boundary === undefined || boundary.length > 70 || !BOUNDARY.test(boundary)) throw invalid('multipart/form-data needs a boundary');
  return boundary;
}

/**
 * Checks what follows a "--boundary" at `position`. Returns where the next part's headers start,
 * or undefined after the close delimiter "--boundary--". RFC 2046 §5.1.1 allows linear white
 * space (transport padding) before the CRLF; anything else is a framing error. The epilogue
 * after the close delimiter's CRLF is ignored, as RFC 2046 requires.
 */
function afterDelimiter(body: Buffer, position: number): number | undefined {
  const closing = body[position] === DASH && body[position + 1] === DASH;
  let i = closing ? position + 2 : position;
  while (body[i] === 0x20 || body[i] === 0x09) i++;
  const atLineEnd = body[i] === CR && body[i + 1] === LF;
  if (closing && (atLineEnd || i === body.length)) return undefined;
  if (closing || !atLineEnd) throw malformed();
  return i + 2;
}

/** Splits one part into its field name and text value (RFC 7578 §4.2, §4.4). */
function parsePart(part: Buffer): { name: string; value: string } {
  // Headers end at the first empty line; a part with no headers starts with that empty line.
  const headerEnd = part[0] === CR && part[1] === LF ? 0 : part.indexOf(HEADER_END);
  if (headerEnd < 0) throw malformed();
  const headers = parsePartHeaders(part.subarray(0, headerEnd));
  const disposition = headers.get('content-disposition');
  const name = disposition?.params.get('name');
  if (disposition?.value !== 'form-data' || name === undefined) {
    throw invalid('each part needs a Content-Disposition: form-data header with a name');
  }
  // RFC 7578 §4.2: a filename parameter marks a file; only text fields make a token request.
  if (disposition.params.has('filename') || disposition.params.has('filename*')) throw invalid('file uploads are not accepted', name);
  const type = headers.get('content-type');
  if (type !== undefined && !isPlainText(type)) throw invalid(`parameter ${name} must be text/plain in UTF-8`, name);
  const valueStart = headerEnd === 0 ? 2 : headerEnd + HEADER_END.length;
  return { name, value: decodeUtf8(part.subarray(valueStart), () => invalid(`parameter ${name} is not valid UTF-8`, name)) };
}

/**
 * Reads a part's header lines, keeping Content-Disposition and Content-Type (RFC 7578 §4.8 says
 * other headers are to be ignored). Folded lines and repeated headers are refused: no form
 * sender writes them, and guessing which copy counts is how parsers come to disagree.
 */
function parsePartHeaders(block: Buffer): Map<string, HeaderValue> {
  const headers = new Map<string, HeaderValue>();
  if (block.length === 0) return headers;
  // RFC 7578 §5.1.1: field names may be sent as raw UTF-8 in the header.
  const text = decodeUtf8(block, () => invalid('the part headers are not valid UTF-8'));
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    const fieldName = line.slice(0, Math.max(colon, 0)).toLowerCase();
    if (colon < 1 || !isToken(fieldName) || line.includes('\r') || line.includes('\n')) throw malformed();
    if (fieldName !== 'content-disposition' && fieldName !== 'content-type') continue;
    const parsed = parseHeaderValue(line.slice(colon + 1));
    if (parsed === undefined || headers.has(fieldName)) throw malformed();
    headers.set(fieldName, parsed);
  }
  return headers;
}

/** RFC 7578 §4.4: a text field is text/plain; UTF-8 (or its subset US-ASCII) is the only charset read. */
function isPlainText(type: HeaderValue): boolean {
  const charset = type.params.get('charset')?.toLowerCase();
  return type.value === 'text/plain' && (charset === undefined || charset === 'utf-8' || charset === 'us-ascii');
}

function decodeUtf8(bytes: Buffer, error: () => OAuthError): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw error();
  }
}

/** The same checks, in the same order, as the form parser of params.ts. */
function addField(params: Params, seen: Set<string>, name: string, value: string): void {
  if (seen.has(name)) throw invalid(`parameter ${name} was sent more than once`, name);
  seen.add(name);
  // No OAuth parameter holds a NUL; PostgreSQL cannot even store one in text.
  if (name.includes('\u0000') || value.includes('\u0000')) {
    throw invalid('parameters must not contain NUL characters', name.includes('\u0000') ? 'body' : name);
  }
  if (value !== '') params[name] = value;
}

/** A header value: its lower-cased type and its parameters, names lower-cased. */
interface HeaderValue {
  value: string;
  params: Map<string, string>;
}

/**
 * Parses `type *( ";" name "=" ( token / quoted-string ) )` (RFC 2045 §5.1, RFC 2183 §2) in
 * one pass. Returns undefined when the syntax is broken or a parameter is repeated.
 */
function parseHeaderValue(text: string): HeaderValue | undefined {
  let i = skipSpace(text, 0);
  const typeEnd = scanWhile(text, i, (ch) => ch === '/' || TCHAR.test(ch));
  if (typeEnd === i) return undefined;
  const result: HeaderValue = { value: text.slice(i, typeEnd).toLowerCase(), params: new Map() };
  i = skipSpace(text, typeEnd);
  while (i < text.length) {
    if (text[i] !== ';') return undefined;
    i = skipSpace(text, i + 1);
    if (i === text.length) break;
    const nameEnd = scanWhile(text, i, (ch) => TCHAR.test(ch));
    if (nameEnd === i || text[nameEnd] !== '=') return undefined;
    const name = text.slice(i, nameEnd).toLowerCase();
    const scanned = text[nameEnd + 1] === '"' ? scanQuoted(text, nameEnd + 1) : scanToken(text, nameEnd + 1);
    if (scanned === undefined || result.params.has(name)) return undefined;
    result.params.set(name, scanned.value);
    i = skipSpace(text, scanned.end);
  }
  return result;
}

function scanToken(text: string, start: number): { value: string; end: number } | undefined {
  const end = scanWhile(text, start, (ch) => TCHAR.test(ch));
  return end === start ? undefined : { value: text.slice(start, end), end };
}

/**
 * Reads a quoted-string opening at `start`. Only \" and \\ are unescaped: browsers send other
 * backslashes as they are (RFC 7578 §4.2 prefers percent-encoding, which is left undecoded).
 */
function scanQuoted(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') return { value, end: i + 1 };
    const next = text[i + 1];
    if (ch === '\\' && (next === '"' || next === '\\')) {
      value += next;
      i++;
    } else {
      value += ch;
    }
  }
  return undefined;
}

function scanWhile(text: string, start: number, accept: (ch: string) => boolean): number {
  let i = start;
  while (i < text.length && accept(text.charAt(i))) i++;
  return i;
}

const skipSpace = (text: string, start: number): number => scanWhile(text, start, (ch) => ch === ' ' || ch === '\t');
const isToken = (text: string): boolean => text.length > 0 && scanWhile(text, 0, (ch) => TCHAR.test(ch)) === text.length;
