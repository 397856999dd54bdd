import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { hashSecret } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { Passkey, WebAuthnChallenge } from '../domain/second-factors.ts';
import type { Store } from '../domain/storage.ts';
import { signInPolicyOf } from '../oauth/authorization/second-factor-gate.ts';
import { AMR } from '../oauth/openid/acr.ts';

/** A ceremony's challenge lives this long: long enough to find and touch a security key. */
const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const MAX_PASSKEYS_PER_USER = 20;

/** A WebAuthn ceremony the page runs: `create()` to register, `get()` to sign in or to give a second factor. */
export interface PasskeyCeremony {
  mode: 'register' | 'authenticate';
  /** PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.1.8, §5.1.9). */
  publicKey: object;
}

/** A verified passkey sign-in: who, and the RFC 8176 methods it proves. */
export interface PasskeySignIn {
  userId: string;
  credentialId: string;
  amr: string[];
}

/** The relying party of an environment (WebAuthn §5.1.2): its id and the origins its pages are served from. */
async function relyingParty(store: Pick<Store, 'secondFactors'>, env: Environment, publicUrl: string): Promise<{ id: string; origins: string[] }> {
  const policy = await signInPolicyOf(store, env.id);
  const base = new URL(publicUrl);
  return { id: policy.webauthnRpId ?? base.hostname, origins: policy.webauthnOrigins.length > 0 ? policy.webauthnOrigins : [base.origin] };
}

/** The challenge a response answers, read from its client data (verified against the stored one after). */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' ? parsed.challenge : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Passkeys (WebAuthn Level 3): registration and sign-in ceremonies, with user verification
 * required, so a passkey alone is two factors (possession and the device's PIN or biometric:
 * RFC 8176 `hwk` or `swk`, `user`, `mfa`). Each challenge is stored by hash, bound to the browser
 * session, and taken once. A passkey is never throttled by password or code failures: no one
 * can lock its owner out of it.
 */
export class PasskeyFactor {
  constructor(
    private readonly store: Pick<Store, 'secondFactors' | 'passkeys' | 'users'>,
    private readonly clock: Clock,
    private readonly publicUrl: string,
  ) {}

  /** Options to register a new passkey for `userId` (resident key and user verification required, for sign-in alone). */
  async registration(env: Environment, sessionHash: string, userId: string, username: string): Promise<PasskeyCeremony> {
    const rp = await relyingParty(this.store, env, this.publicUrl);
    const existing = await this.store.passkeys.listByUser(env.id, userId);
    const options = await generateRegistrationOptions({
      rpName: env.name,
      rpID: rp.id,
      userName: username,
      userID: new TextEncoder().encode(userId),
      attestationType: 'none',
      // §5.4.3: the authenticator refuses to make a second credential for this user.
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    await this.saveChallenge(env, sessionHash, options.challenge, 'register', userId);
    return { mode: 'register', publicKey: options };
  }

  /** Options to sign in: any discoverable passkey (conditional UI), or, as a second factor, one of `userId`'s. */
  async authentication(env: Environment, sessionHash: string, userId: string | null): Promise<PasskeyCeremony> {
    const rp = await relyingParty(this.store, env, this.publicUrl);
    const allow = userId === null ? [] : await this.store.passkeys.listByUser(env.id, userId);
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      userVerification: 'required',
      allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
    });
    await this.saveChallenge(env, sessionHash, options.challenge, 'authenticate', userId);
    return { mode: 'authenticate', publicKey: options };
  }

  /** Verifies a registration (§7.1) for the user its challenge was made for, and stores the passkey. Undefined when refused. */
  async register(env: Environment, sessionHash: string, untrusted: unknown, name: string): Promise<Passkey | undefined> {
    // The library checks every member it verifies; here only that it is an object with a response.
    const response = untrusted as RegistrationResponseJSON;
    const challenge = await this.takeChallenge(env, sessionHash, response.response?.clientDataJSON, 'register');
    if (!challenge?.userId) return undefined;
    if ((await this.store.passkeys.listByUser(env.id, challenge.userId)).length >= MAX_PASSKEYS_PER_USER) return undefined;
    const rp = await relyingParty(this.store, env, this.publicUrl);
    const verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge.expected,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      requireUserVerification: true,
    }).catch(() => undefined);
    if (!verified?.verified) return undefined;
    const info = verified.registrationInfo;
    const passkey: Passkey = {
      envId: env.id,
      credentialId: info.credential.id,
      userId: challenge.userId,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      name: name.slice(0, 64) || 'Passkey',
      createdAt: this.clock.now(),
      lastUsedAt: null,
    };
    await this.store.passkeys.add(passkey);
    return passkey;
  }

  /**
   * Verifies an assertion (§7.2) against the stored passkey, for the user the challenge named
   * (second factor) or the passkey's owner (sign-in alone), and records its counter and backup state.
   */
  async authenticate(env: Environment, sessionHash: string, untrusted: unknown): Promise<PasskeySignIn | undefined> {
    const response = untrusted as AuthenticationResponseJSON;
    const challenge = await this.takeChallenge(env, sessionHash, response.response?.clientDataJSON, 'authenticate');
    if (!challenge) return undefined;
    const passkey = typeof response.id === 'string' ? await this.store.passkeys.find(env.id, response.id) : undefined;
    if (!passkey || (challenge.userId !== null && passkey.userId !== challenge.userId)) return undefined;
    const user = await this.store.users.find(env.id, passkey.userId);
    if (!user?.enabled) return undefined;
    const rp = await relyingParty(this.store, env, this.publicUrl);
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge.expected,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      credential: {
        id: passkey.credentialId,
        publicKey: Buffer.from(passkey.publicKey, 'base64url'),
        counter: passkey.counter,
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: true,
    }).catch(() => undefined);
    if (!verified?.verified) return undefined;
    const info = verified.authenticationInfo;
    // §6.1.1: a counter that did not grow (when the authenticator counts) hints at a cloned key.
    if (!(await this.store.passkeys.recordUse(env.id, passkey.credentialId, info.newCounter, info.credentialBackedUp, this.clock.now()))) return undefined;
    return { userId: passkey.userId, credentialId: passkey.credentialId, amr: amrOf(passkey) };
  }

  listed(env: Environment, userId: string): Promise<Passkey[]> {
    return this.store.passkeys.listByUser(env.id, userId);
  }

  remove(env: Environment, userId: string, credentialId: string): Promise<boolean> {
    return this.store.passkeys.remove(env.id, userId, credentialId);
  }

  private async saveChallenge(
    env: Environment,
    sessionHash: string,
    challenge: string,
    purpose: WebAuthnChallenge['purpose'],
    userId: string | null,
  ): Promise<void> {
    const expiresAt = this.clock.now() + CHALLENGE_TTL_MS;
    await this.store.passkeys.saveChallenge({ challengeHash: hashSecret(challenge), envId: env.id, sessionHash, purpose, userId, expiresAt });
  }

  private async takeChallenge(
    env: Environment,
    sessionHash: string,
    clientDataJSON: unknown,
    purpose: WebAuthnChallenge['purpose'],
  ): Promise<(WebAuthnChallenge & { expected: string }) | undefined> {
    const expected = typeof clientDataJSON === 'string' ? challengeOf(clientDataJSON) : undefined;
    if (expected === undefined) return undefined;
    const taken = await this.store.passkeys.takeChallenge(env.id, hashSecret(expected), sessionHash, this.clock.now());
    return taken?.purpose === purpose ? { ...taken, expected } : undefined;
  }
}

/** RFC 8176: a synced passkey is a software-secured key, a device-bound one a hardware-secured key; user verification makes it two factors. */
export function amrOf(passkey: Pick<Passkey, 'backupEligible'>): string[] {
  return [passkey.backupEligible ? AMR.softwareKey : AMR.hardwareKey, AMR.user, AMR.multiFactor];
}
