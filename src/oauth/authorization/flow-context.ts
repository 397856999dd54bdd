import type { Clock } from '../../domain/clock.ts';
import type { BrowserSession, Client, Environment, PendingAuthorization, User } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { ApiDirectory } from '../apis.ts';
import type { ClientCache } from '../client-cache.ts';
import type { FirstPartySignIn } from '../policy.ts';
import type { KeyRing } from '../signing-keys.ts';

/** What the steps of the authorization flow read and write. */
export interface AuthorizationDeps {
  store: Store;
  clients: ClientCache;
  /** The environment's APIs, which `resource` names (RFC 8707). */
  apis: ApiDirectory;
  /** The environment's signing keys, which verify an `id_token_hint` (OpenID Connect Core §3.1.2.1). */
  keys: KeyRing;
  clock: Clock;
  /** How long an issued code may be redeemed. */
  codeTtlMs: number;
  /** The console's own sign-in, which asks no consent (see `requireConsent`). */
  firstPartySignIn?: FirstPartySignIn | undefined;
  /**
   * The console's own client, once this node's console has found or created it
   * (`AuthorizationEndpoint.setFirstPartyClient`); until then no client is first-party.
   */
  firstPartyClientId?: string | undefined;
}

/** A held request as a later step sees it: the browser session it belongs to and the id its pages carry. */
export interface PendingFlow {
  env: Environment;
  issuer: string;
  session: BrowserSession;
  requestId: string;
  pending: PendingAuthorization;
}

/** The client `clientId`, if it exists and is enabled. */
export async function enabledClient(deps: AuthorizationDeps, env: Environment, clientId: string): Promise<Client | undefined> {
  const { client } = await deps.clients.get(env.id, clientId);
  return client?.enabled ? client : undefined;
}

/** A user who may still authorize: exists and is enabled. */
export async function enabledUser(deps: AuthorizationDeps, env: Environment, userId: string): Promise<User | undefined> {
  const user = await deps.store.users.find(env.id, userId);
  return user?.enabled ? user : undefined;
}
