import type { Client, Environment, SecurityProfile } from '../domain/model.ts';
import type { EnvironmentPushedRequestSettings } from '../domain/storage.ts';
import { AdminError } from './admin-error.ts';

/*
 * The settings of pushed authorization requests (RFC 9126 §5, §6) and of the security profile
 * (FAPI 2.0), as the admin surfaces show and change them: a client's and an environment's.
 */

/** A client's RFC 9126 metadata, under its registration name (§6). */
export interface ClientParView {
  require_pushed_authorization_requests: boolean;
}

/** What a create or change of a client may set; absent: kept (false on create). */
export interface ClientParChanges {
  requirePushedAuthorizationRequests?: boolean;
}

/** The wire name of each client field, for audit events, the CLI and declarative diffs. */
export const CLIENT_PAR_FIELDS: Record<keyof ClientParChanges, keyof ClientParView> = {
  requirePushedAuthorizationRequests: 'require_pushed_authorization_requests',
};

export function clientParView(c: Client): ClientParView {
  return { require_pushed_authorization_requests: c.requirePushedAuthorizationRequests ?? false };
}

/** `client` with `changes` applied; the field is present only when true (as storage reads it back). */
export function withParChanges(client: Client, changes: ClientParChanges): Client {
  if (changes.requirePushedAuthorizationRequests === undefined) return client;
  const next: Client = { ...client };
  if (changes.requirePushedAuthorizationRequests) next.requirePushedAuthorizationRequests = true;
  else delete next.requirePushedAuthorizationRequests;
  return next;
}

/** A service account never sends authorization requests: it cannot be required to push them. */
export function checkClientPar(client: Client): void {
  if (client.requirePushedAuthorizationRequests && client.kind === 'service_account') {
    throw new AdminError('invalid_argument', 'a service account sends no authorization requests to push');
  }
}

export const SECURITY_PROFILES: readonly SecurityProfile[] = ['fapi2'];

/** An environment's RFC 9126 and security-profile settings, under their wire names. */
export interface EnvironmentParView {
  /** RFC 9126 §5 (the profile may require it too: see the metadata document). */
  require_pushed_authorization_requests: boolean;
  /** `fapi2`: the FAPI 2.0 Security Profile; null: none. */
  security_profile: SecurityProfile | null;
}

/** What an environment change may set; absent: kept, `securityProfile` null: none. */
export interface EnvironmentParChanges {
  requirePushedAuthorizationRequests?: boolean;
  securityProfile?: SecurityProfile | null;
}

export function environmentParView(env: Environment): EnvironmentParView {
  return {
    require_pushed_authorization_requests: env.requirePushedAuthorizationRequests ?? false,
    security_profile: env.securityProfile ?? null,
  };
}

/** Whether `changes` touches these settings at all. */
export const givesParSettings = (changes: EnvironmentParChanges): boolean =>
  changes.requirePushedAuthorizationRequests !== undefined || changes.securityProfile !== undefined;

/** The settings as read from `env` and as they will be after `changes` (checked). */
export function parSettingsOf(
  env: Environment,
  changes: EnvironmentParChanges,
): { read: EnvironmentPushedRequestSettings; settings: EnvironmentPushedRequestSettings } {
  if (changes.securityProfile != null && !SECURITY_PROFILES.includes(changes.securityProfile)) {
    throw new AdminError('invalid_argument', `security_profile must be one of ${SECURITY_PROFILES.join(', ')} (or null for none)`);
  }
  const read = { requirePushedAuthorizationRequests: env.requirePushedAuthorizationRequests ?? false, securityProfile: env.securityProfile ?? null };
  const settings = {
    requirePushedAuthorizationRequests: changes.requirePushedAuthorizationRequests ?? read.requirePushedAuthorizationRequests,
    securityProfile: changes.securityProfile === undefined ? read.securityProfile : changes.securityProfile,
  };
  return { read, settings };
}

/** `env` with `settings` applied, fields present only when not the default. */
export function withParSettings(env: Environment, settings: EnvironmentPushedRequestSettings): Environment {
  const next: Environment = { ...env };
  if (settings.requirePushedAuthorizationRequests) next.requirePushedAuthorizationRequests = true;
  else delete next.requirePushedAuthorizationRequests;
  if (settings.securityProfile) next.securityProfile = settings.securityProfile;
  else delete next.securityProfile;
  return next;
}
