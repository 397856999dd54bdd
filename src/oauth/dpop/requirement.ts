import type { Client, Environment } from '../../domain/model.ts';
import { fapi2Requires } from '../fapi2.ts';

/**
 * Whether a token request of `client` in `env` must carry a DPoP proof: RFC 9449 §5.2 client
 * metadata `dpop_bound_access_tokens`, or an environment held to the FAPI 2.0 Security Profile
 * (§5.3.2.1: sender-constrained access tokens only; DPoP is the mechanism Gatehouse offers).
 * The one place that decides it.
 */
export function dpopRequired(env: Pick<Environment, 'securityProfile'>, client: Pick<Client, 'dpopBoundAccessTokens'>): boolean {
  return client.dpopBoundAccessTokens === true || fapi2Requires(env).senderConstrainedTokens;
}
