import { type EventSink, NO_EVENTS } from '../domain/events.ts';
import { type Environment, type SelfRegistration, selfRegistration } from '../domain/model.ts';
import { withSpan } from '../observability/tracing.ts';
import { type AuthenticatedClient, type ClientAuthenticator, type PresentedCredentials, presentsCredentials } from './client-auth.ts';
import type { DpopProof, DpopProofVerifier } from './dpop/proof.ts';
import { dpopRequired } from './dpop/requirement.ts';
import { OAuthError } from './errors.ts';
import type { GrantRegistry, TokenResult } from './grants/grant.ts';

/** A token request as the OAuth core sees it: no HTTP, duplicates already refused. */
export interface TokenRequest {
  env: Environment;
  issuer: string;
  params: Readonly<Record<string, string>>;
  credentials: PresentedCredentials;
  /** Values an assertion's `aud` may take at this endpoint: the issuer and the endpoint URL. */
  audiences: readonly string[];
  /** Access-token lifetime in seconds imposed by the surface (a compatibility profile may fix it). */
  accessTokenTtl?: number | undefined;
  /** The `DPoP` header as received (RFC 9449 §4.1); undefined when there is none. */
  dpopProof?: string | undefined;
  /** This endpoint's URL as the public URL says it: a proof's `htu` (RFC 9449 §4.3). Read only with a proof. */
  endpointUrl?: string | undefined;
}

/**
 * RFC 6749 §3.2 token endpoint: authenticate the client → look up the grant → check the client
 * may use it → let the grant handle the rest.
 */
export class TokenEndpoint {
  constructor(
    private readonly grants: GrantRegistry,
    private readonly authenticator: ClientAuthenticator,
    private readonly events: EventSink = NO_EVENTS,
    private readonly dpop?: DpopProofVerifier,
  ) {}

  /** Handles one request and reports its outcome: `token.issued`, or `token.refused` (and a reuse event) for an OAuth error. */
  async handle(request: TokenRequest): Promise<TokenResult> {
    const state: { client?: AuthenticatedClient | undefined } = {};
    try {
      const result = await this.run(request, state);
      const clientId = state.client?.client.clientId ?? result.clientId;
      const registration = state.client && selfRegistration(state.client.client);
      // An answer given again to an exact retry issued nothing: neither an issuance nor a reuse.
      if (result.replayed) {
        this.events.emit({ type: 'refresh_token.retried', env: request.env, clientId, registration });
        return result;
      }
      this.events.emit({
        type: 'token.issued',
        env: request.env,
        clientId,
        grantType: request.params.grant_type ?? '',
        // A client's or service account's own token has itself as subject: no user.
        userId: result.subject === clientId ? undefined : result.subject,
        credential: state.client?.credential ?? result.credential,
        // A token exchange (RFC 8693) says who acts for the subject.
        ...(result.act ? { act: result.act } : {}),
        dpopBound: result.tokenType === 'DPoP',
        registration,
      });
      return result;
    } catch (error) {
      if (error instanceof OAuthError) {
        const client = state.client?.client;
        this.reportRefusal(request.env, request.params.grant_type ?? '', error, client?.clientId, client && selfRegistration(client));
      }
      throw error;
    }
  }

  /**
   * Reports a refused token request: `token.refused`, and a reuse event when the client is known.
   * The HTTP adapter calls it for requests refused before they reach `handle` (unreadable body,
   * unsupported grant type), so every refusal is counted once.
   */
  reportRefusal(env: Environment, grantType: string, error: OAuthError, clientId?: string, registration?: SelfRegistration): void {
    this.events.emit({ type: 'token.refused', env, grantType, code: error.code, reason: error.reason, clientId });
    if (clientId === undefined) return;
    if (error.reason === 'refresh_token_reused') this.events.emit({ type: 'refresh_token.reused', env, clientId, registration });
    else if (error.reason === 'code_reused') this.events.emit({ type: 'authorization_code.reused', env, clientId, registration });
  }

  private async verifyProof(request: TokenRequest, proof: string): Promise<DpopProof> {
    if (!this.dpop || !request.endpointUrl) throw new OAuthError('invalid_dpop_proof', 'DPoP is not available at this endpoint');
    return this.dpop.verify(request.env, proof, { method: 'POST', url: request.endpointUrl });
  }

  private async run(request: TokenRequest, state: { client?: AuthenticatedClient | undefined }): Promise<TokenResult> {
    const grantType = request.params.grant_type;
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required', { parameter: 'grant_type' });
    const registered = this.grants.get(grantType);
    if (!registered) throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`, { parameter: 'grant_type' });
    const { grant } = registered;
    const client =
      grant.clientAuthentication === 'optional' && !presentsCredentials(request.credentials)
        ? undefined
        : await this.authenticator.authenticate(request.env, request.credentials, request.audiences);
    state.client = client;
    if (client && (!client.client.grantTypes.includes(grantType) || (client.method === 'none' && !registered.allowsPublicClients))) {
      throw new OAuthError('unauthorized_client', `this client may not use grant_type ${grantType}`, { parameter: 'grant_type' });
    }
    const { env, issuer, params, audiences, accessTokenTtl } = request;
    const dpop = request.dpopProof === undefined ? undefined : await this.verifyProof(request, request.dpopProof);
    // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens never gets a bearer token.
    if (!dpop && client && dpopRequired(env, client.client)) throw new OAuthError('invalid_dpop_proof', 'this client must send a DPoP proof (RFC 9449 §5.2)');
    // A span of its own for the grant's work (codes, families, assertions, the signature), inside the request's.
    const attributes = { grant_type: grantType, client_id: client?.client.clientId };
    const result = await withSpan('gatehouse.grant', attributes, () => grant.handle({ env, issuer, client, params, audiences, accessTokenTtl, dpop }));
    // RFC 9449 §8.2: the nonce to use next comes with every answer while nonces are required.
    if (this.dpop && env.dpopNonceRequired) result.dpopNonce = this.dpop.currentNonce(env);
    // The grant's result is a fresh object: set on it rather than copied (this is the hot path).
    if (client?.rateLimit && !result.rateLimit) result.rateLimit = client.rateLimit;
    return result;
  }
}
