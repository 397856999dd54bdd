import { ASSERTION_ALGORITHMS } from './assertions.ts';
import { DPOP_ALGORITHMS } from './dpop/proof.ts';
import { ENDPOINTS } from './endpoints.ts';
import type { IssuerUrls } from './issuer.ts';
import { type OpenIdProviderFacts, openIdProviderMetadata } from './openid/discovery.ts';

/**
 * RFC 8414 §2 authorization server metadata for one environment, with the OpenID Connect
 * Discovery 1.0 §3 fields: the same document is served at both well-known URLs, so the two never
 * disagree (Discovery §4.3: `issuer` is the issuer both are derived from).
 */
export function authorizationServerMetadata(
  urls: IssuerUrls,
  grantTypes: readonly string[],
  signingAlgorithms: readonly string[],
  openid: OpenIdProviderFacts,
) {
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const assertionAlgs = [...ASSERTION_ALGORITHMS];
  return {
    issuer: urls.issuer,
    [ENDPOINTS.authorization.metadata]: urls.authorization,
    [ENDPOINTS.token.metadata]: urls.token,
    jwks_uri: urls.jwks,
    grant_types_supported: [...grantTypes],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    // RFC 7636: S256 only; plain is refused (RFC 9700 §2.1.1).
    code_challenge_methods_supported: ['S256'],
    // RFC 9207: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: [...authMethods, 'none'],
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    [ENDPOINTS.introspection.metadata]: urls.introspection,
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    [ENDPOINTS.revocation.metadata]: urls.revocation,
    // RFC 8628 §4.
    [ENDPOINTS.device_authorization.metadata]: urls.deviceAuthorization,
    revocation_endpoint_auth_methods_supported: [...authMethods, 'none'],
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    access_token_signing_alg_values_supported: [...signingAlgorithms],
    // RFC 9449 §5.1: the algorithms of DPoP proofs the token endpoint verifies.
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    ...openIdProviderMetadata(urls, openid),
  };
}
