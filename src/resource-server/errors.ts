/**
 * RFC 6750 §3 errors of a protected resource, and how every adapter renders them: one model, one
 * renderer, so the same failure gets the same status and challenge in Fastify, Express and fetch.
 */

/** RFC 6750 §3.1 error codes, plus `temporarily_unavailable` when the keys or the introspection endpoint cannot be reached. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

const STATUS: Record<BearerErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  temporarily_unavailable: 503,
};

/**
 * A refused request. `code` is undefined when the request carried no token at all (RFC 6750 §3.1:
 * then the challenge names no error). The description never contains the token.
 */
export class BearerError extends Error {
  readonly status: number;

  constructor(
    readonly code: BearerErrorCode | undefined,
    description: string,
    /** For `insufficient_scope`: the scopes the resource requires. */
    readonly scope?: readonly string[],
  ) {
    super(description);
    this.name = 'BearerError';
    this.status = code === undefined ? 401 : STATUS[code];
  }
}

/** An HTTP answer in neutral form, for each adapter to send. */
export interface BearerErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON `{ error, error_description }`, or empty when no token was presented. */
  body: string;
}

/** Seconds a client waits before retrying when a dependency of the verifier is down. */
const RETRY_AFTER_SECONDS = '5';

/** Renders `error` for realm `realm`: status, `WWW-Authenticate` challenge (RFC 6750 §3) and body. */
export function renderBearerError(error: BearerError, realm: string): BearerErrorResponse {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (error.code === 'temporarily_unavailable') {
    headers['retry-after'] = RETRY_AFTER_SECONDS;
  } else {
    const params = [`realm="${quoted(realm)}"`];
    if (error.code !== undefined) params.push(`error="${error.code}"`, `error_description="${quoted(error.message)}"`);
    if (error.scope !== undefined) params.push(`scope="${quoted(error.scope.join(' '))}"`);
    headers['www-authenticate'] = `Bearer ${params.join(', ')}`;
  }
  if (error.code === undefined) return { status: error.status, headers, body: '' };
  headers['content-type'] = 'application/json';
  return { status: error.status, headers, body: JSON.stringify({ error: error.code, error_description: error.message }) };
}

/** RFC 6750 §3: challenge values are quoted-strings limited to printable ASCII without `"` and `\`. */
function quoted(value: string): string {
  return value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
}
