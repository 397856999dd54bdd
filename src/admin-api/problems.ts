/**
 * RFC 9457 problem details of the admin API. Each failure has its own stable `type`, a URI
 * relative to the API (`/admin/v1/problems/NAME`, which serves its description); clients branch
 * on `type`, never on `title` or `detail`.
 */
export const PROBLEMS = {
  'invalid-request': {
    status: 400,
    title: 'The request is malformed',
    description: 'A parameter, header or body field is missing or has the wrong form; `field` names it when known.',
  },
  unauthorized: {
    status: 401,
    title: 'An admin access token is required',
    description: 'No bearer token, or one that is expired, revoked, not issued by the management environment or not for the admin API.',
  },
  'insufficient-scope': {
    status: 403,
    title: 'The token lacks the scope this operation needs',
    description: 'Reads need admin:read (or admin:read:ENV), writes admin:write (or admin:write:ENV).',
  },
  'not-found': { status: 404, title: 'No such resource', description: 'The environment, client, user, key or API does not exist, or the path is unknown.' },
  conflict: {
    status: 409,
    title: 'The request conflicts with the current state',
    description: 'The resource already exists, or the operation cannot apply now (for example a pending next key).',
  },
  'idempotency-key-in-use': {
    status: 409,
    title: 'A request with this Idempotency-Key is still running',
    description: 'Retry once the first request has finished.',
  },
  'payload-too-large': { status: 413, title: 'The request body is too large', description: 'The body exceeds GATEHOUSE_BODY_LIMIT bytes.' },
  'unsupported-media-type': { status: 415, title: 'The request body must be JSON', description: 'Send Content-Type: application/json.' },
  'precondition-failed': {
    status: 412,
    title: 'The resource changed since it was read',
    description: 'If-Match does not name the current ETag: read the resource again and reapply the change.',
  },
  'invalid-value': {
    status: 422,
    title: 'The values are refused',
    description: 'The request is well-formed but breaks a rule (an unknown grant type, a default scope that is not allowed, a weak password…).',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'This Idempotency-Key was used for a different request',
    description: 'A key names one request (method, path and body); use a new key for a new request.',
  },
  'precondition-required': {
    status: 428,
    title: 'If-Match is required',
    description: 'Updates must carry If-Match with the ETag of the representation they change (RFC 6585 §3).',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    description: 'The admin client went over GATEHOUSE_ADMIN_RATE_LIMIT requests per minute; Retry-After says when to retry.',
  },
  'internal-error': { status: 500, title: 'The server could not complete the request', description: 'Details are in the server log only.' },
  unavailable: { status: 503, title: 'The database is unavailable', description: 'Nothing was changed; retry after Retry-After seconds.' },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ProblemName = keyof typeof PROBLEMS;

export const PROBLEM_BASE = '/admin/v1/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request field a validation problem is about, as a JSON pointer or a header or parameter name. */
  field?: string;
}

/** An admin API failure: thrown anywhere below a route, answered as `application/problem+json`. */
export class Problem extends Error {
  constructor(
    readonly problem: ProblemName,
    detail: string,
    readonly extra: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }

  get status(): number {
    return PROBLEMS[this.problem].status;
  }

  body(): ProblemBody {
    const { title, status } = PROBLEMS[this.problem];
    return { type: `${PROBLEM_BASE}${this.problem}`, title, status, detail: this.message, ...(this.extra.field ? { field: this.extra.field } : {}) };
  }
}
