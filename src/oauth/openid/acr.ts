import type { TokenAuthentication } from '../../domain/model.ts';

/*
 * Authentication context classes (OpenID Connect Core §2 `acr`, §3.1.2.1 `acr_values`) and
 * RFC 8176 authentication method references (`amr`) of Gatehouse's sign-ins.
 */

/** A password alone (or any single factor). */
export const ACR_PASSWORD = 'urn:gatehouse:acr:password';
/** Two factors: a password and a second factor, or a passkey with user verification. */
export const ACR_MFA = 'urn:gatehouse:acr:mfa';

/** Discovery `acr_values_supported`, weakest first. */
export const ACR_VALUES_SUPPORTED: readonly string[] = [ACR_PASSWORD, ACR_MFA];

/** RFC 8176 §2 methods of the sign-ins Gatehouse offers. */
export const AMR = {
  password: 'pwd',
  otp: 'otp',
  /** Proof of possession of a hardware-secured key: a device-bound passkey. */
  hardwareKey: 'hwk',
  /** Proof of possession of a software-secured key: a synced passkey (backup eligible). */
  softwareKey: 'swk',
  /** User presence (and here verification) tested by the authenticator. */
  user: 'user',
  multiFactor: 'mfa',
} as const;

/** The `acr` a sign-in of these methods meets. */
export function acrOf(amr: readonly string[] | undefined): string {
  return amr?.includes(AMR.multiFactor) ? ACR_MFA : ACR_PASSWORD;
}

/** Whether a request's `acr_values` accept only two factors (no weaker class is listed). */
export function asksForMultiFactor(acrValues: readonly string[] | undefined): boolean {
  return acrValues !== undefined && acrValues.length > 0 && acrValues.every((v) => v === ACR_MFA);
}

/** Whether a request's `acr_values` prefer two factors (Core §3.1.2.1: values are in order of preference). */
export function prefersMultiFactor(acrValues: readonly string[] | undefined): boolean {
  return acrValues?.[0] === ACR_MFA;
}

/** `amr` after a password and a second factor (RFC 8176 §2: `mfa` when more than one factor). */
export function withSecondFactor(amr: readonly string[] | undefined, method: string): string[] {
  return [...new Set([...(amr ?? [AMR.password]), method, AMR.multiFactor])];
}

/**
 * The `acr` and `amr` a token of this sign-in carries (RFC 9068 §2.2.1, for introspection and JWT
 * access tokens); undefined when the sign-in is unknown. A sign-in recorded before `acr` was kept
 * gets the class its methods meet.
 */
export function tokenAuthenticationOf(oidc: { acr?: string | null; amr?: readonly string[] } | undefined): TokenAuthentication | undefined {
  if (!oidc?.amr || oidc.amr.length === 0) return undefined;
  return { acr: oidc.acr ?? acrOf(oidc.amr), amr: [...oidc.amr] };
}
