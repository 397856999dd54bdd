import { type Command, Option } from 'commander';
import type { ClientDpopChanges } from '../admin/client-dpop.ts';

/** Adds the DPoP flags (RFC 9449 §5.2) to `client create` or `client update`. */
export function addClientDpopOptions(command: Command): Command {
  return command
    .addOption(new Option('--dpop-bound-access-tokens', 'every token request must carry a DPoP proof (RFC 9449 §5.2)'))
    .addOption(new Option('--no-dpop-bound-access-tokens', 'token requests may come without a DPoP proof (bearer tokens)'));
}

/** The DPoP metadata the flags give; absent flags are left out. */
export function clientDpopChanges(options: Record<string, unknown>): ClientDpopChanges {
  return typeof options.dpopBoundAccessTokens === 'boolean' ? { dpopBoundAccessTokens: options.dpopBoundAccessTokens } : {};
}
