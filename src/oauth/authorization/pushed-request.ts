import { hashSecret, randomToken } from '../../crypto/secrets.ts';
import type { Environment } from '../../domain/model.ts';
import type { AuthorizationDeps } from './flow-context.ts';
import type { AuthorizationErrorPage } from './response.ts';

/** RFC 9126 §2.2: the URN prefix of every request_uri Gatehouse issues. */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/** The random part of a request_uri: 32 random bytes, base64url. */
const REQUEST_URI_ID = /^[A-Za-z0-9_-]{43}$/;

/** Parameters of a pushed request that authenticate the client: never stored with it. */
const CREDENTIAL_PARAMETERS = ['client_secret', 'client_assertion', 'client_assertion_type'];

/**
 * RFC 9126 §2.2: stores the pushed parameters of `clientId` (its credentials removed) and returns
 * the request_uri that stands for them. Storage holds only the hash of its random part.
 */
export async function storePushedRequest(
  deps: AuthorizationDeps,
  env: Environment,
  clientId: string,
  params: Readonly<Record<string, string>>,
  ttlSeconds: number,
): Promise<string> {
  const id = randomToken(32);
  const now = deps.clock.now();
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) if (!CREDENTIAL_PARAMETERS.includes(name)) kept[name] = value;
  await deps.store.pushedRequests.insert({
    idHash: hashSecret(id),
    envId: env.id,
    clientId,
    params: kept,
    createdAt: now,
    expiresAt: now + ttlSeconds * 1000,
  });
  return `${REQUEST_URI_PREFIX}${id}`;
}

/**
 * RFC 9126 §4: the parameters of the request an /authorize request's `request_uri` stands for,
 * taken once (a request_uri is single use) and only by the client that pushed it (`client_id`
 * must name it). Every other parameter of the /authorize request is ignored: the pushed request
 * is the whole request. A missing, unknown, expired, used or another client's request_uri is an
 * error page: nothing known-good to redirect to (RFC 6749 §4.1.2.1).
 */
export async function takePushedRequest(
  deps: AuthorizationDeps,
  env: Environment,
  params: Readonly<Record<string, string>>,
  duplicates: readonly string[],
): Promise<{ kind: 'pushed'; params: Record<string, string> } | AuthorizationErrorPage> {
  if (duplicates.includes('request_uri') || duplicates.includes('client_id'))
    return { kind: 'error_page', message: 'The request gave request_uri or client_id more than once.' };
  const clientId = params.client_id;
  if (clientId === undefined || clientId === '')
    return { kind: 'error_page', message: 'The request did not say which application is asking (client_id is missing).' };
  const requestUri = params.request_uri ?? '';
  const id = requestUri.startsWith(REQUEST_URI_PREFIX) ? requestUri.slice(REQUEST_URI_PREFIX.length) : '';
  const pushed = REQUEST_URI_ID.test(id) ? await deps.store.pushedRequests.take(env.id, hashSecret(id), clientId, deps.clock.now()) : undefined;
  if (!pushed) {
    return {
      kind: 'error_page',
      message: 'This sign-in link has expired, was already used, or belongs to another application. Go back to the application and start again.',
    };
  }
  return { kind: 'pushed', params: { ...pushed.params, client_id: pushed.clientId } };
}
