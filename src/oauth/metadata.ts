import type { Environment } from '../domain/model.ts';
import { ASSERTION_ALGORITHMS } from './assertions.ts';
import { DPOP_ALGORITHMS } from './dpop/algorithms.ts';
import { ENDPOINTS } from './endpoints.ts';
import { fapi2Algorithms, fapi2Requires } from './fapi2.ts';
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
  env: Pick<Environment, 'securityProfile' | 'requirePushedAuthorizationRequests' | 'clientMetadataDocuments'>,
) {
  const fapi2 = fapi2Requires(env);
  // FAPI 2.0 Security Profile §5.3.2.1: private_key_jwt only, and no public clients.
  const authMethods = fapi2.privateKeyJwtOnly ? ['private_key_jwt'] : ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const publicToo = fapi2.confidentialClientsOnly ? authMethods : [...authMethods, 'none'];
  const assertionAlgs = fapi2Algorithms(env, ASSERTION_ALGORITHMS);
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
    token_endpoint_auth_methods_supported: publicToo,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    [ENDPOINTS.introspection.metadata]: urls.introspection,
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    [ENDPOINTS.revocation.metadata]: urls.revocation,
    revocation_endpoint_auth_methods_supported: publicToo,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    access_token_signing_alg_values_supported: [...signingAlgorithms],
    // RFC 8628 §4.
    [ENDPOINTS.device_authorization.metadata]: urls.deviceAuthorization,
    // RFC 9449 §5.1: the algorithms of DPoP proofs the token endpoint verifies.
    dpop_signing_alg_values_supported: fapi2Algorithms(env, DPOP_ALGORITHMS),
    // RFC 9126 §5: the endpoint, and whether every authorization request must be pushed.
    [ENDPOINTS.pushed_authorization.metadata]: urls.pushedAuthorization,
    require_pushed_authorization_requests: env.requirePushedAuthorizationRequests === true || fapi2.pushedAuthorizationRequests,
    // draft-ietf-oauth-client-id-metadata-document §6: an https client_id names its metadata document
    // (never under FAPI 2.0, which admits no public client).
    ...(env.clientMetadataDocuments?.enabled && !fapi2.confidentialClientsOnly ? { client_id_metadata_document_supported: true } : {}),
    ...openIdProviderMetadata(urls, openid),
  };
}
