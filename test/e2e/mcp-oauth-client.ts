import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/**
 * How the MCP client gets a `client_id` from Gatehouse, each one parameter of the end-to-end test:
 * - `pre-registered`: an operator created the client; the provider knows its id.
 * - `client-id-metadata-document`: the client's id is the https URL of its metadata document,
 *   which the authorization server fetches (the MCP specification's first choice).
 * - `dynamic-registration`: the SDK registers the client at `registration_endpoint` (RFC 7591).
 */
export type Registration =
  | { kind: 'pre-registered'; clientId: string }
  | { kind: 'client-id-metadata-document'; clientMetadataUrl: string }
  | { kind: 'dynamic-registration' };

/**
 * An in-memory `OAuthClientProvider` of the MCP SDK, for a client whose redirect URI is a
 * loopback listener: it remembers what the SDK asks it to and records the authorization URL the
 * SDK sends the user to, for the test's browser to open.
 */
export class MemoryOAuthClientProvider implements OAuthClientProvider {
  readonly clientMetadataUrl: string | undefined;
  authorizationUrls: URL[] = [];
  savedTokens: OAuthTokens[] = [];
  private information: OAuthClientInformationMixed | undefined;
  private stored: OAuthTokens | undefined;
  private verifier = '';
  private readonly states: string[] = [];

  constructor(
    private readonly redirectUri: string,
    registration: Registration,
    private readonly scope: string,
  ) {
    this.clientMetadataUrl = registration.kind === 'client-id-metadata-document' ? registration.clientMetadataUrl : undefined;
    // A public client: the SDK then authenticates with `none` and PKCE.
    if (registration.kind === 'pre-registered') this.information = { client_id: registration.clientId };
  }

  get redirectUrl(): string {
    return this.redirectUri;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'MCP end-to-end client',
      redirect_uris: [this.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: this.scope,
    };
  }

  state(): string {
    const state = crypto.randomUUID();
    this.states.push(state);
    return state;
  }

  /** The `state` of the last authorization request. */
  get lastState(): string | undefined {
    return this.states.at(-1);
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }

  /** Called with the client id the SDK registered or took from `clientMetadataUrl`, before it sends the user to /authorize. */
  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.stored;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.stored = tokens;
    this.savedTokens.push(tokens);
  }

  /** Replaces the stored access token (keeping the refresh token), as if it had expired. */
  spoilAccessToken(): void {
    if (this.stored) this.stored = { ...this.stored, access_token: 'expired-or-revoked' };
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrls.push(url);
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }
}
