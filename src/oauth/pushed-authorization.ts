import { type EventSink, NO_EVENTS } from '../domain/events.ts';
import type { Environment } from '../domain/model.ts';
import type { AuthorizationEndpoint } from './authorization/endpoint.ts';
import type { ClientAuthenticator, PresentedCredentials } from './client-auth.ts';
import { OAUTH_ERROR_CODES, OAuthError, type OAuthErrorCode } from './errors.ts';

export interface PushedAuthorizationRequestInput {
  env: Environment;
  issuer: string;
  params: Readonly<Record<string, string>>;
  credentials: PresentedCredentials;
  /** Values a client assertion's `aud` may take at this endpoint. */
  audiences: readonly string[];
}

/** RFC 9126 §2.2 success response (answered with 201 Created). */
export interface PushedAuthorizationResponse {
  request_uri: string;
  expires_in: number;
}

/**
 * The pushed authorization request endpoint (RFC 9126 §2). The client authenticates exactly as at
 * the token endpoint (§2: a public client sends its client_id alone); the body is an
 * authorization request, checked by the same code as /authorize (every request check, the scope
 * and APIs, the OpenID Connect checks), and every refusal is an OAuthError rendered as JSON
 * (§2.3), never a redirect.
 */
export class PushedAuthorizationEndpoint {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly authorization: AuthorizationEndpoint,
    /** RFC 9126 §2.2 `expires_in`, in seconds. */
    private readonly ttlSeconds: number,
    private readonly events: EventSink = NO_EVENTS,
  ) {}

  async handle(request: PushedAuthorizationRequestInput): Promise<PushedAuthorizationResponse> {
    const { env } = request;
    const { client } = await this.authenticator.authenticate(env, request.credentials, request.audiences);
    try {
      // RFC 9126 §2.1: a pushed request cannot itself refer to another one.
      if (request.params.request_uri !== undefined) throw new OAuthError('invalid_request', 'request_uri must not be sent in a pushed authorization request');
      // §2.1: the client that authenticated is the request's client.
      const params = { ...request.params, client_id: client.clientId };
      const checked = await this.authorization.validate(env, request.issuer, params, [], { pkceOptionalForConfidential: false, pushed: true });
      if (checked.kind === 'error_page') {
        // RFC 9126 §2.3 and RFC 6749 §4.1.2.1: a missing or unregistered redirect_uri (the client
        // itself has authenticated).
        throw new OAuthError('invalid_request', 'redirect_uri is missing or not registered for this client', { parameter: 'redirect_uri' });
      }
      if (checked.kind === 'redirect') {
        const refusal = checked.refusal ?? { error: 'invalid_request', description: 'the authorization request is invalid' };
        throw refusalError(refusal.error, refusal.description);
      }
      const requestUri = await this.authorization.push(env, client.clientId, params, this.ttlSeconds);
      this.events.emit({ type: 'authorization_request.pushed', env, clientId: client.clientId });
      return { request_uri: requestUri, expires_in: this.ttlSeconds };
    } catch (error) {
      if (error instanceof OAuthError && error.code !== 'temporarily_unavailable') {
        this.events.emit({ type: 'authorization_request.refused', env, clientId: client.clientId, code: error.code, pushed: true });
      }
      throw error;
    }
  }
}

/**
 * RFC 9126 §2.3: the refusal of an authorization request check as a JSON error. A code the
 * dialects know is kept; the others of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6
 * (unsupported_response_type, request_not_supported) are answered as invalid_request with
 * their code named in the description.
 */
function refusalError(code: string, description: string): OAuthError {
  if (code in OAUTH_ERROR_CODES) return new OAuthError(code as OAuthErrorCode, description);
  return new OAuthError('invalid_request', `${code}: ${description}`);
}
