import { randomUUID } from 'node:crypto';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { BrowserSession, Client, Environment, PendingAuthorization, User } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { ClientCache } from './client-cache.ts';
import { OAuthError } from './errors.ts';
import { S256_CHALLENGE } from './pkce.ts';
import { matchesRegisteredRedirectUri } from './redirect-uri.ts';
import { resolveScope } from './scope.ts';

/** Prefix of authorization codes, so secret scanners recognise a leaked one. */
export const AUTHORIZATION_CODE_PREFIX = 'gac_';

// The user has this long to sign in and consent after the client sent them to /authorize.
const PENDING_TTL_MS = 15 * 60 * 1000;

/** An /authorize request that must not redirect: the user sees an error page instead. */
export interface AuthorizationErrorPage {
  kind: 'error_page';
  message: string;
}

/** A response sent to the client's redirect_uri: a code or an error, always with `iss`. */
export interface AuthorizationRedirect {
  kind: 'redirect';
  location: string;
}

export interface ValidAuthorizationRequest {
  kind: 'valid';
  client: Client;
  redirectUri: string;
  scope: string[];
  state: string | null;
  codeChallenge: string | null;
}

/** Per-surface rules of /authorize. */
export interface AuthorizeOptions {
  /**
   * Lets a confidential client flagged `allowMissingPkce` omit PKCE, for products whose clients
   * never sent a challenge (RightSignature's). A challenge that is sent must still be S256; every
   * other client, and every public client, needs one.
   */
  pkceOptionalForConfidential: boolean;
}

/** What the browser should see next for a pending authorization. */
export type AuthorizationStep = AuthorizationRedirect | AuthorizationErrorPage | { kind: 'login' | 'consent'; requestId: string };

/**
 * RFC 6749 §4.1.1–4.1.2 with RFC 7636 (S256 only), RFC 9207 (`iss`) and RFC 9700: validates
 * /authorize requests, keeps them pending through login and consent, and issues codes.
 * The HTTP layer owns pages and cookies; this class owns every decision.
 */
export class AuthorizationEndpoint {
  constructor(
    private readonly store: Store,
    private readonly clients: ClientCache,
    private readonly clock: Clock,
    private readonly codeTtlMs: number,
  ) {}

  /**
   * Checks an /authorize request. Until client_id and redirect_uri are known good nothing may
   * redirect (RFC 6749 §4.1.2.1); after that every error goes back to the client.
   */
  async validate(
    env: Environment,
    issuer: string,
    params: Readonly<Record<string, string>>,
    duplicates: readonly string[],
    options: AuthorizeOptions = { pkceOptionalForConfidential: false },
  ): Promise<ValidAuthorizationRequest | AuthorizationErrorPage | AuthorizationRedirect> {
    for (const name of ['client_id', 'redirect_uri']) {
      if (duplicates.includes(name)) return { kind: 'error_page', message: `The request gave ${name} more than once.` };
    }
    const clientId = params.client_id;
    if (clientId === undefined || clientId === '')
      return { kind: 'error_page', message: 'The request did not say which application is asking (client_id is missing).' };
    const { client } = await this.clients.get(env.id, clientId);
    if (!client?.enabled) return { kind: 'error_page', message: 'The application that sent you here is not known to this server.' };
    const redirectUri = params.redirect_uri;
    if (redirectUri === undefined || redirectUri === '')
      return { kind: 'error_page', message: 'The request did not say where to send you back (redirect_uri is missing).' };
    if (!matchesRegisteredRedirectUri(client.redirectUris, redirectUri)) {
      return { kind: 'error_page', message: 'The address the application asked to send you back to is not registered for it.' };
    }
    const rawState = duplicates.includes('state') ? null : (params.state ?? null);
    // A state that is not valid percent-encoded UTF-8 could not come back byte for byte.
    const state = rawState?.includes('\uFFFD') ? null : rawState;
    const fail = (error: string, description: string): AuthorizationRedirect => ({
      kind: 'redirect',
      location: redirectLocation(redirectUri, { error, error_description: description, state, iss: issuer }),
    });
    // Fixed text: parameter names are the caller's input and must not reach the client's error page.
    if (duplicates.length > 0) return fail('invalid_request', 'a parameter was given more than once');
    if (rawState !== state) return fail('invalid_request', 'state must be percent-encoded UTF-8');
    const responseType = params.response_type;
    if (responseType === undefined) return fail('invalid_request', 'response_type is required');
    if (responseType !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');
    if (!client.grantTypes.includes('authorization_code')) return fail('unauthorized_client', 'this client may not use the authorization code flow');
    const challenge = params.code_challenge;
    const mayOmit = options.pkceOptionalForConfidential && client.kind === 'confidential' && client.allowMissingPkce;
    if (challenge === undefined && mayOmit && params.code_challenge_method === undefined) {
      return this.checkedScope(client, redirectUri, state, null, params, fail);
    }
    if (challenge === undefined) return fail('invalid_request', 'code_challenge is required (PKCE with S256)');
    // RFC 7636 §4.3: an absent method means plain, which is refused (RFC 9700 §2.1.1).
    if (params.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    if (!S256_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be 43 base64url characters (S256)');
    return this.checkedScope(client, redirectUri, state, challenge, params, fail);
  }

  private checkedScope(
    client: Client,
    redirectUri: string,
    state: string | null,
    codeChallenge: string | null,
    params: Readonly<Record<string, string>>,
    fail: (error: string, description: string) => AuthorizationRedirect,
  ): ValidAuthorizationRequest | AuthorizationRedirect {
    let scope: string[];
    try {
      scope = resolveScope(params.scope, client.scopes, client.defaultScopes);
    } catch (error) {
      if (error instanceof OAuthError) return fail(error.code, error.message);
      throw error;
    }
    return { kind: 'valid', client, redirectUri, scope, state, codeChallenge };
  }

  /** Keeps a valid request pending for this browser session; returns it with the id the pages carry. */
  async hold(env: Environment, session: BrowserSession, request: ValidAuthorizationRequest): Promise<{ requestId: string; pending: PendingAuthorization }> {
    const requestId = randomToken(32);
    const now = this.clock.now();
    const pending: PendingAuthorization = {
      idHash: hashSecret(requestId),
      envId: env.id,
      sessionIdHash: session.idHash,
      clientId: request.client.clientId,
      redirectUri: request.redirectUri,
      scope: request.scope,
      state: request.state,
      codeChallenge: request.codeChallenge,
      createdAt: now,
      expiresAt: now + PENDING_TTL_MS,
    };
    await this.store.authorizationRequests.insert(pending);
    return { requestId, pending };
  }

  /** The pending request `requestId` of this session, if it exists and has not expired. */
  async pending(env: Environment, session: BrowserSession, requestId: string | undefined): Promise<PendingAuthorization | undefined> {
    if (requestId === undefined || !/^[A-Za-z0-9_-]{43}$/.test(requestId)) return undefined;
    return this.store.authorizationRequests.find(env.id, hashSecret(requestId), session.idHash, this.clock.now());
  }

  /** The client of a pending request, if it still exists and is enabled. */
  async clientOf(env: Environment, pending: PendingAuthorization): Promise<Client | undefined> {
    const { client } = await this.clients.get(env.id, pending.clientId);
    return client?.enabled ? client : undefined;
  }

  /** A user who may still authorize: exists and is enabled. */
  async userOf(env: Environment, userId: string): Promise<User | undefined> {
    const user = await this.store.users.find(env.id, userId);
    return user?.enabled ? user : undefined;
  }

  /**
   * Where a pending request goes next: the login page without a signed-in (enabled) user, the
   * consent page unless the user already granted these scopes to this client, else a code.
   */
  async next(
    env: Environment,
    issuer: string,
    session: BrowserSession,
    requestId: string,
    pending: PendingAuthorization,
  ): Promise<AuthorizationStep | undefined> {
    if (session.userId === null) return { kind: 'login', requestId };
    const user = await this.userOf(env, session.userId);
    if (!user) return { kind: 'login', requestId };
    // RFC 8252 §8.6 and RFC 6749 §10.2: a public client's identity cannot be proven (any local
    // app can claim its client_id and a loopback port), so its requests always ask the user.
    const client = await this.clientOf(env, pending);
    if (client?.kind === 'public') return { kind: 'consent', requestId };
    const consent = await this.store.consents.find(env.id, user.userId, pending.clientId);
    if (!consent || !pending.scope.every((s) => consent.scope.includes(s))) return { kind: 'consent', requestId };
    return this.approve(env, issuer, session, requestId, pending);
  }

  /**
   * The user allowed the request: remember the consent and send a code (single use of the
   * request). The client is checked again: it may have been disabled or changed while the user
   * was signing in.
   */
  async approve(
    env: Environment,
    issuer: string,
    session: BrowserSession,
    requestId: string,
    pending: PendingAuthorization,
  ): Promise<AuthorizationRedirect | AuthorizationErrorPage | undefined> {
    if (session.userId === null) throw new Error('approve needs a signed-in session');
    if (!(await this.userOf(env, session.userId))) return undefined;
    const client = await this.clientOf(env, pending);
    if (
      !client?.grantTypes.includes('authorization_code') ||
      !matchesRegisteredRedirectUri(client.redirectUris, pending.redirectUri) ||
      !pending.scope.every((s) => client.scopes.includes(s))
    ) {
      await this.store.authorizationRequests.take(env.id, hashSecret(requestId), session.idHash);
      return { kind: 'error_page', message: 'The application changed or was disabled while you were signing in. Go back to it and start again.' };
    }
    if (!(await this.store.authorizationRequests.take(env.id, hashSecret(requestId), session.idHash))) return undefined;
    const now = this.clock.now();
    await this.store.consents.grant(env.id, session.userId, pending.clientId, pending.scope, now);
    const code = `${AUTHORIZATION_CODE_PREFIX}${randomToken(32)}`;
    await this.store.authorizationCodes.insert({
      codeHash: hashSecret(code),
      envId: env.id,
      clientId: pending.clientId,
      userId: session.userId,
      redirectUri: pending.redirectUri,
      scope: pending.scope,
      codeChallenge: pending.codeChallenge,
      familyId: randomUUID(),
      issuedAt: now,
      expiresAt: now + this.codeTtlMs,
      consumedAt: null,
    });
    return { kind: 'redirect', location: redirectLocation(pending.redirectUri, { code, state: pending.state, iss: issuer }) };
  }

  /** The user refused: RFC 6749 §4.1.2.1 `access_denied` (single use of the request). */
  async deny(
    env: Environment,
    issuer: string,
    session: BrowserSession,
    requestId: string,
    pending: PendingAuthorization,
  ): Promise<AuthorizationRedirect | undefined> {
    if (!(await this.store.authorizationRequests.take(env.id, hashSecret(requestId), session.idHash))) return undefined;
    return {
      kind: 'redirect',
      location: redirectLocation(pending.redirectUri, {
        error: 'access_denied',
        error_description: 'the user denied the request',
        state: pending.state,
        iss: issuer,
      }),
    };
  }
}

/**
 * The redirect URI with response parameters added to its query. The registered URI is kept
 * exactly as it is (its own query included); values are percent-encoded, so `state` comes back
 * byte for byte once decoded.
 */
export function redirectLocation(redirectUri: string, params: Record<string, string | null>): string {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  const separator = redirectUri.includes('?') ? (redirectUri.endsWith('?') || redirectUri.endsWith('&') ? '' : '&') : '?';
  return `${redirectUri}${separator}${query}`;
}
