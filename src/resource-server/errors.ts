/**
 * RFC 6750 §3 and RFC 9449 §7.1 errors of a protected resource, and how every adapter renders
 * them: one model, one renderer, so the same failure gets the same status and challenge in
 * Fastify, Express and fetch.
 */

/**
 * RFC 6750 §3.1 error codes, RFC 9449 §7.1 `invalid_dpop_proof` and §9 `use_dpop_nonce`, plus
 * `temporarily_unavailable` when the keys, the introspection endpoint or the replay store cannot be reached.
 */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof' | 'use_dpop_nonce' | 'temporarily_unavailable';

const STATUS: Record<BearerErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
  temporarily_unavailable: 503,
};

/** The authentication schemes of a protected resource. */
export type AuthScheme = 'Bearer' | 'DPoP';

/** What the challenges of a refusal offer (RFC 9449 §7.1-7.2); set by the verifier on the errors it throws. */
export interface Challenges {
  /** The schemes this resource accepts, each challenged. */
  schemes: readonly AuthScheme[];
  /** The scheme the request used, whose challenge carries the error; undefined without a token. */
  used: AuthScheme | undefined;
  /** RFC 9449 §7.1 `algs`: the proof algorithms accepted. */
  algs: readonly string[];
  /** RFC 9449 §9: the nonce to send in `DPoP-Nonce`. */
  nonce?: string | undefined;
}

const BEARER_ONLY: Challenges = Object.freeze({ schemes: ['Bearer'] as const, used: 'Bearer' as const, algs: [] });

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
    /** The challenges to answer with; Bearer alone when undefined. */
    readonly challenges?: Challenges,
  ) {
    super(description);
    this.name = 'BearerError';
    this.status = code === undefined ? 401 : STATUS[code];
  }

  /** The same refusal answered with `challenges`. */
  withChallenges(challenges: Challenges): BearerError {
    return new BearerError(this.code, this.message, this.scope, challenges);
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

/**
 * Renders `error` for realm `realm`: status, `WWW-Authenticate` with one challenge per accepted
 * scheme (RFC 6750 §3, RFC 9449 §7.1; the error in the challenge of the scheme the request used),
 * each naming the resource's metadata URL when it has one (RFC 9728 §5.1), `DPoP-Nonce` (RFC 9449
 * §9) and body.
 */
export function renderBearerError(error: BearerError, realm: string, resourceMetadata?: string): BearerErrorResponse {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  const challenges = error.challenges ?? BEARER_ONLY;
  if (error.code === 'temporarily_unavailable') {
    headers['retry-after'] = RETRY_AFTER_SECONDS;
  } else {
    // An error about a scheme the resource does not offer goes in the first one it does.
    const carrier = challenges.used !== undefined && challenges.schemes.includes(challenges.used) ? challenges.used : challenges.schemes[0];
    headers['www-authenticate'] = challenges.schemes
      .map((scheme) => challenge(scheme, error, { realm, resourceMetadata }, challenges, scheme === carrier))
      .join(', ');
  }
  if (challenges.nonce !== undefined) headers['dpop-nonce'] = challenges.nonce;
  if (error.code === undefined) return { status: error.status, headers, body: '' };
  headers['content-type'] = 'application/json';
  return { status: error.status, headers, body: JSON.stringify({ error: error.code, error_description: error.message }) };
}

function challenge(
  scheme: AuthScheme,
  error: BearerError,
  about: { realm: string; resourceMetadata: string | undefined },
  challenges: Challenges,
  carriesError: boolean,
): string {
  const params = [`realm="${quoted(about.realm)}"`];
  if (about.resourceMetadata !== undefined) params.push(`resource_metadata="${quoted(about.resourceMetadata)}"`);
  if (carriesError && error.code !== undefined) params.push(`error="${error.code}"`, `error_description="${quoted(error.message)}"`);
  if (carriesError && error.scope !== undefined) params.push(`scope="${quoted(error.scope.join(' '))}"`);
  if (scheme === 'DPoP') params.push(`algs="${quoted(challenges.algs.join(' '))}"`);
  return `${scheme} ${params.join(', ')}`;
}

/** RFC 6750 §3: challenge values are quoted-strings limited to printable ASCII without `"` and `\`. */
function quoted(value: string): string {
  return value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
}
