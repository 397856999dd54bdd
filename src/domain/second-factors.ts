/*
 * Second factors and passkeys: what is stored about them, and the per-environment sign-in policy.
 * Secrets are never held here in clear: a TOTP secret is sealed, recovery codes and WebAuthn
 * challenges are hashes, a passkey is its public key.
 */

/** A user's RFC 6238 TOTP enrolment; active once confirmed with a code. */
export interface TotpEnrolment {
  envId: string;
  userId: string;
  /** The shared secret, sealed under the key secret (AES-256-GCM). */
  secretSealed: string;
  createdAt: number;
  /** Null until the user proved, with a code, that the authenticator holds the secret. */
  confirmedAt: number | null;
  /** The last time step whose code was accepted: no code of it or of an earlier step is accepted again. */
  lastUsedStep: number | null;
}

/** When a second factor is asked for: never, when the user enrolled one, or always. */
export const SECOND_FACTOR_MODES = ['password_only', 'optional', 'required'] as const;
export type SecondFactorMode = (typeof SECOND_FACTOR_MODES)[number];

/** An environment's sign-in policy. */
export interface SignInPolicy {
  /**
   * `password_only`: a second factor is never asked. `optional`: asked of users who enrolled one.
   * `required`: asked of everyone (enrolled at the next sign-in when missing), or, when
   * `requiredClients` or `requiredScopes` is not empty, only for those clients or scopes (and of
   * enrolled users otherwise, as `optional`).
   */
  secondFactor: SecondFactorMode;
  requiredClients: string[];
  requiredScopes: string[];
  /** WebAuthn relying-party id (a registrable domain); null: the host of the public URL. */
  webauthnRpId: string | null;
  /** Origins allowed in WebAuthn client data; empty: the origin of the public URL. */
  webauthnOrigins: string[];
}

/** The policy of an environment that never set one. */
export const DEFAULT_SIGN_IN_POLICY: Readonly<SignInPolicy> = Object.freeze({
  secondFactor: 'optional',
  requiredClients: [],
  requiredScopes: [],
  webauthnRpId: null,
  webauthnOrigins: [],
});

/** A WebAuthn credential (a passkey) registered to a user. */
export interface Passkey {
  envId: string;
  /** base64url credential id. */
  credentialId: string;
  userId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  /** WebAuthn §6.1.1 signature counter (0 for authenticators that do not count). */
  counter: number;
  transports: string[];
  /** §6.1 flag BE: the credential may be synced (a multi-device passkey). */
  backupEligible: boolean;
  /** §6.1 flag BS: the credential is backed up now. */
  backedUp: boolean;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A WebAuthn ceremony in progress: its challenge (by hash), bound to a browser session. */
export interface WebAuthnChallenge {
  challengeHash: string;
  envId: string;
  sessionHash: string;
  purpose: 'register' | 'authenticate';
  /** The user registering; null for a sign-in (discoverable credentials name the user). */
  userId: string | null;
  expiresAt: number;
}

/** What an operator's reset of a user's factors removed. */
export interface FactorReset {
  totp: boolean;
  recoveryCodes: number;
  passkeys: number;
}

export interface SecondFactorStore {
  findTotp(envId: string, userId: string): Promise<TotpEnrolment | undefined>;
  /** Starts (or restarts) an enrolment; refused (false) when a confirmed one exists. */
  beginTotp(enrolment: TotpEnrolment): Promise<boolean>;
  /**
   * Marks the step `step` used, when it is later than the last used one, in one conditional
   * update; `confirm` also activates an unconfirmed enrolment. True for the one caller that
   * won: a code is accepted once, across every node.
   */
  useTotpStep(envId: string, userId: string, step: number, now: number, confirm: boolean): Promise<boolean>;
  /** Replaces the user's recovery codes with these hashes. */
  replaceRecoveryCodes(envId: string, userId: string, codeHashes: readonly string[], now: number): Promise<void>;
  /** Consumes one unused recovery code: true for the one caller that took it. */
  consumeRecoveryCode(envId: string, userId: string, codeHash: string, now: number): Promise<boolean>;
  unusedRecoveryCodes(envId: string, userId: string): Promise<number>;
  /** Removes every second factor and passkey of the user (an operator's recovery action). */
  resetFactors(envId: string, userId: string): Promise<FactorReset>;
  findPolicy(envId: string): Promise<SignInPolicy | undefined>;
  savePolicy(envId: string, policy: SignInPolicy, now: number): Promise<void>;
}

export interface PasskeyStore {
  /** Throws `ConflictError` when the credential id is registered already. */
  add(passkey: Passkey): Promise<void>;
  find(envId: string, credentialId: string): Promise<Passkey | undefined>;
  listByUser(envId: string, userId: string): Promise<Passkey[]>;
  /**
   * Records a use: the new counter and backup state. With a non-zero counter the update holds
   * only while the stored one is lower (WebAuthn §6.1.1: a counter that does not grow hints at
   * a cloned authenticator): false then.
   */
  recordUse(envId: string, credentialId: string, counter: number, backedUp: boolean, now: number): Promise<boolean>;
  /** Removes a passkey of `userId`; false when it was not theirs or not there. */
  remove(envId: string, userId: string, credentialId: string): Promise<boolean>;
  saveChallenge(challenge: WebAuthnChallenge): Promise<void>;
  /** Takes a challenge once (deleted as it is read); undefined when unknown, taken or expired. */
  takeChallenge(envId: string, challengeHash: string, sessionHash: string, now: number): Promise<WebAuthnChallenge | undefined>;
  deleteExpiredChallenges(before: number): Promise<number>;
}
