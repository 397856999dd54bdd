/**
 * What the OAuth core and the accounts report as they work. Metrics, audit events and usage
 * records listen to these; the core knows none of them. An event never carries a secret,
 * password, code, token or assertion: only identifiers that are already public or stored in
 * clear (client ids, user ids, key ids, secret ids).
 */

import type { ActorClaim, SelfRegistration } from './model.ts';

/** The environment an event happened in: its id and name, nothing else. */
export interface EventEnvironment {
  readonly id: string;
  readonly name: string;
}

/** The credential that authenticated a request: one client secret (by its id) or one key (by its kid). */
export interface CredentialUse {
  kind: 'client_secret' | 'key';
  id: string;
}

export type CoreEvent =
  /** An access token was issued at the token endpoint (every grant). */
  | {
      type: 'token.issued';
      env: EventEnvironment;
      clientId: string;
      grantType: string;
      /** The user the token is for; absent for a client's or service account's own token. */
      userId?: string | undefined;
      credential?: CredentialUse | undefined;
      /** RFC 8693 §4.1: a token exchange's actors, the current one outermost; absent for every other grant. */
      act?: ActorClaim | undefined;
      /** RFC 9449: the access token is bound to a DPoP key (token type `DPoP`); absent: a bearer token. */
      dpopBound?: boolean;
      /** The client registered itself (RFC 7591, or a metadata document); absent: an operator's client. */
      registration?: SelfRegistration | undefined;
    }
  /** A token request failed with an OAuth error (any code, including quota and throttle refusals). */
  | {
      type: 'token.refused';
      env: EventEnvironment;
      grantType: string;
      code: string;
      reason?: string | undefined;
      /** The authenticated client, when authentication succeeded before the refusal. */
      clientId?: string | undefined;
    }
  /**
   * A client failed to authenticate (token, introspection or revocation). `clientId` is set only
   * when the id names an existing client, so made-up ids never reach a metric label.
   */
  | {
      type: 'client.authentication_failed';
      env: EventEnvironment;
      clientId?: string | undefined;
      throttled: boolean;
      /** The caller's address as it is throttled (an IPv6 /64, an IPv4 address). */
      source: string;
      /** The named client registered itself; absent: an operator's client, or no known client. */
      registration?: SelfRegistration | undefined;
    }
  /** A client authenticated but its request quota was used up. */
  | { type: 'client.quota_exceeded'; env: EventEnvironment; clientId: string; registration?: SelfRegistration | undefined }
  /** A refresh token was presented again after its rotation: its family is revoked (RFC 9700 §4.14.2). */
  | { type: 'refresh_token.reused'; env: EventEnvironment; clientId: string; registration?: SelfRegistration | undefined }
  /** An exact retry of a refresh within the grace period got the answer its request lost; nothing new was issued. */
  | { type: 'refresh_token.retried'; env: EventEnvironment; clientId: string; registration?: SelfRegistration | undefined }
  /** An authorization code was redeemed twice: what it gave is revoked (RFC 6749 §4.1.2). */
  | { type: 'authorization_code.reused'; env: EventEnvironment; clientId: string; registration?: SelfRegistration | undefined }
  /** A password login: succeeded, failed (unknown user, wrong password, disabled), throttled, or refused as busy. */
  | { type: 'user.login'; env: EventEnvironment; outcome: 'success' | 'failure' | 'throttled' | 'busy'; userId?: string | undefined }
  /** A second factor presented at sign-in: a one-time code (TOTP or recovery code) or a passkey; accepted, refused, or throttled. */
  | { type: 'user.second_factor'; env: EventEnvironment; method: 'otp' | 'passkey'; outcome: 'success' | 'failure' | 'throttled' }
  /** A username went over its failed-login limit in the current window (reported once per window). */
  | { type: 'user.locked_out'; env: EventEnvironment; username: string }
  /** A signing key was rotated: a next key published ahead of use (`scheduled` or `manual`), or an immediate switch (`immediate`). */
  | { type: 'signing_key.rotated'; env: EventEnvironment; kid: string; trigger: 'scheduled' | 'manual' | 'immediate' }
  /**
   * A signed-in browser session ended at the end-session endpoint (RP-Initiated Logout 1.0):
   * at once for a client's `id_token_hint` of the user (`hint`), or on the confirmation page
   * (`confirmed`). `clientId`: the client that asked, when known; `notified`: back-channel
   * logouts queued; `revoked`: token families revoked by the clients' setting.
   */
  | {
      type: 'session.ended';
      env: EventEnvironment;
      userId: string;
      clientId?: string | undefined;
      trigger: 'hint' | 'confirmed';
      notified: number;
      revoked: number;
    }
  /** RFC 7591 / 7592: a client registered itself, replaced or deleted its registration, or was deleted unused. */
  | { type: 'client.registration'; env: EventEnvironment; operation: 'registered' | 'updated' | 'deleted' | 'expired' }
  /** RFC 9126 §2: a client pushed an authorization request and got a request_uri. */
  | { type: 'authorization_request.pushed'; env: EventEnvironment; clientId: string }
  /**
   * RFC 9126 §2.3: a pushed authorization request was refused (after the client authenticated;
   * failed authentications are `client.authentication_failed`), or an /authorize request was
   * refused because it had to be pushed (`code` is the OAuth error sent).
   */
  | { type: 'authorization_request.refused'; env: EventEnvironment; clientId: string; code: string; pushed: boolean }
  /** A logout token reached a client's `backchannel_logout_uri` (Back-Channel Logout §2.8: 200 or 204). */
  | { type: 'backchannel_logout.delivered'; env: EventEnvironment; clientId: string; registration?: SelfRegistration | undefined; attempts: number }
  /**
   * A code typed on the device verification page (RFC 8628 §3.3): accepted, wrong (unknown,
   * expired or decided), or refused unread because of too many attempts. The code is never carried.
   */
  | { type: 'device.verification'; env: EventEnvironment; outcome: 'code_accepted' | 'wrong_code' | 'throttled' }
  /** A user approved or denied a device's authorization on the verification page (RFC 8628 §3.3). */
  | { type: 'device_authorization.approved' | 'device_authorization.denied'; env: EventEnvironment; clientId: string; userId: string }
  /** An attempt to deliver a logout token failed; `retry`: another attempt is scheduled, else it was given up. */
  | {
      type: 'backchannel_logout.failed';
      env: EventEnvironment;
      clientId: string;
      registration?: SelfRegistration | undefined;
      attempts: number;
      reason: string;
      retry: boolean;
    }
  /** A Client ID Metadata Document was fetched and accepted (`clientId` is its URL, `host` the URL's host). */
  | { type: 'client.metadata_document_fetched'; env: EventEnvironment; clientId: string; host: string; durationMs: number }
  /**
   * A client_id URL was refused: by the environment's host rules, the address policy, the fetch
   * or the document's validation. `reason` is a fixed phrase (never document content);
   * `durationMs` is set when a fetch was made.
   */
  | { type: 'client.metadata_document_refused'; env: EventEnvironment; clientId: string; host: string; reason: string; durationMs?: number | undefined };

export type CoreEventType = CoreEvent['type'];

/** Where the core reports events. `emit` must return at once and never throw. */
export interface EventSink {
  emit(event: CoreEvent): void;
}

/** Reports nothing: the default when no listener is wired. */
export const NO_EVENTS: EventSink = Object.freeze({ emit() {} });

export type EventListener = (event: CoreEvent) => void;

/**
 * Hands each event to every listener, in order, synchronously. A listener that throws is
 * reported through `onListenerError` and never fails the request that emitted the event.
 * Listeners must do their slow work (database writes, HTTP) later, off the request.
 */
export class EventBus implements EventSink {
  private listeners: readonly EventListener[] = [];

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  /** Adds a listener; the returned function removes it. */
  listen(listener: EventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: CoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
