import type { Client, Environment } from '../domain/model.ts';

/** A client's DPoP metadata as the admin surfaces show it, under its registration name. */
export interface ClientDpopView {
  /** RFC 9449 §5.2: every token request of the client must carry a DPoP proof. */
  dpop_bound_access_tokens: boolean;
}

/** What a create or change may set; absent: kept (false on create). */
export interface ClientDpopChanges {
  dpopBoundAccessTokens?: boolean;
}

/** The wire name of each field, for audit events and declarative diffs. */
export const CLIENT_DPOP_FIELDS: Record<keyof ClientDpopChanges, keyof ClientDpopView> = {
  dpopBoundAccessTokens: 'dpop_bound_access_tokens',
};

export function clientDpopView(c: Client): ClientDpopView {
  return { dpop_bound_access_tokens: c.dpopBoundAccessTokens ?? false };
}

/** `client` with `changes` applied; the field is present only when true (as storage reads it back). */
export function withDpopChanges(client: Client, changes: ClientDpopChanges): Client {
  if (changes.dpopBoundAccessTokens === undefined) return client;
  const next: Client = { ...client };
  if (changes.dpopBoundAccessTokens) next.dpopBoundAccessTokens = true;
  else delete next.dpopBoundAccessTokens;
  return next;
}

/** An environment's DPoP settings as the admin surfaces show them. */
export interface EnvironmentDpopView {
  /** RFC 9449 §8: proofs at the token endpoint must carry a server nonce. */
  dpop_nonce_required: boolean;
}

export function environmentDpopView(env: Environment): EnvironmentDpopView {
  return { dpop_nonce_required: env.dpopNonceRequired ?? false };
}
