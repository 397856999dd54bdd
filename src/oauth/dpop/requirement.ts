import type { Client, Environment } from '../../domain/model.ts';

/**
 * Whether a token request of `client` in `env` must carry a DPoP proof: RFC 9449 §5.2 client
 * metadata `dpop_bound_access_tokens`. The one place that decides it, so that a profile which
 * requires sender-constrained tokens (FAPI 2.0) extends it here.
 */
export function dpopRequired(_env: Pick<Environment, 'id'>, client: Pick<Client, 'dpopBoundAccessTokens'>): boolean {
  return client.dpopBoundAccessTokens === true;
}
