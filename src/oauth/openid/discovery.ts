import type { IdTokenAlgorithm } from '../../domain/model.ts';
import type { IssuerUrls } from '../issuer.ts';
import { ACR_VALUES_SUPPORTED } from './acr.ts';
import { CLAIMS_SUPPORTED } from './claims.ts';
import { OPENID_SCOPES } from './scopes.ts';

/** What an environment's OpenID Provider metadata depends on besides its URLs. */
export interface OpenIdProviderFacts {
  /** The scopes its APIs define (RFC 8707), listed after OpenID Connect's own. */
  apiScopes: readonly string[];
  /** The algorithms its ID Tokens can be signed with: RS256 and those of its published keys. */
  idTokenAlgorithms: readonly IdTokenAlgorithm[];
}

/**
 * OpenID Connect Discovery 1.0 §3 provider metadata, as implemented. Served in the
 * OpenID configuration document (§4) and, so that both agree, in the RFC 8414 document too
 * (RFC 8414 §2 lets it carry them). Only the code flow; no request objects, no `claims`
 * parameter, UserInfo as plain JSON (no `userinfo_signing_alg_values_supported`).
 */
export function openIdProviderMetadata(urls: IssuerUrls, facts: OpenIdProviderFacts) {
  return {
    userinfo_endpoint: urls.userinfo,
    // RP-Initiated Logout 1.0 §2.1.
    end_session_endpoint: urls.endSession,
    scopes_supported: [...new Set([...OPENID_SCOPES, ...facts.apiScopes])],
    claims_supported: [...CLAIMS_SUPPORTED],
    claim_types_supported: ['normal'],
    // Core §8.
    subject_types_supported: ['public', 'pairwise'],
    // Core §15.1: RS256 is always offered.
    id_token_signing_alg_values_supported: [...new Set<IdTokenAlgorithm>(['RS256', ...facts.idTokenAlgorithms])],
    // Core §3.1.2.1.
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    // Core §2 `acr`, Discovery §3: a password alone, or two factors.
    acr_values_supported: [...ACR_VALUES_SUPPORTED],
    ui_locales_supported: ['en'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    // Back-Channel Logout 1.0 §2.1; no front-channel logout.
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: false,
  };
}
