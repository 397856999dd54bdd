/** An end user of an environment, who signs in on the login page. */
export interface User {
  envId: string;
  /** `usr_…`; never the `sa_` prefix of service accounts, so a token's `sub` tells them apart. */
  userId: string;
  username: string;
  /** scrypt, self-describing (`$scrypt$ln=…`). */
  passwordHash: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** OpenID Connect Core §5.1 attributes; absent: none set. */
  profile?: UserProfile;
}

/** Core §5.1.1 address members. */
export interface PostalAddress {
  formatted?: string;
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
}

/** A user's OpenID Connect Core §5.1 attributes; null (or false) when unset. */
export interface UserProfile {
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  /** Null: the username is given as `preferred_username`. */
  preferredUsername: string | null;
  /** An https URL. */
  picture: string | null;
  /** BCP 47, e.g. `en-US`. */
  locale: string | null;
  /** IANA time zone, e.g. `Europe/Paris`. */
  zoneinfo: string | null;
  /** E.164 recommended. */
  phoneNumber: string | null;
  phoneNumberVerified: boolean;
  address: PostalAddress | null;
}

/** A browser's session with the login pages; the cookie holds the id, storage only its hash. */
export interface BrowserSession {
  idHash: string;
  envId: string;
  /** Set once the user signed in. */
  userId: string | null;
  authenticatedAt: number | null;
  createdAt: number;
  expiresAt: number;
  /**
   * The OpenID session id (`sid`): random, stable for the session's life (a sign-in keeps it),
   * distinct from the cookie value, so it can be given to clients. Absent for older sessions.
   */
  sid?: string;
  /** RFC 8176 authentication methods of the sign-in (`pwd`, …); absent: none recorded. */
  amr?: string[];
}
/** Scopes a user granted a client; the next authorization within them skips the consent page. */
export interface Consent {
  envId: string;
  userId: string;
  clientId: string;
  scope: string[];
  grantedAt: number;
  /** The APIs (RFC 8707) the consent covers; absent: it covers none. */
  resources?: string[];
}
