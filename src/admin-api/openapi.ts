import { type Access, ADMIN_READ, ADMIN_WRITE } from './auth.ts';
import { PROBLEM_BASE, PROBLEMS, type ProblemName } from './problems.ts';
import type { AdminRoute } from './routes.ts';
import { object, PROBLEM, type Schema } from './schemas.ts';

export const ADMIN_BASE = '/admin/v1';
const PROBLEM_MEDIA = 'application/problem+json';

/** Failures every authenticated operation can answer. */
const COMMON: readonly ProblemName[] = ['unauthorized', 'insufficient-scope', 'not-found', 'rate-limited', 'internal-error', 'unavailable'];

function problemsOf(route: AdminRoute): ProblemName[] {
  const names: ProblemName[] = [...COMMON.filter((name) => route.access !== 'token' || name !== 'insufficient-scope'), 'invalid-request'];
  if (route.access === 'write') names.push('invalid-value', 'conflict');
  if (route.body) names.push('payload-too-large', 'unsupported-media-type');
  if (route.current) names.push('precondition-failed', 'precondition-required');
  if (route.idempotent) names.push('idempotency-key-in-use', 'idempotency-key-reused');
  return names;
}

/** One response object per status; several problems may share a status (their `type` differs). */
function problemResponses(names: readonly ProblemName[]): Record<string, unknown> {
  const byStatus = new Map<number, ProblemName[]>();
  for (const name of names) byStatus.set(PROBLEMS[name].status, [...(byStatus.get(PROBLEMS[name].status) ?? []), name]);
  const responses: Record<string, unknown> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const types = group.map((name) => `${PROBLEM_BASE}${name}`);
    responses[String(status)] = {
      description: group.map((name) => PROBLEMS[name].title).join('; '),
      content: { [PROBLEM_MEDIA]: { schema: { ...PROBLEM, properties: { ...(PROBLEM.properties as Schema), type: { enum: types } } } } },
    };
  }
  return responses;
}

const LIST_PARAMETERS = {
  limit: { description: 'Items per page, 1..200 (default 50)', schema: { type: 'string', pattern: '^[0-9]+$' } },
  cursor: { description: 'The next_cursor of the previous page (opaque: the last key seen)', schema: { type: 'string' } },
  q: { description: 'Only items whose name or id contains this text (case-insensitive for ASCII letters)', schema: { type: 'string' } },
  enabled: { description: 'Only enabled (true) or disabled (false) items', schema: { enum: ['true', 'false'] } },
} as const;

function parameters(route: AdminRoute): unknown[] {
  const path = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const query = [
    ...(route.list ? (['limit', 'cursor', ...route.list.filters] as const).map((name) => ({ name, in: 'query', ...LIST_PARAMETERS[name] })) : []),
    ...Object.entries(route.query ?? {}).map(([name, parameter]) => ({ name, in: 'query', ...parameter })),
  ];
  const headers = [
    ...(route.current
      ? [
          {
            name: 'If-Match',
            in: 'header',
            required: true,
            description: 'The ETag of the resource as last read (428 without it, 412 if it changed)',
            schema: { type: 'string' },
          },
        ]
      : []),
    ...(route.idempotent
      ? [
          {
            name: 'Idempotency-Key',
            in: 'header',
            description: 'Retries with the same key and body replay the first response, without its secrets',
            schema: { type: 'string', maxLength: 200 },
          },
        ]
      : []),
  ];
  return [...path, ...query, ...headers];
}

function operation(route: AdminRoute): Record<string, unknown> {
  const scope = (access: Access | 'token') => (access === 'token' ? [] : access === 'read' ? [ADMIN_READ] : [ADMIN_WRITE]);
  const headers: Record<string, unknown> = {};
  if (route.etag) headers.ETag = { description: 'Strong validator of this representation; send it as If-Match to update', schema: { type: 'string' } };
  if (route.idempotent) headers['Idempotent-Replayed'] = { description: 'true when this is the replay of an earlier response', schema: { type: 'string' } };
  return {
    operationId: route.operationId,
    summary: route.summary,
    security: [{ adminToken: scope(route.access) }],
    parameters: parameters(route),
    ...(route.body ? { requestBody: { required: false, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: {
      [String(route.status)]: { description: 'Success', headers, content: { 'application/json': { schema: route.response } } },
      ...problemResponses(problemsOf(route)),
    },
  };
}

/** The two unauthenticated documents: this description and the problem types. */
function metaPaths(): Record<string, Record<string, unknown>> {
  const problemType = object({ type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, description: { type: 'string' } });
  return {
    [`${ADMIN_BASE}/openapi.json`]: {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document (no token needed)',
        security: [],
        responses: { '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    [`${PROBLEM_BASE}{name}`]: {
      get: {
        operationId: 'getProblemType',
        summary: 'What a problem type means (no token needed)',
        security: [],
        parameters: [{ name: 'name', in: 'path', required: true, schema: { enum: Object.keys(PROBLEMS) } }],
        responses: {
          '200': { description: 'The problem type', content: { 'application/json': { schema: problemType } } },
          ...problemResponses(['not-found']),
        },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the admin API, built from the route table it describes. */
export function adminOpenApiDocument(routes: readonly AdminRoute[], managementEnv: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = metaPaths();
  for (const route of routes) {
    const entry = paths[`${ADMIN_BASE}${route.path}`] ?? {};
    entry[route.method.toLowerCase()] = operation(route);
    paths[`${ADMIN_BASE}${route.path}`] = entry;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description: `Bearer access tokens of the ${managementEnv} environment for the API urn:gatehouse:admin-api. Errors are RFC 9457 problem details; their types are listed under ${PROBLEM_BASE}.`,
    },
    paths,
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'admin:read / admin:write, or admin:read:ENV / admin:write:ENV for one environment' },
      },
    },
  };
}
