import { type Command, Option } from 'commander';
import type { ClientParChanges, EnvironmentParChanges } from '../admin/par-settings.ts';

/** Adds the RFC 9126 §6 flag to `client create` or `client update`. */
export function addClientParOptions(command: Command): Command {
  return command
    .addOption(new Option('--require-pushed-authorization-requests', 'authorization requests of this client must be pushed first (RFC 9126)'))
    .addOption(new Option('--no-require-pushed-authorization-requests', 'plain authorization requests are accepted from this client'));
}

/** The client settings the flags give; absent flags are left out. */
export function clientParChanges(options: Record<string, unknown>): ClientParChanges {
  return typeof options.requirePushedAuthorizationRequests === 'boolean'
    ? { requirePushedAuthorizationRequests: options.requirePushedAuthorizationRequests }
    : {};
}

/** Adds the RFC 9126 §5 and security-profile flags to `env update`. */
export function addEnvironmentParOptions(command: Command): Command {
  return command
    .addOption(new Option('--require-pushed-authorization-requests', 'every authorization request must be pushed first (RFC 9126)'))
    .addOption(
      new Option('--no-require-pushed-authorization-requests', 'plain authorization requests are accepted (unless a client or the profile requires pushing)'),
    )
    .addOption(
      new Option('--security-profile <profile>', 'fapi2: hold the environment to the FAPI 2.0 Security Profile; none: no profile').choices(['fapi2', 'none']),
    );
}

/** The environment settings the flags give; absent flags are left out. */
export function environmentParChanges(options: Record<string, unknown>): EnvironmentParChanges {
  const changes: EnvironmentParChanges = {};
  if (typeof options.requirePushedAuthorizationRequests === 'boolean') changes.requirePushedAuthorizationRequests = options.requirePushedAuthorizationRequests;
  if (options.securityProfile === 'fapi2') changes.securityProfile = 'fapi2';
  if (options.securityProfile === 'none') changes.securityProfile = null;
  return changes;
}
