import type { Clock } from '../../domain/clock.ts';
import type { BrowserSession, Client, Environment, PendingAuthorization, User } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { ApiDirectory } from '../apis.ts';
import type { ClientCache } from '../client-cache.ts';
import type { FirstPartySignIn } from '../policy.ts';
import type { KeyRing } from '../signing-keys.ts';
import { type AuthorizationDeps, enabledClient, enabledUser, type PendingFlow } from './flow-context.ts';
import { denyRequest } from './issue-code.ts';
import { approveAfterSignIn, nextStep } from './next-step.ts';
import { findPendingRequest, holdRequest } from './pending-request.ts';
import { storePushedRequest, takePushedRequest } from './pushed-request.ts';
import type { AuthorizationErrorPage, AuthorizationRedirect, AuthorizationStep } from './response.ts';
import { type AuthorizeOptions, type ValidAuthorizationRequest, validateAuthorizationRequest } from './validate-request.ts';

export type { PendingFlow } from './flow-context.ts';
export { AUTHORIZATION_CODE_PREFIX } from './issue-code.ts';
export type { FlowGate } from './next-step.ts';
export { REQUEST_URI_PREFIX } from './pushed-request.ts';
export type { AuthorizationErrorPage, AuthorizationPage, AuthorizationRedirect, AuthorizationStep } from './response.ts';
export { redirectLocation } from './response.ts';
export type { AuthorizeOptions, RequestCheck, ValidAuthorizationRequest } from './validate-request.ts';

/**
 * The authorization endpoint: RFC 6749 §4.1.1–4.1.2 with RFC 7636 (S256 only), RFC 9207 (`iss`)
 * and RFC 9700, and OpenID Connect Core §3.1.2 when the scope includes `openid`. A request goes
 * through these steps, each in its own module in this folder:
 *
 * 1. validate (`validate`, validate-request.ts): client and redirect_uri, which decide whether an
 *    error may redirect, then each of `REQUEST_CHECKS`, then the scope, then for an OpenID
 *    request each of `OPENID_CHECKS` and the `id_token_hint` (openid-request.ts);
 * 2. hold and resume (`hold`, `pending`, pending-request.ts): the request waits, bound to the
 *    browser session, while the user is on the pages;
 * 3. authenticate and 4. consent (`next`, next-step.ts): each of `FLOW_GATES` in turn names the
 *    page the browser needs, login (also for OpenID `prompt=login`, `max_age` and `id_token_hint`)
 *    then consent; with `prompt=none` a needed page is an error sent to the client instead;
 * 5. issue the code (`approve`, issue-code.ts), or refuse it (`deny`).
 *
 * The HTTP layer owns pages and cookies; these steps own every decision.
 */
export class AuthorizationEndpoint {
  private readonly deps: AuthorizationDeps;

  constructor(store: Store, clients: ClientCache, clock: Clock, codeTtlMs: number, apis: ApiDirectory, keys: KeyRing, firstPartySignIn?: FirstPartySignIn) {
    this.deps = { store, clients, clock, codeTtlMs, apis, keys, firstPartySignIn };
  }

  /**
   * Names the console's own client, the only one whose sign-in at `firstPartySignIn` asks no
   * consent: the console calls this once it has found or created its client. Any other client,
   * even a confidential one of the management environment registered with the same callback,
   * still asks.
   */
  setFirstPartyClient(clientId: string): void {
    this.deps.firstPartyClientId = clientId;
  }

  /** Step 1: checks an /authorize request; see `validateAuthorizationRequest`. */
  validate(
    env: Environment,
    issuer: string,
    params: Readonly<Record<string, string>>,
    duplicates: readonly string[],
    options: AuthorizeOptions = { pkceOptionalForConfidential: false },
  ): Promise<ValidAuthorizationRequest | AuthorizationErrorPage | AuthorizationRedirect> {
    return validateAuthorizationRequest(this.deps, env, issuer, { params, duplicates }, options);
  }

  /** RFC 9126 §2.2: stores a pushed request that passed `validate`; returns its request_uri. */
  push(env: Environment, clientId: string, params: Readonly<Record<string, string>>, ttlSeconds: number): Promise<string> {
    return storePushedRequest(this.deps, env, clientId, params, ttlSeconds);
  }

  /**
   * RFC 9126 §4: the parameters a `request_uri` stands for, taken once by the client that pushed
   * them; then validated like any request, with `pushed` set. An error page when it cannot be used.
   */
  takePushed(
    env: Environment,
    params: Readonly<Record<string, string>>,
    duplicates: readonly string[],
  ): Promise<{ kind: 'pushed'; params: Record<string, string> } | AuthorizationErrorPage> {
    return takePushedRequest(this.deps, env, params, duplicates);
  }

  /** Step 2: keeps a valid request pending for this browser session; returns it with the id the pages carry. */
  hold(env: Environment, session: BrowserSession, request: ValidAuthorizationRequest): Promise<{ requestId: string; pending: PendingAuthorization }> {
    return holdRequest(this.deps, env, session, request);
  }

  /** Step 2: the pending request `requestId` of this session, if it exists and has not expired. */
  pending(env: Environment, session: BrowserSession, requestId: string | undefined): Promise<PendingAuthorization | undefined> {
    return findPendingRequest(this.deps, env, session, requestId);
  }

  /** The client of a pending request, if it still exists and is enabled. */
  clientOf(env: Environment, pending: PendingAuthorization): Promise<Client | undefined> {
    return enabledClient(this.deps, env, pending.clientId);
  }

  /**
   * The words the APIs of a held request give its scopes, for the consent page: by scope name,
   * only non-empty descriptions of the APIs the request names (RFC 8707).
   */
  async scopeDescriptions(env: Environment, pending: PendingAuthorization): Promise<Record<string, string>> {
    const descriptions: Record<string, string> = Object.create(null);
    if (!pending.resources?.length) return descriptions;
    for (const api of await this.deps.apis.list(env.id)) {
      if (!pending.resources.includes(api.identifier)) continue;
      for (const scope of api.scopes) {
        if (scope.description !== '' && pending.scope.includes(scope.name) && descriptions[scope.name] === undefined)
          descriptions[scope.name] = scope.description;
      }
    }
    return descriptions;
  }

  /** A user who may still authorize: exists and is enabled. */
  userOf(env: Environment, userId: string): Promise<User | undefined> {
    return enabledUser(this.deps, env, userId);
  }

  /**
   * Steps 3–5: where a pending request goes next: the login page without a signed-in (enabled)
   * user or when OpenID Connect asks for a fresh sign-in, the consent page unless the user already
   * granted these scopes and APIs to this client, else a code (or, with `prompt=none`, an error).
   */
  next(flow: PendingFlow): Promise<AuthorizationStep | undefined> {
    return nextStep(this.deps, flow);
  }

  /**
   * Step 5: the user allowed the request on the consent page; see `approveRequest`. The login
   * page comes first when the authentication gates no longer hold (see `approveAfterSignIn`).
   */
  approve(flow: PendingFlow): Promise<AuthorizationStep | undefined> {
    return approveAfterSignIn(this.deps, flow);
  }

  /**
   * Step 5: the user refused: RFC 6749 §4.1.2.1 `access_denied`. A device request is decided on
   * its own page only (RFC 8628 §3.3): the browser goes there.
   */
  async deny(flow: PendingFlow): Promise<AuthorizationStep | undefined> {
    if (flow.pending.deviceCodeHash !== undefined) return { kind: 'device', requestId: flow.requestId };
    return denyRequest(this.deps, flow);
  }
}
