import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { openFactorSecret, sealFactorSecret } from '../crypto/factor-secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { SecondFactorStore } from '../domain/second-factors.ts';
import type { SecondFactorThrottle } from './second-factor-throttle.ts';

/** RFC 6238 §4: 30-second steps, 6 digits, HMAC-SHA-1 (what every authenticator app supports). */
const PERIOD_S = 30;
const DIGITS = 6;
/** RFC 6238 §5.2: one step either side, for clock drift and typing time. */
const DRIFT_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
/** Recovery code alphabet: no 0/o, 1/l/i. 10 characters of 31: 49 bits each. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** What the enrolment page shows: the secret as text and as a QR code (an SVG drawn here, no script). */
export interface TotpEnrolmentOffer {
  secret: string;
  uri: string;
  qrSvg: string;
}

export type SecondFactorCheck =
  | { ok: true; method: 'otp' | 'recovery_code' }
  | { ok: false; throttled: true; retryAfter: number }
  | { ok: false; throttled: false };

/**
 * TOTP (RFC 6238) and recovery codes as a second factor: enrolment with a QR code confirmed by a
 * code, each code accepted once (the step is remembered in one conditional update), and every
 * attempt throttled per user and source. Secrets are sealed at rest; recovery codes are stored as
 * keyed hashes and shown once.
 */
export class TotpFactor {
  constructor(
    private readonly store: SecondFactorStore,
    private readonly clock: Clock,
    private readonly keySecret: Buffer,
    /** Keyed hash of recovery codes: the database alone cannot be searched for them. */
    private readonly hashCode: (value: string) => string,
    private readonly throttle: SecondFactorThrottle,
  ) {}

  /** Whether the user has an active (confirmed) TOTP enrolment. */
  async enrolled(envId: string, userId: string): Promise<boolean> {
    return (await this.store.findTotp(envId, userId))?.confirmedAt != null;
  }

  /**
   * The enrolment offer for the user: the pending one again (a wrong confirmation code shows the
   * same QR code), or a new secret. Undefined when an active enrolment exists already.
   */
  async offer(envId: string, userId: string, label: string, issuer: string): Promise<TotpEnrolmentOffer | undefined> {
    const existing = await this.store.findTotp(envId, userId);
    if (existing?.confirmedAt != null) return undefined;
    let secret = existing && openFactorSecret(existing.secretSealed, this.keySecret, sealedFor(envId, userId));
    if (!secret) {
      secret = new Secret({ size: 20 }).base32;
      const sealed = sealFactorSecret(secret, this.keySecret, sealedFor(envId, userId));
      const began = await this.store.beginTotp({ envId, userId, secretSealed: sealed, createdAt: this.clock.now(), confirmedAt: null, lastUsedStep: null });
      if (!began) return undefined;
    }
    const uri = totpOf(secret, label, issuer).toString();
    const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
    return { secret, uri, qrSvg };
  }

  /** Confirms a pending enrolment with a code; returns the new recovery codes (shown once) or a refusal. */
  async confirm(
    envId: string,
    userId: string,
    code: string,
    sourceAddress: string,
  ): Promise<{ ok: true; recoveryCodes: string[] } | Exclude<SecondFactorCheck, { ok: true }>> {
    const wait = await this.throttle.attempt(envId, userId, sourceAddress);
    if (wait > 0) return { ok: false, throttled: true, retryAfter: wait };
    if (!(await this.checkCode(envId, userId, code, true))) return { ok: false, throttled: false };
    await this.throttle.succeeded(envId, userId, sourceAddress);
    return { ok: true, recoveryCodes: await this.newRecoveryCodes(envId, userId) };
  }

  /** Checks a sign-in's second factor: a current TOTP code, or an unused recovery code. */
  async verify(envId: string, userId: string, presented: string, sourceAddress: string): Promise<SecondFactorCheck> {
    const wait = await this.throttle.attempt(envId, userId, sourceAddress);
    if (wait > 0) return { ok: false, throttled: true, retryAfter: wait };
    const code = presented.replace(/[\s-]/g, '').toLowerCase();
    let method: 'otp' | 'recovery_code' | undefined;
    if (/^[0-9]{6}$/.test(code)) method = (await this.checkCode(envId, userId, code, false)) ? 'otp' : undefined;
    else if (code.length === 10)
      method = (await this.store.consumeRecoveryCode(envId, userId, this.recoveryHash(envId, userId, code), this.clock.now())) ? 'recovery_code' : undefined;
    if (!method) return { ok: false, throttled: false };
    await this.throttle.succeeded(envId, userId, sourceAddress);
    return { ok: true, method };
  }

  /** Makes a fresh set of recovery codes (the old ones stop working) and returns them for showing once. */
  async newRecoveryCodes(envId: string, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => randomRecoveryCode());
    const hashes = codes.map((c) => this.recoveryHash(envId, userId, c.replace('-', '')));
    await this.store.replaceRecoveryCodes(envId, userId, hashes, this.clock.now());
    return codes;
  }

  private recoveryHash(envId: string, userId: string, normalised: string): string {
    return this.hashCode(`${envId}\u0000${userId}\u0000${normalised}`);
  }

  /**
   * RFC 6238 §5.2: the code of the current step or one either side, then the step is marked used
   * (only if later than the last used one), so a code is accepted once even by parallel requests.
   */
  private async checkCode(envId: string, userId: string, code: string, confirming: boolean): Promise<boolean> {
    if (!/^[0-9]{6}$/.test(code)) return false;
    const enrolment = await this.store.findTotp(envId, userId);
    if (!enrolment || (enrolment.confirmedAt === null) !== confirming) return false;
    const secret = openFactorSecret(enrolment.secretSealed, this.keySecret, sealedFor(envId, userId));
    if (!secret) return false;
    const now = this.clock.now();
    const delta = totpOf(secret, '', '').validate({ token: code, timestamp: now, window: DRIFT_WINDOW });
    if (delta === null) return false;
    const step = Math.floor(now / 1000 / PERIOD_S) + delta;
    return this.store.useTotpStep(envId, userId, step, now, confirming);
  }
}

const sealedFor = (envId: string, userId: string): string => `totp/${envId}/${userId}`;

function totpOf(secret: string, label: string, issuer: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: PERIOD_S, secret: Secret.fromBase32(secret) });
}

function randomRecoveryCode(): string {
  const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}
