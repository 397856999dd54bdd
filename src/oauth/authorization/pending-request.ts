import { hashSecret, randomToken } from '../../crypto/secrets.ts';
import type { BrowserSession, Environment, PendingAuthorization } from '../../domain/model.ts';
import type { AuthorizationDeps, PendingFlow } from './flow-context.ts';
import type { ValidAuthorizationRequest } from './validate-request.ts';

// The user has this long to sign in and consent after the client sent them to /authorize.
const PENDING_TTL_MS = 15 * 60 * 1000;

/** A request id as `holdRequest` makes them: 32 random bytes, base64url. */
const REQUEST_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Keeps a valid request pending for this browser session while the user signs in and consents
 * (RFC 6749 §4.1.1: the server authenticates the resource owner and obtains a decision); returns
 * it with the id the pages carry. Storage holds only the id's hash.
 */
export async function holdRequest(
  deps: AuthorizationDeps,
  env: Environment,
  session: BrowserSession,
  request: ValidAuthorizationRequest,
): Promise<{ requestId: string; pending: PendingAuthorization }> {
  const requestId = randomToken(32);
  const now = deps.clock.now();
  const pending: PendingAuthorization = {
    idHash: hashSecret(requestId),
    envId: env.id,
    sessionIdHash: session.idHash,
    clientId: request.client.clientId,
    redirectUri: request.redirectUri,
    scope: request.scope,
    state: request.state,
    codeChallenge: request.codeChallenge,
    ...(request.resources ? { resources: request.resources } : {}),
    ...(request.dpopJkt === undefined ? {} : { dpopJkt: request.dpopJkt }),
    createdAt: now,
    expiresAt: now + PENDING_TTL_MS,
    ...(request.oidc ? { oidc: { ...request.oidc, heldInSession: session.idHash } } : {}),
  };
  await deps.store.authorizationRequests.insert(pending);
  return { requestId, pending };
}

/**
 * Resumes a held request: the pending request `requestId` of this session, if it exists and has
 * not expired. Binding it to the browser session keeps another browser from completing it
 * (RFC 6749 §10.12, RFC 9700 §4.7).
 */
export async function findPendingRequest(
  deps: AuthorizationDeps,
  env: Environment,
  session: BrowserSession,
  requestId: string | undefined,
): Promise<PendingAuthorization | undefined> {
  if (requestId === undefined || !REQUEST_ID.test(requestId)) return undefined;
  return deps.store.authorizationRequests.find(env.id, hashSecret(requestId), session.idHash, deps.clock.now());
}

/** Ends a held request: true for the one caller that took it, so each request is answered once. */
export async function takePendingRequest(
  deps: AuthorizationDeps,
  { env, session, requestId }: Pick<PendingFlow, 'env' | 'session' | 'requestId'>,
): Promise<boolean> {
  return deps.store.authorizationRequests.take(env.id, hashSecret(requestId), session.idHash);
}
