import type { Clock } from '../clock.ts';
import { hashesEqual, hashSecret } from '../crypto/secrets.ts';
import type { Store } from '../store/store.ts';
import { OAuthError } from './errors.ts';
import type { Client, Environment } from './model.ts';
import type { FailureThrottle } from './throttle.ts';

/** Credentials as presented on the wire; the HTTP adapter fills this in. */
export interface PresentedCredentials {
  /** From `Authorization: Basic`, already form-url-decoded (RFC 6749 §2.3.1). */
  basic?: { clientId: string; clientSecret: string };
  /** `client_id` / `client_secret` from the request body. */
  bodyClientId?: string;
  bodyClientSecret?: string;
  /** Source address, for throttling. */
  sourceAddress: string;
}

/** Whether the request carries any client credential at all. */
export function presentsCredentials(credentials: PresentedCredentials): boolean {
  return credentials.basic !== undefined || credentials.bodyClientId !== undefined || credentials.bodyClientSecret !== undefined;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
}

// Compared against when the client id is unknown, so unknown and known ids take the same time.
const DUMMY_HASH = hashSecret('gatehouse-unknown-client');

/**
 * Authenticates the client of a token, introspection or revocation request. Unknown client,
 * wrong secret and disabled client all give the same 401 `invalid_client`.
 */
export class ClientAuthenticator {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly throttle: FailureThrottle,
  ) {}

  async authenticate(env: Environment, credentials: PresentedCredentials): Promise<AuthenticatedClient> {
    const { basic, bodyClientId, bodyClientSecret } = credentials;
    // RFC 6749 §2.3: a client must not use more than one authentication method per request.
    if (basic && bodyClientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'client credentials were sent both in the Authorization header and in the body');
    }
    if (basic && bodyClientId !== undefined && bodyClientId !== basic.clientId) {
      throw new OAuthError('invalid_request', 'client_id in the body does not match the Authorization header', { parameter: 'client_id' });
    }
    const clientId = basic?.clientId ?? bodyClientId;
    const secret = basic?.clientSecret ?? bodyClientSecret;
    const challenge = basic ? ({ challenge: 'Basic' } as const) : {};
    if (clientId === undefined || clientId === '') {
      throw new OAuthError('invalid_client', 'client authentication is required', challenge);
    }

    const keys = [`client:${env.id}:${clientId}`, `source:${credentials.sourceAddress}`];
    const refuseIfThrottled = () => {
      const wait = Math.max(...keys.map((k) => this.throttle.retryAfter(k)));
      if (wait > 0) throw new OAuthError('too_many_requests', 'too many failed client authentications; retry later', { retryAfter: wait });
    };
    refuseIfThrottled();
    const fail = (): never => {
      for (const key of keys) this.throttle.recordFailure(key);
      throw new OAuthError('invalid_client', 'client authentication failed', challenge);
    };

    // Both reads happen whether or not the id exists, so the work done does not reveal it.
    const [client, stored] = await Promise.all([
      this.store.clients.find(env.id, clientId),
      this.store.clients.activeSecrets(env.id, clientId, this.clock.now()),
    ]);
    // From here to the verdict nothing awaits, so checking the limit, verifying and recording a
    // failure happen as one step: parallel attempts cannot all pass the check before any counts.
    refuseIfThrottled();
    if (secret === undefined) {
      // A public client identifies itself with client_id alone (token_endpoint_auth_method "none").
      if (client?.enabled && client.kind === 'public') return { client, method: 'none' };
      return fail();
    }
    const presented = hashSecret(secret);
    const secrets = client?.kind === 'confidential' ? stored : [];
    let matched = false;
    for (const candidate of secrets.length > 0 ? secrets : [{ secretHash: DUMMY_HASH }]) {
      // Every candidate is compared, so the time does not reveal which secret matched.
      if (hashesEqual(presented, candidate.secretHash) && secrets.length > 0) matched = true;
    }
    if (!client?.enabled || !matched) return fail();
    return { client, method: basic ? 'client_secret_basic' : 'client_secret_post' };
  }
}
