import type { Client, ClientKey, Environment } from '../../domain/model.ts';
import type { ClientRegistration, RegistrationPolicy } from '../../domain/registration.ts';
import { OAuthError } from '../errors.ts';
import type { RegisteredMetadata } from './client-metadata.ts';
import { jwkAlgorithm } from './software-statement.ts';

/** The name a client that registers without `client_name` is shown under. */
export const UNNAMED_CLIENT = 'Dynamically registered client';

/** The client record a registration's metadata describes, with the policy's caps applied. */
export function clientOf(env: Environment, clientId: string, metadata: RegisteredMetadata, policy: RegistrationPolicy, now: number): Client {
  const scopes = metadata.scope === '' ? [] : metadata.scope.split(' ');
  return {
    envId: env.id,
    clientId,
    name: metadata.client_name ?? UNNAMED_CLIENT,
    kind: metadata.token_endpoint_auth_method === 'none' ? 'public' : 'confidential',
    grantTypes: metadata.grant_types,
    scopes,
    defaultScopes: scopes,
    redirectUris: metadata.redirect_uris,
    tokenFormat: 'jwt',
    // The policy's cap on lifetimes: every access token of the client lives at most this long.
    accessTokenTtl: policy.maxAccessTokenTtl,
    introspectAny: false,
    // RFC 9700 §2.1.1: PKCE stays mandatory for every registered client.
    allowMissingPkce: false,
    quota: null,
    enabled: true,
    createdAt: now,
    updatedAt: now,
    registration: 'dynamic',
  };
}

/** The public keys of a private_key_jwt client, as the assertion verifier looks them up (by kid). */
export function clientKeysOf(env: Environment, clientId: string, metadata: RegisteredMetadata, now: number): ClientKey[] {
  return (metadata.jwks?.keys ?? []).map((jwk) => {
    const alg = jwkAlgorithm(jwk);
    if (!alg) throw new OAuthError('invalid_client_metadata', 'each key of jwks is an EC P-256, Ed25519 or RSA public key', { parameter: 'jwks' });
    const { kty, crv, x, y, n, e, kid } = jwk;
    const publicJwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg }).filter(([, v]) => v !== undefined));
    return { envId: env.id, kid: String(kid), clientId, alg, publicJwk, createdAt: now, revokedAt: null };
  });
}

/** What the registration endpoint answers (RFC 7591 §3.2.1, RFC 7592 §3). */
export interface RegistrationResponse extends RegisteredMetadata {
  client_id: string;
  client_secret?: string;
  client_id_issued_at: number;
  client_secret_expires_at?: number;
  registration_access_token: string;
  registration_client_uri: string;
}

/** RFC 7591 §3: the environment's registration endpoint. */
export const registrationEndpoint = (issuer: string): string => `${issuer}/register`;

/** Where a client reads, updates and deletes its registration (RFC 7592 §2). */
export const registrationClientUri = (issuer: string, clientId: string): string => `${registrationEndpoint(issuer)}/${encodeURIComponent(clientId)}`;

export function registrationResponse(
  issuer: string,
  registration: ClientRegistration,
  accessToken: string,
  secret: { value?: string; confidential: boolean },
): RegistrationResponse {
  const metadata = registration.metadata as unknown as RegisteredMetadata;
  return {
    client_id: registration.clientId,
    ...(secret.value === undefined ? {} : { client_secret: secret.value }),
    client_id_issued_at: Math.floor(registration.createdAt / 1000),
    // RFC 7591 §3.2.1: 0 — the secret does not expire (it is rotated by an operator, not on a clock).
    ...(secret.confidential ? { client_secret_expires_at: 0 } : {}),
    ...metadata,
    registration_access_token: accessToken,
    registration_client_uri: registrationClientUri(issuer, registration.clientId),
  };
}
