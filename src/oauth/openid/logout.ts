import type { Clock } from '../../domain/clock.ts';
import type { EventSink } from '../../domain/events.ts';
import type { BrowserSession, Client, Environment } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { ClientCache } from '../client-cache.ts';
import type { Params } from '../params.ts';
import type { KeyRing } from '../signing-keys.ts';
import { type IdTokenHint, verifyIdTokenHint } from './id-token-hint.ts';
import { afterSessionsEnded, type SessionsEnded } from './logout-sessions.ts';
import { subjectFor } from './subject.ts';

/** A logout request (RP-Initiated Logout 1.0 §2) whose parameters were checked. */
export interface EndSessionRequest {
  /** The verified `id_token_hint`, when one was sent. */
  hint: IdTokenHint | undefined;
  /** The client that sent the browser: named by `client_id` or by the hint's audience. */
  client: Client | undefined;
  /** §3: a `post_logout_redirect_uri` registered for that client, exactly as registered. */
  postLogoutRedirectUri: string | undefined;
  /** Given back on the redirect (§2), byte for byte. */
  state: string | undefined;
}

/** What a logout request is: valid, or a dead end shown to the user (never a redirect: the client may be the problem). */
export type EndSessionCheck = { kind: 'valid'; request: EndSessionRequest } | { kind: 'error_page'; message: string };

const errorPage = (message: string): EndSessionCheck => ({ kind: 'error_page', message });

/**
 * The end-session endpoint's decisions (RP-Initiated Logout 1.0), free of HTTP: which requests
 * are valid, when a session ends without asking, what ending it sets in motion, and where the
 * browser goes afterwards.
 */
export class EndSessionEndpoint {
  constructor(
    private readonly store: Pick<Store, 'transaction' | 'users'>,
    private readonly clients: ClientCache,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly events: EventSink,
  ) {}

  /**
   * Checks `id_token_hint` (an ID Token of this issuer, expired or not, never an access or logout
   * token), `client_id` (which must be an audience of the hint when both are sent) and
   * `post_logout_redirect_uri` (§3: exactly one registered for that client, and refused when
   * neither the hint nor `client_id` names one). `logout_hint` and `ui_locales` are accepted and
   * not used: a session ends only for its own browser, and the pages are in English.
   */
  async validate(env: Environment, issuer: string, params: Params, duplicates: readonly string[]): Promise<EndSessionCheck> {
    if (duplicates.length > 0) return errorPage(`The sign-out request repeats the parameter ${duplicates[0]}.`);
    let hint: IdTokenHint | undefined;
    if (params.id_token_hint !== undefined) {
      hint = await verifyIdTokenHint(this.keys, env.id, issuer, params.id_token_hint);
      if (!hint) return errorPage('The sign-out request carries an ID Token that this server did not issue, or that is not an ID Token.');
    }
    const named = params.client_id;
    if (named !== undefined && hint && !hint.aud.includes(named)) {
      return errorPage('The application named in the sign-out request is not the one its ID Token was issued to.');
    }
    const clientId = named ?? (hint?.aud.length === 1 ? hint.aud[0] : undefined);
    const found = clientId === undefined ? undefined : (await this.clients.get(env.id, clientId)).client;
    const client = found?.enabled ? found : undefined;
    const uri = params.post_logout_redirect_uri;
    if (clientId !== undefined && !client && (named !== undefined || uri !== undefined)) return errorPage('The application that sent you here is not known.');
    if (uri !== undefined) {
      if (!client) return errorPage('The sign-out request does not say which application it comes from, so it cannot send you back.');
      if (!(client.postLogoutRedirectUris ?? []).includes(uri)) {
        return errorPage('The address to return to after signing out is not registered for this application.');
      }
    }
    return { kind: 'valid', request: { hint, client, postLogoutRedirectUri: uri, state: params.state } };
  }

  /**
   * §2: whether the hint names the user signed in to `session`, as the hinted client knows them
   * (its `sub`, public or pairwise). Only then does the session end without asking.
   */
  hintNamesUser(env: Environment, request: EndSessionRequest, session: BrowserSession): boolean {
    const { hint, client } = request;
    if (!hint || !client || session.userId === null || !hint.aud.includes(client.clientId)) return false;
    return subjectFor(env, client, session.userId) === hint.sub;
  }

  /**
   * Ends `session` in one transaction with what follows (`afterSessionsEnded`: back-channel
   * logouts queued, revocations by client setting). Undefined if the session was already gone.
   */
  async end(env: Environment, session: BrowserSession, request: EndSessionRequest, trigger: 'hint' | 'confirmed'): Promise<SessionsEnded | undefined> {
    const now = this.clock.now();
    const result = await this.store.transaction(async (tx) => {
      const ended = await tx.browserSessions.end(env.id, session.idHash);
      return ended && afterSessionsEnded(tx, env, [ended], now);
    });
    if (result && session.userId !== null) {
      this.events.emit({
        type: 'session.ended',
        env: { id: env.id, name: env.name },
        userId: session.userId,
        clientId: request.client?.clientId,
        trigger,
        notified: result.notified,
        revoked: result.revoked,
      });
    }
    return result;
  }

  /** The username of the session's user, for the confirmation page. */
  async username(env: Environment, session: BrowserSession): Promise<string | undefined> {
    return session.userId === null ? undefined : (await this.store.users.find(env.id, session.userId))?.username;
  }

  /** §3: where the browser goes once signed out: the checked `post_logout_redirect_uri` with `state`, or nowhere. */
  returnAddress(request: EndSessionRequest): string | undefined {
    const { postLogoutRedirectUri: uri, state } = request;
    if (uri === undefined || state === undefined) return uri;
    // The registered URI's own query is kept (§3.1); `state` is added to it.
    const hash = uri.indexOf('#');
    const [base, fragment] = hash < 0 ? [uri, ''] : [uri.slice(0, hash), uri.slice(hash)];
    return `${base}${base.includes('?') ? '&' : '?'}state=${encodeURIComponent(state)}${fragment}`;
  }
}
