import type { ActorClaim, ConfirmationClaim, Environment } from '../domain/model.ts';
import type { AccessTokenService, AccessTokenType } from './access-tokens.ts';
import type { ClientAuthenticator, PresentedCredentials } from './client-auth.ts';
import { OAuthError } from './errors.ts';

export interface TokenLookupRequest {
  env: Environment;
  issuer: string;
  params: Readonly<Record<string, string>>;
  credentials: PresentedCredentials;
  /** Values a client assertion's `aud` may take at this endpoint. */
  audiences: readonly string[];
}

/** RFC 7662 §2.2 response; anything not active is exactly `{ active: false }`. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      token_type: AccessTokenType;
      exp: number;
      iat: number;
      sub: string;
      aud?: string | string[];
      iss: string;
      jti: string;
      /** RFC 8693 §4.1. */
      act?: ActorClaim;
      /** RFC 9449 §6.2. */
      cnf?: ConfirmationClaim;
      /** OpenID Connect Core §2 and RFC 8176 (RFC 9068 §2.2.1): how the user signed in, for a token of a user sign-in. */
      acr?: string;
      amr?: string[];
    };

/**
 * RFC 7662 introspection. A client learns about its own tokens only; a client flagged
 * `introspectAny` (a resource server) may introspect every token of its environment.
 */
export class IntrospectionEndpoint {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly tokens: AccessTokenService,
  ) {}

  async handle(request: TokenLookupRequest): Promise<IntrospectionResponse> {
    const caller = await this.authenticator.authenticate(request.env, request.credentials, request.audiences);
    if (caller.method === 'none') throw new OAuthError('invalid_client', 'public clients may not introspect tokens');
    const token = request.params.token;
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required', { parameter: 'token' });
    const claims = await this.tokens.read(request.env, request.issuer, token);
    if (!claims) return { active: false };
    if (claims.clientId !== caller.client.clientId && !caller.client.introspectAny) return { active: false };
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.clientId,
      // RFC 9449 §6.2: a token bound to a DPoP key is a DPoP token, with its key's thumbprint.
      token_type: claims.cnf ? 'DPoP' : 'Bearer',
      exp: claims.expiresAt,
      iat: claims.issuedAt,
      sub: claims.subject,
      aud: claims.audience,
      iss: request.issuer,
      jti: claims.jti,
      ...(claims.act ? { act: claims.act } : {}),
      ...(claims.cnf ? { cnf: claims.cnf } : {}),
      // RFC 7662 §2.2 allows further members: the sign-in's acr and amr, as in the ID Token.
      ...(claims.authentication ? { acr: claims.authentication.acr, amr: [...claims.authentication.amr] } : {}),
    };
  }
}
