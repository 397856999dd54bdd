/**
 * The admin API over HTTP for the CLI: credentials, one cached token, and refusals mapped back to
 * the AdminError the service would have thrown.
 */
import { randomUUID } from 'node:crypto';
import { AdminError } from '../admin/admin-error.ts';
import { type HttpAnswer, NoAnswerError, sendRequest } from './http-request.ts';

/** A failure that is not a refused operation: no credentials, no access, an unreachable or unexpected server. */
export class RemoteAdminError extends Error {
  override name = 'RemoteAdminError';
}

/** How the CLI gets its admin token: a bearer token as is, or client credentials at the management environment's token endpoint. */
export type RemoteCredentials = { token: string } | { clientId: string; clientSecret: string; tokenUrl: string };

/**
 * Reads the credentials from the environment, never the command line: GATEHOUSE_ADMIN_TOKEN, or
 * GATEHOUSE_ADMIN_CLIENT_ID and GATEHOUSE_ADMIN_CLIENT_SECRET with the token endpoint at
 * GATEHOUSE_ADMIN_TOKEN_URL (default: GATEHOUSE_PUBLIC_URL/envs/GATEHOUSE_ADMIN_ENV/token).
 */
export function remoteCredentials(env: NodeJS.ProcessEnv, defaults: { publicUrl: string | undefined; adminEnvironment: string }): RemoteCredentials {
  const token = env.GATEHOUSE_ADMIN_TOKEN?.trim();
  if (token) return { token };
  const clientId = env.GATEHOUSE_ADMIN_CLIENT_ID?.trim();
  const clientSecret = env.GATEHOUSE_ADMIN_CLIENT_SECRET?.trim();
  if (!clientId || !clientSecret) {
    throw new RemoteAdminError('--server needs GATEHOUSE_ADMIN_TOKEN, or GATEHOUSE_ADMIN_CLIENT_ID and GATEHOUSE_ADMIN_CLIENT_SECRET, in the environment');
  }
  const base = defaults.publicUrl?.replace(/\/+$/, '');
  const tokenUrl = env.GATEHOUSE_ADMIN_TOKEN_URL?.trim() || (base ? `${base}/envs/${defaults.adminEnvironment}/token` : undefined);
  if (!tokenUrl)
    throw new RemoteAdminError('--server with client credentials needs GATEHOUSE_ADMIN_TOKEN_URL (or GATEHOUSE_PUBLIC_URL) to find the token endpoint');
  return { clientId, clientSecret, tokenUrl: httpUrl(tokenUrl, 'GATEHOUSE_ADMIN_TOKEN_URL') };
}

/** The admin API base of `--server URL` (a node's admin listener, with or without `/admin/v1`). */
export function adminApiBase(server: string): string {
  return `${httpUrl(server, '--server')
    .replace(/\/+$/, '')
    .replace(/\/admin\/v1$/, '')}/admin/v1`;
}

function httpUrl(text: string, name: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RemoteAdminError(`${name} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteAdminError(`${name} must be an http(s) URL`);
  return url.href;
}

interface Call {
  body?: unknown;
  ifMatch?: string;
  /** A create: an Idempotency-Key, so a retry of this call cannot create twice. */
  idempotent?: boolean;
}

const TIMEOUT_MS = 30_000;

/** HTTP to the admin API with a bearer token (fetched once per command), problems turned into errors. */
export class AdminApiClient {
  private token: Promise<string> | undefined;

  constructor(
    private readonly base: string,
    private readonly credentials: RemoteCredentials,
  ) {}

  async call<T>(method: string, path: string, call: Call = {}): Promise<{ body: T; etag: string | undefined }> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}`, accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.ifMatch !== undefined) headers['if-match'] = call.ifMatch;
    if (call.idempotent) headers['idempotency-key'] = randomUUID();
    const init = { method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body) };
    // Reads and keyed creates are safe to send twice: one retry after a lost connection or a 503.
    const retry = method === 'GET' || call.idempotent === true;
    const response = await send(`${this.base}${path}`, init).then(
      (first) => (retry && first.status === 503 ? send(`${this.base}${path}`, init) : first),
      (error: unknown) => (retry ? send(`${this.base}${path}`, init) : Promise.reject(error)),
    );
    const text = response.text;
    if (!response.ok) throw failure(response.status, text);
    return { body: (text ? JSON.parse(text) : undefined) as T, etag: response.header('etag') };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).body;
  }

  /** Every item of a paged list, following `next_cursor`. */
  async list<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page: { items: T[]; next_cursor: string | null } = await this.get(`${path}${query}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return items;
  }

  /** An update as RFC 9110 wants it: read the current ETag, then write only if nothing changed meanwhile. */
  async update<T>(method: 'PATCH' | 'PUT', path: string, body: (current: T) => unknown): Promise<T> {
    const current = await this.call<T>('GET', path);
    return (await this.call<T>(method, path, { body: body(current.body), ...(current.etag ? { ifMatch: current.etag } : {}) })).body;
  }

  private accessToken(): Promise<string> {
    const credentials = this.credentials;
    if ('token' in credentials) return Promise.resolve(credentials.token);
    this.token ??= clientCredentialsToken(credentials);
    return this.token;
  }
}

async function send(url: string, init: { method: string; headers: Record<string, string>; body?: string | undefined }): Promise<HttpAnswer> {
  try {
    return await sendRequest(url, { ...init, timeoutMs: TIMEOUT_MS });
  } catch (error) {
    if (!(error instanceof NoAnswerError)) throw error;
    throw new RemoteAdminError(`cannot reach ${new URL(url).origin}: ${error.reason}`);
  }
}

async function clientCredentialsToken(credentials: { clientId: string; clientSecret: string; tokenUrl: string }): Promise<string> {
  const basic = Buffer.from(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`).toString('base64');
  const response = await send(credentials.tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: 'grant_type=client_credentials',
  });
  const body = objectOf(response.text) as { access_token?: unknown; error?: unknown };
  if (!response.ok || typeof body.access_token !== 'string') {
    const error = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    throw new RemoteAdminError(
      `the token endpoint refused GATEHOUSE_ADMIN_CLIENT_ID (${error}); check the admin client's id, secret and GATEHOUSE_ADMIN_TOKEN_URL`,
    );
  }
  return body.access_token;
}

/** A JSON object answer, or an empty object for anything else. */
function objectOf(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A problem+json answer as the error the local service throws for the same refusal. */
function failure(status: number, text: string): Error {
  let problem: { type?: string; detail?: string } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {}
  const detail = problem.detail ?? `HTTP ${status}`;
  if (status === 401) return new RemoteAdminError(`the admin API refused the token (${detail}); check GATEHOUSE_ADMIN_TOKEN or the admin client credentials`);
  if (status === 403) return new RemoteAdminError(`not allowed: the admin token lacks a scope (${detail})`);
  if (status === 412) return new AdminError('conflict', 'the resource changed meanwhile: run the command again');
  if (status === 404) return new AdminError('not_found', detail);
  if (status === 409) return new AdminError('conflict', detail);
  if (status === 400 || status === 422) return new AdminError('invalid_argument', detail);
  return new RemoteAdminError(`the admin API answered ${status}: ${detail}`);
}

export const seg = encodeURIComponent;
export const envPath = (env: string) => `/environments/${seg(env)}`;
export const clientPath = (env: string, id: string) => `${envPath(env)}/clients/${seg(id)}`;
export const byCreation =
  <T extends { created_at: string }>(id: (item: T) => string) =>
  (a: T, b: T) =>
    a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0;
