import { type Command, Option } from 'commander';
import type { ClientOidcChanges } from '../admin/client-oidc.ts';
import type { IdTokenAlgorithm, SubjectType } from '../domain/model.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Adds the OpenID Connect metadata flags to `client create` or `client update`. On update,
 * `default` sets the algorithm or subject type back to its default and an empty URI removes it.
 */
export function addClientOidcOptions(command: Command, update: boolean): Command {
  const reset = update ? ['default'] : [];
  return command
    .option(
      '--post-logout-redirect-uri <uri>',
      `where logout may send the browser back (repeatable${update ? '; replaces the list, "" empties it' : ''})`,
      collect,
    )
    .option('--backchannel-logout-uri <uri>', `where logout tokens are POSTed (https)${update ? '; "" removes it' : ''}`)
    .addOption(new Option('--backchannel-logout-session-required', 'logout tokens must carry the session id (sid)'))
    .addOption(new Option('--no-backchannel-logout-session-required', 'logout tokens need not carry sid'))
    .addOption(new Option('--logout-revokes-tokens', 'ending a browser session revokes the refresh tokens this client got in it'))
    .addOption(new Option('--no-logout-revokes-tokens', 'logout leaves this client’s refresh tokens valid'))
    .addOption(
      new Option('--id-token-signed-response-alg <alg>', 'algorithm of the ID Tokens this client gets (default RS256)').choices([
        'RS256',
        'ES256',
        'EdDSA',
        ...reset,
      ]),
    )
    .addOption(new Option('--subject-type <type>', "the sub this client sees (default: the environment's)").choices(['public', 'pairwise', ...reset]))
    .option('--sector-identifier-uri <uri>', `pairwise sector (https); default: the redirect URIs' host${update ? '; "" removes it' : ''}`);
}

/** The metadata the flags give; absent flags are left out. */
export function clientOidcChanges(options: Record<string, unknown>): ClientOidcChanges {
  const changes: ClientOidcChanges = {};
  if (Array.isArray(options.postLogoutRedirectUri)) changes.postLogoutRedirectUris = options.postLogoutRedirectUri as string[];
  if (typeof options.backchannelLogoutUri === 'string') changes.backchannelLogoutUri = options.backchannelLogoutUri;
  if (typeof options.backchannelLogoutSessionRequired === 'boolean') changes.backchannelLogoutSessionRequired = options.backchannelLogoutSessionRequired;
  if (typeof options.logoutRevokesTokens === 'boolean') changes.logoutRevokesTokens = options.logoutRevokesTokens;
  if (typeof options.idTokenSignedResponseAlg === 'string') {
    changes.idTokenSignedResponseAlg = options.idTokenSignedResponseAlg === 'default' ? null : (options.idTokenSignedResponseAlg as IdTokenAlgorithm);
  }
  if (typeof options.subjectType === 'string') changes.subjectType = options.subjectType === 'default' ? null : (options.subjectType as SubjectType);
  if (typeof options.sectorIdentifierUri === 'string') changes.sectorIdentifierUri = options.sectorIdentifierUri;
  return changes;
}
