/** A validated /authorize request waiting for login and consent, bound to one browser session. */
export interface PendingAuthorization {
  idHash: string;
  envId: string;
  sessionIdHash: string;
  clientId: string;
  redirectUri: string;
  scope: string[];
  /** Echoed byte for byte; null when the client sent none. */
  state: string | null;
  /** The S256 challenge; null only for a confidential client at a surface that lets it skip PKCE. */
  codeChallenge: string | null;
  /** RFC 8707 `resource` values of the request; absent when it named none. */
  resources?: string[];
  createdAt: number;
  expiresAt: number;
  /** Present when the request is an OpenID Connect authentication request (its scope has `openid`). */
  oidc?: PendingOidc;
  /**
   * RFC 8628 §3.3: set when the request was held by the device verification page, naming (by
   * its hash) the device authorization the user decides; such a request has no redirect URI.
   */
  deviceCodeHash?: string;
  /** RFC 9449 §10 `dpop_jkt`: the thumbprint of the DPoP key the code must be redeemed with. */
  dpopJkt?: string;
}

/** Core §3.1.2.1 `prompt` values. */
export type OidcPrompt = 'none' | 'login' | 'consent' | 'select_account';

/** The OpenID Connect parameters of an authentication request (Core §3.1.2.1), once checked. */
export interface OidcRequestParameters {
  /** `nonce`, given back in the ID Token; null when the request had none. */
  nonce: string | null;
  /** `prompt` values; empty when absent. `none` never comes with another value. */
  prompt: OidcPrompt[];
  /** `max_age` in seconds; null when absent. */
  maxAge: number | null;
  /** The `sub` of a verified `id_token_hint`, as this client was given it; null when none. */
  hintSubject: string | null;
  /** `login_hint`, which pre-fills the login page; null when none. */
  loginHint: string | null;
  /** `ui_locales` (BCP 47 tags), in the order of preference given; empty when absent. */
  uiLocales: string[];
  /** `acr_values` as requested; recorded, never met (a password is the only level). */
  acrValues: string[];
}

/** `OidcRequestParameters` of a held request, with what its gates need to remember. */
export interface PendingOidc extends OidcRequestParameters {
  /**
   * The id hash of the browser session the request was held in. Every sign-in replaces the
   * session (and its id), so a session still of this hash has not signed in during this flow:
   * a login forced by `prompt=login`, `select_account`, `max_age=0` or an `id_token_hint` for
   * another user is not satisfied by it.
   */
  heldInSession: string;
}

export interface AuthorizationCode {
  codeHash: string;
  envId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  scope: string[];
  /** S256 challenge; a code issued without one can never be redeemed with a verifier. */
  codeChallenge: string | null;
  /** The token family its redemption creates; a second redemption revokes that family. */
  familyId: string;
  /** RFC 8707 `resource` values granted with the code; absent when the request named none. */
  resources?: string[];
  issuedAt: number;
  expiresAt: number;
  consumedAt: number | null;
  /** Set when the request asked for `openid`: what the ID Token of its redemption says. */
  oidc?: CodeOidc;
  /** RFC 9449 §10: the DPoP key (thumbprint) its redemption must prove; absent: any or none. */
  dpopJkt?: string;
}

/** What an OpenID authentication carries from /authorize to the ID Tokens it leads to. */
export interface FamilyOidc {
  /** When the user authenticated (epoch ms): `auth_time`. */
  authTime: number;
  /** RFC 8176 methods: `amr`. */
  amr: string[];
  /** `acr`, when one was asked for and met; null otherwise. */
  acr: string | null;
}

/** `FamilyOidc` of a code, with what only the first ID Token carries. */
export interface CodeOidc extends FamilyOidc {
  /** Core §3.1.2.1 `nonce`, given back in the ID Token; null when the request had none. */
  nonce: string | null;
  /** The browser session's `sid`. */
  sid: string | null;
}

/** Where a device authorization stands (RFC 8628 §3.3–3.5). */
export type DeviceAuthorizationStatus = 'pending' | 'approved' | 'denied';

/**
 * RFC 8628 §3.1–3.2: a device's request for authorization, found by the hash of its device
 * code (polling) or of its user code (the verification page). Neither code is kept in clear.
 */
export interface DeviceAuthorization {
  deviceCodeHash: string;
  envId: string;
  userCodeHash: string;
  clientId: string;
  scope: string[];
  /** RFC 8707 APIs the authorization is for; absent when none. */
  resources?: string[];
  /** The token family its redemption creates. */
  familyId: string;
  createdAt: number;
  expiresAt: number;
  /** RFC 8628 §3.5: seconds the client must wait between polls; grows by 5 with each `slow_down`. */
  interval: number;
  lastPolledAt: number | null;
  status: DeviceAuthorizationStatus;
  /** The user who approved or denied it. */
  userId: string | null;
  decidedAt: number | null;
  /** Set when approved with `openid`: what the ID Token says about the approving sign-in. */
  oidc?: CodeOidc;
  consumedAt: number | null;
}
/**
 * RFC 9126 §2: an authorization request pushed by an authenticated client, waiting for the
 * browser to bring its `request_uri` to /authorize. Storage holds only the hash of the
 * request_uri's random part; the parameters are those of the request as pushed, without the
 * client's credentials.
 */
export interface PushedAuthorizationRequest {
  idHash: string;
  envId: string;
  clientId: string;
  params: Record<string, string>;
  createdAt: number;
  expiresAt: number;
}
